"""Specs of the pooling layers: max, average and adaptive average."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.nn.specs.arguments import Dilation, KernelSize, Layer, PoolPadding, Stride


class MaxPool2d(Layer):
    """Keeps the largest value of each window."""

    type: Literal["maxpool2d"] = "maxpool2d"
    kernel_size: KernelSize = 2
    stride: Stride | None = Field(default=None, description="defaults to kernel_size")
    padding: PoolPadding = 0
    dilation: Dilation = 1
    ceil_mode: bool = False


class AvgPool2d(Layer):
    """Averages each window."""

    type: Literal["avgpool2d"] = "avgpool2d"
    kernel_size: KernelSize = 2
    stride: Stride | None = Field(default=None, description="defaults to kernel_size")
    padding: PoolPadding = 0
    ceil_mode: bool = False
    count_include_pad: bool = True


class AdaptiveAvgPool2d(Layer):
    """Averages down to a fixed output size, whatever the input size."""

    type: Literal["adaptiveavgpool2d"] = "adaptiveavgpool2d"
    output_size: KernelSize = 1
