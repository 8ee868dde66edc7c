"""What trains a run for the run manager: a thread of the server, or a training process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from app.data import Mnist
from app.training.control import RunControl
from app.training.job import RunJob, RunSink, train_job
from app.training.process import ProcessExecutor
from app.training.trainer import TrainResult


class Executor(Protocol):
    """Trains one job at a time per calling worker thread."""

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train to the end; raise whatever made the run fail."""

    def warm(self) -> None:
        """Get ready for the next run ahead of time (it may do nothing)."""

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

    def close(self, timeout: float = 0.0) -> None:
        """Nothing to release."""


def make_executor(
    in_process: bool,
    mnist: Callable[[], Mnist],
    mnist_source: Callable[[], Mnist | Path],
    threads: int,
) -> Executor:
    """A training process per worker (the default), or the worker threads themselves."""
    if in_process:
        return ThreadExecutor(mnist)
    return ProcessExecutor(mnist_source, threads)
