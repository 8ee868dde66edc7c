"""Training in a child process: events cross in order, control reaches it, kill -9 is survived."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.data import Mnist
from app.nn import load_preset
from app.settings import Settings
from app.store import RunStatus, Store
from app.training import RunManager, Throttle
from app.training.process import ProcessExecutor

MLP = load_preset("mlp")
EVERY_STEP = Throttle(step_s=0.0, feature_maps_s=0.0, checkpoint_s=0.0)
SMALL = {"train_subset": 640, "eval_limit": 200, "batch_size": 64}  # 10 steps an epoch


class Heard:
    """Every event the manager broadcast, by run; a test can wait for one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()

    def __call__(self, run_id: str, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append((run_id, event))
            self.changed.notify_all()

    def of(self, run_id: str) -> list[dict[str, Any]]:
        with self.changed:
            return [event for owner, event in self.events if owner == run_id]

    def wait_for(self, run_id: str, kind: str, what: str, timeout: float = 60.0) -> None:
        def seen() -> bool:
            return any(e["type"] == kind and what in str(e) for e in self.of(run_id))

        with self.changed:
            assert self.changed.wait_for(seen, timeout), f"no {kind} event with {what!r}"


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def manager(tmp_path: Path, mnist: Mnist, heard: Heard) -> Iterator[RunManager]:
    with Store(tmp_path / "data") as store:
        settings = Settings(data_dir=tmp_path / "data", device="cpu")
        assert settings.training_process  # the default
        opened = RunManager(store, settings, mnist=mnist, throttle=EVERY_STEP)
        opened.add_listener(heard)
        with opened:
            yield opened


def training_pids(manager: RunManager) -> list[int]:
    executor = manager._executor
    assert isinstance(executor, ProcessExecutor)
    return [pid for process in executor.processes() if (pid := process.pid) is not None]


def test_events_cross_the_process_in_order_and_none_is_lost(
    manager: RunManager, heard: Heard
) -> None:
    run = manager.submit_spec(MLP, {**SMALL, "epochs": 2})
    record = manager.wait(run.id, 120)
    assert record.status == RunStatus.COMPLETED, record.error

    pids = training_pids(manager)
    assert len(pids) == 1 and pids[0] != os.getpid()  # it trained elsewhere
    assert os.getsid(pids[0]) == pids[0] != os.getsid(0)  # in a session (CPU group) of its own
    events = heard.of(run.id)
    assert [e["seq"] for e in events] == list(range(len(events)))  # every number, in order
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert statuses == ["queued", "running", "completed"]
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    assert [e["type"] for e in events].count("done") == 1
    steps = [e["step"] for e in events if e["type"] == "step"]
    assert steps == list(range(1, 21))  # EVERY_STEP: each step once, in order
    assert events.index(next(e for e in events if e["type"] == "done")) < len(events) - 1
    stored = manager.store.events_since(run.id)
    kept = [e for e in events if e["type"] != "feature_maps" or e.get("at_epoch_end")]
    assert [e["seq"] for e in stored] == [e["seq"] for e in kept]  # persisted as heard

    weights = manager.latest_weights(run.id)  # the final weights came back through the pipe
    assert weights is not None and weights.step == 20 and weights.epoch == 2
    assert record.checkpoint is not None and record.epoch == 2


def test_pause_lr_and_stop_reach_the_training_process(manager: RunManager, heard: Heard) -> None:
    run = manager.submit_spec(MLP, {**SMALL, "train_subset": 50_000, "schedule": "none"})
    heard.wait_for(run.id, "step", "'step': 3")
    manager.pause(run.id)
    heard.wait_for(run.id, "status", "paused")
    paused_at = max(e["step"] for e in heard.of(run.id) if e["type"] == "step")
    time.sleep(0.5)
    assert max(e["step"] for e in heard.of(run.id) if e["type"] == "step") == paused_at
    assert manager.store.get_run(run.id).status == RunStatus.PAUSED  # type: ignore[union-attr]

    manager.set_lr(run.id, 0.0123)
    manager.resume(run.id)
    heard.wait_for(run.id, "step", "0.0123")
    manager.stop(run.id)
    record = manager.wait(run.id, 60)
    assert record.status == RunStatus.STOPPED
    statuses = [e["status"] for e in heard.of(run.id) if e["type"] == "status"]
    assert statuses == ["queued", "running", "paused", "running", "stopped"]


@pytest.mark.parametrize("when", ["queued", "running"])
def test_a_pause_sent_as_the_run_starts_is_not_lost(
    manager: RunManager, heard: Heard, when: str
) -> None:
    run = manager.submit_spec(MLP, {**SMALL, "train_subset": 50_000, "schedule": "none"})
    heard.wait_for(run.id, "status", when)
    manager.pause(run.id)  # reaches the process right behind the job, or with it
    heard.wait_for(run.id, "status", "paused")
    manager.stop(run.id)
    assert manager.wait(run.id, 60).status == RunStatus.STOPPED


def test_a_failure_in_the_process_fails_the_run_with_its_reason(manager: RunManager) -> None:
    linear = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
    exploding = {"loss": "mse", "optimizer": "sgd", "lr": 10.0, "momentum": 0.0}
    diverging = manager.submit_spec(linear, {**SMALL, **exploding, "epochs": 1})
    record = manager.wait(diverging.id, 120)
    assert record.status == RunStatus.FAILED
    assert record.error is not None and record.error.startswith("the loss diverged")
    fine = manager.submit_spec(MLP, {**SMALL, "epochs": 1})
    assert manager.wait(fine.id, 120).status == RunStatus.COMPLETED
    assert len(training_pids(manager)) == 1  # the same process trained both


def test_kill_9_of_the_training_process_interrupts_the_run_and_resume_goes_on(
    manager: RunManager, heard: Heard
) -> None:
    config = {**SMALL, "epochs": 3, "batch_size": 16}  # 40 steps an epoch
    run = manager.submit_spec(MLP, config)
    heard.wait_for(run.id, "step", "'step': 45")  # in epoch 2, after the first checkpoint
    (pid,) = training_pids(manager)
    os.kill(pid, signal.SIGKILL)

    record = manager.wait(run.id, 60)
    assert record.status == RunStatus.INTERRUPTED
    assert record.error is not None and "killed by signal 9" in record.error
    assert manager.executor_errors == 1  # /metrics: nnp_executor_errors_total
    # killed after its first checkpoint (the process may have run ahead of its events)
    assert 1 <= record.epoch < 3 and record.checkpoint is not None
    last = heard.of(run.id)[-1]
    assert (last["type"], last["status"]) == ("status", "interrupted")

    manager.resume(run.id)
    record = manager.wait(run.id, 120)
    assert record.status == RunStatus.COMPLETED, record.error
    assert (record.epoch, record.step) == (3, 120)
    history = manager.store.events_since(run.id)
    seqs = [e["seq"] for e in history]
    assert seqs == sorted(set(seqs))
    assert [e["step"] for e in history if e["type"] == "step"] == list(range(1, 121))
    assert [e["epoch"] for e in history if e["type"] == "epoch"] == [1, 2, 3]
    statuses = [e["status"] for e in history if e["type"] == "status"]
    # resuming drops what came after the checkpoint (the lost epoch and the interruption)
    assert statuses == ["queued", "running", "queued", "running", "completed"]
    pids = training_pids(manager)
    assert len(pids) == 1 and pids[0] != pid  # a fresh process took over


def test_the_training_process_exits_with_the_manager(manager: RunManager) -> None:
    run = manager.submit_spec(MLP, {**SMALL, "epochs": 1})
    assert manager.wait(run.id, 120).status == RunStatus.COMPLETED
    (pid,) = training_pids(manager)
    manager.close()
    assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_a_process_started_with_the_manager_trains_the_first_run_and_the_next(
    tmp_path: Path, mnist: Mnist, heard: Heard
) -> None:
    with Store(tmp_path / "data") as store:
        settings = Settings(data_dir=tmp_path / "data", device="cpu", warm_training_process=True)
        with RunManager(store, settings, mnist=mnist, throttle=EVERY_STEP) as manager:
            (warm,) = training_pids(manager)  # started before any run was asked for
            first = manager.submit_spec(MLP, {**SMALL, "epochs": 1})
            assert manager.wait(first.id, 120).status == RunStatus.COMPLETED
            assert training_pids(manager) == [warm]

            os.kill(warm, signal.SIGKILL)  # dies while idle: the next run gets a new one
            executor = manager._executor
            assert isinstance(executor, ProcessExecutor)
            while any(process.is_alive() for process in executor.processes()):
                time.sleep(0.01)
            second = manager.submit_spec(MLP, {**SMALL, "epochs": 1})
            record = manager.wait(second.id, 120)
            assert record.status == RunStatus.COMPLETED, record.error
            (fresh,) = training_pids(manager)
            assert fresh != warm


def test_without_warming_no_process_starts_before_a_run(manager: RunManager) -> None:
    assert not manager.settings.warm_training_process  # as tests/conftest.py sets it
    assert training_pids(manager) == []


def test_whoever_hears_done_reads_the_run_finished(manager: RunManager, heard: Heard) -> None:
    read_at_done: list[RunStatus] = []

    def on_done(run_id: str, event: dict[str, Any]) -> None:
        if event["type"] == "done":
            record = manager.store.get_run(run_id)
            assert record is not None
            read_at_done.append(record.status)

    manager.add_listener(on_done)
    run = manager.submit_spec(MLP, {**SMALL, "epochs": 1})
    assert manager.wait(run.id, 120).status == RunStatus.COMPLETED
    assert read_at_done == [RunStatus.COMPLETED]  # stored first, then published
    kinds = [e["type"] for e in heard.of(run.id)]
    assert kinds[-2:] == ["done", "status"]
    stored = manager.store.events_since(run.id)
    assert [e["type"] for e in stored][-2:] == ["done", "status"]
