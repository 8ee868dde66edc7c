"""What a dataset's targets ask of training, one `Objective` per kind of target.

Classification (class indices) and regression (one value per sample) differ in what the model
must output, which losses fit, what the loss compares outputs with, and whether "accuracy"
means anything. The trainer, the evaluation and the checks ask the dataset's objective rather
than testing the kind themselves; a new kind of target is a new entry in `OBJECTIVES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.data.dataset import TaskKind
from app.training.config import LossName, TrainConfig

# (config, labels (N,), outputs per sample) -> what the loss compares the outputs with
TargetMaker = Callable[[TrainConfig, torch.Tensor, int], torch.Tensor]


def _class_targets(config: TrainConfig, labels: torch.Tensor, outputs: int) -> torch.Tensor:
    """Class indices (N,), or one-hot rows (N, C) for mse."""
    return F.one_hot(labels, outputs).float() if config.loss == "mse" else labels


def _value_targets(config: TrainConfig, labels: torch.Tensor, outputs: int) -> torch.Tensor:
    """The values as a column (N, 1), like the model's single output."""
    return labels.float().unsqueeze(1)


@dataclass(frozen=True)
class Objective:
    """How runs learn one kind of target."""

    kind: TaskKind
    description: str  # for messages: "'spiral' is …"
    losses: tuple[LossName, ...]  # the losses that fit, the default first
    label_dtype: torch.dtype  # targets on the device
    counts_hits: bool  # whether right answers can be counted (accuracy)
    make_targets: TargetMaker

    @property
    def default_loss(self) -> LossName:
        """The loss a run uses when its config names none."""
        return self.losses[0]

    def fit(self, config: TrainConfig) -> TrainConfig:
        """`config` with this objective's default loss when the person chose none and the
        default (cross_entropy) does not fit; an explicit misfit is left for `check` to name."""
        if "loss" in config.model_fields_set or config.loss in self.losses:
            return config
        return config.model_copy(update={"loss": self.default_loss})

    def targets(self, config: TrainConfig, labels: torch.Tensor, outputs: int) -> torch.Tensor:
        """What the loss compares the outputs (N, outputs) with."""
        return self.make_targets(config, labels, outputs)

    def hits(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """() how many of the batch's samples the outputs (B, C) classify right."""
        return (outputs.argmax(dim=1) == labels).sum()


CLASSIFICATION = Objective(
    kind=TaskKind.CLASSIFICATION,
    description="a classification problem (a class per sample)",
    losses=("cross_entropy", "nll", "mse"),
    label_dtype=torch.int64,
    counts_hits=True,
    make_targets=_class_targets,
)
REGRESSION = Objective(
    kind=TaskKind.REGRESSION,
    description="a regression problem (one value per sample)",
    losses=("mse",),
    label_dtype=torch.float32,
    counts_hits=False,
    make_targets=_value_targets,
)

OBJECTIVES: dict[TaskKind, Objective] = {
    objective.kind: objective for objective in (CLASSIFICATION, REGRESSION)
}


def objective_for(kind: TaskKind) -> Objective:
    """The objective of datasets whose targets are of `kind`."""
    return OBJECTIVES[kind]
