"""Time travel in the core: epoch checkpoints kept and capped, branches from a finished, a
stopped, a running and an interrupted run, with the optimizer state carried and frozen layers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from app.data import Mnist
from app.nn import load_preset
from app.settings import Settings
from app.store import RunRecord, RunStatus, Store, load_checkpoint
from app.training import ConfigError, RunManager, Throttle
from app.training.branching import BranchError, plan_branch, start_branch
from app.training.config import DEFAULT_LR, parse_config
from app.training.epoch_checkpoints import epoch_path, kept_epochs, thinned
from app.training.outputs import TrainingState
from app.training.tasks import TASKS

MLP = load_preset("mlp")
SMALL = {"train_subset": 256, "eval_limit": 64, "batch_size": 64, "epochs": 3}  # 4 steps/epoch
SLOW = {"train_subset": 50_000, "eval_limit": 64, "batch_size": 16, "epochs": 3}
BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
EACH_EPOCH = Throttle(step_s=0.05, feature_maps_s=1.0, checkpoint_s=0.0)


def open_manager(
    data_dir: Path, mnist: Mnist, *, cap: int = 20, throttle: Throttle = EACH_EPOCH
) -> tuple[Store, RunManager]:
    store = Store(data_dir)
    settings = Settings(
        data_dir=data_dir, device="cpu", training_process=False, epoch_checkpoints=cap
    )
    manager = RunManager(store, settings, mnist=mnist, throttle=throttle)
    manager.start()
    return store, manager


@pytest.fixture
def manager(tmp_path: Path, mnist: Mnist) -> Iterator[RunManager]:
    store, opened = open_manager(tmp_path / "data", mnist)
    try:
        yield opened
    finally:
        opened.close()
        store.close()


def finished(manager: RunManager, run: RunRecord, timeout: float = 120.0) -> RunRecord:
    record = manager.wait(run.id, timeout)
    assert record.status not in {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED}
    return record


def epoch_weights(manager: RunManager, run_id: str, epoch: int) -> dict[str, torch.Tensor]:
    return load_checkpoint(epoch_path(manager.store.data_dir, run_id, epoch)).model_state


def final_weights(manager: RunManager, run_id: str) -> dict[str, torch.Tensor]:
    record = manager.store.get_run(run_id)
    assert record is not None and record.checkpoint is not None
    return load_checkpoint(record.checkpoint).model_state


# -- epoch checkpoints ---------------------------------------------------------------------


def test_thinning_keeps_the_first_the_best_and_the_last_spread_evenly() -> None:
    assert thinned([1, 2, 3], best=2, cap=5) == []
    gone = thinned(list(range(1, 11)), best=4, cap=5)
    kept = sorted(set(range(1, 11)) - set(gone))
    assert len(kept) == 5 and {1, 4, 10} <= set(kept)
    assert max(b - a for a, b in itertools.pairwise(kept)) <= 3  # no big hole
    assert thinned([1, 2, 3, 4], best=2, cap=3) == [3]  # protected ones stay even if close


def test_every_epoch_is_kept_up_to_the_cap(tmp_path: Path, mnist: Mnist) -> None:
    store, manager = open_manager(tmp_path / "data", mnist, cap=3)
    try:
        run = manager.submit_spec(MLP, {**SMALL, "epochs": 6})
        assert finished(manager, run).status == RunStatus.COMPLETED
        kept = kept_epochs(store.data_dir, run.id)
        best = load_checkpoint(epoch_path(store.data_dir, run.id, 6)).meta["best_epoch"]
        assert len(kept) == 3 and {1, best, 6} <= set(kept)
        # each kept file is that epoch's state, not the rolling checkpoint's
        meta = load_checkpoint(epoch_path(store.data_dir, run.id, 1)).meta
        assert (meta["epoch"], meta["step"], meta["final"]) == (1, 4, False)
        manager.delete_run(run.id)
        assert kept_epochs(store.data_dir, run.id) == []
        assert not epoch_path(store.data_dir, run.id, 6).exists()
    finally:
        manager.close()
        store.close()


def test_tiny_epochs_keep_a_checkpoint_per_throttle_interval_and_the_last(
    tmp_path: Path, mnist: Mnist
) -> None:
    throttle = Throttle(step_s=0.05, feature_maps_s=1.0, checkpoint_s=3600.0)
    store, manager = open_manager(tmp_path / "data", mnist, throttle=throttle)
    try:
        run = manager.submit_spec(MLP, {**SMALL, "epochs": 5})
        assert finished(manager, run).status == RunStatus.COMPLETED
        assert kept_epochs(store.data_dir, run.id) == [1, 5]  # the first, the last; no others
    finally:
        manager.close()
        store.close()


# -- branches ------------------------------------------------------------------------------


def test_a_branch_without_changes_goes_on_exactly_as_its_parent(manager: RunManager) -> None:
    """Weights, optimizer state, random states and the schedule all carry over: the branch
    from epoch 2 ends at the parent's epoch 3 weights, bit for bit."""
    parent = manager.submit_spec(load_preset("mlp-deep"), SMALL)  # dropout: random states too
    assert finished(manager, parent).status == RunStatus.COMPLETED
    branch = start_branch(manager, parent.id, 2, {})
    assert (branch.parent_run_id, branch.branch_epoch) == (parent.id, 2)
    assert branch.branch_note == "adam state carried over"
    record = finished(manager, branch)
    assert record.status == RunStatus.COMPLETED, record.error
    assert (record.epoch, record.step) == (3, 12)  # counting goes on from epoch 2, step 8
    expected = epoch_weights(manager, parent.id, 3)
    got = epoch_weights(manager, branch.id, 3)
    assert all(torch.equal(got[name], tensor) for name, tensor in expected.items())
    steps = [e["step"] for e in manager.store.events_since(branch.id, types=["step"])]
    assert steps[0] > 8 and steps[-1] == 12


