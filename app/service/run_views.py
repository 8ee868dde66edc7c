"""The public view of a run: its record plus progress, queue position and ETA.

Queue positions and ETAs follow the worker's start order (`RunManager.queue_order()`: owners
take turns), not creation time.
"""

import contextlib
import heapq
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from app.data.registry import DatasetError, Datasets
from app.store import RunRecord, RunStatus, Store
from app.training import parse_config
from app.training.tasks import task_of

MNIST_TRAIN_SIZE = 50_000


class RunPublic(BaseModel):
    """A run as the API shows it."""

    id: str
    model_id: str
    model_name: str | None
    status: str
    config: dict[str, Any]
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    epoch: int
    step: int
    total_steps: int
    progress: float  # 0..1
    best_val_accuracy: float | None
    test_accuracy: float | None
    queue_position: int | None  # 1 = next to start; None unless queued
    eta_s: float | None  # seconds until the run ends, while it is queued or trains
    latest: dict[str, Any] | None  # the newest step point and epoch summary
    starter: bool = False  # the run the server trained for newcomers
    parent_run_id: str | None = None  # a branch: the run it started from …
    branch_epoch: int | None = None  # … at the end of this epoch of the parent
    branch_note: str | None = None  # … and what carried over (weights, optimizer state)


class RunCreated(BaseModel):
    """The answer to creating a run."""

    id: str
    status: str
    queue_position: int | None


def total_steps(record: RunRecord, datasets: Datasets | None = None) -> int:
    """How many steps the run takes in all (on MNIST when `datasets` is not given)."""
    config = parse_config(record.config)
    size = MNIST_TRAIN_SIZE
    if datasets is not None:
        with contextlib.suppress(DatasetError):  # a dataset gone since: MNIST's size stands in
            size = datasets.info(config.dataset).splits["train"]
    return task_of(config).total_steps(config, size)


def run_view(
    store: Store,
    record: RunRecord,
    queue_order: Sequence[str] | None = None,
    slots: int = 1,
    datasets: Datasets | None = None,
) -> RunPublic:
    """Everything a client needs to show one run (the other arguments: see run_views)."""
    return run_views(store, [record], queue_order, slots, datasets)[0]


def run_views(
    store: Store,
    records: list[RunRecord],
    queue_order: Sequence[str] | None = None,
    slots: int = 1,
    datasets: Datasets | None = None,
) -> list[RunPublic]:
    """The views of several runs, reading the queue once for all of them.

    `queue_order` is `RunManager.queue_order()`: the queued run ids, the next to start first.
    Queued runs missing from it (being started right now) count as ahead of it; without it,
    creation order stands in. `slots`: how many runs train side by side (for queued ETAs).
    `datasets`: for the size of each run's dataset (MNIST's without it).
    """
    queued = store.list_runs(statuses=[RunStatus.QUEUED])
    if queue_order is not None:
        by_id = {run.id: run for run in queued}
        ordered = [by_id.pop(run_id) for run_id in queue_order if run_id in by_id]
        queued = [*by_id.values(), *ordered]  # the ones leaving the queue now go first
    return [_view(store, record, queued, slots, datasets) for record in records]


def _view(
    store: Store,
    record: RunRecord,
    queue: list[RunRecord],
    slots: int,
    datasets: Datasets | None,
) -> RunPublic:
    latest = _latest(store, record)
    step = max(record.step, int(latest.get("step", {}).get("step", 0)))
    steps = total_steps(record, datasets)
    queued_ids = [run.id for run in queue]
    position = queued_ids.index(record.id) + 1 if record.id in queued_ids else None
    model = store.get_model(record.model_id)
    return RunPublic(
        id=record.id,
        model_id=record.model_id,
        model_name=model.name if model else None,
        status=str(record.status),
        config=record.config,
        error=record.error,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        epoch=max(record.epoch, int(latest.get("step", {}).get("epoch", 0))),
        step=step,
        total_steps=steps,
        progress=1.0 if record.status == RunStatus.COMPLETED else min(1.0, step / steps),
        best_val_accuracy=record.best_val_accuracy,
        test_accuracy=record.test_accuracy,
        queue_position=position,
        eta_s=_eta(
            store, record, latest, step, queue[: position - 1] if position else [], slots, datasets
        ),
        latest=latest or None,
        starter=record.starter,
        parent_run_id=record.parent_run_id,
        branch_epoch=record.branch_epoch,
        branch_note=record.branch_note,
    )


def _latest(store: Store, record: RunRecord) -> dict[str, Any]:
    """The run's newest step point and epoch summary, by type."""
    recent = store.events_since(record.id, record.last_seq - 200, types=["step", "epoch"])
    latest: dict[str, Any] = {}
    for event in recent:
        latest[event["type"]] = event
    return latest


def _samples_per_s(latest: dict[str, Any]) -> float | None:
    point = latest.get("step")
    if not point or not point.get("samples_per_s"):
        return None
    return float(point["samples_per_s"])


def _samples_left(record: RunRecord, datasets: Datasets | None, step: int | None = None) -> int:
    """Training samples the run still has to see (its steps × its batch size)."""
    done = record.step if step is None else step
    steps = total_steps(record, datasets)
    return max(0, steps - done) * int(record.config.get("batch_size", 64))


def _eta(
    store: Store,
    record: RunRecord,
    latest: dict[str, Any],
    step: int,
    ahead: list[RunRecord],
    slots: int,
    datasets: Datasets | None,
) -> float | None:
    """Remaining time at the current pace. A queued run waits for a free slot: the running
    runs end, and the runs ahead of it start on the first slot free, each in turn (every run
    at the mean pace of the running ones)."""
    if record.status == RunStatus.RUNNING:
        pace = _samples_per_s(latest)
        return None if pace is None else round(_samples_left(record, datasets, step) / pace, 1)
    if record.status != RunStatus.QUEUED:
        return None
    running = store.list_runs(statuses=[RunStatus.RUNNING, RunStatus.PAUSED])
    latests = [_latest(store, run) for run in running]
    paces = [pace for pace in map(_samples_per_s, latests) if pace is not None]
    if not paces:
        return None
    pace = sum(paces) / len(paces)
    free_at = [
        _samples_left(run, datasets, int(late.get("step", {}).get("step", run.step))) / pace
        for run, late in zip(running, latests, strict=True)
    ]
    free_at += [0.0] * max(0, slots - len(free_at))
    heapq.heapify(free_at)
    for run in ahead:  # each takes the first slot that frees up
        heapq.heappush(free_at, heapq.heappop(free_at) + _samples_left(run, datasets) / pace)
    return round(heapq.heappop(free_at) + _samples_left(record, datasets) / pace, 1)
