"""Device workers and the run manager: queue runs, train them, persist and broadcast events.

`RunManager` is what the web layer uses. It creates runs in the Store, queues them on the worker
thread that owns their device (a fair queue: each owner's runs in order, owners taking turns),
has an executor train them (the worker's training process by default, see app.training.process;
or the worker thread itself), persists their events and checkpoints, and calls plain
listeners `(run_id, event_dict) -> None` from the worker thread for every event (the web layer
bridges them to asyncio itself). Listeners must return quickly and never raise (errors are
logged and ignored).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from app.data import Mnist, load_mnist
from app.nn import parse_spec, summarize
from app.settings import Settings
from app.store import (
    CheckpointError,
    ConflictError,
    ModelRecord,
    NotFoundError,
    RunRecord,
    RunStatus,
    Store,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from app.store.checkpoints import remove_partial_checkpoints
from app.training.checkpoint_meta import CheckpointMeta
from app.training.checks import check_trainable
from app.training.config import ConfigError, TrainConfig, parse_config
from app.training.control import RunControl, StopKind
from app.training.device import configure_threads, resolve_device
from app.training.events import Event, SeqCounter, StatusEvent
from app.training.executors import Executor, make_executor
from app.training.fair_queue import FairQueue
from app.training.job import RunJob, describe_failure, disk_problem
from app.training.process import TrainingProcessLostError
from app.training.trainer import (
    Throttle,
    TrainingError,
    TrainingState,
    TrainResult,
    WeightSnapshot,
)

logger = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]

CHECKPOINT_NAME = "checkpoint.safetensors"
STORED_SNAPSHOTS = 16  # finished runs whose weights stay in memory for predictions
FLUSH_EVENTS = 50  # buffered step events written in one transaction …
FLUSH_SECONDS = 1.0  # … or after this long, whichever comes first
_RUNNING_STATES = (RunStatus.RUNNING, RunStatus.PAUSED)


@dataclass
class _ActiveRun:
    """A queued or running run's live state in this process."""

    run_id: str
    device: torch.device
    seq: SeqCounter
    owner: str | None = None
    control: RunControl = field(default_factory=RunControl)
    resume: bool = False  # continue from the stored checkpoint
    snapshot: WeightSnapshot | None = None
    feature_maps: dict[str, Any] | None = None
    done: dict[str, Any] | None = None  # the `done` event, held until the store has the end
    samples_per_s: float | None = None  # the latest step's training pace (0 while paused)
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    flushed_at: float = field(default_factory=time.monotonic)


class DeviceWorker:
    """The thread(s) that own one device and train its queued runs, owners taking turns."""

    def __init__(
        self, device: torch.device, execute: Callable[[str], None], concurrency: int = 1
    ) -> None:
        self.device = device
        self._execute = execute
        self._queue: FairQueue[str] = FairQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"train-{device}-{index}", daemon=True)
            for index in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, run_id: str, owner: str | None = None) -> None:
        """Queue a run at the end of its owner's lane; it starts on that owner's turn."""
        self._queue.put(run_id, owner)

    def remove(self, run_id: str) -> bool:
        """Take a run out of the queue before it starts; False if it is not queued here."""
        return self._queue.remove(run_id)

    def order(self) -> list[str]:
        """The queued run ids, the next to start first."""
        return self._queue.order()

    def close(self, timeout: float | None = None) -> None:
        """Start nothing more; let the threads finish their current run and exit."""
        self._queue.close()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        while (run_id := self._queue.get()) is not None:
            try:
                self._execute(run_id)
            except Exception:  # the worker must survive anything a run does
                logger.exception("run %s: unexpected error in the worker", run_id)


