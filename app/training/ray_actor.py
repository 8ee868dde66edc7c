"""A run on a Ray node: the actor that trains one job and streams its messages back.

Plain Python (Ray wraps it, see app.training.ray_executor), so it needs no Ray to test. `train`
is a generator the server calls with `num_returns="streaming"`: each item is one message in the
wire format of app.training.remote, sent through Ray's object store as it is made. The actor is
threaded (`max_concurrency` ≥ 3), so `control` and `checkpoint_reply` reach it while it trains.
Calls to a threaded actor may run out of order: control states carry the run and a number, an
older one never overrides a newer one, and one that comes before its job waits for it. An actor
trains one job at a time, and job after job while the server keeps it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from app.data.dataset import Dataset
from app.training.control import RunControl
from app.training.device import configure_threads
from app.training.job import RunJob, describe_failure
from app.training.optim import load_optimizer_code
from app.training.remote import MessageSink, apply_control, result_message, unpack_job
from app.training.tasks import train_job
from app.training.wire import ControlState, join_message

logger = logging.getLogger(__name__)

_END = ("result", "failed")
KEPT_DATASETS = 2  # datasets an actor keeps between jobs


class RunActor:
    """Trains one job at a time on the node Ray placed it on."""

    def __init__(self, threads: int) -> None:
        configure_threads(threads)
        load_optimizer_code()  # before the job: its first step should not wait for imports
        self._datasets: dict[str, Dataset] = {}  # the last few, by the server's key
        self._lock = threading.Lock()
        self._run_id: str | None = None
        self._control = RunControl()
        self._control_number = 0
        self._early: dict[str, tuple[int, ControlState]] = {}  # controls ahead of their job
        self._replies: queue.Queue[str | None] = queue.Queue()

    def ready(self) -> bool:
        """True once the actor is placed and started (for the server to time the start)."""
        return True

    def train(
        self,
        job: RunJob,
        resume: bytes | None,
        initial: ControlState,
        dataset_key: str,
        dataset_box: list[Any],
    ) -> Iterator[bytes]:
        """Train `job`, yielding its messages in order; the last is `result` or `failed`.

        `dataset_box` holds the object-store reference of the job's dataset (boxed, so Ray does
        not fetch it unasked): it is fetched only if this actor has no copy under `dataset_key`.
        """
        with self._lock:
            self._run_id, self._control, self._control_number = job.run_id, RunControl(), 0
            control = self._control
            apply_control(control, initial)
            early = self._early.pop(job.run_id, None)
            self._early.clear()  # controls of runs that never came here
        if early is not None:
            self.control(job.run_id, *early)
        outbox: queue.Queue[tuple[str, bytes | Callable[[], bytes]]] = queue.Queue()
        sink = MessageSink(lambda kind, body: outbox.put((kind, body)), self._replies)

        def run() -> None:
            try:
                dataset = self._dataset(dataset_key, dataset_box)
                result = train_job(unpack_job(job, resume), dataset, control, sink)
            except Exception as error:
                logger.debug("run %s failed", job.run_id, exc_info=True)
                outbox.put(("failed", describe_failure(error, job.device, job.data_dir).encode()))
            else:
                outbox.put(("result", result_message(result)))

        threading.Thread(target=run, name=f"train-{job.run_id}", daemon=True).start()
        while True:
            kind, body = outbox.get()
            yield join_message(kind, body if isinstance(body, bytes) else body())
            if kind in _END:
                return

    def _dataset(self, key: str, box: list[Any]) -> Dataset:
        dataset = self._datasets.get(key)
        if dataset is None:
            import ray  # noqa: PLC0415 (only ever called inside a Ray actor)

            dataset = ray.get(box[0])
            while len(self._datasets) >= KEPT_DATASETS:
                self._datasets.pop(next(iter(self._datasets)))
            self._datasets[key] = dataset
        return dataset

    def control(self, run_id: str, number: int, state: ControlState) -> None:
        """Bring the run's control to the server's state number `number` (unless a newer one
        came first; tuning is applied whenever it comes)."""
        with self._lock:
            if run_id != self._run_id:
                if number > self._early.get(run_id, (0, state))[0]:
                    self._early[run_id] = (number, state)  # its job has not started yet
                return
            if number < self._control_number:
                state = (self._control.paused, None, state[2])  # stale: keep its tuning only
            self._control_number = max(self._control_number, number)
            apply_control(self._control, state)

    def checkpoint_reply(self, problem: str | None) -> None:
        """The server saved the checkpoint (None) or says why it could not."""
        self._replies.put(problem)
