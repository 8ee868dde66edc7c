"""Runs on a real local Ray instance (NNP_EXECUTOR=ray): the same runs, events, control,
predictions and exports as with the local executor; a killed actor leaves a resumable run."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import ray
from support import serve_in_thread
from websockets.sync.client import connect

from app.data import Mnist
from app.main import create_app
from app.settings import Settings
from app.store import RunStatus, Store
from app.training import RunManager
from app.training.epoch_checkpoints import kept_epochs
from app.training.ray_executor import RayExecutor

TINY = {
    "input_shape": [1, 28, 28],
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}],
}
QUICK = {"epochs": 1, "train_subset": 2048, "eval_limit": 256, "batch_size": 64}
FINISHED = {"completed", "stopped", "failed", "interrupted"}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance for the module (2 CPUs: two runs at a time)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _manager(data_dir: Path, mnist: Mnist, **settings: Any) -> RunManager:
    config = Settings(data_dir=data_dir, executor="ray", **settings)
    manager = RunManager(Store(data_dir), config, mnist=mnist)
    manager.start()
    return manager


def _wait_for(condition: Any, timeout: float = 60, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {timeout} s")


def _steps(manager: RunManager, run_id: str) -> list[dict[str, Any]]:
    """The run's step points so far, saved or not."""
    saved = manager.store.events_since(run_id, types=["step"])
    return saved + [e for e in manager.unsaved_events(run_id) if e["type"] == "step"]


def _seqs(store: Store, run_id: str) -> list[int]:
    return [event["seq"] for event in store.events_since(run_id)]


def test_runs_train_on_ray_with_events_in_order_and_work_as_local_ones(
    local_ray: None, app_data_dir: Path
) -> None:
    app = create_app(Settings(data_dir=app_data_dir, executor="ray"))
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert isinstance(app.state.manager._executor, RayExecutor)
        model = client.post("/api/models", json={"name": "tiny", "spec": TINY}).json()
        created = client.post("/api/runs", json={"model_id": model["id"], "config": QUICK})
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]
        ws = base.replace("http", "ws", 1)
        events: list[dict[str, Any]] = []
        with connect(f"{ws}/ws/runs/{run_id}") as live:
            while not (events and events[-1].get("status") in FINISHED):
                events.append(json.loads(live.recv(timeout=90)))
                if events[-1]["type"] == "done":  # stored before it is heard
                    assert client.get(f"/api/runs/{run_id}").json()["status"] == "completed"
        seqs = [event["seq"] for event in events]
        assert seqs == sorted(set(seqs)), "each message's seq is larger than the one before"
        assert events[-1]["status"] == "completed"
        assert {"step", "epoch", "feature_maps", "done"} <= {event["type"] for event in events}

        run = client.get(f"/api/runs/{run_id}").json()
        assert run["step"] == run["total_steps"] == 32 and 0.5 < run["test_accuracy"] <= 1
        with connect(f"{ws}/ws/runs/{run_id}?since=5") as replay:  # history after seq 5
            rest: list[dict[str, Any]] = []
            while not (rest and rest[-1].get("status") in FINISHED):
                rest.append(json.loads(replay.recv(timeout=10)))
        replayed = [event["seq"] for event in rest if event["type"] != "feature_maps"]
        assert replayed == [
            e["seq"] for e in events if e["type"] != "feature_maps" and e["seq"] > 5
        ]

        # The checkpoint came back through Ray and was written here: predictions and exports.
        checkpoint = Path(app.state.store.get_run(run_id).checkpoint)
        assert checkpoint.is_file() and checkpoint.is_relative_to(app_data_dir)
        assert kept_epochs(app_data_dir, run_id)[-1] == run["epoch"]  # kept for branching
        answer = client.post(f"/api/runs/{run_id}/predict", json={"pixels": [0.0] * 784})
        assert answer.status_code == 200 and len(answer.json()["probabilities"]) == 10
        exported = client.get(f"/api/runs/{run_id}/export?format=safetensors")
        assert exported.status_code == 200 and len(exported.content) > 7850 * 4


