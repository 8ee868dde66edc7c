"""What an autoencoder does now: a frame source for the trainer.

Every frame rebuilds a fixed handful of test images (what the model saw, noisy for a denoiser,
and what it made of it); the frame taken right after an epoch also places a few thousand test
images in the code space: the code itself when it has two numbers, else its first two principal
components, with the basis so that a viewer can turn any point of the scatter back into a code.

The code is the output of the narrowest top-level layer (the last of a run of equally narrow
ones, so `linear 2 → tanh` gives the tanh's output): the encoder is the model up to it, the
decoder the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from app.nn import ModelSummary
from app.training.config import TrainConfig
from app.training.data import DeviceSplit
from app.training.events import Event, SeqCounter
from app.training.objectives import RECONSTRUCTION
from app.training.outputs import ModelPart

SHOWN = 8  # test images rebuilt in every frame
PLACED = 2000  # test images placed in the code scatter after each epoch
POINT_SCALE = 1000  # scatter coordinates travel as int16 thousandths of the largest |value|


def code_layer(summary: ModelSummary) -> int:
    """The index of the top-level layer whose output is the code (see the module's doc)."""
    sizes = [math.prod(layer.output_shape) for layer in summary.layers]
    narrowest = min(sizes[:-1] or sizes)  # the output layer is the rebuilt input, never the code
    index = sizes.index(narrowest)
    while index + 1 < len(sizes) - 1 and sizes[index + 1] == narrowest:
        index += 1
    return index


def split_model(module: nn.Sequential, summary: ModelSummary) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder): the model up to and including the code layer, and the rest."""
    cut = code_layer(summary) + 1
    return module[:cut], module[cut:]


def autoencoder_parts(module: nn.Sequential, summary: ModelSummary) -> dict[str, ModelPart]:
    """The encoder (images → code) and the decoder (code → images), each usable alone."""
    encoder, decoder = split_model(module, summary)
    code_shape = tuple(summary.layers[code_layer(summary)].output_shape)
    return {
        "encoder": ModelPart(encoder, tuple(summary.input_shape), "images", "code"),
        "decoder": ModelPart(decoder, code_shape, "code", "images"),
    }


def _pixels(images: torch.Tensor) -> bytes:
    """(N, C, H, W) in 0..1 → uint8 bytes, row-major."""
    return images.float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu().numpy().tobytes()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconstructionsEvent(Event):
    """A fixed handful of test images, what the model saw and what it rebuilt."""

    type: ClassVar[str] = "reconstructions"
    step: int
    epoch: int
    shape: tuple[int, ...]  # one image, (C, H, W)
    indices: tuple[int, ...]  # in the test split
    labels: tuple[int, ...]
    originals: bytes  # (N, C, H, W) uint8, the clean images
    inputs: bytes  # (N, C, H, W) uint8, what the model saw (noisy for a denoiser)
    outputs: bytes  # (N, C, H, W) uint8, clipped to 0..1
    at_epoch_end: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CodesEvent(Event):
    """Test images placed in the code space, after an epoch.

    `xy` holds int16 pairs: a point is (x, y) = xy · scale. For a code of more than two
    numbers, x and y are its first two principal components: code ≈ mean + x·basis[0] +
    y·basis[1], which is how a viewer turns a point of the scatter into a code to decode."""

    type: ClassVar[str] = "codes"
    step: int
    epoch: int
    code_size: int
    method: str  # "code" (two numbers) or "pca"
    count: int
    scale: float  # the largest |coordinate|
    xy: bytes  # (count, 2) int16 little-endian
    labels: bytes  # (count,) uint8 class index
    mean: tuple[float, ...]  # (code_size,) for pca, () for a 2-number code
    basis: tuple[tuple[float, ...], ...]  # (2, code_size) for pca
    explained: float | None  # the share of the codes' variance the two components hold
    at_epoch_end: bool = True


class ReconstructionProbe:
    """Frames of an autoencode run: reconstructions (throttled by the trainer) and, after each
    epoch, the code scatter."""

    each_epoch = True

    def __init__(
        self, module: nn.Sequential, summary: ModelSummary, test: DeviceSplit, config: TrainConfig
    ) -> None:
        self._module = module
        self._summary = summary
        self._config = config
        self._encoder, _ = split_model(module, summary)
        shown = torch.linspace(0, len(test) - 1, min(SHOWN, len(test))).round().long()
        self._shown = shown.tolist()
        shown = shown.to(test.inputs.device)
        self._originals = test.inputs[shown]  # (S, C, H, W) in 0..1
        self._shown_labels = tuple(int(label) for label in test.labels[shown])
        generator = torch.Generator().manual_seed(config.seed)
        # The noisy copies stay the same from frame to frame, so only the model changes.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
            noisy = RECONSTRUCTION.corrupt(self._originals.cpu(), config)  # type: ignore[misc]
        self._inputs = noisy.to(self._originals.device)
        self._placed = test.inputs[:PLACED]
        self._placed_labels = test.labels[:PLACED]

    def frames(self, seq: SeqCounter, step: int, epoch: int, at_epoch_end: bool) -> list[Event]:
        """The reconstructions, and after an epoch the code scatter; the model's mode is kept."""
        was_training = self._module.training
        self._module.eval()
        try:
            with torch.no_grad():
                outputs = self._module(self._inputs)  # (S, C, H, W)
                events: list[Event] = [
                    ReconstructionsEvent(
                        seq=seq(),
                        step=step,
                        epoch=epoch,
                        shape=tuple(self._originals.shape[1:]),
                        indices=tuple(self._shown),
                        labels=self._shown_labels,
                        originals=_pixels(self._originals),
                        inputs=_pixels(self._inputs),
                        outputs=_pixels(outputs),
                        at_epoch_end=at_epoch_end,
                    )
                ]
                if at_epoch_end:
                    events.append(self._codes(seq(), step, epoch))
        finally:
            self._module.train(was_training)
        return events

    def _codes(self, seq: int, step: int, epoch: int) -> CodesEvent:
        placed = self._placed
        codes = torch.cat(
            [
                self._encoder(placed[start : start + 500]).flatten(1).float()
                for start in range(0, len(placed), 500)
            ]
        ).cpu()  # (N, D)
        size = codes.shape[1]
        mean: tuple[float, ...] = ()
        basis: tuple[tuple[float, ...], ...] = ()
        explained = None
        if size <= 2:
            points = codes if size == 2 else torch.cat([codes, torch.zeros_like(codes)], 1)
            method = "code"
        else:
            centre = codes.mean(dim=0)
            _, singular, vectors = torch.linalg.svd(codes - centre, full_matrices=False)
            components = vectors[:2]  # (2, D)
            # A component's sign is arbitrary: point it so its largest entry is positive, so
            # the scatter does not flip from one epoch to the next.
            largest = components.abs().argmax(dim=1)
            components = components * components.gather(1, largest[:, None]).sign()
            points = (codes - centre) @ components.T  # (N, 2)
            variance = singular.square()
            explained = round(float(variance[:2].sum() / variance.sum().clamp(min=1e-12)), 4)
            mean = tuple(round(value, 5) for value in centre.tolist())
            basis = tuple(tuple(round(value, 5) for value in row) for row in components.tolist())
            method = "pca"
        scale = float(points.abs().max().clamp(min=1e-6))
        xy = (points / scale * POINT_SCALE).round().clamp(-32767, 32767).to(torch.int16)
        return CodesEvent(
            seq=seq,
            step=step,
            epoch=epoch,
            code_size=size,
            method=method,
            count=len(points),
            scale=round(scale / POINT_SCALE, 8),
            xy=xy.numpy().astype("<i2").tobytes(),
            labels=self._placed_labels.clamp(0, 255).to(torch.uint8).cpu().numpy().tobytes(),
            mean=mean,
            basis=basis,
            explained=explained,
        )
