"""Headless training for the command line: the same Trainer, progress on the terminal."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import torch

from app.data.registry import DatasetPlaces, Datasets
from app.nn import build_model
from app.settings import Settings
from app.training.checks import check_trainable, dataset_info, fit_config
from app.training.config import TrainConfig
from app.training.data import prepare_data
from app.training.device import configure_threads, resolve_device
from app.training.events import EpochEvent, Event, StepEvent
from app.training.outputs import TrainResult
from app.training.trainer import Trainer


class JsonLines:
    """Prints every event as one JSON line."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        self.write(event.to_dict())

    def write(self, data: dict[str, Any]) -> None:
        """One line of JSON, flushed at once."""
        self.stream.write(json.dumps(data) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to tidy up."""


class ProgressBar:
    """A tqdm bar over the run's steps; a line per epoch."""

    def __init__(self, total_steps: int, stream: IO[str]) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]  # noqa: PLC0415 (only here)

        self.stream = stream
        self._bar = tqdm(total=total_steps, unit="step", file=stream, dynamic_ncols=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self._bar.update(event.step - self._bar.n)
            self._bar.set_postfix(
                loss=f"{event.loss:.4f}",
                acc=_figure(event.accuracy, 3),
                lr=f"{event.lr:.2e}",
                refresh=False,
            )
        elif isinstance(event, EpochEvent):
            self._bar.write(
                f"epoch {event.epoch}: train loss {event.train_loss:.4f} "
                f"acc {_figure(event.train_accuracy)} | val loss {event.val_loss:.4f} "
                f"acc {_figure(event.val_accuracy)} | {event.seconds:.1f} s, "
                f"{event.samples_per_s:,.0f} samples/s",
                file=self.stream,
            )

    def close(self) -> None:
        """Finish the bar."""
        self._bar.close()


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
    built = build_model(spec, settings.spec_limits(), seed=config.seed)
    datasets = Datasets(
        DatasetPlaces(
            settings.mnist_cache_dir,
            tuple(settings.dataset_dirs()),
            uploads=settings.data_dir / "datasets",
        )
    )
    info = dataset_info(datasets, config.dataset)
    config = fit_config(config, info)
    check_trainable(built.spec, built.summary, config, info)
    device = resolve_device(settings.device)
    if device.type == "cpu":
        configure_threads(
            threads if threads is not None else settings.torch_threads, role="headless"
        )
    data = prepare_data(
        datasets.load(config.dataset),
        device,
        built.spec.input_shape,
        normalize=config.normalize,
        train_subset=config.train_subset,
        eval_limit=config.eval_limit,
    )
    total_steps = config.total_steps(len(data.train))
    printer = JsonLines(out) if json_lines else ProgressBar(total_steps, err)
    try:
        result = Trainer(built, config, data, emit=printer).run()
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
    """The accuracies, or for a regression the losses (mean squared error)."""
    if result.val_accuracy is None and result.val_loss is not None:
        return f"validation loss {_figure(result.val_loss)}, test loss {_figure(result.test_loss)}"
    return (
        f"validation accuracy {_percent(result.val_accuracy)}, "
        f"test accuracy {_percent(result.test_accuracy)}"
    )
