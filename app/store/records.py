"""What the store hands out: model and run records, run statuses, fresh ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

JSONDict = dict[str, Any]


class RunStatus(StrEnum):
    """Lifecycle of a run; the values are what the database and the API hold."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


ACTIVE_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED}
)
"""Runs in these statuses block deleting their model."""

FINISHED_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.FAILED}
)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A saved model spec and the summary computed when it was built."""

    id: str
    name: str
    spec: JSONDict
    summary: JSONDict
    created_at: float
    owner: str | None = None  # who created it (a client or user id); None: anyone


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One training run of a model; ``checkpoint`` is the latest checkpoint's path, if any."""

    id: str
    model_id: str
    config: JSONDict
    status: RunStatus
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    epoch: int
    step: int
    best_val_accuracy: float | None
    test_accuracy: float | None
    last_seq: int
    checkpoint: str | None  # absolute (stored relative to data_dir)
    owner: str | None = None  # who started it (a client or user id); None: anyone
    share_token: str | None = None  # whoever has it may read (not control) the run
    starter: bool = False  # the run the server trains for newcomers; everyone may read it
    parent_run_id: str | None = None  # a branch: the run it started from (may be deleted since)
    branch_epoch: int | None = None  # … and the parent's epoch whose weights it started from
    branch_note: str | None = None  # … and what carried over (the optimizer state or not)


def new_id() -> str:
    """A fresh 12-hex-digit id."""
    return uuid.uuid4().hex[:12]
