"""What trains a run for the run manager: a thread of the server, a training process, or an
actor on a Ray cluster (app.training.ray_executor, with the `ray` extra installed)."""

from __future__ import annotations

from typing import Protocol

from app.data.registry import Datasets
from app.settings import Settings
from app.training.control import RunControl
from app.training.job import ExecutorLostError, RunJob, RunSink
from app.training.outputs import TrainResult
from app.training.process import ProcessExecutor
from app.training.tasks import train_job


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

    def __init__(self, datasets: Datasets) -> None:
        self._datasets = datasets

    def train(self, job: RunJob, control: RunControl, sink: RunSink) -> TrainResult:
        """Train `job` here and now."""
        return train_job(job, self._datasets.load(job.config.dataset), control, sink)

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
    datasets: Datasets,
    threads: int,
) -> Executor:
    """The executor the settings name: a training process per run (the default), the worker
    threads themselves, or Ray actors (ConnectionError if the cluster cannot be reached)."""
    if settings.executor == "ray":
        from app.training.ray_executor import RayExecutor  # noqa: PLC0415 (optional extra)

        return RayExecutor(settings, datasets)
    if not settings.training_process:
        return ThreadExecutor(datasets)
    return ProcessExecutor(datasets, threads)


__all__ = ["Executor", "ExecutorLostError", "ProcessExecutor", "ThreadExecutor", "make_executor"]