def test_changed_settings_apply_and_adam_state_carries(manager: RunManager) -> None:
    parent = manager.submit_spec(MLP, SMALL)
    assert finished(manager, parent).status == RunStatus.COMPLETED
    changes = {"lr": 1e-4, "batch_size": 32, "epochs": 4, "schedule": "none"}

    parent_state = load_checkpoint(epoch_path(manager.store.data_dir, parent.id, 2))
    config = parse_config({**parent.config, **changes})
    plan = plan_branch(
        TrainingState(parent_state.model_state, parent_state.optimizer_state, parent_state.meta),
        manager.store.get_model(parent.model_id).spec,  # type: ignore[union-attr]
        manager.settings.spec_limits(),
        parse_config(parent.config),
        config,
    )
    carried, before = plan.state.optimizer_state, parent_state.optimizer_state
    assert carried is not None and before is not None
    for index, state in before["state"].items():
        assert torch.equal(carried["state"][index]["exp_avg"], state["exp_avg"])
        assert torch.equal(carried["state"][index]["exp_avg_sq"], state["exp_avg_sq"])
    assert carried["param_groups"][0]["lr"] == 1e-4

    branch = start_branch(manager, parent.id, 2, changes)
    record = finished(manager, branch)
    assert record.status == RunStatus.COMPLETED, record.error
    assert record.config["batch_size"] == 32 and record.config["lr"] == 1e-4
    assert (record.epoch, record.step) == (4, 8 + 2 * 8)  # 8 steps of 32 per epoch from step 8
    steps = manager.store.events_since(branch.id, types=["step"])
    assert {event["lr"] for event in steps} == {1e-4}
    assert [e["epoch"] for e in manager.store.events_since(branch.id, types=["epoch"])] == [3, 4]


def test_a_new_optimizer_starts_fresh_and_says_so(manager: RunManager) -> None:
    parent = manager.submit_spec(MLP, SMALL)
    assert finished(manager, parent).status == RunStatus.COMPLETED
    branch = start_branch(manager, parent.id, 3, {"optimizer": "sgd", "epochs": 4})
    assert branch.branch_note is not None and "cannot carry over" in branch.branch_note
    assert branch.config["lr"] == DEFAULT_LR["sgd"]
    record = finished(manager, branch)
    assert record.status == RunStatus.COMPLETED, record.error
    queued = manager.store.events_since(branch.id, types=["status"])[0]
    assert "adam's state cannot carry over to sgd" in queued["reason"]


def test_frozen_layers_do_not_change(manager: RunManager) -> None:
    parent = manager.submit_spec(MLP, SMALL)
    assert finished(manager, parent).status == RunStatus.COMPLETED
    branch = start_branch(manager, parent.id, 1, {"frozen": ["1"], "lr": 0.05})
    assert finished(manager, branch).status == RunStatus.COMPLETED
    start, end = epoch_weights(manager, parent.id, 1), final_weights(manager, branch.id)
    assert torch.equal(start["1.weight"], end["1.weight"])
    assert torch.equal(start["1.bias"], end["1.bias"])
    assert not torch.equal(start["3.weight"], end["3.weight"])  # the rest trained


