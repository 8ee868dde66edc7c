"""A dataset in memory, whatever it came from: three splits of inputs and targets.

Every dataset the playground trains on (MNIST, Fashion-MNIST, the 2-D problems, uploads) is
handed to training in this one form. Images are kept as uint8 (N, C, H, W) and scaled when they
go to the device; features (the 2-D problems, CSV uploads) are float32 (N, F) as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch


class TaskKind(StrEnum):
    """What the targets are."""

    CLASSIFICATION = "classification"  # int64 class indices, one per sample
    REGRESSION = "regression"  # float32 values, one per sample


@dataclass(frozen=True)
class ArraySplit:
    """One split: `inputs` (N, *input_shape) uint8 images or float32 features, `targets` (N,)."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __post_init__(self) -> None:
        if self.inputs.shape[0] != self.targets.shape[0]:
            raise ValueError(
                f"{self.inputs.shape[0]} inputs but {self.targets.shape[0]} targets in a split"
            )

    def __len__(self) -> int:
        return int(self.targets.shape[0])


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test splits with what a model needs to know about them."""

    name: str
    kind: TaskKind
    input_shape: tuple[int, ...]  # one sample, e.g. (1, 28, 28) or (2,)
    classes: tuple[str, ...]  # class names in label order; () for regression
    train: ArraySplit
    validation: ArraySplit
    test: ArraySplit
    # Images: the pixels' (mean, std) on a 0..1 scale for standardising; None: from train.
    mean_std: tuple[float, float] | None = None

    @property
    def is_image(self) -> bool:
        """Whether samples are uint8 images (C, H, W), scaled to 0..1 for the model."""
        return self.train.inputs.dtype == torch.uint8 and len(self.input_shape) == 3

    @property
    def outputs(self) -> int:
        """How many outputs a model needs: one per class, or 1 for regression."""
        return len(self.classes) if self.kind is TaskKind.CLASSIFICATION else 1
