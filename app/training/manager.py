"""The run manager: create, queue, control and follow runs; the core's one entry for runs.

`RunManager` creates runs in the Store and ties three parts together: the scheduler queues
them on their device (a fair queue, see app.training.scheduler), an executor trains them (a
training process by default, see app.training.executors), and the recorder persists what comes
out, then calls plain listeners `(run_id, event_dict) -> None` from the worker thread (see
app.training.recorder; the web layer bridges them to asyncio itself). Listeners must return
quickly and never raise (errors are logged and ignored).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

from app.data import Mnist
from app.data.registry import DatasetPlaces, Datasets
from app.nn import ModelSpec, parse_spec, summarize
from app.settings import Settings
from app.store import (
    ConflictError,
    ModelRecord,
    NotFoundError,
    RunRecord,
    RunStatus,
    Store,
    load_checkpoint,
)
from app.training.checks import dataset_info
from app.training.config import ConfigError, TrainConfig, parse_config
from app.training.control import StopKind, Tuning
from app.training.device import configure_threads, resolve_device
from app.training.events import FRAME_TYPES, SeqCounter, StatusEvent
from app.training.executors import Executor, ExecutorLostError, make_executor
from app.training.job import RunJob, describe_failure
from app.training.outputs import Throttle, TrainingError, TrainingState, TrainResult, WeightSnapshot
from app.training.recorder import ActiveRun, Listener, Recorder, RecordingSink
from app.training.recovery import recover, requeue_interrupted
from app.training.scheduler import Scheduler
from app.training.stored_weights import StoredWeights
from app.training.tasks import check_frozen, task_of

logger = logging.getLogger(__name__)


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
        self.datasets = Datasets(
            DatasetPlaces(
                self.settings.mnist_cache_dir,
                tuple(self.settings.dataset_dirs()),
                uploads=store.data_dir / "datasets",
            ),
            mnist,
        )
        self._lock = threading.RLock()
        self._finished = threading.Condition(self._lock)
        self._active: dict[str, ActiveRun] = {}
        self._stored_weights = StoredWeights()
        self._closing = False
        self._started = False
        self.executor_errors = 0  # runs cut short because their executor failed (process lost)
        self._executor: Executor = make_executor(
            self.settings,
            self.datasets,
            configure_threads(self.settings.torch_threads) if self.device.type == "cpu" else 1,
        )
        remote_device = self._executor.device()
        if remote_device is not None:  # runs train where the executor is, not here
            self.device = torch.device(remote_device)
        self.recorder = Recorder(store, self.settings.epoch_checkpoints)
        self.scheduler = Scheduler(self._execute, self._slots)

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
        interrupted = recover(self.store)
        if self.settings.warm_training_process:
            self._warm_executor()  # before any queued run starts, so that run gets this one
        for record in self.store.list_runs(statuses=[RunStatus.QUEUED]):
            active = ActiveRun(
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
        for run in active:
            run.control.stop(StopKind.INTERRUPT)
        self.scheduler.close(timeout)
        self._executor.close()

    def __enter__(self) -> RunManager:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(run_id, event_dict)` for every event of every run; returns a remover."""
        return self.recorder.add_listener(listener)

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
        _, train_config = self._check_trainable(model.spec, train_config)
        record = self.store.create_run(
            model_id, train_config.model_dump(mode="json"), owner, max_active, starter=starter
        )
        active = ActiveRun(record.id, self.device, SeqCounter(0), owner=owner)
        self._announce(active, RunStatus.QUEUED)
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
        model_spec, train_config = self._check_trainable(spec, parse_config(config))
        model = self.create_model(name, model_spec, owner)
        return self.submit(model.id, train_config, owner)

    def check(self, spec: object, config: TrainConfig) -> TrainConfig:
        """The config completed for the spec, as `submit` checks it (ConfigError, SpecError)."""
        if config.epochs > self.settings.max_epochs:
            most = self.settings.max_epochs
            raise ConfigError(
                [("epochs", f"this server trains at most {most}, got {config.epochs}")]
            )
        return self._check_trainable(spec, config)[1]

    def queue_stored(self, record: RunRecord, reason: str) -> RunRecord:
        """Queue a run the store holds with its first checkpoint (a branch) to go on from it."""
        seq = SeqCounter(record.last_seq + 1)
        active = ActiveRun(record.id, self.device, seq, owner=record.owner, resume=True)
        self._announce(active, RunStatus.QUEUED, reason)
        self._enqueue(active)
        return self._record(record.id)

    def run_record(self, run_id: str) -> RunRecord:
        """The run (NotFoundError)."""
        return self._record(run_id)

    def model_record(self, model_id: str) -> ModelRecord:
        """The model (NotFoundError)."""
        model = self.store.get_model(model_id)
        if model is None:
            raise NotFoundError(f"no model {model_id}")
        return model

    def _check_trainable(self, spec: object, config: TrainConfig) -> tuple[ModelSpec, TrainConfig]:
        """The parsed spec and the config completed for its dataset (see `fit_config`), if the
        model can learn the dataset (SpecError, ConfigError)."""
        limits = self.settings.spec_limits()
        model_spec = parse_spec(spec, limits)
        dataset = dataset_info(self.datasets, config.dataset)
        summary = summarize(model_spec, limits)
        config = task_of(config).check(model_spec, summary, config, dataset)
        check_frozen(summary, config)
        return model_spec, config

    def delete_run(self, run_id: str) -> None:
        """Delete a finished run, its history, checkpoint and cached weights (NotFoundError;
        ConflictError while it is queued, running or paused: stop it first)."""
        if not self.store.delete_run(run_id):
            raise NotFoundError(f"no run with id '{run_id}'")
        self._stored_weights.forget(run_id)

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
                    self._finished.notify_all()
                if active is not None:
                    self.scheduler.remove(run_id, active.device)  # the runs behind move up
                seq = active.seq if active else SeqCounter(record.last_seq + 1)
                self.recorder.emit(
                    active or ActiveRun(run_id, self.device, seq),
                    StatusEvent(seq=seq(), status=RunStatus.STOPPED.value),
                )
                return self._record(run_id)
        self._active_run(run_id, "stop").control.stop()
        return self._record(run_id)

    def set_lr(self, run_id: str, lr: float) -> None:
        """Change a run's base learning rate from its next step (ValueError if out of range)."""
        self.tune(run_id, Tuning(lr=lr))

    def tune(self, run_id: str, tuning: Tuning) -> None:
        """Change a queued, running or paused run's learning rate or regularisation from its
        next step (ConflictError once it has ended)."""
        self._active_run(run_id, "change the settings of").control.tune(tuning)

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
        return self.scheduler.order()

    def queue_lengths(self) -> dict[str, int]:
        """How many runs wait to start, per device."""
        return self.scheduler.lengths()

    def training_slots(self) -> int:
        """How many runs train side by side (what the queue's ETA divides by)."""
        return self.scheduler.slots()

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

    def latest_frame(self, run_id: str) -> dict[str, Any] | None:
        """The newest frame (feature maps or a decision boundary) of a run, as an event dict:
        the live one of a run trained by this process, else the last one stored."""
        with self._lock:
            active = self._active.get(run_id)
            if active is not None and active.frame is not None:
                return active.frame
        frames = self.store.events_since(run_id, types=sorted(FRAME_TYPES))
        return frames[-1] if frames else None

    def latest_weights(self, run_id: str) -> WeightSnapshot | None:
        """The newest published CPU weights of a run (live, else its checkpoint), or None."""
        with self._lock:
            active = self._active.get(run_id)
            if active is not None and active.snapshot is not None:
                return active.snapshot
        if active is None:  # deleting a run forgets its weights; a resumed one is active
            stored = self._stored_weights.unchanged(run_id)
            if stored is not None:
                return stored
        record = self.store.get_run(run_id)
        if record is None or record.checkpoint is None:
            return None
        return self._stored_weights.read(run_id, record.checkpoint)

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
            self._announce(active, RunStatus.RUNNING)
            result = self._train(active, record)
        except ExecutorLostError as error:
            with self._lock:
                self.executor_errors += 1
            self.recorder.end(active, RunStatus.INTERRUPTED, error=str(error))
        except Exception as error:
            reason = describe_failure(error, str(active.device), self.store.data_dir)
            logger.warning("run %s failed: %s", run_id, reason, exc_info=True)
            self.recorder.end(active, RunStatus.FAILED, error=reason)
        else:
            self.recorder.end(active, RunStatus(result.status), result=result)
        finally:
            self._forget(run_id)

    def _train(self, active: ActiveRun, record: RunRecord) -> TrainResult:
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
        return self._executor.train(job, active.control, RecordingSink(self.recorder, active))

    # -- helpers -----------------------------------------------------------------------------

    def _enqueue(self, active: ActiveRun) -> None:
        """Hand the run to the scheduler (while closing, it stays queued in the store)."""
        with self._lock:
            if self._closing:
                return  # the next start() queues it again
            self._active[active.run_id] = active
            # under the lock: before any close()
            self.scheduler.submit(active.run_id, active.device, active.owner)

    def _slots(self) -> int:
        """How many runs a device trains side by side: the executor's say, else the setting."""
        return self._executor.slots() or self.settings.device_concurrency

    def _announce(self, active: ActiveRun, status: RunStatus, reason: str | None = None) -> None:
        """Record and publish the run's new status as its next event."""
        event = StatusEvent(seq=active.seq(), status=status.value, reason=reason)
        self.recorder.emit(active, event)

    def _forget(self, run_id: str) -> None:
        with self._lock:
            self._active.pop(run_id, None)
            self._finished.notify_all()

    def _record(self, run_id: str) -> RunRecord:
        record = self.store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run {run_id}")
        return record

    def _active_run(self, run_id: str, action: str) -> ActiveRun:
        with self._lock:
            active = self._active.get(run_id)
        if active is None:
            status = self._record(run_id).status
            raise ConflictError(f"cannot {action} run {run_id}: it is {status}")
        return active

    def _resume_interrupted(self, record: RunRecord) -> RunRecord:
        """Queue an interrupted run again; it goes on from the end of its last saved epoch."""
        seq = SeqCounter(record.last_seq + 1)
        record, reason = requeue_interrupted(self.store, record)
        active = ActiveRun(
            record.id,
            self.device,
            seq,
            owner=record.owner,
            resume=record.checkpoint is not None,
        )
        self._announce(active, RunStatus.QUEUED, reason)
        self._enqueue(active)
        return self._record(record.id)

    def mnist(self) -> Mnist:
        """MNIST, loaded once for every run and prediction of this process."""
        return self.datasets.mnist()
