"""A GAN's model spec is the generator followed by the discriminator: where it splits.

The generator ends at the last top-level layer whose output is an image of the dataset's shape
(after the trailing tanh or sigmoid); everything after it is the discriminator, which must end
in one number. A discriminator ending in `sigmoid` gives probabilities and is trained with
binary cross-entropy on them, as many tutorials write it; without one its output is a logit
(BCE with logits, the numerically safer form). Both work, so neither is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

from torch import nn

from app.nn import ModelSpec, ModelSummary
from app.training.outputs import ModelPart

# The range of the generator's images, by its last layer: real images are scaled to it.
IMAGE_RANGES: dict[str, tuple[float, float]] = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


@dataclass(frozen=True)
class GanLayout:
    """Where a GAN spec splits and what its halves are."""

    cut: int  # layers [0, cut) are the generator, [cut, end) the discriminator
    latent_dim: int  # noise numbers per sample (the spec's input)
    image_shape: tuple[int, ...]  # (C, H, W)
    image_range: tuple[float, float]  # what the generator's last layer outputs
    probabilities: bool  # the discriminator ends in sigmoid (else it outputs a logit)


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return "×".join(str(size) for size in shape)


def gan_issues(
    spec: ModelSpec, summary: ModelSummary, image_shape: tuple[int, ...]
) -> list[tuple[str, str]]:
    """What keeps the spec from being a generator then a discriminator of `image_shape`
    images, as (field, message) pairs naming what fits; [] if it is one."""
    image = _shape(image_shape)
    issues: list[tuple[str, str]] = []
    if len(spec.input_shape) != 1:
        issues.append(
            (
                "input_shape",
                f"a GAN's input is its noise, one vector: use [64] (or any [latent_dim]), not "
                f"{list(spec.input_shape)}",
            )
        )
    shapes = [tuple(layer.output_shape) for layer in summary.layers]
    ends = [index for index, shape in enumerate(shapes) if shape == tuple(image_shape)]
    if not ends:
        issues.append(
            (
                "layers",
                f"no layer outputs a {image} image: the generator must turn the noise into an "
                f"image of the dataset's shape (e.g. linear {math.prod(image_shape)} → "
                f"unflatten {list(image_shape)} → tanh) before the discriminator scores it",
            )
        )
        return issues
    cut = ends[-1] + 1
    last = spec.layers[cut - 1].type
    if last not in IMAGE_RANGES:
        issues.append(
            (
                "layers",
                f"the generator ends at layer {cut - 1} ({last}), the last one that outputs a "
                f"{image} image: end it with tanh (images in -1..1) or sigmoid (0..1) so its "
                "images are on the real images' scale",
            )
        )
    if cut == len(shapes):
        issues.append(
            (
                "layers",
                f"the model ends with the {image} image: add the discriminator after it (e.g. "
                "flatten → linear 256 → leaky_relu → linear 1), which scores an image with one "
                "number",
            )
        )
    elif math.prod(summary.output_shape) != 1:
        issues.append(
            (
                "layers",
                f"the discriminator (layers {cut}–{len(shapes) - 1}) must score an image with "
                f"one number; it outputs {_shape(summary.output_shape)}: end it with a linear "
                "layer of 1 out_features",
            )
        )
    return issues


def gan_layout(spec: ModelSpec, summary: ModelSummary, image_shape: tuple[int, ...]) -> GanLayout:
    """The layout of a spec that passed `gan_issues` (ValueError otherwise)."""
    issues = gan_issues(spec, summary, image_shape)
    if issues:
        raise ValueError("; ".join(f"{field}: {message}" for field, message in issues))
    shapes = [tuple(layer.output_shape) for layer in summary.layers]
    cut = max(index for index, shape in enumerate(shapes) if shape == tuple(image_shape)) + 1
    return GanLayout(
        cut=cut,
        latent_dim=int(spec.input_shape[0]),
        image_shape=tuple(image_shape),
        image_range=IMAGE_RANGES[spec.layers[cut - 1].type],
        probabilities=spec.layers[-1].type == "sigmoid",
    )


def split_gan(module: nn.Sequential, layout: GanLayout) -> tuple[nn.Sequential, nn.Sequential]:
    """(generator, discriminator): views of the built model's layers (shared parameters)."""
    generator = cast(nn.Sequential, module[: layout.cut])  # keeps the layers' names
    return generator, cast(nn.Sequential, module[layout.cut :])


def model_layout(summary: ModelSummary) -> GanLayout | None:
    """The layout of a trained GAN's model from its summary alone (no dataset at hand): the
    image is the output of the last tanh or sigmoid before the end that makes a picture of 1
    or 3 channels (C, H, W), and the generator ends at the last layer of that shape, as
    `gan_layout` has it. None if there is no such layer."""
    layers = summary.layers
    candidates = [
        index
        for index, layer in enumerate(layers[:-1])
        if layer.type in IMAGE_RANGES
        and len(layer.output_shape) == 3
        and layer.output_shape[0] in (1, 3)
    ]
    if not candidates or len(summary.input_shape) != 1:
        return None
    image_shape = tuple(layers[candidates[-1]].output_shape)
    cut = max(
        index for index, layer in enumerate(layers) if tuple(layer.output_shape) == image_shape
    )
    if cut + 1 >= len(layers) or layers[cut].type not in IMAGE_RANGES:
        return None
    return GanLayout(
        cut=cut + 1,
        latent_dim=int(summary.input_shape[0]),
        image_shape=image_shape,
        image_range=IMAGE_RANGES[layers[cut].type],
        probabilities=layers[-1].type == "sigmoid",
    )


def gan_parts(module: nn.Sequential, summary: ModelSummary) -> dict[str, ModelPart]:
    """The generator (noise → images, what a GAN is trained for) and the discriminator
    (images → one score), each usable alone."""
    layout = model_layout(summary)
    if layout is None:
        return {}
    generator, discriminator = split_gan(module, layout)
    return {
        "generator": ModelPart(generator, (layout.latent_dim,), "noise", "images"),
        "discriminator": ModelPart(discriminator, layout.image_shape, "images", "scores"),
    }