def test_refusals_name_what_is_wrong(manager: RunManager) -> None:
    parent = manager.submit_spec(MLP, {**SMALL, "epochs": 2})
    assert finished(manager, parent).status == RunStatus.COMPLETED
    with pytest.raises(BranchError, match=r"keeps no epoch 7; epochs kept: 1, 2") as error:
        start_branch(manager, parent.id, 7, {"epochs": 9})
    assert error.value.field == "epoch"
    cases = [
        ({"frozen": ["9"], "epochs": 3}, "frozen.0", "no layer '9'; layers with weights: 1, 3"),
        ({"frozen": ["2"], "epochs": 3}, "frozen.0", "layer 2 (relu) has no weights"),
        ({"frozen": ["1", "3"], "epochs": 3}, "frozen", "nothing would train"),
        ({"dataset": "fashion-mnist", "epochs": 3}, "dataset", "cannot change"),
        ({}, "epochs", "give more than 2, got 2"),
        ({"lr": -1, "epochs": 3}, "lr", "must be > 0"),
    ]
    for changes, field, message in cases:
        with pytest.raises(ConfigError) as config_error:
            start_branch(manager, parent.id, 2, changes)
        assert config_error.value.issues[0][0] == field, changes
        assert message in config_error.value.issues[0][1], changes
    assert [r.id for r in manager.store.list_runs()] == [parent.id]  # nothing was queued
    assert not TASKS["gan"].branches and not TASKS["dqn"].branches


def test_branches_of_a_running_then_stopped_run(manager: RunManager) -> None:
    parent = manager.submit_spec(MLP, SLOW)
    data_dir = manager.store.data_dir
    deadline = 300
    for _ in range(deadline * 10):
        if kept_epochs(data_dir, parent.id):
            break
        manager.wait(parent.id, 0.1)
    assert kept_epochs(data_dir, parent.id) == [1]
    running = start_branch(manager, parent.id, 1, {"epochs": 2, "train_subset": 256})
    manager.stop(parent.id)
    assert finished(manager, parent).status == RunStatus.STOPPED
    assert kept_epochs(data_dir, parent.id) == [1]  # the stop's mid-epoch weights are no epoch
    stopped = start_branch(manager, parent.id, 1, {"epochs": 2, "train_subset": 256})
    for branch in (running, stopped):
        record = finished(manager, branch)
        assert record.status == RunStatus.COMPLETED and record.epoch == 2, record.error


def test_a_branch_of_an_interrupted_run(tmp_path: Path, mnist: Mnist) -> None:
    store, manager = open_manager(tmp_path / "data", mnist)
    parent = manager.submit_spec(MLP, SLOW)
    for _ in range(3000):
        if kept_epochs(store.data_dir, parent.id):
            break
        manager.wait(parent.id, 0.1)
    manager.close()  # the run is interrupted
    store.close()
    store, manager = open_manager(tmp_path / "data", mnist)
    try:
        record = store.get_run(parent.id)
        assert record is not None and record.status == RunStatus.INTERRUPTED
        branch = start_branch(manager, parent.id, 1, {"epochs": 2, "train_subset": 256})
        done = finished(manager, branch)
        assert done.status == RunStatus.COMPLETED and done.epoch == 2, done.error
        after = store.get_run(parent.id)
        assert after is not None and after.status == RunStatus.INTERRUPTED  # left as it was
    finally:
        manager.close()
        store.close()


def test_frozen_paths_reach_inside_residual_blocks(manager: RunManager) -> None:
    tiny = {"train_subset": 128, "eval_limit": 64, "batch_size": 64, "epochs": 1}
    parent = manager.submit_spec(load_preset("resnet-tiny"), tiny)
    assert finished(manager, parent).status == RunStatus.COMPLETED
    branch = start_branch(manager, parent.id, 1, {"frozen": ["3.0", "5"], "epochs": 2})
    assert finished(manager, branch).status == RunStatus.COMPLETED
    start, end = epoch_weights(manager, parent.id, 1), final_weights(manager, branch.id)
    frozen = [name for name in start if name.startswith(("3.body.0.", "5."))]
    assert "5.body.3.weight" in frozen
    changed = [name for name in frozen if not torch.equal(start[name], end[name])]
    assert all(name.endswith(BN_BUFFERS) for name in changed), changed  # statistics follow data
    assert not torch.equal(start["3.body.3.weight"], end["3.body.3.weight"])


def test_an_autoencoder_branches_too(manager: RunManager) -> None:
    config = {**SMALL, "epochs": 2, "task": "autoencode", "normalize": False, "loss": "mse"}
    parent = manager.submit_spec(load_preset("autoencoder"), config)
    assert finished(manager, parent).status == RunStatus.COMPLETED, parent
    branch = start_branch(manager, parent.id, 1, {"lr": 1e-3})
    record = finished(manager, branch)
    assert record.status == RunStatus.COMPLETED and record.epoch == 2, record.error
