"""Runs on a Ray cluster: each run is an actor that asks for its device's resources.

The server stays the one source of truth. The scheduler's fair queue still decides the order
(a device worker thread per slot, as many slots as the cluster's resources allow); each slot's
thread takes an actor for its run, streams the actor's messages back through Ray's object
store and pumps them into the recorder exactly as for a local training process (events,
weight snapshots, checkpoints written atomically here). MNIST is put into the object store
once. An actor or node that dies ends the run `interrupted`, resumable from its last checkpoint.

Starting an actor takes seconds (a worker process, torch's import), so actors are kept: after
a run its actor waits, idle, for the next run (at most one per slot, holding that slot's
resources), and one is started with the server. Needs the `ray` extra (`pip install .[ray]`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from app.data.registry import DEFAULT_DATASET, DatasetRef, Datasets, dataset_key
from app.settings import Settings
from app.training.control import RunControl
from app.training.job import ExecutorLostError, RunJob, RunSink
from app.training.outputs import TrainingError, TrainResult
from app.training.ray_actor import RunActor
from app.training.remote import control_state, pack_job, pump
from app.training.wire import ControlState, split_message

logger = logging.getLogger(__name__)

MAX_SLOTS = 4096
KEPT_DATASETS = 4  # datasets kept in the object store
SLOTS_SECONDS = 10.0  # how long the cluster's size is taken as known
READY_SECONDS = 10.0  # how long an idle actor may take to answer before it counts as lost


class RayConnectError(ConnectionError):
    """The Ray cluster could not be reached or started."""


def connect(settings: Settings) -> None:
    """Join the cluster the settings name (or start a local instance) unless already joined;
    RayConnectError with one sentence if that fails or takes over `ray_connect_seconds`."""
    if ray.is_initialized():
        return
    address = settings.ray_address or None
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    failure: list[BaseException] = []

    def join() -> None:
        try:
            if address is None:
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except BaseException as error:  # reported by the caller
            failure.append(error)

    thread = threading.Thread(target=join, name="ray-connect", daemon=True)
    thread.start()
    thread.join(settings.ray_connect_seconds)
    if thread.is_alive():
        raise RayConnectError(
            f"cannot reach {where} within {settings.ray_connect_seconds:g} s "
            "(NNP_RAY_ADDRESS; is the head running and reachable from here?)"
        )
    if failure:
        raise RayConnectError(f"cannot reach {where}: {failure[0]}") from failure[0]


class RayExecutor:
    """Trains each run in a Ray actor of its own, placed by Ray where its resources are."""

    def __init__(self, settings: Settings, datasets: Datasets) -> None:
        connect(settings)
        self._settings = settings
        self._datasets = datasets
        self._dataset_refs: dict[str, Any] = {}  # object-store copies, by key, oldest first
        self._lock = threading.Lock()
        self._closed = False
        self._actors: set[Any] = set()  # every actor started and not let go
        self._idle: list[Any] = []
        totals = ray.cluster_resources()  # type: ignore[no-untyped-call]
        wants_gpu = settings.ray_device == "cuda" or (
            settings.ray_device == "auto" and totals.get("GPU", 0) > 0
        )
        self._device = "cuda" if wants_gpu else "cpu"
        self._resources: dict[str, float] = {"CPU": settings.ray_cpus_per_run}
        if wants_gpu:
            self._resources["GPU"] = settings.ray_gpus_per_run
        self._resources |= settings.ray_resources_per_run
        self._slots = (time.monotonic(), settings.ray_slots or _slots_for(totals, self._resources))
        self._actor_class = ray.remote(max_concurrency=3)(RunActor)  # type: ignore[call-overload]
        logger.info(
            "Ray executor: %s runs on %s, %d at a time, each asking for %s",
            self._device,
            "the cluster" if settings.ray_address else "a local Ray instance",
            self._slots[1],
            self._resources,
        )

    def slots(self) -> int:
        """As many runs as the cluster's resources hold at once (or the `ray_slots` setting);
        asked of the cluster again after SLOTS_SECONDS, as nodes may join or leave."""
        if self._settings.ray_slots:
            return self._settings.ray_slots
        with self._lock:
            asked_at, slots = self._slots
            if time.monotonic() - asked_at < SLOTS_SECONDS:
                return slots
        totals = ray.cluster_resources()  # type: ignore[no-untyped-call]
        slots = _slots_for(totals, self._resources)
        with self._lock:
            self._slots = (time.monotonic(), slots)
        return slots

    def device(self) -> str:
        """cuda when the runs ask for GPUs, else cpu."""
        return self._device

    def warm(self) -> None:
        """Put MNIST into the object store and start an actor, unless one is idle already."""
        with self._lock:
            if self._closed or self._idle:
                return
        with contextlib.suppress(Exception):  # a run that needs it reports the failure
            self._dataset_in_store(DEFAULT_DATASET)
        actor = self._start_actor()
        with self._lock:
            self._idle.append(actor)

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train `job` in an idle actor (or a new one), pumping its messages into `sink`.

        An actor lost before it sent anything (an idle one may die between the check that it
        answers and the job's arrival) did no visible work: the job goes to a fresh actor once.
        """
        try:
            return self._train_in(self._take_idle() or self._start_actor(), job, control, sink)
        except _LostBeforeStartError:
            logger.info(
                "run %s: its Ray actor was lost before it started; another takes it", job.run_id
            )
        try:
            return self._train_in(self._start_actor(), job, control, sink)
        except _LostBeforeStartError as lost:
            raise lost.error from lost

    def _train_in(self, actor: Any, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        kept = False
        try:
            bare_job, resume = pack_job(job)
            sent = control_state(control)
            key, ref = self._dataset_in_store(job.config.dataset)
            stream = actor.train.options(num_returns="streaming").remote(
                bare_job, resume, sent, key, [ref]
            )
            channel = _ActorChannel(actor, stream, job.run_id)
            try:
                result = pump(job, control, sink, channel, sent)
                kept = True
                return result
            except ExecutorLostError as error:
                if not channel.heard:
                    raise _LostBeforeStartError(error) from error
                raise
            except TrainingError:
                kept = channel.ended  # the run failed, the actor lives on
                raise
        finally:
            self._release(actor, kept)

    def _release(self, actor: Any, keep: bool) -> None:
        """After a run: idle again if it is still good, else let it go."""
        with self._lock:
            if keep and not self._closed:
                self._idle.append(actor)
                return
            self._actors.discard(actor)
        with contextlib.suppress(RayError):
            ray.kill(actor, no_restart=True)

    def _take_idle(self) -> Any:
        """An idle actor that still answers, or None; the lost ones are let go on the way."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                actor = self._idle.pop()
            try:
                ray.get(actor.ready.remote(), timeout=READY_SECONDS)
            except RayError:
                logger.info("an idle Ray actor was lost; starting another")
                self._release(actor, keep=False)
            else:
                return actor

    def actors(self) -> list[Any]:
        """The actors training runs now (for tests)."""
        with self._lock:
            return list(self._actors)

    def close(self, timeout: float = 0.0) -> None:
        """Kill the actors still alive (their runs were interrupted by the manager already)."""
        with self._lock:
            self._closed = True
            actors, self._actors, self._idle = list(self._actors), set(), []
        for actor in actors:
            with contextlib.suppress(RayError):
                ray.kill(actor, no_restart=True)

    def _start_actor(self) -> Any:
        resources = dict(self._resources)
        options: dict[str, Any] = {
            "num_cpus": resources.pop("CPU"),
            "num_gpus": resources.pop("GPU", 0),
            "resources": resources,
            "max_restarts": 0,
        }
        threads = max(1, math.floor(options["num_cpus"]))
        actor = self._actor_class.options(**options).remote(threads)
        with self._lock:
            if self._closed:
                ray.kill(actor, no_restart=True)
                raise TrainingError("the server is shutting down")
            self._actors.add(actor)
        return actor

    def _dataset_in_store(self, dataset: DatasetRef) -> tuple[str, Any]:
        """(key, object-store reference) of a dataset, put there at its first run; the last
        few stay (a file dataset is read and put once, a generated one is small)."""
        key = dataset_key(dataset)
        with self._lock:
            ref = self._dataset_refs.get(key)
        if ref is None:
            ref = ray.put(self._datasets.load(dataset))
            with self._lock:
                self._dataset_refs[key] = ref
                while len(self._dataset_refs) > KEPT_DATASETS:
                    self._dataset_refs.pop(next(iter(self._dataset_refs)))
        return key, ref


class _LostBeforeStartError(Exception):
    """The actor was lost before the run's first message: nothing of the run was recorded."""

    def __init__(self, error: ExecutorLostError) -> None:
        super().__init__(str(error))
        self.error = error


class _ActorChannel:
    """The server's end of one run in an actor: a thread drains the actor's stream into a queue."""

    def __init__(self, actor: Any, stream: Iterator[Any], run_id: str) -> None:
        self._actor = actor
        self._run_id = run_id
        self._controls = 0
        self.ended = False  # its last message came: the actor can train another job
        self.heard = False  # a message came: the run started
        self._inbox: queue.Queue[bytes | BaseException] = queue.Queue()
        self._stream = stream
        self._drain = threading.Thread(target=self._read, name=f"ray-{run_id}", daemon=True)
        self._drain.start()

    def _read(self) -> None:
        try:
            for ref in self._stream:
                message = ray.get(ref)
                self.heard = True
                if split_message(message)[0] in ("result", "failed"):
                    self.ended = True  # the actor finished the job cleanly
                self._inbox.put(message)
        except BaseException as error:  # handed to the pumping thread
            self._inbox.put(error)

    def receive(self, timeout: float) -> tuple[str, bytes] | None:
        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, bytes):
            return split_message(item)
        raise _describe_loss(item, self._run_id) from item

    def send_control(self, state: ControlState) -> None:
        self._controls += 1
        with contextlib.suppress(RayError):  # it died: the stream says so
            self._actor.control.remote(self._run_id, self._controls, state)

    def reply_checkpoint(self, problem: str | None) -> None:
        with contextlib.suppress(RayError):
            self._actor.checkpoint_reply.remote(problem)

    def close(self) -> None:
        """Stop draining (the actor is about to be killed)."""
        with contextlib.suppress(RayError, TypeError):
            ray.cancel(self._stream)


def _describe_loss(error: BaseException, run_id: str) -> TrainingError:
    """What a failure of the stream means for the run."""
    if isinstance(error, RayTaskError) and not isinstance(error, RayActorError):
        return TrainingError(f"the Ray actor failed: {error}")
    logger.warning("run %s: its Ray actor was lost: %s", run_id, error)
    return ExecutorLostError(
        "the Ray actor training this run died (its node may have gone away); resume the run "
        "from its last epoch"
    )


def _slots_for(totals: dict[str, float], per_run: dict[str, float]) -> int:
    """How many runs asking for `per_run` fit into the cluster's `totals` at once."""
    fits = [math.floor(totals.get(name, 0) / amount) for name, amount in per_run.items() if amount]
    return max(1, min(min(fits, default=1), MAX_SLOTS))
