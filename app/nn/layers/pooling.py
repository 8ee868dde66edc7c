"""Pooling layers: max, average and adaptive average; no parameters."""

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.checks import check_kernel, image, windows
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.shapes import Shape, pair, show, window_formula


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
    channels, height, width = image(shape, layer)
    kernel = pair(kernel_size)
    check_kernel(kernel, ctx.limits)
    pad = pair(padding)
    if any(2 * p > k for p, k in zip(pad, kernel, strict=True)):
        raise LayerError(f"must be at most half the kernel size {show(kernel)}", "padding")
    rows, cols = windows(
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
    channels, _, _ = image(shape, "adaptiveavgpool2d")
    return Inferred((channels, *pair(spec.output_size)))