class RunManager:
    """Creates, queues, trains, controls and persists runs; the web layer's entry point."""

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        mnist: Mnist | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.device = resolve_device(self.settings.device)
        self.throttle = throttle or Throttle()
        self._mnist = mnist
        self._mnist_lock = threading.Lock()  # loading takes seconds: never under self._lock
        self._lock = threading.RLock()
        self._finished = threading.Condition(self._lock)
        self._active: dict[str, _ActiveRun] = {}
        # Weights of finished runs read from their checkpoints, by (path, mtime), oldest first.
        self._stored_snapshots: dict[str, tuple[tuple[str, int], WeightSnapshot]] = {}
        self._listeners: tuple[Listener, ...] = ()
        self._workers: dict[torch.device, DeviceWorker] = {}
        self._closing = False
        self._started = False
        self.executor_errors = 0  # runs cut short because their executor failed (process lost)
        self._executor: Executor = make_executor(
            not self.settings.training_process,
            self.mnist,
            self._mnist_source,
            configure_threads(self.settings.torch_threads) if self.device.type == "cpu" else 1,
        )

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Recover from the last process, then start the workers; returns interrupted run ids.

        Runs left running or paused by a dead process become `interrupted` (resume them with
        `resume`); runs still queued are queued again, each in its owner's lane, oldest first.
        Checkpoint files half-written when the last process died are removed.
        """
        with self._lock:
            if self._started:
                return []
            self._started = True
        removed = remove_partial_checkpoints(self.store.data_dir)
        if removed:
            logger.info("removed %d half-written checkpoint file(s)", removed)
        interrupted = self.store.mark_unfinished_interrupted()
        for run_id in interrupted:
            record = self.store.get_run(run_id)
            if record is not None:
                event = StatusEvent(
                    seq=record.last_seq + 1,
                    status=RunStatus.INTERRUPTED.value,
                    reason="the server stopped during this run; resume it from its last epoch",
                )
                self.store.append_events(run_id, [event.to_dict()])
        if self.settings.warm_training_process:
            self._warm_executor()  # before any queued run starts, so that run gets this one
        for record in self.store.list_runs(statuses=[RunStatus.QUEUED]):
            active = _ActiveRun(
                record.id,
                self.device,
                SeqCounter(record.last_seq + 1),
                owner=record.owner,
                resume=record.checkpoint is not None,
            )
            self._enqueue(active)
        return interrupted

    def _warm_executor(self) -> None:
        """Let the executor get ready for the first run; a failure shows at that run."""
        try:
            self._executor.warm()
        except Exception:
            logger.warning("could not start a training process ahead of time", exc_info=True)

    def close(self, timeout: float = 30.0) -> None:
        """Interrupt running runs (they become `interrupted`), keep queued ones queued, stop."""
        with self._lock:
            self._closing = True
            active = list(self._active.values())
            workers = list(self._workers.values())
        for run in active:
            run.control.stop(StopKind.INTERRUPT)
        for worker in workers:
            worker.close(timeout)
        self._executor.close()

    def __enter__(self) -> RunManager:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(run_id, event_dict)` for every event of every run; returns a remover."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def remove() -> None:
            with self._lock:
                self._listeners = tuple(item for item in self._listeners if item is not listener)

        return remove

    # -- creating runs -----------------------------------------------------------------------

    def create_model(self, name: str, spec: object, owner: str | None = None) -> ModelRecord:
        """Validate a spec (SpecError if bad) and save it as a model, as it was written (the
        defaults it left out stay out)."""
        limits = self.settings.spec_limits()
        model_spec = parse_spec(spec, limits)
        summary = summarize(model_spec, limits)
        stored = model_spec.model_dump(mode="json", exclude_unset=True)
        return self.store.create_model(name, stored, summary.to_dict(), owner=owner)

    def submit(
        self,
        model_id: str,
        config: Mapping[str, Any] | TrainConfig | None = None,
        owner: str | None = None,
        max_active: int | None = None,
        *,
        starter: bool = False,
    ) -> RunRecord:
        """Queue a run of a stored model (`starter`: the run made for newcomers).

        Raises NotFoundError (no such model), SpecError (the stored spec no longer validates),
        ConfigError (a bad config field, more epochs than the server's `max_epochs`, or a model
        that cannot learn MNIST with it), LimitError (`owner` already has `max_active` active
        runs).
        """
        train_config = parse_config(config)
        if train_config.epochs > self.settings.max_epochs:
            most = self.settings.max_epochs
            raise ConfigError(
                [("epochs", f"this server trains at most {most}, got {train_config.epochs}")]
            )
        model = self.store.get_model(model_id)
        if model is None:
            raise NotFoundError(f"no model {model_id}")
        spec = parse_spec(model.spec, self.settings.spec_limits())
        check_trainable(spec, summarize(spec, self.settings.spec_limits()), train_config)
        record = self.store.create_run(
            model_id, train_config.model_dump(mode="json"), owner, max_active, starter=starter
        )
        active = _ActiveRun(record.id, self.device, SeqCounter(0), owner=owner)
        self._emit(active, StatusEvent(seq=active.seq(), status=RunStatus.QUEUED.value))
        self._enqueue(active)
        return self.store.get_run(record.id) or record

    def submit_spec(
        self,
        spec: object,
        config: Mapping[str, Any] | TrainConfig | None = None,
        name: str = "untitled",
        owner: str | None = None,
    ) -> RunRecord:
        """Save `spec` as a model and queue a run of it (a shortcut for scripts and tests)."""
        train_config = parse_config(config)
        model_spec = parse_spec(spec, self.settings.spec_limits())
        check_trainable(
            model_spec, summarize(model_spec, self.settings.spec_limits()), train_config
        )
        model = self.create_model(name, model_spec, owner)
        return self.submit(model.id, train_config, owner)

    def delete_run(self, run_id: str) -> None:
        """Delete a finished run, its history, checkpoint and cached weights (NotFoundError;
        ConflictError while it is queued, running or paused: stop it first)."""
        if not self.store.delete_run(run_id):
            raise NotFoundError(f"no run with id '{run_id}'")
        with self._lock:
            self._stored_snapshots.pop(run_id, None)

    # -- control -----------------------------------------------------------------------------

    def pause(self, run_id: str) -> None:
        """Hold a queued or running run at its next step (ConflictError otherwise)."""
        self._active_run(run_id, "pause").control.pause()

    def resume(self, run_id: str) -> RunRecord:
        """Let a paused run go on, or queue an interrupted run again from its last checkpoint."""
        record = self._record(run_id)
        if record.status == RunStatus.INTERRUPTED:
            return self._resume_interrupted(record)
        self._active_run(run_id, "resume").control.resume()
        return self._record(run_id)

    def stop(self, run_id: str) -> RunRecord:
        """End a run: at its next step if it runs, at once if it is queued or interrupted."""
        record = self._record(run_id)
        if record.status in (RunStatus.QUEUED, RunStatus.INTERRUPTED):
            try:
                record = self.store.update_run(
                    run_id,
                    expect_status=[record.status],
                    status=RunStatus.STOPPED,
                    finished_at=time.time(),
                )
            except ConflictError:
                pass  # it started meanwhile: stop it through its control below
            else:
                with self._lock:
                    active = self._active.pop(run_id, None)
                    worker = self._workers.get(active.device) if active else None
                    self._finished.notify_all()
                if worker is not None:
                    worker.remove(run_id)  # it leaves the queue: the runs behind move up
                seq = active.seq if active else SeqCounter(record.last_seq + 1)
                self._emit(
                    active or _ActiveRun(run_id, self.device, seq),
                    StatusEvent(seq=seq(), status=RunStatus.STOPPED.value),
                )
                return self._record(run_id)
        self._active_run(run_id, "stop").control.stop()
        return self._record(run_id)

    def set_lr(self, run_id: str, lr: float) -> None:
        """Change a run's base learning rate from its next step (ValueError if out of range)."""
        self._active_run(run_id, "change the learning rate of").control.set_lr(lr)

    def wait(self, run_id: str, timeout: float | None = None) -> RunRecord:
        """Block until the run is no longer queued, running or paused (or `timeout` passes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._finished:
            while run_id in self._active:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._finished.wait(left)
        return self._record(run_id)

    # -- reading live state ------------------------------------------------------------------

    def queue_order(self) -> list[str]:
        """The ids of the runs waiting to start, the next to start first."""
        with self._lock:
            workers = list(self._workers.values())
        return [run_id for worker in workers for run_id in worker.order()]

    def queue_lengths(self) -> dict[str, int]:
        """How many runs wait to start, per device."""
        with self._lock:
            workers = list(self._workers.values())
        return {str(worker.device): len(worker.order()) for worker in workers}

    def training_paces(self) -> list[tuple[str, str, float]]:
        """(run id, device, samples/s of its latest step) of each run that has trained a step."""
        with self._lock:
            active = list(self._active.values())
        return [
            (run.run_id, str(run.device), float(run.samples_per_s))
            for run in active
            if run.samples_per_s is not None
        ]

    def unsaved_events(self, run_id: str) -> list[dict[str, Any]]:
        """Events of a running run not written to the store yet (step points wait up to 1 s)."""
        with self._lock:
            active = self._active.get(run_id)
        return list(active.pending_events) if active is not None else []

    def latest_feature_maps(self, run_id: str) -> dict[str, Any] | None:
        """The newest feature-map frame of a run trained by this process (event dict), if any."""
        with self._lock:
            active = self._active.get(run_id)
            if active is not None and active.feature_maps is not None:
                return active.feature_maps
        frames = self.store.events_since(run_id, types=["feature_maps"])
        return frames[-1] if frames else None

    def latest_weights(self, run_id: str) -> WeightSnapshot | None:
        """The newest published CPU weights of a run (live, else its checkpoint), or None."""
        with self._lock:
            active = self._active.get(run_id)
            if active is not None and active.snapshot is not None:
                return active.snapshot
        record = self.store.get_run(run_id)
        if record is None or record.checkpoint is None:
            return None
        try:
            version = (record.checkpoint, Path(record.checkpoint).stat().st_mtime_ns)
            with self._lock:
                cached = self._stored_snapshots.get(run_id)
            if cached is not None and cached[0] == version:
                return cached[1]  # the same file: predictions reuse one snapshot
            checkpoint = load_checkpoint(record.checkpoint)
        except (CheckpointError, OSError):
            logger.warning("run %s: cannot read its checkpoint", run_id, exc_info=True)
            return None
        meta = CheckpointMeta.from_dict(checkpoint.meta)
        snapshot = WeightSnapshot(meta.step, meta.epoch, checkpoint.model_state)
        with self._lock:
            self._stored_snapshots[run_id] = (version, snapshot)
            while len(self._stored_snapshots) > STORED_SNAPSHOTS:
                self._stored_snapshots.pop(next(iter(self._stored_snapshots)))
        return snapshot

    # -- inside the worker -------------------------------------------------------------------

    def _execute(self, run_id: str) -> None:
        """Train one queued run to its end; every failure ends as a `failed` run."""
        with self._lock:
            active = self._active.get(run_id)
            if active is None or self._closing:
                return  # stopped while queued, or shutting down (it stays queued in the store)
        try:
            now = time.time()
            record = self._record(run_id)
            record = self.store.update_run(
                run_id,
                expect_status=[RunStatus.QUEUED],
                status=RunStatus.RUNNING,
                started_at=record.started_at or now,
                error=None,
            )
        except (ConflictError, NotFoundError):
            self._forget(run_id)
            return
        try:
            self._emit(active, StatusEvent(seq=active.seq(), status=RunStatus.RUNNING.value))
            result = self._train(active, record)
        except TrainingProcessLostError as error:
            with self._lock:
                self.executor_errors += 1
            self._end(active, RunStatus.INTERRUPTED, error=str(error))
        except Exception as error:
            reason = describe_failure(error, str(active.device), self.store.data_dir)
            logger.warning("run %s failed: %s", run_id, reason, exc_info=True)
            self._end(active, RunStatus.FAILED, error=reason)
        else:
            self._end(active, RunStatus(result.status), result=result)
        finally:
            self._forget(run_id)

    def _train(self, active: _ActiveRun, record: RunRecord) -> TrainResult:
        model = self.store.get_model(record.model_id)
        if model is None:
            raise TrainingError("its model was deleted")
        resume = None
        if active.resume and record.checkpoint is not None:
            stored = load_checkpoint(record.checkpoint)
            resume = TrainingState(stored.model_state, stored.optimizer_state, stored.meta)
        job = RunJob(
            run_id=active.run_id,
            spec=model.spec,
            config=parse_config(record.config),
            device=str(active.device),
            first_seq=active.seq.last + 1,
            limits=self.settings.spec_limits(),
            throttle=self.throttle,
            data_dir=self.store.data_dir,
            resume=resume,
        )
        return self._executor.train(job, active.control, _RunOutput(self, active))

    def _save_checkpoint(self, active: _ActiveRun, state: TrainingState) -> None:
        """Write the checkpoint atomically, then record it (events up to it are flushed first)."""
        self._flush(active)
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

    def _end(
        self,
        active: _ActiveRun,
        status: RunStatus,
        *,
        error: str | None = None,
        result: TrainResult | None = None,
    ) -> None:
        """Record how the run ended and tell everyone."""
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
            self._flush(active)
            self.store.update_run(active.run_id, expect_status=_RUNNING_STATES, **fields)
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
            self._broadcast(active, data["type"], data)
        self._flush(active, quiet=True)

    def _emit(self, active: _ActiveRun, event: Event) -> None:
        """Persist the event (step points batched, live feature maps in memory) and broadcast it."""
        self._emit_data(active, event.to_dict())

    def _emit_data(self, active: _ActiveRun, data: dict[str, Any]) -> None:
        """`_emit` for an event in its JSON form (as it comes from a training process)."""
        kind = data["type"]
        active.seq.advance_past(data["seq"])
        if kind == "done":
            active.done = data  # stored and published by _end, once the run reads finished
            return
        if kind == "feature_maps":
            active.feature_maps = data
            if data.get("at_epoch_end"):
                self._persist(active, data)
        elif kind == "step":
            active.samples_per_s = data.get("samples_per_s")
            active.pending_events.append(data)
            if (
                len(active.pending_events) >= FLUSH_EVENTS
                or time.monotonic() - active.flushed_at >= FLUSH_SECONDS
            ):
                self._flush(active)
        else:
            self._persist(active, data)
            if kind == "status" and data["status"] in ("paused", "running"):
                if data["status"] == "paused":
                    active.samples_per_s = 0.0
                self.store.update_run(
                    active.run_id, expect_status=_RUNNING_STATES, status=data["status"]
                )
        self._broadcast(active, kind, data)

    def _broadcast(self, active: _ActiveRun, kind: str, data: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(active.run_id, data)
            except Exception:
                logger.exception("a run listener failed on a %s event", kind)

    def _persist(self, active: _ActiveRun, data: dict[str, Any]) -> None:
        active.pending_events.append(data)
        self._flush(active)

    def _flush(self, active: _ActiveRun, *, quiet: bool = False) -> None:
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

    # -- helpers -----------------------------------------------------------------------------

    def _enqueue(self, active: _ActiveRun) -> None:
        """Hand the run to its device's queue (while closing, it stays queued in the store)."""
        with self._lock:
            if self._closing:
                return  # the next start() queues it again
            self._active[active.run_id] = active
            worker = self._workers.get(active.device)
            if worker is None:
                worker = DeviceWorker(
                    active.device, self._execute, self.settings.device_concurrency
                )
                self._workers[active.device] = worker
            worker.submit(active.run_id, active.owner)  # under the lock: before any close()

    def _forget(self, run_id: str) -> None:
        with self._lock:
            self._active.pop(run_id, None)
            self._finished.notify_all()

    def _record(self, run_id: str) -> RunRecord:
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run {run_id}")
        return record

    def _active_run(self, run_id: str, action: str) -> _ActiveRun:
        with self._lock:
            active = self._active.get(run_id)
        if active is None:
            status = self._record(run_id).status
            raise ConflictError(f"cannot {action} run {run_id}: it is {status}")
        return active

    def _resume_interrupted(self, record: RunRecord) -> RunRecord:
        """Queue an interrupted run again; it goes on from the end of its last saved epoch."""
        seq = SeqCounter(record.last_seq + 1)
        kept_seq = -1  # no checkpoint: start over, dropping the old history
        reason = "restarting from the beginning (no epoch had finished)"
        if record.checkpoint is not None:
            try:
                meta = CheckpointMeta.from_dict(load_checkpoint(record.checkpoint).meta)
            except (CheckpointError, TypeError) as error:  # TypeError: a field is missing
                raise ConflictError(f"cannot resume run {record.id}: {error}") from None
            kept_seq = meta.seq
            reason = f"resuming after epoch {meta.epoch}"
        record = self.store.update_run(
            record.id, expect_status=[RunStatus.INTERRUPTED], status=RunStatus.QUEUED, error=None
        )
        self.store.delete_events_after(record.id, kept_seq)  # the epoch lost in flight
        active = _ActiveRun(
            record.id,
            self.device,
            seq,
            owner=record.owner,
            resume=record.checkpoint is not None,
        )
        self._emit(active, StatusEvent(seq=seq(), status=RunStatus.QUEUED.value, reason=reason))
        self._enqueue(active)
        return self._record(record.id)

    def _mnist_source(self) -> Mnist | Path:
        """What a training process loads MNIST from: the copy given to the manager (tests), or
        the directory that holds it (looked up when the first process starts)."""
        return self._mnist if self._mnist is not None else self.settings.mnist_cache_dir()

    def mnist(self) -> Mnist:
        """MNIST, loaded once for every run and prediction of this process."""
        with self._mnist_lock:  # not self._lock: predictions must not wait for the load
            if self._mnist is None:
                self._mnist = load_mnist(self.settings.mnist_cache_dir())
            return self._mnist


class _RunOutput:
    """The RunSink of one run: its events, checkpoints and snapshots go to the manager."""

    def __init__(self, manager: RunManager, active: _ActiveRun) -> None:
        self._manager = manager
        self._active = active

    def emit(self, data: dict[str, Any]) -> None:
        self._manager._emit_data(self._active, data)

    def checkpoint(self, state: TrainingState) -> None:
        self._manager._save_checkpoint(self._active, state)

    def snapshot(self, snapshot: WeightSnapshot) -> None:
        self._active.snapshot = snapshot
