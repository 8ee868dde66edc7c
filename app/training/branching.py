"""Branching: a new run that starts from a kept epoch of another run, with changed settings.

The branch's first checkpoint is made from the parent's epoch checkpoint: the same weights,
random states and counters (its epochs and steps go on from the branch point), and the
optimizer's state when the optimizer stays the same (with the new config's hyperparameters;
parameters frozen in the parent start with fresh state). A new optimizer cannot take another's
state (Adam's moments mean nothing to SGD): it starts fresh, and the branch's note says so. The
branch is then queued like an interrupted run resuming from that checkpoint, so it trains in a
thread, a training process or on Ray alike.

`epochs` in a branch's config counts all epochs, the parent's up to the branch point included.
A new optimizer without an `lr` takes that optimizer's default learning rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.nn import SpecLimits, build_model
from app.store import (
    CheckpointError,
    RunStatus,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from app.store.records import RunRecord
from app.training.checkpoint_meta import CheckpointMeta
from app.training.config import ConfigError, TrainConfig, parse_config
from app.training.epoch_checkpoints import epoch_path, kept_epochs
from app.training.freezing import trainable_names
from app.training.outputs import TrainingState
from app.training.recorder import CHECKPOINT_NAME
from app.training.tasks import task_of

if TYPE_CHECKING:
    from app.training.manager import RunManager

FIXED = ("dataset", "task", "normalize")  # the data the parent's weights learned from


class BranchError(ValueError):
    """A branch was refused for a reason outside its config: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Branch:
    """What a branch starts from: its config, its first checkpoint, and what carried over."""

    config: TrainConfig
    state: TrainingState
    note: str


def branch_config(parent: Mapping[str, Any], changes: object, epoch: int) -> TrainConfig:
    """The parent's config with `changes` (ConfigError naming the field)."""
    if not isinstance(changes, Mapping):
        raise ConfigError([("config", "must be a JSON object of the settings to change")])
    fixed = [name for name in changes if name in FIXED and changes[name] != parent.get(name)]
    if fixed:
        issues = [
            (name, "a branch trains on its parent's data: it cannot change") for name in fixed
        ]
        raise ConfigError(issues)
    merged = {**parent, **changes}
    if "optimizer" in changes and changes["optimizer"] != parent.get("optimizer"):
        if "lr" not in changes:
            merged["lr"] = None  # the new optimizer's default
        if "nesterov" not in changes:
            merged["nesterov"] = False
    config = parse_config(merged)
    if config.epochs <= epoch:
        raise ConfigError(
            [
                (
                    "epochs",
                    f"counts every epoch, the {epoch} before the branch point included: give "
                    f"more than {epoch}, got {config.epochs}",
                )
            ]
        )
    return config


def plan_branch(
    checkpoint: TrainingState,
    spec: Mapping[str, Any],
    limits: SpecLimits,
    parent: TrainConfig,
    config: TrainConfig,
) -> Branch:
    """The branch's first checkpoint, made from the parent's epoch checkpoint."""
    meta = CheckpointMeta.from_dict(checkpoint.meta)
    optimizer_state, carried = _carry_optimizer(
        checkpoint.optimizer_state, spec, limits, parent, config
    )
    new_lr = config.lr != parent.lr or config.optimizer != parent.optimizer
    meta = replace(
        meta,
        seq=-1,  # the branch's own history starts empty
        final=False,
        config=config.model_dump(),
        base_lr=config.lr if new_lr else meta.base_lr,  # else as the parent had it (tuned)
    )
    state = TrainingState(dict(checkpoint.model_state), optimizer_state, meta.to_dict())
    return Branch(config, state, carried)


