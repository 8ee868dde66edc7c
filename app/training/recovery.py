"""What a run needs after a crash: the server's start tidies up, an interrupted run resumes.

A server (or training process) that died leaves runs `running` or `paused` in the store and
perhaps a half-written checkpoint file; at the next start those runs become `interrupted` and
the file goes. Resuming an interrupted run goes on from the end of its last saved epoch: the
history after that checkpoint is dropped (the epoch lost in flight is trained again).
"""

from __future__ import annotations

import logging

from app.store import CheckpointError, ConflictError, RunRecord, RunStatus, Store, load_checkpoint
from app.store.checkpoints import remove_partial_checkpoints
from app.training.checkpoint_meta import CheckpointMeta
from app.training.events import StatusEvent

logger = logging.getLogger(__name__)


def recover(store: Store) -> list[str]:
    """Mark the runs a dead process left running or paused `interrupted` (with a status event
    saying so) and remove half-written checkpoints; returns the interrupted run ids."""
    removed = remove_partial_checkpoints(store.data_dir)
    if removed:
        logger.info("removed %d half-written checkpoint file(s)", removed)
    interrupted = store.mark_unfinished_interrupted()
    for run_id in interrupted:
        record = store.get_run(run_id)
        if record is not None:
            event = StatusEvent(
                seq=record.last_seq + 1,
                status=RunStatus.INTERRUPTED.value,
                reason="the server stopped during this run; resume it from its last epoch",
            )
            store.append_events(run_id, [event.to_dict()])
    return interrupted


def requeue_interrupted(store: Store, record: RunRecord) -> tuple[RunRecord, str]:
    """Queue an interrupted run again in the store, its history cut back to its last saved
    epoch; returns the record and why (ConflictError if its checkpoint cannot be read)."""
    kept_seq = -1  # no checkpoint: start over, dropping the old history
    reason = "restarting from the beginning (no epoch had finished)"
    if record.checkpoint is not None:
        try:
            meta = CheckpointMeta.from_dict(load_checkpoint(record.checkpoint).meta)
        except (CheckpointError, TypeError) as error:  # TypeError: a field is missing
            raise ConflictError(f"cannot resume run {record.id}: {error}") from None
        kept_seq = meta.seq
        reason = f"resuming after epoch {meta.epoch}"
    record = store.update_run(
        record.id, expect_status=[RunStatus.INTERRUPTED], status=RunStatus.QUEUED, error=None
    )
    store.delete_events_after(record.id, kept_seq)  # the epoch lost in flight
    return record, reason
