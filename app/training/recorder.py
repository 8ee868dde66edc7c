"""A run's output lands here: persist events, checkpoints and statuses, then publish them.

The order is the contract: the store has an event (or a run's end) before any listener hears
of it, so whoever reacts to an event and reads the store sees at least that much. Step events
are written in batches (every FLUSH_EVENTS or FLUSH_SECONDS); the newest frame (feature maps
or a 2-D decision boundary) and weight snapshot stay in memory (the frame taken at an
epoch end is stored too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from app.store import RunStatus, Store, checkpoint_dir, save_checkpoint
from app.training.checkpoint_meta import CheckpointMeta
from app.training.control import RunControl
from app.training.epoch_checkpoints import keep_epoch
from app.training.events import FRAME_TYPES, Event, SeqCounter, StatusEvent
from app.training.job import disk_problem
from app.training.outputs import TrainingError, TrainingState, TrainResult, WeightSnapshot

logger = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]

CHECKPOINT_NAME = "checkpoint.safetensors"
FLUSH_EVENTS = 50  # buffered step events written in one transaction …
FLUSH_SECONDS = 1.0  # … or after this long, whichever comes first
RUNNING_STATES = (RunStatus.RUNNING, RunStatus.PAUSED)


@dataclass
class ActiveRun:
    """A queued or running run's live state in this process."""

    run_id: str
    device: torch.device
    seq: SeqCounter
    owner: str | None = None
    control: RunControl = field(default_factory=RunControl)
    resume: bool = False  # continue from the stored checkpoint
    snapshot: WeightSnapshot | None = None
    frame: dict[str, Any] | None = None  # the newest picture (FRAME_TYPES), not stored
    done: dict[str, Any] | None = None  # the `done` event, held until the store has the end
    samples_per_s: float | None = None  # the latest step's training pace (0 while paused)
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    flushed_at: float = field(default_factory=time.monotonic)


