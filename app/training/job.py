"""One run's training job, whatever executes it (a thread, a training process, a Ray actor),
and where its output goes.

`app.training.tasks.train_job` trains a `RunJob` with its task's trainer; what comes out of it
(events, checkpoints, weight snapshots) goes to a `RunSink`. The run manager is the sink in the
web process; in a training process the sink forwards everything over a pipe.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from app.nn import SpecError, SpecLimits
from app.store import CheckpointError, StoreFullError, is_disk_full
from app.training.config import ConfigError, TrainConfig
from app.training.outputs import (
    Throttle,
    TrainingError,
    TrainingState,
    WeightSnapshot,
)


class ExecutorLostError(TrainingError):
    """What trained the run (a training process, a Ray actor or its node) died mid-run."""


@dataclass(frozen=True)
class RunJob:
    """Everything needed to train one run, in plain picklable values."""

    run_id: str
    spec: dict[str, Any]  # the stored model spec (JSON form)
    config: TrainConfig
    device: str
    first_seq: int  # the number of the run's next event
    limits: SpecLimits
    throttle: Throttle
    data_dir: Path  # for saying why a run failed (e.g. a full disk there)
    resume: TrainingState | None = None


class RunSink(Protocol):
    """Where a training run's output goes."""

    def emit(self, data: dict[str, Any]) -> None:
        """One event, in its JSON form."""

    def checkpoint(self, state: TrainingState) -> None:
        """Save the state (at an epoch end); raises TrainingError if it cannot be saved."""

    def snapshot(self, snapshot: WeightSnapshot) -> None:
        """Newer weights for predictions while the run trains."""


_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def disk_problem(error: BaseException, data_dir: Path) -> tuple[str, str] | None:
    """(what is wrong, what to do) if `error` comes down to a full or read-only disk."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        code = getattr(cause, "errno", None) if isinstance(cause, OSError) else None
        if isinstance(cause, StoreFullError) or is_disk_full(cause):
            why = "a file reached the size limit" if code == errno.EFBIG else "no space left"
            return f"the disk is full ({why} in {data_dir})", "free some space"
        if code in _READ_ONLY_ERRNOS:
            return f"the data directory {data_dir} is not writable", "fix its permissions"
        cause = cause.__cause__ or cause.__context__
    return None


def describe_failure(error: BaseException, device: str, data_dir: Path) -> str:
    """A sentence for people saying why a run failed."""
    if isinstance(error, torch.OutOfMemoryError):
        return f"out of memory on {device}: use a smaller batch size or a smaller model"
    if isinstance(error, TrainingError | ConfigError):
        return str(error)
    if isinstance(error, SpecError):
        return f"the model spec is invalid: {error}"
    if isinstance(error, CheckpointError):
        return f"cannot resume: {error}"
    problem = disk_problem(error, data_dir)
    if problem is not None:
        return f"{problem[0]}: cannot store the run's progress; {problem[1]}"
    return f"{type(error).__name__}: {error}"
