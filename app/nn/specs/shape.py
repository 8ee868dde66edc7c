"""Specs of the layers that reshape a sample, not its values: flatten, unflatten, upsample."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.nn.specs.arguments import Dimension, Factor, Layer, OutputSize


class Flatten(Layer):
    """Turns a C×H×W feature map into one long vector."""

    type: Literal["flatten"] = "flatten"


class Unflatten(Layer):
    """Splits one dimension into several: sizes [32, 7, 7] turn 1568 features into 32×7×7."""

    type: Literal["unflatten"] = "unflatten"
    dim: Annotated[int, Field(ge=-3, le=3)] = Field(
        default=1,
        description="the dimension to split: 1 is a sample's first (0 is the batch), −1 its last",
    )
    sizes: list[Dimension] = Field(
        min_length=1,
        max_length=3,
        description="what that dimension becomes; their product must equal its size",
    )


class Upsample(Layer):
    """Enlarges the image by repeating pixels (nearest) or blending neighbours (bilinear)."""

    type: Literal["upsample"] = "upsample"
    scale_factor: Factor | None = Field(
        default=None,
        description="how many times taller and wider; 2 when neither it nor size is given",
    )
    size: OutputSize | None = Field(
        default=None, description="the output height and width, instead of scale_factor"
    )
    mode: Literal["nearest", "bilinear"] = Field(
        default="nearest",
        description="nearest copies the closest pixel; bilinear blends the four around it",
    )
    align_corners: bool = Field(
        default=False,
        description="bilinear only: line the corner pixels of input and output up exactly",
    )
