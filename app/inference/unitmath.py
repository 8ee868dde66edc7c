"""CNN Explainer's lesson on a run's own model: how one unit of a conv layer's feature map is
made. The unit at (channel, y, x) is the sum over its input channels of patch × kernel, plus the
bias: the value before any activation that follows the layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from app.inference.conv_paths import ExplainError, conv_layer
from app.inference.run_models import RunModel

DIGITS = 6  # decimals of the numbers shown


@dataclass(frozen=True)
class Unit:
    """The arithmetic of one unit; every list is per input channel, then kernel row, column."""

    layer: str
    channel: int
    y: int
    x: int
    stride: tuple[int, int]
    padding: tuple[int, int]  # zeros added before the first row and column
    dilation: tuple[int, int]
    input_size: tuple[int, int, int]  # (C, H, W) the layer reads
    input_channels: list[int]  # the input channels this unit reads (its group's)
    rows: list[int]  # input row of each kernel row (outside 0..H-1: padding)
    cols: list[int]  # input column of each kernel column
    patch: list[list[list[float]]]  # (c, kh, kw), 0 where padded
    padded: list[list[bool]]  # (kh, kw): the position lies in the padding
    kernel: list[list[list[float]]]  # (c, kh, kw)
    channel_sums: list[float]  # Σ patch × kernel per input channel
    sum: float  # Σ over every channel
    bias: float
    total: float  # sum + bias
    value: float  # the feature map's value for this sample (equals total)
    output_size: tuple[int, int]
    reads_picture: bool  # the layer reads the picture itself (standardised as in training)
    pre_activation: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API answers with."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _padding(conv: nn.Conv2d) -> tuple[int, int]:
    """Zeros before the first row and column ('same': half the dilated kernel, rounded down)."""
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return (0, 0)
        spans = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size, strict=True)]
        return (spans[0] // 2, spans[1] // 2)
    return (int(conv.padding[0]), int(conv.padding[1]))


def _check(name: str, value: int, size: int) -> None:
    if not 0 <= value < size:
        raise ExplainError(name, f"{name} must be 0..{size - 1} for this layer, not {value}")


def conv_unit(
    model: RunModel,
    inputs: torch.Tensor,
    path: str,
    channel: int,
    y: int,
    x: int,
    shown: tuple[int, int] | None = None,
) -> Unit:
    """The arithmetic behind the feature map value at (channel, y, x) of the conv layer at
    `path` for `inputs` (1, *input_shape); ExplainError naming the field that is out of range.
    `shown`: the (height, width) of a smaller copy of the map that (y, x) was picked on."""
    path, conv = conv_layer(model, path)
    seen: dict[str, torch.Tensor] = {}

    def keep(_: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen["input"], seen["output"] = args[0].detach(), output.detach()

    with model.lock, torch.inference_mode():
        handle = conv.register_forward_hook(keep)
        try:
            model.module(inputs)
        finally:
            handle.remove()
        weight = conv.weight.detach().double()  # (O, C/groups, kh, kw)
        biases = conv.bias.detach().double() if conv.bias is not None else None  # (O,)
    source, output = seen["input"][0].double(), seen["output"][0]  # (C, H, W), (O, OH, OW)
    _check("channel", channel, output.shape[0])
    if shown is not None:  # picked on a downsampled map: the unit under the same spot
        _check("y", y, shown[0])
        _check("x", x, shown[1])
        y, x = (y * output.shape[1]) // shown[0], (x * output.shape[2]) // shown[1]
    _check("y", y, output.shape[1])
    _check("x", x, output.shape[2])
    bias = float(biases[channel]) if biases is not None else 0.0
    per_group = weight.shape[1]
    group = channel // (conv.out_channels // conv.groups)
    channels = list(range(group * per_group, (group + 1) * per_group))
    (stride_y, stride_x), (dil_y, dil_x) = conv.stride, conv.dilation
    pad_y, pad_x = _padding(conv)
    kernel_h, kernel_w = weight.shape[2], weight.shape[3]
    rows = [y * stride_y - pad_y + k * dil_y for k in range(kernel_h)]
    cols = [x * stride_x - pad_x + k * dil_x for k in range(kernel_w)]
    height, width = source.shape[1], source.shape[2]
    inside_rows = torch.tensor([0 <= r < height for r in rows])  # (kh,)
    inside_cols = torch.tensor([0 <= c < width for c in cols])  # (kw,)
    inside = inside_rows[:, None] & inside_cols[None, :]  # (kh, kw)
    patch = torch.zeros(len(channels), kernel_h, kernel_w, dtype=torch.float64)  # (c, kh, kw)
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            if inside[i, j]:
                patch[:, i, j] = source[channels, row, col]
    kernel = weight[channel]  # (c, kh, kw)
    channel_sums = (patch * kernel).sum(dim=(1, 2))  # (c,)
    total = float(channel_sums.sum())
    return Unit(
        layer=path,
        channel=channel,
        y=y,
        x=x,
        stride=(stride_y, stride_x),
        padding=(pad_y, pad_x),
        dilation=(dil_y, dil_x),
        input_size=(source.shape[0], height, width),
        input_channels=channels,
        rows=rows,
        cols=cols,
        patch=np.round(patch.numpy(), DIGITS).tolist(),
        padded=(~inside).tolist(),
        kernel=np.round(kernel.numpy(), DIGITS).tolist(),
        channel_sums=np.round(channel_sums.numpy(), DIGITS).tolist(),
        sum=round(total, DIGITS),
        bias=round(bias, DIGITS),
        total=round(total + bias, DIGITS),
        value=round(float(output[channel, y, x]), DIGITS),
        output_size=(output.shape[1], output.shape[2]),
        reads_picture=seen["input"].shape == inputs.shape
        and bool(torch.equal(seen["input"], inputs)),
    )
