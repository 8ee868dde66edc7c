"""Which queued run trains next, and where: device slots and the fair queue.

Each device has a `DeviceWorker`: a fair queue (each owner's runs in order, owners taking turns)
and one thread per slot that takes the next run and hands it to the manager's `execute`. A
device's slots are how many runs train on it side by side: one per local GPU by default, or as
many as a Ray cluster offers (see app.training.ray_executor), growing as nodes join.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import torch

from app.training.fair_queue import FairQueue

logger = logging.getLogger(__name__)


class DeviceWorker:
    """The thread(s) that own one device and train its queued runs, owners taking turns."""

    def __init__(
        self, device: torch.device, execute: Callable[[str], None], concurrency: int = 1
    ) -> None:
        self.device = device
        self._execute = execute
        self._queue: FairQueue[str] = FairQueue()
        self._threads: list[threading.Thread] = []
        self.grow(concurrency)

    @property
    def slots(self) -> int:
        """How many runs it trains side by side."""
        return len(self._threads)

    def grow(self, slots: int) -> None:
        """Train up to `slots` runs side by side from now on (it never shrinks)."""
        while len(self._threads) < slots:
            name = f"train-{self.device}-{len(self._threads)}"
            thread = threading.Thread(target=self._loop, name=name, daemon=True)
            self._threads.append(thread)
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


class Scheduler:
    """A DeviceWorker per device, made when the device gets its first run. The slots are asked
    for at every submit: a cluster that gained nodes trains more runs at once."""

    def __init__(self, execute: Callable[[str], None], slots: Callable[[], int]) -> None:
        self._execute = execute
        self._slots = slots  # asked once per device, when its worker starts
        self._lock = threading.Lock()
        self._workers: dict[torch.device, DeviceWorker] = {}

    def submit(self, run_id: str, device: torch.device, owner: str | None) -> None:
        """Queue a run on its device (the device's worker starts with its first run)."""
        with self._lock:
            worker = self._workers.get(device)
            slots = self._slots()
            if worker is None:
                worker = DeviceWorker(device, self._execute, slots)
                self._workers[device] = worker
            else:
                worker.grow(slots)
            worker.submit(run_id, owner)

    def remove(self, run_id: str, device: torch.device) -> bool:
        """Take a queued run out of its device's queue; the runs behind it move up."""
        with self._lock:
            worker = self._workers.get(device)
        return worker is not None and worker.remove(run_id)

    def order(self) -> list[str]:
        """The ids of the runs waiting to start, the next to start first (device by device)."""
        return [run_id for worker in self._snapshot() for run_id in worker.order()]

    def lengths(self) -> dict[str, int]:
        """How many runs wait to start, per device."""
        return {str(worker.device): len(worker.order()) for worker in self._snapshot()}

    def slots(self) -> int:
        """How many runs train side by side, all devices together (at least 1)."""
        workers = self._snapshot()
        return sum(worker.slots for worker in workers) if workers else max(1, self._slots())

    def close(self, timeout: float | None = None) -> None:
        """Start nothing more; wait for the running runs' threads to finish."""
        for worker in self._snapshot():
            worker.close(timeout)

    def _snapshot(self) -> list[DeviceWorker]:
        with self._lock:
            return list(self._workers.values())