def _carry_optimizer(
    state: dict[str, Any] | None,
    spec: Mapping[str, Any],
    limits: SpecLimits,
    parent: TrainConfig,
    config: TrainConfig,
) -> tuple[dict[str, Any] | None, str]:
    """The optimizer state the branch starts with, and a note saying what carried over."""
    if state is None:
        return None, f"the parent's epoch has no optimizer state: {config.optimizer} starts fresh"
    if config.optimizer != parent.optimizer:
        return None, (
            f"{parent.optimizer}'s state cannot carry over to {config.optimizer}: "
            f"{config.optimizer} starts fresh"
        )
    old_names = trainable_names(build_model(dict(spec), limits).module, parent.frozen)
    new_names = trainable_names(build_model(dict(spec), limits).module, config.frozen)
    old_state: dict[Any, Any] = state.get("state", {})
    by_name = {name: old_state[i] for i, name in enumerate(old_names) if i in old_state}
    carried = {i: by_name[name] for i, name in enumerate(new_names) if name in by_name}
    group = dict(state["param_groups"][0])  # one group; the same optimizer: the same keys
    for key, value in _hyperparameters(config).items():
        if key in group:
            group[key] = value
    group["params"] = list(range(len(new_names)))
    note = f"{config.optimizer} state carried over"
    if len(carried) < len(new_names):
        note += f" ({len(new_names) - len(carried)} parameters start fresh)"
    if config.frozen:
        note += f"; frozen layers: {', '.join(config.frozen)}"
    return {"state": carried, "param_groups": [group]}, note


def _hyperparameters(config: TrainConfig) -> dict[str, Any]:
    """What the config sets in an optimizer's param group (as app.training.optim builds it)."""
    return {
        "lr": config.lr,
        "weight_decay": config.weight_decay,
        "momentum": config.momentum,
        "nesterov": config.nesterov,
    }


def epoch_state(manager: RunManager, parent: RunRecord, epoch: int) -> TrainingState:
    """The parent's checkpoint of `epoch` (BranchError listing the kept epochs)."""
    kept = kept_epochs(manager.store.data_dir, parent.id)
    try:
        if epoch not in kept:
            raise CheckpointError(f"epoch {epoch} is not kept")
        stored = load_checkpoint(epoch_path(manager.store.data_dir, parent.id, epoch))
    except CheckpointError:
        shown = ", ".join(map(str, kept_epochs(manager.store.data_dir, parent.id))) or "none yet"
        raise BranchError(
            "epoch", f"run {parent.id} keeps no epoch {epoch}; epochs kept: {shown}"
        ) from None
    return TrainingState(stored.model_state, stored.optimizer_state, stored.meta)


def start_branch(
    manager: RunManager,
    parent_id: str,
    epoch: int,
    changes: object,
    owner: str | None = None,
    max_active: int | None = None,
) -> RunRecord:
    """Queue a branch of run `parent_id` from its epoch `epoch` (NotFoundError, BranchError,
    ConfigError, SpecError, LimitError)."""
    parent = manager.run_record(parent_id)
    parent_config = parse_config(parent.config)
    task = task_of(parent_config)
    if not task.branches:
        raise BranchError(
            "run", f"a {task.name} run cannot be branched (only classify, autoencode)"
        )
    model = manager.model_record(parent.model_id)
    checkpoint = epoch_state(manager, parent, epoch)
    config = manager.check(model.spec, branch_config(parent.config, changes, epoch))
    branch = plan_branch(
        checkpoint, model.spec, manager.settings.spec_limits(), parent_config, config
    )
    record = manager.store.create_run(
        model.id,
        config.model_dump(mode="json"),
        owner,
        max_active,
        branch=(parent.id, epoch, branch.note),
    )
    try:
        path = checkpoint_dir(manager.store.data_dir, record.id) / CHECKPOINT_NAME
        state = branch.state
        save_checkpoint(path, state.model_state, state.optimizer_state, state.meta)
        meta = CheckpointMeta.from_dict(state.meta)
        record = manager.store.update_run(
            record.id,
            epoch=meta.epoch,
            step=meta.step,
            best_val_accuracy=meta.best_val_accuracy,
            checkpoint=str(path),
        )
    except BaseException:
        manager.store.update_run(record.id, status=RunStatus.FAILED)
        manager.store.delete_run(record.id)
        raise
    reason = f"branched from run {parent.id} at epoch {epoch}; {branch.note}"
    return manager.queue_stored(record, reason)
