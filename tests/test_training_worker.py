"""Tests of the run manager: queue, live control, failures, persistence, crash and resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from app.data import Mnist
from app.inference import Predictor, RunModels
from app.nn import BuiltModel, build_model, load_preset
from app.settings import Settings
from app.store import ConflictError, NotFoundError, RunRecord, RunStatus, Store, load_checkpoint
from app.training import ConfigError, RunManager, Throttle

MLP = load_preset("mlp")
QUICK = {"train_subset": 256, "eval_limit": 200, "epochs": 1, "batch_size": 64}
LONG = {"train_subset": 50_000, "eval_limit": 100, "batch_size": 16, "schedule": "none"}
EVERY_STEP = Throttle(step_s=0.0, feature_maps_s=0.0, checkpoint_s=0.0)


class Events:
    """A listener that records (run_id, event) pairs and lets a test wait for one."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.hooks: list[Callable[[str, dict[str, Any]], None]] = []
        self._changed = threading.Condition()

    def __call__(self, run_id: str, event: dict[str, Any]) -> None:
        with self._changed:
            self.items.append((run_id, event))
            self._changed.notify_all()
        for hook in self.hooks:
            hook(run_id, event)

    def of(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        with self._changed:
            return [e for r, e in self.items if r == run_id and kind in (None, e["type"])]

    def wait_for(
        self, run_id: str, matches: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [e for r, e in self.items if r == run_id and matches(e)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, "timed out waiting for an event"
                self._changed.wait(left)


def is_status(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event["type"] == "status" and event["status"] == status


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def events() -> Events:
    return Events()


def open_manager(
    data_dir: Path,
    mnist: Mnist,
    events: Events,
    throttle: Throttle = EVERY_STEP,
    *,
    training_process: bool = True,
) -> tuple[Store, RunManager]:
    """A started manager; `training_process=False` trains in its own threads, where a test's
    monkeypatches reach the trainer."""
    store = Store(data_dir)
    settings = Settings(data_dir=data_dir, device="cpu", training_process=training_process)
    manager = RunManager(store, settings, mnist=mnist, throttle=throttle)
    manager.add_listener(events)
    manager.start()
    return store, manager


@pytest.fixture
def manager(data_dir: Path, mnist: Mnist, events: Events) -> Iterator[RunManager]:
    store, opened = open_manager(data_dir, mnist, events, Throttle())
    try:
        yield opened
    finally:
        opened.close()
        store.close()


@pytest.fixture
def thread_manager(data_dir: Path, mnist: Mnist, events: Events) -> Iterator[RunManager]:
    """A manager that trains in its own threads (monkeypatches reach the trainer)."""
    store, opened = open_manager(data_dir, mnist, events, Throttle(), training_process=False)
    try:
        yield opened
    finally:
        opened.close()
        store.close()


def finished(manager: RunManager, run: RunRecord, timeout: float = 60.0) -> RunRecord:
    record = manager.wait(run.id, timeout)
    assert record.status not in {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED}
    return record


# -- a whole run ---------------------------------------------------------------------------


def test_run_completes_and_everything_is_persisted(
    manager: RunManager, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = manager.submit_spec(MLP, {**QUICK, "epochs": 2}, name="mlp")
    record = finished(manager, run)

    assert record.status == RunStatus.COMPLETED and record.error is None
    assert record.epoch == 2 and record.step == 8
    assert record.test_accuracy is not None and record.test_accuracy > 0.5
    assert record.config["epochs"] == 2 and record.config["lr"] == 3e-3
    assert manager.store.journal_mode() == "wal"

    live = events.of(run.id)
    seqs = [event["seq"] for event in live]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    statuses = [event["status"] for event in live if event["type"] == "status"]
    assert statuses == ["queued", "running", "completed"]
    kinds = [event["type"] for event in live]
    assert kinds.count("epoch") == 2 and kinds.count("done") == 1
    assert kinds.index("done") < len(kinds) - 1  # the final status comes after `done`

    stored = manager.store.events_since(run.id)
    kept = [e for e in live if e["type"] != "feature_maps" or e["at_epoch_end"]]
    assert stored == kept  # the history is exactly what listeners saw, minus live frames
    assert manager.store.events_since(run.id, types=["feature_maps"])[-1]["at_epoch_end"]

    checkpoint = load_checkpoint(record.checkpoint or "")
    assert checkpoint.meta["final"] and checkpoint.meta["epoch"] == 2
    assert checkpoint.optimizer_state is not None and checkpoint.optimizer_state["state"]
    snapshot = manager.latest_weights(run.id)
    assert snapshot is not None and snapshot.step == 8
    assert all(torch.equal(snapshot.state[k], v) for k, v in checkpoint.model_state.items())
    with monkeypatch.context() as patched:  # a drawing's every frame: no database read
        patched.setattr(manager.store, "get_run", lambda run_id: pytest.fail("read the store"))
        assert manager.latest_weights(run.id) is snapshot

    model = RunModels(manager).get(run.id).module  # what predictions and exports use
    assert not model.training
    validation = manager.mnist().validation
    inputs = (validation.images[:200].float() / 255 - 0.1307) / 0.3081
    with torch.no_grad():
        predictions = model(inputs.unsqueeze(1)).argmax(dim=1)
    accuracy = (predictions == validation.labels[:200]).sum().item() / 200
    done = events.of(run.id, "done")[0]
    epoch = events.of(run.id, "epoch")[-1]
    assert accuracy == pytest.approx(epoch["val_accuracy"]) and done["val_accuracy"] == accuracy

    manager.delete_run(run.id)  # its history, checkpoint and cached weights go with it
    assert manager.store.get_run(run.id) is None and manager.latest_weights(run.id) is None
    assert run.id not in manager._stored_weights
    assert not Path(record.checkpoint or "").exists()
    with pytest.raises(NotFoundError, match="no run with id"):
        manager.delete_run(run.id)


def test_bad_submissions_are_refused_with_the_field(manager: RunManager) -> None:
    with pytest.raises(ConfigError) as caught:
        manager.submit_spec(MLP, {"epochs": 0})
    assert caught.value.issues[0][0] == "epochs"
    with pytest.raises(ConfigError) as caught:
        manager.submit_spec(MLP, {"loss": "nll"})
    assert caught.value.issues[0][0] == "loss" and "log_softmax" in str(caught.value)
    eight_outputs = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 8}]}
    with pytest.raises(ConfigError, match="10 class scores"):
        manager.submit_spec(eight_outputs, {})
    with_log_softmax = {"layers": [*MLP.model_dump()["layers"], {"type": "log_softmax"}]}
    run = manager.submit_spec(with_log_softmax, {**QUICK, "loss": "nll"})
    assert finished(manager, run).status == RunStatus.COMPLETED
    assert manager.store.list_runs(statuses=["failed"]) == []


# -- control -------------------------------------------------------------------------------


@pytest.mark.parametrize("training_process", [False, True])
def test_control_from_another_thread(
    data_dir: Path, mnist: Mnist, events: Events, training_process: bool
) -> None:
    store, manager = open_manager(data_dir, mnist, events, training_process=training_process)
    try:
        run = manager.submit_spec(MLP, LONG)
        manager_pauses_at_step = 5
        events.hooks.append(
            lambda run_id, e: (
                manager.pause(run_id)
                if e["type"] == "step" and e["step"] == manager_pauses_at_step
                else None
            )
        )
        events.wait_for(run.id, is_status("paused"))
        assert manager.store.get_run(run.id).status == RunStatus.PAUSED  # type: ignore[union-attr]
        steps_when_paused = [e["step"] for e in events.of(run.id, "step")]
        time.sleep(0.3)
        assert [e["step"] for e in events.of(run.id, "step")] == steps_when_paused
        paused_at = steps_when_paused[-1]
        if training_process:  # the process trained on while the pause travelled to it
            assert paused_at >= manager_pauses_at_step
        else:  # listeners run in the trainer's own thread: it pauses at that very step
            assert paused_at == manager_pauses_at_step

        manager.set_lr(run.id, 0.0042)
        manager.resume(run.id)
        events.wait_for(run.id, is_status("running"))
        after = events.wait_for(run.id, lambda e: e["type"] == "step" and e["step"] > paused_at)
        assert after["lr"] == 0.0042
        assert manager.store.get_run(run.id).status == RunStatus.RUNNING  # type: ignore[union-attr]

        manager.stop(run.id)
        record = finished(manager, run)
        assert record.status == RunStatus.STOPPED
        assert record.checkpoint is not None  # a stopped run keeps its weights
        assert events.of(run.id, "done") == []
        with pytest.raises(ConflictError):
            manager.pause(run.id)
    finally:
        manager.close()
        store.close()


def test_a_queued_run_can_be_stopped_before_it_starts(manager: RunManager, events: Events) -> None:
    first = manager.submit_spec(MLP, LONG)
    second = manager.submit_spec(MLP, QUICK)
    events.wait_for(first.id, lambda e: e["type"] == "step")
    assert manager.stop(second.id).status == RunStatus.STOPPED
    manager.stop(first.id)
    assert finished(manager, first).status == RunStatus.STOPPED
    assert [e["status"] for e in events.of(second.id, "status")] == ["queued", "stopped"]


# -- failures ------------------------------------------------------------------------------


def test_nan_run_fails_and_the_next_one_completes(manager: RunManager) -> None:
    linear = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
    exploding = {"loss": "mse", "optimizer": "sgd", "lr": 10.0, "momentum": 0.0}
    bad = manager.submit_spec(linear, {**QUICK, **exploding, "train_subset": 1280})
    good = manager.submit_spec(MLP, QUICK)
    failed = finished(manager, bad)
    assert failed.status == RunStatus.FAILED
    assert failed.error is not None and "NaN" in failed.error and "learning rate" in failed.error
    assert finished(manager, good).status == RunStatus.COMPLETED
    last = manager.store.events_since(bad.id)[-1]
    assert (last["type"], last["status"], last["reason"]) == ("status", "failed", failed.error)


class Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in the model")


def test_an_exception_in_the_model_fails_the_run_only(
    thread_manager: RunManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = thread_manager

    def build_broken(spec: object, *args: Any, **kwargs: Any) -> BuiltModel:
        built = build_model(spec, *args, **kwargs)
        if len(built.module) == 4:  # only the 4-layer mlp breaks
            built.module.append(Boom())
        return built

    monkeypatch.setattr("app.training.supervised.build_model", build_broken)
    broken = manager.submit_spec(MLP, QUICK)
    fine = manager.submit_spec(load_preset("lenet5"), QUICK)
    failed = finished(manager, broken)
    assert failed.status == RunStatus.FAILED
    assert failed.error == "RuntimeError: boom in the model"
    assert finished(manager, fine).status == RunStatus.COMPLETED


# -- crash and resume ----------------------------------------------------------------------


def test_resume_after_a_crash_continues_from_the_checkpoint(
    data_dir: Path, mnist: Mnist, events: Events, tmp_path: Path
) -> None:
    config = {"train_subset": 640, "eval_limit": 200, "epochs": 2, "batch_size": 64}
    spec = load_preset("mlp-deep")  # dropout: the random state must be restored too

    # The reference: the same run, never interrupted.
    reference_store, reference = open_manager(tmp_path / "reference", mnist, Events())
    straight = reference.submit_spec(spec, config)
    assert finished(reference, straight).status == RunStatus.COMPLETED
    expected = reference.latest_weights(straight.id)
    reference.close()
    reference_store.close()
    assert expected is not None

    # First process: pause three steps into epoch 2 (exactly: in the trainer's own thread),
    # then die without tidying up. The resumed run below trains in a training process.
    store, manager = open_manager(data_dir, mnist, events, training_process=False)
    run = manager.submit_spec(spec, config)
    events.hooks.append(
        lambda run_id, e: manager.pause(run_id) if e["type"] == "step" and e["step"] == 13 else None
    )
    events.wait_for(run.id, is_status("paused"))
    manager.close()  # the worker leaves; the run is `interrupted`
    store.update_run(run.id, status=RunStatus.PAUSED)  # … as a killed process would leave it
    lost_seq = store.get_run(run.id).last_seq  # type: ignore[union-attr]
    store.close()

    events.hooks.clear()
    # Next start: the run is interrupted; resuming drops the lost epoch's events and goes on.
    store, manager = open_manager(data_dir, mnist, events)
    try:
        record = store.get_run(run.id)
        assert record is not None and record.status == RunStatus.INTERRUPTED
        assert record.epoch == 1 and record.step == 10  # the checkpoint after epoch 1
        resumed = manager.resume(run.id)
        assert resumed.status in {RunStatus.QUEUED, RunStatus.RUNNING}
        record = finished(manager, run)
        assert record.status == RunStatus.COMPLETED and (record.epoch, record.step) == (2, 20)

        history = store.events_since(run.id)
        seqs = [event["seq"] for event in history]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert max(seqs) > lost_seq  # numbering went on, never reused
        steps = [event["step"] for event in history if event["type"] == "step"]
        assert steps == list(range(1, 21))  # steps 11-13 of the lost epoch appear once
        assert [e["epoch"] for e in history if e["type"] == "epoch"] == [1, 2]
        statuses = [e["status"] for e in history if e["type"] == "status"]
        assert statuses == ["queued", "running", "queued", "running", "completed"]

        final = manager.latest_weights(run.id)
        assert final is not None
        assert all(torch.equal(final.state[k], v) for k, v in expected.state.items())
    finally:
        manager.close()
        store.close()


# -- predictions never wait behind training ------------------------------------------------


class Gate(nn.Module):
    """A no-op layer that holds the training step it is in until released."""

    def __init__(self, at_step: int) -> None:
        super().__init__()
        self.at_step, self.steps = at_step, 0
        self.reached, self.release = threading.Event(), threading.Event()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and torch.is_grad_enabled():  # a training step, not evaluation
            self.steps += 1
            if self.steps == self.at_step:
                self.reached.set()
                self.release.wait(120)
        return x


def predict_in_thread(predictor: Predictor, run_id: str, digit: Any) -> dict[str, Any]:
    """Predict from another thread; fail (instead of hanging) if it never answers."""
    answers: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: answers.append(predictor.predict(run_id, digit).to_dict()), daemon=True
    )
    thread.start()
    thread.join(120)
    assert answers, f"the prediction on run {run_id} waited behind the blocked training step"
    return answers[0]


def test_predictions_answer_while_a_training_step_is_blocked(
    thread_manager: RunManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = thread_manager
    predictor = Predictor(manager)
    digit = (manager.mnist().test.images[0].float() / 255).numpy()  # (28, 28)
    done = manager.submit_spec(MLP, QUICK)
    assert finished(manager, done).status == RunStatus.COMPLETED
    before = predictor.predict(done.id, digit).to_dict()

    gate = Gate(at_step=5)

    def build_gated(spec: object, *args: Any, **kwargs: Any) -> BuiltModel:
        built = build_model(spec, *args, **kwargs)
        built.module.append(gate)  # no weights: the snapshot loads into the plain model
        return built

    monkeypatch.setattr("app.training.supervised.build_model", build_gated)
    blocked = manager.submit_spec(MLP, LONG)
    try:
        assert gate.reached.wait(60), "the run never reached step 5"
        assert predict_in_thread(predictor, done.id, digit) == before
        live = predict_in_thread(predictor, blocked.id, digit)
        published = manager.latest_weights(blocked.id)
        assert published is not None and live["step"] == published.step
        assert 1 <= live["step"] < 5  # the last snapshot before the blocked step
        assert abs(sum(live["probabilities"]) - 1) < 1e-3
        assert manager.store.get_run(blocked.id).status == RunStatus.RUNNING  # type: ignore[union-attr]
    finally:
        gate.release.set()
        manager.stop(blocked.id)
    assert finished(manager, blocked).status == RunStatus.STOPPED


def test_predictions_do_not_wait_for_mnist_to_load(
    data_dir: Path, mnist: Mnist, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, manager = open_manager(data_dir, mnist, events)
    try:
        done = manager.submit_spec(MLP, QUICK)
        assert finished(manager, done).status == RunStatus.COMPLETED
    finally:
        manager.close()
        store.close()

    loading, loaded = threading.Event(), threading.Event()

    def slow_load(directory: Path) -> Mnist:
        loading.set()
        loaded.wait(120)
        return mnist

    monkeypatch.setattr("app.data.registry.load_mnist", slow_load)
    store = Store(data_dir)
    settings = Settings(data_dir=data_dir, device="cpu", training_process=False)
    manager = RunManager(store, settings)  # its worker thread loads MNIST itself
    manager.start()
    try:
        run = manager.submit_spec(MLP, QUICK)  # its worker starts loading MNIST
        assert loading.wait(60)
        digit = (mnist.test.images[1].float() / 255).numpy()  # (28, 28)
        answer = predict_in_thread(Predictor(manager), done.id, digit)
        assert answer["step"] == 4 and len(answer["probabilities"]) == 10
        loaded.set()
        assert finished(manager, run).status == RunStatus.COMPLETED
    finally:
        loaded.set()
        manager.close()
        store.close()


def test_a_run_submitted_while_closing_waits_for_the_next_start(
    data_dir: Path, mnist: Mnist, events: Events
) -> None:
    store, manager = open_manager(data_dir, mnist, events)
    manager.close()
    late = manager.submit_spec(MLP, QUICK)  # e.g. a request racing the shutdown
    assert late.status == RunStatus.QUEUED and manager.queue_order() == []
    store.close()

    store, manager = open_manager(data_dir, mnist, events)
    try:
        assert finished(manager, late).status == RunStatus.COMPLETED
    finally:
        manager.close()
        store.close()
