"""dqn runs as the server trains them (a training process, events and checkpoints stored,
kill -9 survived) and from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.data import Mnist
from app.inference.predictor import NotAQNetworkError, Predictor
from app.main import create_app
from app.settings import Settings
from app.store import RunStatus, Store
from app.training import RunManager, Throttle
from app.training.process import ProcessExecutor

PRESET = json.loads(
    (Path(__file__).resolve().parents[1] / "app/nn/presets/dqn-cartpole.json").read_text()
)
QUICK = Throttle(step_s=0.05, feature_maps_s=0.1, checkpoint_s=0.0)

FINISHED = {"completed", "stopped", "failed", "interrupted"}


def dqn(**task: Any) -> dict[str, Any]:
    """The preset's config with a short task."""
    return {**PRESET["config"], "task": {"name": "dqn", **task}}


class Heard:
    """Every event the manager broadcast, by run; a test can wait for one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()

    def __call__(self, run_id: str, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append((run_id, event))
            self.changed.notify_all()

    def of(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        with self.changed:
            return [e for owner, e in self.events if owner == run_id and kind in (None, e["type"])]


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def manager(tmp_path: Path, mnist: Mnist, heard: Heard) -> Iterator[RunManager]:
    with Store(tmp_path / "data") as store:
        settings = Settings(data_dir=tmp_path / "data", device="cpu", torch_threads=1)
        assert settings.training_process
        opened = RunManager(store, settings, mnist=mnist, throttle=QUICK)
        opened.add_listener(heard)
        with opened:
            yield opened


def test_a_dqn_run_trains_in_the_training_process_and_is_stored(
    manager: RunManager, heard: Heard
) -> None:
    run = manager.submit_spec(PRESET["spec"], dqn(env_steps=1_500, learn_starts=300))
    assert run.config["schedule"] == "none"  # completed for deep Q-learning
    record = manager.wait(run.id, 120)
    assert record.status == RunStatus.COMPLETED, record.error

    stored = manager.store.events_since(run.id)
    assert [e["seq"] for e in stored] == sorted({e["seq"] for e in stored})
    episodes = [e for e in stored if e["type"] == "episode"]  # every one kept: the curve
    assert [e["episode"] for e in episodes] == list(range(1, len(episodes) + 1))
    assert episodes == heard.of(run.id, "episode")
    (done,) = [e for e in stored if e["type"] == "done"]
    assert done["episodes"] == len(episodes) and done["steps"] == 1_500
    greedy = [e for e in stored if e["type"] == "cartpole" and e["mode"] == "greedy"]
    assert len(greedy) == 1 and greedy[0]["at_epoch_end"]  # kept to replay
    assert [e for e in stored if e["type"] == "cartpole"] == greedy  # live frames are not kept
    assert heard.of(run.id, "cartpole")  # live frames reached the listeners

    assert (record.step, record.epoch) == (1_500, len(episodes))
    assert record.test_accuracy is None and record.best_val_accuracy is None
    assert record.checkpoint is not None
    weights = manager.latest_weights(run.id)
    assert weights is not None and weights.state["4.weight"].shape == (2, 128)  # the Q-network

    predictor = Predictor(manager)
    answer = predictor.q_values(run.id, [0.0, 0.0, 0.05, 0.1])
    assert len(answer["q_values"]) == 2 and answer["step"] == 1_500
    assert answer["action"] == max((0, 1), key=answer["q_values"].__getitem__)
    assert answer["actions"] == ["push left", "push right"]
    with pytest.raises(NotAQNetworkError, match="a CartPole-v1 state is 4 numbers"):
        predictor.q_values(run.id, [0.0, 0.0])
    classifier = manager.submit_spec(
        {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]},
        {"epochs": 1, "max_steps": 2, "train_subset": 256, "eval_limit": 64},
    )
    assert manager.wait(classifier.id, 60).status == RunStatus.COMPLETED
    with pytest.raises(NotAQNetworkError, match="no dqn run"):
        predictor.q_values(classifier.id, [0.0] * 4)


def test_kill_9_interrupts_a_dqn_run_and_resume_goes_on_from_its_last_episode(
    manager: RunManager, heard: Heard
) -> None:
    run = manager.submit_spec(PRESET["spec"], dqn(env_steps=2_000, learn_starts=300))
    deadline = time.monotonic() + 60
    while (manager.store.get_run(run.id) or run).step < 600:  # a checkpoint past learning
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.05)
    executor = manager._executor
    assert isinstance(executor, ProcessExecutor)
    (pid,) = [process.pid for process in executor.processes() if process.pid is not None]
    os.kill(pid, signal.SIGKILL)
    record = manager.wait(run.id, 60)
    assert record.status == RunStatus.INTERRUPTED
    assert record.error is not None and "killed by signal 9" in record.error
    saved_episodes = record.epoch

    manager.resume(run.id)
    record = manager.wait(run.id, 120)
    assert record.status == RunStatus.COMPLETED, record.error
    assert record.step == 2_000
    history = manager.store.events_since(run.id)
    numbers = [e["episode"] for e in history if e["type"] == "episode"]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > saved_episodes
    ends = [e["step"] for e in history if e["type"] == "episode"]
    assert ends == sorted(ends)
    statuses = [e["status"] for e in history if e["type"] == "status"]
    assert statuses == ["queued", "running", "queued", "running", "completed"]
    assert [e["type"] for e in history].count("done") == 1


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "train", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_line_trains_a_dqn_and_sums_it_up(tmp_path: Path) -> None:
    spec = tmp_path / "q.json"
    spec.write_text(json.dumps(PRESET["spec"]))
    task = json.dumps({"name": "dqn", "env_steps": 1_200, "learn_starts": 200, "eval_episodes": 2})
    options = ["--lr", "5e-4", "--batch-size", "64", "--threads", "1", "--json"]
    result = _train(str(spec), "--set", f"task={task}", *options)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {line["type"] for line in lines}
    assert {"step", "episode", "cartpole", "done", "summary"} <= kinds
    summary = lines[-1]
    assert summary["status"] == "completed" and summary["steps"] == 1_200
    assert summary["episodes"] == summary["epochs"] > 10
    for key in ("mean_return", "best_return", "greedy_return", "steps_per_s"):
        assert summary[key] > 0
    assert summary["test_accuracy"] is None


def test_the_command_line_names_what_a_dqn_cannot_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "q.json"
    spec.write_text(json.dumps(PRESET["spec"]))
    assert main(["train", str(spec), "--set", "task=dqn", "--set", "loss=nll"]) == 2
    assert capsys.readouterr().err.startswith("loss: a Q-network regresses action values")


def test_the_preset_trains_through_the_api_and_its_metrics_have_the_episodes(
    app_data_dir: Path,
) -> None:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as client:
        preset = client.get("/api/presets/dqn-cartpole").json()
        assert preset["config"]["task"] == "dqn"
        model = client.post("/api/models", json={"name": "q", "spec": preset["spec"]}).json()
        task = {"name": "dqn", "env_steps": 1_000, "learn_starts": 200, "eval_episodes": 1}
        config = {**preset["config"], "task": task}
        answer = client.post("/api/runs", json={"model_id": model["id"], "config": config})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["id"]
        assert client.get(f"/api/runs/{run_id}").json()["total_steps"] == 1_000  # env steps
        deadline = time.monotonic() + 120
        while (run := client.get(f"/api/runs/{run_id}").json())["status"] not in FINISHED:
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert run["status"] == "completed", run["error"]
        history = client.get(f"/api/runs/{run_id}/metrics").json()
        episodes = history["episodes"]
        assert episodes and episodes[-1]["step"] <= 1_000
        assert [e["episode"] for e in episodes] == list(range(1, len(episodes) + 1))
        assert history["done"]["episodes"] == len(episodes)
        assert (run["step"], run["total_steps"], run["progress"]) == (1_000, 1_000, 1.0)
        assert run["epoch"] == len(episodes)  # the finished episodes, not the cut one after