class Recorder:
    """Persists each run's events and end in the store, then calls the listeners."""

    def __init__(self, store: Store, epoch_checkpoints: int = 20) -> None:
        self.store = store
        self.epoch_checkpoints = epoch_checkpoints  # the cap (see app.training.epoch_checkpoints)
        self._lock = threading.Lock()
        self._listeners: tuple[Listener, ...] = ()

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(run_id, event_dict)` for every event of every run; returns a remover."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def remove() -> None:
            with self._lock:
                self._listeners = tuple(item for item in self._listeners if item is not listener)

        return remove

    def emit(self, active: ActiveRun, event: Event) -> None:
        """Persist the event (step points batched, live feature maps in memory) and publish it."""
        self.emit_data(active, event.to_dict())

    def emit_data(self, active: ActiveRun, data: dict[str, Any]) -> None:
        """`emit` for an event in its JSON form (as it comes from a training process)."""
        kind = data["type"]
        active.seq.advance_past(data["seq"])
        if kind == "done":
            active.done = data  # stored and published by end(), once the run reads finished
            return
        if kind in FRAME_TYPES:
            active.frame = data
            if data.get("at_epoch_end"):
                self._persist(active, data)
        elif kind == "step":
            active.samples_per_s = data.get("samples_per_s")
            active.pending_events.append(data)
            if (
                len(active.pending_events) >= FLUSH_EVENTS
                or time.monotonic() - active.flushed_at >= FLUSH_SECONDS
            ):
                self.flush(active)
        else:
            self._persist(active, data)
            if kind == "status" and data["status"] in ("paused", "running"):
                if data["status"] == "paused":
                    active.samples_per_s = 0.0
                self.store.update_run(
                    active.run_id, expect_status=RUNNING_STATES, status=data["status"]
                )
        self._publish(active.run_id, data)

    def save_checkpoint(self, active: ActiveRun, state: TrainingState) -> None:
        """Write the checkpoint atomically, then record it (events up to it are flushed first)."""
        self.flush(active)
        path = checkpoint_dir(self.store.data_dir, active.run_id) / CHECKPOINT_NAME
        meta = CheckpointMeta.from_dict(state.meta)
        try:
            save_checkpoint(path, state.model_state, state.optimizer_state, state.meta)
        except OSError as error:
            problem = disk_problem(error, self.store.data_dir)
            if problem is None:
                raise
            kept = "its previous checkpoint is kept" if path.exists() else "no epoch was saved"
            raise TrainingError(
                f"{problem[0]}: cannot save the checkpoint of epoch {meta.epoch} ({kept}); "
                f"{problem[1]}, then train it again"
            ) from error
        self.store.update_run(
            active.run_id,
            epoch=meta.epoch,
            step=meta.step,
            best_val_accuracy=meta.best_val_accuracy,
            checkpoint=str(path),
        )
        if not meta.final:  # taken at an epoch's end (a final one may hold other weights)
            self._keep_epoch(active, path, meta)

    def _keep_epoch(self, active: ActiveRun, path: Path, meta: CheckpointMeta) -> None:
        """Keep the checkpoint as its epoch's; failing that loses no progress, so it is logged."""
        try:
            keep_epoch(
                self.store.data_dir,
                active.run_id,
                path,
                meta.epoch,
                meta.best_epoch,
                self.epoch_checkpoints,
            )
        except OSError:
            logger.warning("run %s: cannot keep epoch %d", active.run_id, meta.epoch, exc_info=True)

    def end(
        self,
        active: ActiveRun,
        status: RunStatus,
        *,
        error: str | None = None,
        result: TrainResult | None = None,
    ) -> None:
        """Record how the run ended, then tell everyone (`done` first when it completed)."""
        fields: dict[str, Any] = {"status": status, "error": error}
        if status != RunStatus.INTERRUPTED:
            fields["finished_at"] = time.time()
        if result is not None and status != RunStatus.INTERRUPTED:  # else: as checkpointed
            fields |= {"epoch": result.epochs, "step": result.steps}
            fields["best_val_accuracy"] = result.best_val_accuracy
            fields["test_accuracy"] = result.test_accuracy
        reason = error
        if status == RunStatus.INTERRUPTED and reason is None:
            reason = "the server stopped; resume the run from its last epoch"
        try:
            self.flush(active)
            self.store.update_run(active.run_id, expect_status=RUNNING_STATES, **fields)
        except Exception:
            logger.exception("run %s: cannot record its end (%s)", active.run_id, status)
        # The store reads finished first: whoever hears `done` and asks for the run sees it so.
        ending = [active.done] if active.done is not None and status == RunStatus.COMPLETED else []
        ending.append(StatusEvent(seq=active.seq(), status=status.value, reason=reason).to_dict())
        for data in ending:
            try:
                self._persist(active, data)
            except Exception:  # e.g. the disk is full: listeners still hear how the run ended
                logger.exception("run %s: cannot store its end (%s)", active.run_id, status)
            self._publish(active.run_id, data)
        self.flush(active, quiet=True)

    def flush(self, active: ActiveRun, *, quiet: bool = False) -> None:
        """Write the run's buffered events (`quiet`: log a failure instead of raising it)."""
        events, active.pending_events = active.pending_events, []
        active.flushed_at = time.monotonic()
        if not events:
            return
        try:
            self.store.append_events(active.run_id, events)
        except Exception:
            if not quiet:
                raise
            logger.exception("run %s: cannot store %d events", active.run_id, len(events))

    def _persist(self, active: ActiveRun, data: dict[str, Any]) -> None:
        active.pending_events.append(data)
        self.flush(active)

    def _publish(self, run_id: str, data: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(run_id, data)
            except Exception:
                logger.exception("a run listener failed on a %s event", data["type"])


class RecordingSink:
    """The RunSink of one run: its events, checkpoints and snapshots go to the recorder."""

    def __init__(self, recorder: Recorder, active: ActiveRun) -> None:
        self._recorder = recorder
        self._active = active

    def emit(self, data: dict[str, Any]) -> None:
        self._recorder.emit_data(self._active, data)

    def checkpoint(self, state: TrainingState) -> None:
        self._recorder.save_checkpoint(self._active, state)

    def snapshot(self, snapshot: WeightSnapshot) -> None:
        self._active.snapshot = snapshot
