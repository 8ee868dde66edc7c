"""What trains a run for the run manager: a thread of the server, a training process, or an
actor on a Ray cluster (app.training.ray_executor, with the `ray` extra installed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from app.data import Mnist
from app.settings import Settings
from app.training.control import RunControl
from app.training.job import ExecutorLostError, RunJob, RunSink, train_job
from app.training.process import ProcessExecutor
from app.training.trainer import TrainResult


class Executor(Protocol):
    """Trains one job at a time per calling worker thread."""

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train to the end; raise whatever made the run fail."""

    def warm(self) -> None:
        """Get ready for the next run ahead of time (it may do nothing)."""

    def slots(self) -> int:
        """How many runs it trains side by side (0: as the settings say)."""

    def device(self) -> str | None:
        """The device its runs train on (None: this machine's, as the settings say)."""

    def close(self, timeout: float = ...) -> None:
        """Release what it holds, once the workers are done."""


class ThreadExecutor:
    """Trains in the calling worker thread, inside the server's own process."""

    def __init__(self, mnist: Callable[[], Mnist]) -> None:
        self._mnist = mnist

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train `job` here and now."""
        return train_job(job, self._mnist(), control, sink)

    def warm(self) -> None:
        """Nothing to get ready: MNIST loads at the first run or prediction."""

    def slots(self) -> int:
        """As the settings say."""
        return 0

    def device(self) -> str | None:
        """This machine's."""
        return None

    def close(self, timeout: float = 0.0) -> None:
        """Nothing to release."""


def make_executor(
    settings: Settings,
    mnist: Callable[[], Mnist],
    mnist_source: Callable[[], Mnist | Path],
    threads: int,
) -> Executor:
    """The executor the settings name: a training process per run (the default), the worker
    threads themselves, or Ray actors (ConnectionError if the cluster cannot be reached)."""
    if settings.executor == "ray":
        from app.training.ray_executor import RayExecutor  # noqa: PLC0415 (optional extra)

        return RayExecutor(settings, mnist)
    if not settings.training_process:
        return ThreadExecutor(mnist)
    return ProcessExecutor(mnist_source, threads)


__all__ = ["Executor", "ExecutorLostError", "ProcessExecutor", "ThreadExecutor", "make_executor"]
