"""MNIST as tensors on the training device, normalised once; batches are permutation slices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from app.data import Mnist, Split, mean_std

NUM_CLASSES = 10
PIXELS = 28 * 28


@dataclass(frozen=True)
class DeviceSplit:
    """One split ready for the model: inputs (N, *input_shape) float32, labels (N,) int64."""

    inputs: torch.Tensor
    labels: torch.Tensor
    images: torch.Tensor  # (N, 28, 28) uint8 on the CPU, for pictures in events

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class DeviceData:
    """The train, validation and test splits on one device."""

    train: DeviceSplit
    validation: DeviceSplit
    test: DeviceSplit
    device: torch.device


def check_input_shape(input_shape: Sequence[int]) -> None:
    """Raise ValueError unless a sample of `input_shape` holds exactly one 28×28 digit."""
    if math.prod(input_shape) != PIXELS:
        shown = "×".join(str(size) for size in input_shape)
        raise ValueError(
            f"input_shape: MNIST digits have 784 (28×28) pixels, the model takes {shown}; "
            "use [1, 28, 28] (or [784], [28, 28])"
        )


def prepare_data(
    mnist: Mnist,
    device: torch.device,
    input_shape: Sequence[int],
    *,
    normalize: bool = True,
    train_subset: int | None = None,
    eval_limit: int | None = None,
) -> DeviceData:
    """Copy MNIST to `device` once, as float32 inputs shaped like the model's input."""
    check_input_shape(input_shape)
    shape = tuple(input_shape)

    def prepare(split: Split, limit: int | None) -> DeviceSplit:
        images = split.images[:limit] if limit else split.images  # (N, 28, 28) uint8
        inputs = images.to(device=device, dtype=torch.float32).div_(255.0)
        if normalize:
            mean, std = mean_std()
            inputs.sub_(mean).div_(std)
        inputs = inputs.reshape(len(images), *shape).contiguous()  # (N, *input_shape)
        labels = split.labels[: len(images)].to(device=device, dtype=torch.int64)
        return DeviceSplit(inputs, labels, images)

    return DeviceData(
        train=prepare(mnist.train, train_subset),
        validation=prepare(mnist.validation, eval_limit),
        test=prepare(mnist.test, eval_limit),
        device=device,
    )


def epoch_batches(
    size: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> list[torch.Tensor]:
    """One epoch's batches of indices: slices of a fresh permutation (the last may be short).

    The permutation is drawn on the CPU from `generator`, so a seed gives the same order on
    every device, and copied to `device` once per epoch.
    """
    permutation = torch.randperm(size, generator=generator).to(device)  # (size,)
    return [permutation[start : start + batch_size] for start in range(0, size, batch_size)]
