"""Headless training for the command line: the same Trainer, progress on the terminal."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import torch

from app.data.registry import DatasetPlaces, Datasets
from app.nn import parse_spec, summarize
from app.settings import Settings
from app.training.checks import dataset_info
from app.training.config import TrainConfig
from app.training.control import RunControl
from app.training.device import configure_threads, resolve_device
from app.training.job import RunJob
from app.training.outputs import Throttle, TrainingState, TrainResult, WeightSnapshot
from app.training.tasks import task_of, train_job


class JsonLines:
    """Prints every event as one JSON line."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, data: dict[str, Any]) -> None:
        self.write(data)

    def write(self, data: dict[str, Any]) -> None:
        """One line of JSON, flushed at once."""
        self.stream.write(json.dumps(data) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to tidy up."""


class ProgressBar:
    """A tqdm bar over the run's steps (its length from the first step event); a line per
    epoch."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._bar: Any = None  # made at the first step, when the run's length is known

    def __call__(self, data: dict[str, Any]) -> None:
        if self._bar is None and data["type"] == "step":
            from tqdm import tqdm  # type: ignore[import-untyped]  # noqa: PLC0415 (only here)

            self._bar = tqdm(
                total=data["total_steps"], unit="step", file=self.stream, dynamic_ncols=True
            )
        if self._bar is None:
            return
        if data["type"] == "step":
            self._bar.update(data["step"] - self._bar.n)
            self._bar.set_postfix(
                loss=f"{data['loss']:.4f}",
                acc=_figure(data["accuracy"], 3),
                lr=f"{data['lr']:.2e}",
                refresh=False,
            )
        elif data["type"] == "epoch":
            self._bar.write(
                f"epoch {data['epoch']}: train loss {data['train_loss']:.4f} "
                f"acc {_figure(data['train_accuracy'])} | val loss {data['val_loss']:.4f} "
                f"acc {_figure(data['val_accuracy'])} | {data['seconds']:.1f} s, "
                f"{data['samples_per_s']:,.0f} samples/s",
                file=self.stream,
            )

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()


class _PrintingSink:
    """A RunSink for the terminal: events are printed, nothing is saved."""

    def __init__(self, printer: JsonLines | ProgressBar) -> None:
        self.emit = printer

    def checkpoint(self, state: TrainingState) -> None:
        """A headless run keeps no checkpoints."""

    def snapshot(self, snapshot: WeightSnapshot) -> None:
        """Nor weights for predictions."""


def train_headless(
    spec: object,
    config: TrainConfig,
    settings: Settings,
    *,
    json_lines: bool = False,
    threads: int | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> TrainResult:
    """Train `spec` with `config` on the settings' device; report progress; return the result.

    Raises SpecError, ConfigError, DeviceError, MnistDataError or TrainingError with a
    readable message.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    limits = settings.spec_limits()
    model_spec = parse_spec(spec, limits)
    datasets = Datasets(
        DatasetPlaces(
            settings.mnist_cache_dir,
            tuple(settings.dataset_dirs()),
            uploads=settings.data_dir / "datasets",
        )
    )
    info = dataset_info(datasets, config.dataset)
    config = task_of(config).check(model_spec, summarize(model_spec, limits), config, info)
    device = resolve_device(settings.device)
    if device.type == "cpu":
        configure_threads(
            threads if threads is not None else settings.torch_threads, role="headless"
        )
    stored = model_spec.model_dump(mode="json", exclude_unset=True)
    job = RunJob("headless", stored, config, str(device), 0, limits, Throttle(), settings.data_dir)
    dataset = datasets.load(config.dataset)
    printer = JsonLines(out) if json_lines else ProgressBar(err)
    try:
        result = train_job(job, dataset, RunControl(), _PrintingSink(printer))
    finally:
        printer.close()
    summary = result.summary() | {
        "device": str(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
    }
    if json_lines:
        JsonLines(out).write(summary)
    else:
        out.write(
            f"{result.status}: {result.epochs} epoch(s), {result.steps} steps in "
            f"{result.seconds:.1f} s ({result.samples_per_s:,.0f} samples/s training); "
            f"{_final_figures(result)}\n"
        )
    return result


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _figure(value: float | None, digits: int = 4) -> str:
    """A number for the terminal; n/a where there is none (accuracy of a regression)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _final_figures(result: TrainResult) -> str:
    """The task's own figures (a DQN's returns, a GAN's losses) where it has them, else the
    accuracies, or for a regression or an autoencoder the losses."""
    if result.figures:
        return ", ".join(
            f"{name.replace('_', ' ')} {_figure(value)}" for name, value in result.figures.items()
        )
    if result.val_accuracy is None and result.val_loss is not None:
        return f"validation loss {_figure(result.val_loss)}, test loss {_figure(result.test_loss)}"
    return (
        f"validation accuracy {_percent(result.val_accuracy)}, "
        f"test accuracy {_percent(result.test_accuracy)}"
    )
