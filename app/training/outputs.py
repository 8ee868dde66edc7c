"""What a trainer hands out (its result, the state a checkpoint keeps, weight snapshots for
predictions, the parts of its model that stand alone), how often it does (`Throttle`), and the
error that ends a run for a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the message says why, for people."""


@dataclass(frozen=True)
class Throttle:
    """Minimum seconds between two step events, two feature-map frames, two checkpoints, and two
    step events that carry histograms of weights and activations (the other per-layer numbers
    travel with every step event).

    A checkpoint is taken at the end of an epoch once `checkpoint_s` have passed since the
    last one (and always after the last epoch): an MNIST epoch is checkpointed every time, but a
    2-D run's epochs of a few milliseconds do not each wait for a file to be written.
    """

    step_s: float = 0.1
    feature_maps_s: float = 0.5
    checkpoint_s: float = 1.0
    histograms_s: float = 1.0


@dataclass(frozen=True)
class ModelPart:
    """A piece of a trained model that works alone (an autoencoder's decoder): the layers, the
    shape of one sample it takes, and names for its input and output in an exported file."""

    module: nn.Module
    input_shape: tuple[int, ...]
    input_name: str
    output_name: str


@dataclass
class TrainingState:
    """What a checkpoint holds: weights, optimizer state, counters and random states."""

    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    meta: dict[str, Any]


@dataclass(frozen=True)
class WeightSnapshot:
    """A CPU copy of the weights at some step, for predictions while training goes on."""

    step: int
    epoch: int
    state: dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainResult:
    """How a run ended and its figures; test figures only for completed runs."""

    status: str  # completed, stopped or interrupted
    epochs: int
    steps: int
    seconds: float
    train_seconds: float
    samples: int
    val_accuracy: float | None  # None for regression, as the other accuracies
    best_val_accuracy: float | None
    best_epoch: int | None
    test_accuracy: float | None
    test_loss: float | None
    early_stopped: bool
    val_loss: float | None = None
    # A task's own figures (a DQN's returns), added to the summary; None for most runs.
    figures: dict[str, float | None] | None = None

    @property
    def samples_per_s(self) -> float:
        """Training throughput: digits per second of training steps."""
        return self.samples / self.train_seconds if self.train_seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """The JSON form (the CLI's last line), with the task's figures if it has any."""
        data = {
            "type": "summary",
            "status": self.status,
            "epochs": self.epochs,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "train_seconds": round(self.train_seconds, 3),
            "samples_per_s": round(self.samples_per_s, 1),
            "val_accuracy": self.val_accuracy,
            "val_loss": self.val_loss,
            "best_val_accuracy": self.best_val_accuracy,
            "best_epoch": self.best_epoch,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "early_stopped": self.early_stopped,
        }
        return data | (self.figures or {})
