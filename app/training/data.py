"""A dataset as tensors on the training device, scaled once; batches are permutation slices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from app.data import Mnist
from app.data.dataset import ArraySplit, Dataset, TaskKind

NUM_CLASSES = 10  # MNIST's; other datasets say their own (DeviceData.num_classes)
LABEL_DTYPES = {TaskKind.CLASSIFICATION: torch.int64, TaskKind.REGRESSION: torch.float32}


@dataclass(frozen=True)
class DeviceSplit:
    """One split ready for the model: inputs (N, *input_shape) float32, labels (N,): int64
    classes, or float32 values for regression.

    `images`: the samples as uint8 pictures on the CPU, (N, H, W) for one-channel images (for
    pictures in events), or None for other data.
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    images: torch.Tensor | None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class DeviceData:
    """The train, validation and test splits on one device."""

    train: DeviceSplit
    validation: DeviceSplit
    test: DeviceSplit
    device: torch.device
    num_classes: int = NUM_CLASSES  # 0 for regression
    kind: TaskKind = TaskKind.CLASSIFICATION  # what the labels are


def describe_shape(shape: Sequence[int]) -> str:
    """A shape for people: 1×28×28."""
    return "×".join(str(size) for size in shape)


def check_sample_size(input_shape: Sequence[int], expected: Sequence[int], name: str) -> None:
    """Raise ValueError unless a sample of `input_shape` holds exactly one sample of shape
    `expected` (of the dataset `name`); reshaping is fine ([784] takes a 1×28×28 digit)."""
    if math.prod(input_shape) == math.prod(expected):
        return
    given, wanted = describe_shape(input_shape), describe_shape(expected)
    if name == "mnist":
        raise ValueError(
            f"input_shape: MNIST digits have 784 (28×28) pixels, the model takes {given}; "
            "use [1, 28, 28] (or [784], [28, 28])"
        )
    raise ValueError(
        f"input_shape: samples of '{name}' are {wanted} ({math.prod(expected)} values), the "
        f"model takes {given}; use {list(expected)}"
    )


def prepare_data(
    dataset: Dataset | Mnist,
    device: torch.device,
    input_shape: Sequence[int],
    *,
    normalize: bool = True,
    train_subset: int | None = None,
    eval_limit: int | None = None,
) -> DeviceData:
    """Copy the dataset to `device` once, as float32 inputs shaped like the model's input.

    Images are scaled to 0..1 and, with `normalize`, standardised by the dataset's pixel mean
    and std; features are taken as they are.
    """
    if isinstance(dataset, Mnist):
        dataset = dataset.to_dataset()
    check_sample_size(input_shape, dataset.input_shape, dataset.name)
    shape = tuple(input_shape)
    mean, std = pixel_mean_std(dataset) if dataset.is_image and normalize else (0.0, 1.0)

    def prepare(split: ArraySplit, limit: int | None) -> DeviceSplit:
        samples = split.inputs[:limit] if limit else split.inputs  # (N, *sample shape)
        inputs = samples.to(device=device, dtype=torch.float32)
        if dataset.is_image:
            inputs.div_(255.0)
            if normalize:
                inputs.sub_(mean).div_(std)
        inputs = inputs.reshape(len(samples), *shape).contiguous()  # (N, *input_shape)
        labels = split.targets[: len(samples)].to(device=device, dtype=LABEL_DTYPES[dataset.kind])
        # Pictures in events are 28×28 grey (what the pages draw); other data has none.
        pictures = samples[:, 0] if tuple(samples.shape[1:]) == (1, 28, 28) else None
        return DeviceSplit(inputs, labels, pictures)  # pictures: (N, 28, 28) uint8

    return DeviceData(
        train=prepare(dataset.train, train_subset),
        validation=prepare(dataset.validation, eval_limit),
        test=prepare(dataset.test, eval_limit),
        device=device,
        num_classes=len(dataset.classes),
        kind=dataset.kind,
    )


def pixel_mean_std(dataset: Dataset) -> tuple[float, float]:
    """The dataset's pixel (mean, std) on a 0..1 scale: as it states, else from its train split."""
    if dataset.mean_std is not None:
        return dataset.mean_std
    pixels = dataset.train.inputs.float().div_(255.0)
    return float(pixels.mean()), float(pixels.std().clamp(min=1e-6))


def epoch_batches(
    size: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> list[torch.Tensor]:
    """One epoch's batches of indices: slices of a fresh permutation (the last may be short).

    The permutation is drawn on the CPU from `generator`, so a seed gives the same order on
    every device, and copied to `device` once per epoch.
    """
    permutation = torch.randperm(size, generator=generator).to(device)  # (size,)
    return [permutation[start : start + batch_size] for start in range(0, size, batch_size)]