def test_pause_resume_lr_and_stop_reach_the_actor(
    local_ray: None, app_data_dir: Path, mnist: Mnist
) -> None:
    manager = _manager(app_data_dir, mnist)
    try:
        config = {"epochs": 20, "batch_size": 32, "schedule": "none", "train_subset": 4096}
        run = manager.submit_spec(TINY, config)
        _wait_for(lambda: _steps(manager, run.id), what="the first step")
        manager.pause(run.id)
        _wait_for(lambda: manager.store.get_run(run.id).status == RunStatus.PAUSED, 10, "pause")
        time.sleep(0.5)
        held = max(event["step"] for event in _steps(manager, run.id))
        time.sleep(0.5)
        assert max(event["step"] for event in _steps(manager, run.id)) == held
        manager.set_lr(run.id, 0.0123)
        manager.resume(run.id)
        _wait_for(
            lambda: any(
                e["step"] > held and round(e["lr"], 6) == 0.0123 for e in _steps(manager, run.id)
            ),
            20,
            "a step at the new learning rate",
        )
        manager.stop(run.id)
        record = manager.wait(run.id, 30)
        assert record.status == RunStatus.STOPPED
        assert _seqs(manager.store, run.id) == sorted(set(_seqs(manager.store, run.id)))
    finally:
        manager.close()


def test_a_killed_actor_leaves_the_run_interrupted_and_resumable(
    local_ray: None, app_data_dir: Path, mnist: Mnist
) -> None:
    manager = _manager(app_data_dir, mnist)
    try:
        run = manager.submit_spec(TINY, {"epochs": 4, "train_subset": 4096, "batch_size": 32})
        _wait_for(lambda: manager.store.get_run(run.id).checkpoint is not None, 60, "epoch 1")
        executor = manager._executor
        assert isinstance(executor, RayExecutor)
        (actor,) = executor.actors()
        ray.kill(actor, no_restart=True)
        record = manager.wait(run.id, 30)
        assert record.status == RunStatus.INTERRUPTED
        assert "Ray actor" in (record.error or "")
        assert manager.executor_errors == 1

        manager.resume(run.id)
        record = manager.wait(run.id, 90)
        assert record.status == RunStatus.COMPLETED, record.error
        assert record.epoch == 4
        kinds = [event["type"] for event in manager.store.events_since(run.id, types=["epoch"])]
        assert len(kinds) == 4  # the epochs before the kill were kept, the rest trained after
        assert _seqs(manager.store, run.id) == sorted(set(_seqs(manager.store, run.id)))
    finally:
        manager.close()


def test_two_owners_runs_alternate(local_ray: None, app_data_dir: Path, mnist: Mnist) -> None:
    manager = _manager(app_data_dir, mnist, ray_slots=1)
    try:
        assert manager.training_slots() == 1
        config = {**QUICK, "train_subset": 512}
        runs = [manager.submit_spec(TINY, config, owner=owner) for owner in "aabb"]
        for run in runs:
            assert manager.wait(run.id, 120).status == RunStatus.COMPLETED
        started = sorted(runs, key=lambda run: manager.store.get_run(run.id).started_at or 0)
        assert [run.owner for run in started] == ["a", "b", "a", "b"]

        # One actor trained them all, run after run; an idle actor that died is replaced.
        executor = manager._executor
        assert isinstance(executor, RayExecutor)
        (actor,) = executor.actors()
        ray.kill(actor, no_restart=True)
        again = manager.submit_spec(TINY, config, owner="a")
        assert manager.wait(again.id, 60).status == RunStatus.COMPLETED
        assert len(executor.actors()) == 1 and executor.actors()[0] != actor
    finally:
        manager.close()


def test_an_actor_lost_before_its_run_started_is_replaced(
    local_ray: None, app_data_dir: Path, mnist: Mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle actor can die after it answered the check and before the job reached it."""
    manager = _manager(app_data_dir, mnist, ray_slots=1)
    try:
        executor = manager._executor
        assert isinstance(executor, RayExecutor)
        dead = executor._start_actor()
        ray.get(dead.ready.remote())
        ray.kill(dead, no_restart=True)
        handed = [dead]
        monkeypatch.setattr(executor, "_take_idle", lambda: handed.pop() if handed else None)
        run = manager.submit_spec(TINY, {**QUICK, "train_subset": 512}, owner="a")
        record = manager.wait(run.id, 90)
        assert record.status == RunStatus.COMPLETED, record.error
        assert not handed and dead not in executor.actors()
        assert manager.executor_errors == 0
    finally:
        manager.close()


def test_an_unreachable_cluster_is_one_line_at_start_up(
    tmp_path: Path, mnist_data_dir: Path
) -> None:
    env = {
        **os.environ,
        "NNP_EXECUTOR": "ray",
        "NNP_RAY_ADDRESS": "127.0.0.1:9",  # nothing listens there
        "NNP_RAY_CONNECT_SECONDS": "10",
        "NNP_DATA_DIR": str(tmp_path),
        "NNP_MNIST_DIR": str(mnist_data_dir),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "8799"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("nn-playground:")]
    assert len(ours) == 1, result.stderr
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in ours[0]
    assert time.monotonic() - started < 60
