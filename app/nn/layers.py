"""The layer registry: for each spec type, how to infer its output shape and counts, and build it.

Inference is pure arithmetic on shapes, so a bad spec is rejected before any tensor is made.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.limits import SpecLimits
from app.nn.modules import BinaryStep, Residual, RowsRNN
from app.nn.shapes import Shape, WindowSide, pair, show, window_formula

Category = Literal[
    "weights",
    "activation",
    "pooling",
    "shape",
    "regularisation",
    "normalisation",
    "recurrent",
    "block",
]


@dataclass(frozen=True)
class Inferred:
    """What one layer does to one sample: its output shape, parameters and multiply-accumulates."""

    shape: Shape
    params: int = 0
    macs: int = 0
    formula: str | None = None
    children: tuple[Any, ...] = ()  # LayerSummary rows of a residual block's inner layers


@dataclass(frozen=True)
class InferContext:
    """What inference needs beyond the layer: the limits, and a way to infer a nested block."""

    limits: SpecLimits
    path: str
    infer_block: Callable[[Sequence[BaseModel], Shape, str], tuple[Shape, tuple[Any, ...]]]


BuildBlock = Callable[[Sequence[BaseModel], Shape], tuple[nn.Sequential, Shape]]
Infer = Callable[[Any, Shape, InferContext], Inferred]
Build = Callable[[Any, Shape, BuildBlock], nn.Module]


@dataclass(frozen=True)
class LayerKind:
    """One registered layer type."""

    name: str
    spec_class: type[BaseModel]
    category: Category
    infer: Infer
    build: Build
    has_weights: bool = False  # takes a `weight_init`

    @property
    def description(self) -> str:
        """The spec class's docstring, shown in the builder's palette."""
        return (self.spec_class.__doc__ or "").strip()


LAYER_KINDS: dict[str, LayerKind] = {}


def register(
    spec_class: type[BaseModel], category: Category, build: Build, *, has_weights: bool = False
) -> Callable[[Infer], Infer]:
    """Add a layer type to the registry; a duplicate name is a programming error."""
    name = spec_class.model_fields["type"].default

    def add(infer: Infer) -> Infer:
        if name in LAYER_KINDS:
            raise ValueError(f"layer type {name!r} registered twice")
        LAYER_KINDS[name] = LayerKind(name, spec_class, category, infer, build, has_weights)
        return infer

    return add


# ----------------------------------------------------------------------------- input checks


def _image(shape: Shape, layer: str) -> tuple[int, int, int]:
    """The C, H, W of an image input, or an error saying what to change."""
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if len(shape) == 1:
        raise LayerError(
            f"{layer} needs a channels×height×width image but gets a flat vector of "
            f"{shape[0]} features; put it before the flatten layer"
        )
    raise LayerError(
        f"{layer} needs a channels×height×width image but gets {show(shape)}; "
        f"set input_shape to [1, {shape[0]}, {shape[1]}]"
    )


def _features(shape: Shape, layer: str) -> int:
    """The feature count of a flat input, or an error saying to flatten first."""
    if len(shape) != 1:
        raise LayerError(f"{layer} gets a {show(shape)} input; put a flatten layer before it")
    return shape[0]


def _check_kernel(kernel: tuple[int, int], limits: SpecLimits, name: str = "kernel_size") -> None:
    if max(kernel) > limits.max_kernel_size:
        raise LayerError(
            f"{show(kernel)} is larger than the limit of {limits.max_kernel_size}; "
            "use a smaller kernel (stack two small ones to see further)",
            name,
        )


def _windows(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> tuple[WindowSide, WindowSide]:
    height, width = (
        WindowSide(size[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(2)
    )
    if height.output < 1 or width.output < 1:
        raise LayerError(
            f"the output collapses to {max(height.output, 0)}×{max(width.output, 0)}: a "
            f"{show(kernel)} window does not fit the {show(size)} input with padding "
            f"{show(padding)}; remove a pooling or stride before it, add padding, or use a "
            "smaller kernel",
            "kernel_size",
        )
    return height, width


# ----------------------------------------------------------------------------- weights


def _build_linear(spec: specs.Linear, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Linear(shape[0], spec.out_features, bias=spec.bias)


@register(specs.Linear, "weights", _build_linear, has_weights=True)
def _infer_linear(spec: specs.Linear, shape: Shape, ctx: InferContext) -> Inferred:
    features = _features(shape, "a linear layer")
    weights = features * spec.out_features
    return Inferred((spec.out_features,), weights + spec.out_features * spec.bias, weights)


def _conv_padding(spec: specs.Conv2d) -> tuple[int, int] | str:
    if spec.padding == "valid":
        return (0, 0)
    if spec.padding == "same":
        return "same"
    return pair(spec.padding)  # type: ignore[arg-type]


def _build_conv(spec: specs.Conv2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Conv2d(
        shape[0],
        spec.out_channels,
        kernel_size=pair(spec.kernel_size),
        stride=pair(spec.stride),
        padding=_conv_padding(spec),
        dilation=pair(spec.dilation),
        groups=spec.groups,
        bias=spec.bias,
    )


@register(specs.Conv2d, "weights", _build_conv, has_weights=True)
def _infer_conv(spec: specs.Conv2d, shape: Shape, ctx: InferContext) -> Inferred:
    channels, height, width = _image(shape, "conv2d")
    kernel, stride, dilation = pair(spec.kernel_size), pair(spec.stride), pair(spec.dilation)
    _check_kernel(kernel, ctx.limits)
    for count, name in ((channels, "input channels"), (spec.out_channels, "out_channels")):
        if count % spec.groups:
            raise LayerError(f"{name} ({count}) must be divisible by groups", "groups")
    padding = _conv_padding(spec)
    if padding == "same":
        if stride != (1, 1):
            raise LayerError("padding 'same' needs stride 1; give a number instead", "padding")
        out_h, out_w = height, width
        formula = f"'same' padding keeps {height}×{width}"
    else:
        assert not isinstance(padding, str)
        rows, cols = _windows((height, width), kernel, stride, padding, dilation)
        out_h, out_w = rows.output, cols.output
        formula = window_formula(rows, cols)
    weights_per_filter = channels // spec.groups * kernel[0] * kernel[1]
    params = spec.out_channels * weights_per_filter + spec.out_channels * spec.bias
    macs = spec.out_channels * out_h * out_w * weights_per_filter
    return Inferred((spec.out_channels, out_h, out_w), params, macs, formula)


# ----------------------------------------------------------------------------- pooling


def _pool_sides(
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None,
    padding: int | tuple[int, int],
    shape: Shape,
    ctx: InferContext,
    layer: str,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> Inferred:
    channels, height, width = _image(shape, layer)
    kernel = pair(kernel_size)
    _check_kernel(kernel, ctx.limits)
    pad = pair(padding)
    if any(2 * p > k for p, k in zip(pad, kernel, strict=True)):
        raise LayerError(f"must be at most half the kernel size {show(kernel)}", "padding")
    rows, cols = _windows(
        (height, width), kernel, pair(stride or kernel), pad, pair(dilation), ceil_mode
    )
    return Inferred((channels, rows.output, cols.output), formula=window_formula(rows, cols))


def _build_maxpool(spec: specs.MaxPool2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.MaxPool2d(
        pair(spec.kernel_size),
        stride=pair(spec.stride or spec.kernel_size),
        padding=pair(spec.padding),
        dilation=pair(spec.dilation),
        ceil_mode=spec.ceil_mode,
    )


@register(specs.MaxPool2d, "pooling", _build_maxpool)
def _infer_maxpool(spec: specs.MaxPool2d, shape: Shape, ctx: InferContext) -> Inferred:
    return _pool_sides(
        spec.kernel_size,
        spec.stride,
        spec.padding,
        shape,
        ctx,
        "maxpool2d",
        spec.dilation,
        spec.ceil_mode,
    )


def _build_avgpool(spec: specs.AvgPool2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.AvgPool2d(
        pair(spec.kernel_size),
        stride=pair(spec.stride or spec.kernel_size),
        padding=pair(spec.padding),
        ceil_mode=spec.ceil_mode,
        count_include_pad=spec.count_include_pad,
    )


@register(specs.AvgPool2d, "pooling", _build_avgpool)
def _infer_avgpool(spec: specs.AvgPool2d, shape: Shape, ctx: InferContext) -> Inferred:
    return _pool_sides(
        spec.kernel_size, spec.stride, spec.padding, shape, ctx, "avgpool2d", 1, spec.ceil_mode
    )


def _build_adaptive(spec: specs.AdaptiveAvgPool2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.AdaptiveAvgPool2d(pair(spec.output_size))


@register(specs.AdaptiveAvgPool2d, "pooling", _build_adaptive)
def _infer_adaptive(spec: specs.AdaptiveAvgPool2d, shape: Shape, ctx: InferContext) -> Inferred:
    channels, _, _ = _image(shape, "adaptiveavgpool2d")
    return Inferred((channels, *pair(spec.output_size)))


# ------------------------------------------------------------------ shape, regularisation


def _build_flatten(spec: specs.Flatten, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Flatten()


@register(specs.Flatten, "shape", _build_flatten)
def _infer_flatten(spec: specs.Flatten, shape: Shape, ctx: InferContext) -> Inferred:
    return Inferred((math.prod(shape),))


def _build_dropout(spec: specs.Dropout, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Dropout(spec.p)


@register(specs.Dropout, "regularisation", _build_dropout)
def _infer_dropout(spec: specs.Dropout, shape: Shape, ctx: InferContext) -> Inferred:
    return Inferred(shape)


def _build_dropout2d(spec: specs.Dropout2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Dropout2d(spec.p)


@register(specs.Dropout2d, "regularisation", _build_dropout2d)
def _infer_dropout2d(spec: specs.Dropout2d, shape: Shape, ctx: InferContext) -> Inferred:
    try:
        _image(shape, "dropout2d")
    except LayerError as error:
        raise LayerError(f"{error}, or use dropout instead") from None
    return Inferred(shape)


# ----------------------------------------------------------------------------- normalisation


def _build_batchnorm1d(spec: specs.BatchNorm1d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.BatchNorm1d(shape[0], eps=spec.eps, momentum=spec.momentum, affine=spec.affine)


@register(specs.BatchNorm1d, "normalisation", _build_batchnorm1d)
def _infer_batchnorm1d(spec: specs.BatchNorm1d, shape: Shape, ctx: InferContext) -> Inferred:
    if len(shape) == 3:
        raise LayerError(f"gets a {show(shape)} image; use batchnorm2d for images")
    return Inferred(shape, 2 * shape[0] * spec.affine)


def _build_batchnorm2d(spec: specs.BatchNorm2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.BatchNorm2d(shape[0], eps=spec.eps, momentum=spec.momentum, affine=spec.affine)


@register(specs.BatchNorm2d, "normalisation", _build_batchnorm2d)
def _infer_batchnorm2d(spec: specs.BatchNorm2d, shape: Shape, ctx: InferContext) -> Inferred:
    if len(shape) != 3:
        raise LayerError(
            f"needs a channels×height×width image but gets {show(shape)}; use batchnorm1d"
        )
    return Inferred(shape, 2 * shape[0] * spec.affine)


def _build_layernorm(spec: specs.LayerNorm, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.LayerNorm(list(shape), eps=spec.eps, elementwise_affine=spec.elementwise_affine)


@register(specs.LayerNorm, "normalisation", _build_layernorm)
def _infer_layernorm(spec: specs.LayerNorm, shape: Shape, ctx: InferContext) -> Inferred:
    return Inferred(shape, 2 * math.prod(shape) * spec.elementwise_affine)


# ----------------------------------------------------------------------------- activations


def _same_shape(spec: BaseModel, shape: Shape, ctx: InferContext) -> Inferred:
    return Inferred(shape)


def _activation(spec_class: type[BaseModel], make: Callable[[Any], nn.Module]) -> None:
    register(spec_class, "activation", lambda spec, shape, _: make(spec))(_same_shape)


_activation(specs.ReLU, lambda spec: nn.ReLU())
_activation(specs.LeakyReLU, lambda spec: nn.LeakyReLU(spec.negative_slope))
_activation(specs.ELU, lambda spec: nn.ELU(spec.alpha))
_activation(specs.SELU, lambda spec: nn.SELU())
_activation(specs.GELU, lambda spec: nn.GELU(approximate=spec.approximate))
_activation(specs.SiLU, lambda spec: nn.SiLU())
_activation(specs.Sigmoid, lambda spec: nn.Sigmoid())
_activation(specs.Tanh, lambda spec: nn.Tanh())
_activation(specs.Softmax, lambda spec: nn.Softmax(dim=1))
_activation(specs.LogSoftmax, lambda spec: nn.LogSoftmax(dim=1))
_activation(specs.Identity, lambda spec: nn.Identity())
_activation(specs.Step, lambda spec: BinaryStep())


def _build_prelu(spec: specs.PReLU, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.PReLU(shape[0] if spec.per_channel else 1, init=spec.init)


@register(specs.PReLU, "activation", _build_prelu)
def _infer_prelu(spec: specs.PReLU, shape: Shape, ctx: InferContext) -> Inferred:
    return Inferred(shape, shape[0] if spec.per_channel else 1)


# ----------------------------------------------------------------------------- recurrent


def _sequence(spec: specs.LSTM | specs.GRU, shape: Shape) -> tuple[int, int]:
    """Steps and features per step: an image is read row by row."""
    if len(shape) == 1:
        raise LayerError(
            f"needs a sequence (an image, read row by row) but gets a flat vector of {shape[0]} "
            "features; remove the flatten layer before it"
        )
    if len(shape) == 2:
        return shape[0], shape[1]
    return shape[1], shape[0] * shape[2]


def _recurrent_counts(spec: specs.LSTM | specs.GRU, shape: Shape, gates: int) -> Inferred:
    steps, features = _sequence(spec, shape)
    hidden, directions = spec.hidden_size, 1 + spec.bidirectional
    params = macs = 0
    for layer in range(spec.num_layers):
        inputs = features if layer == 0 else hidden * directions
        weights = gates * hidden * (inputs + hidden)
        params += directions * (weights + 2 * gates * hidden)
        macs += directions * steps * weights
    return Inferred((hidden * directions,), params, macs)


def _build_rnn(spec: specs.LSTM | specs.GRU, shape: Shape, _: BuildBlock) -> nn.Module:
    features = _sequence(spec, shape)[1]
    rnn_class = nn.LSTM if isinstance(spec, specs.LSTM) else nn.GRU
    return RowsRNN(
        rnn_class(
            features,
            spec.hidden_size,
            num_layers=spec.num_layers,
            bidirectional=spec.bidirectional,
            batch_first=True,
        )
    )


@register(specs.LSTM, "recurrent", _build_rnn, has_weights=True)
def _infer_lstm(spec: specs.LSTM, shape: Shape, ctx: InferContext) -> Inferred:
    return _recurrent_counts(spec, shape, gates=4)


@register(specs.GRU, "recurrent", _build_rnn, has_weights=True)
def _infer_gru(spec: specs.GRU, shape: Shape, ctx: InferContext) -> Inferred:
    return _recurrent_counts(spec, shape, gates=3)


# ----------------------------------------------------------------------------- residual


def projection_stride(inner: Shape, outer: Shape) -> tuple[int, int] | None:
    """The stride of a 1×1 conv that maps an H×W input onto the block's output size, if any."""
    strides = []
    for size, target in ((inner[1], outer[1]), (inner[2], outer[2])):
        found = [s for s in range(1, size + 1) if (size - 1) // s + 1 == target]
        if not found:
            return None
        strides.append(found[0])
    return strides[0], strides[1]


def _projection_counts(inner: Shape, outer: Shape) -> tuple[int, int]:
    """Parameters and MACs of the projection a residual block needs (0, 0 if none)."""
    if inner == outer:
        return 0, 0
    if len(inner) == 1 and len(outer) == 1:
        return inner[0] * outer[0] + outer[0], inner[0] * outer[0]
    if len(inner) == 3 and len(outer) == 3 and projection_stride(inner, outer):
        return inner[0] * outer[0] + outer[0], inner[0] * outer[0] * outer[1] * outer[2]
    raise LayerError(
        f"its layers turn a {show(inner)} input into {show(outer)}, which cannot be added back "
        "to the input; keep images as images inside the block (no flatten) and do not let the "
        "output grow larger than the input",
        "layers",
    )


def _build_residual(spec: specs.Residual, shape: Shape, build_block: BuildBlock) -> nn.Module:
    body, outer = build_block(spec.layers, shape)
    projection: nn.Module | None = None
    if outer != shape and len(shape) == 1:
        projection = nn.Linear(shape[0], outer[0])
    elif outer != shape:
        stride = projection_stride(shape, outer)
        projection = nn.Conv2d(shape[0], outer[0], kernel_size=1, stride=stride or 1)
    return Residual(body, projection)


@register(specs.Residual, "block", _build_residual)
def _infer_residual(spec: specs.Residual, shape: Shape, ctx: InferContext) -> Inferred:
    outer, children = ctx.infer_block(spec.layers, shape, ctx.path)
    projection_params, projection_macs = _projection_counts(shape, outer)
    params = sum(child.params for child in children) + projection_params
    macs = sum(child.macs for child in children) + projection_macs
    if outer == shape:
        formula = "x + layers(x)"
    elif len(shape) == 1:
        formula = (
            f"linear(x) + layers(x): a {shape[0]}→{outer[0]} projection, "
            f"{projection_params:,} params"
        )
    else:
        stride = projection_stride(shape, outer)
        formula = (
            f"conv1×1(x) + layers(x): a {shape[0]}→{outer[0]} channel projection with stride "
            f"{show(stride or (1, 1))}, {projection_params:,} params"
        )
    return Inferred(outer, params, macs, formula, children)
