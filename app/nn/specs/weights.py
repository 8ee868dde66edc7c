"""Specs of the layers with learned weights: linear, conv2d and convtranspose2d."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.nn.specs.arguments import (
    Channels,
    ConvPadding,
    Dilation,
    KernelSize,
    PoolPadding,
    Stride,
    WeightedLayer,
    Width,
)


class Linear(WeightedLayer):
    """Fully connected: every input feature feeds every output feature."""

    type: Literal["linear"] = "linear"
    out_features: Width
    bias: bool = True


class Conv2d(WeightedLayer):
    """2-D convolution: slides `out_channels` learned filters over the image."""

    type: Literal["conv2d"] = "conv2d"
    out_channels: Channels
    kernel_size: KernelSize = 3
    stride: Stride = 1
    padding: ConvPadding = 0
    dilation: Dilation = 1
    groups: Channels = 1
    bias: bool = True


class ConvTranspose2d(WeightedLayer):
    """Transposed 2-D convolution: enlarges the image, out = (n − 1)·s − 2p + f + output_padding."""

    type: Literal["convtranspose2d"] = "convtranspose2d"
    out_channels: Annotated[Channels, Field(description="feature maps it makes")]
    kernel_size: KernelSize = Field(default=3, description="filter height and width (f)")
    stride: Stride = Field(
        default=1, description="how far apart input pixels land in the output (s); 2 doubles"
    )
    padding: PoolPadding = Field(default=0, description="rows and columns cut off each border (p)")
    output_padding: PoolPadding = Field(
        default=0,
        description="rows and columns added at the bottom and right; smaller than stride or "
        "dilation",
    )
    dilation: Dilation = Field(default=1, description="spacing between filter taps (d)")
    groups: Channels = Field(
        default=1, description="split the channels into this many independent groups"
    )
    bias: bool = Field(default=True, description="add a learned bias to each output channel")
