"""Layers with learned weights: linear, conv2d and convtranspose2d."""

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.checks import check_groups, check_kernel, check_side, features, image, windows
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.shapes import Shape, TransposedSide, pair, show, window_formula


def _build_linear(spec: specs.Linear, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Linear(shape[0], spec.out_features, bias=spec.bias)


@register(specs.Linear, "weights", _build_linear, has_weights=True)
def _infer_linear(spec: specs.Linear, shape: Shape, ctx: InferContext) -> Inferred:
    inputs = features(shape, "a linear layer")
    weights = inputs * spec.out_features
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
    channels, height, width = image(shape, "conv2d")
    kernel, stride, dilation = pair(spec.kernel_size), pair(spec.stride), pair(spec.dilation)
    check_kernel(kernel, ctx.limits)
    check_groups(channels, spec.out_channels, spec.groups)
    padding = _conv_padding(spec)
    if padding == "same":
        if stride != (1, 1):
            raise LayerError("padding 'same' needs stride 1; give a number instead", "padding")
        out_h, out_w = height, width
        formula = f"'same' padding keeps {height}×{width}"
    else:
        assert not isinstance(padding, str)
        rows, cols = windows((height, width), kernel, stride, padding, dilation)
        out_h, out_w = rows.output, cols.output
        formula = window_formula(rows, cols)
    weights_per_filter = channels // spec.groups * kernel[0] * kernel[1]
    params = spec.out_channels * weights_per_filter + spec.out_channels * spec.bias
    macs = spec.out_channels * out_h * out_w * weights_per_filter
    return Inferred((spec.out_channels, out_h, out_w), params, macs, formula)


def _build_conv_transpose(spec: specs.ConvTranspose2d, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.ConvTranspose2d(
        shape[0],
        spec.out_channels,
        kernel_size=pair(spec.kernel_size),
        stride=pair(spec.stride),
        padding=pair(spec.padding),
        output_padding=pair(spec.output_padding),
        groups=spec.groups,
        bias=spec.bias,
        dilation=pair(spec.dilation),
    )


def _check_output_padding(
    output_padding: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> None:
    """PyTorch's rule: output_padding must be smaller than the stride or the dilation."""
    bound = (max(stride[0], dilation[0]), max(stride[1], dilation[1]))
    if output_padding[0] >= bound[0] or output_padding[1] >= bound[1]:
        most = show((bound[0] - 1, bound[1] - 1)) if bound[0] != bound[1] else bound[0] - 1
        raise LayerError(
            f"{show(output_padding)} is not smaller than the stride {show(stride)} or the "
            f"dilation {show(dilation)}, as PyTorch requires (it only picks one of the "
            f"output sizes a stride allows); use at most {most}",
            "output_padding",
        )


@register(specs.ConvTranspose2d, "weights", _build_conv_transpose, has_weights=True)
def _infer_conv_transpose(spec: specs.ConvTranspose2d, shape: Shape, ctx: InferContext) -> Inferred:
    channels, height, width = image(shape, "convtranspose2d")
    kernel, stride, dilation = pair(spec.kernel_size), pair(spec.stride), pair(spec.dilation)
    padding, output_padding = pair(spec.padding), pair(spec.output_padding)
    check_kernel(kernel, ctx.limits)
    check_groups(channels, spec.out_channels, spec.groups)
    _check_output_padding(output_padding, stride, dilation)
    rows, cols = (
        TransposedSide(size, kernel[i], stride[i], padding[i], output_padding[i], dilation[i])
        for i, size in enumerate((height, width))
    )
    formula = window_formula(rows, cols)
    if rows.output < 1 or cols.output < 1:
        raise LayerError(
            f"the output collapses to {max(rows.output, 0)}×{max(cols.output, 0)}: "
            f"(n − 1)·s − 2p + f + output_padding gives {formula}; use less padding, a "
            "larger kernel or a larger stride",
            "padding",
        )
    check_side((rows.output, cols.output), ctx.limits, "stride")
    # Each input value is spread over a kernel-sized patch of each output channel in its group.
    weights_per_input = spec.out_channels // spec.groups * kernel[0] * kernel[1]
    params = channels * weights_per_input + spec.out_channels * spec.bias
    macs = channels * height * width * weights_per_input
    return Inferred((spec.out_channels, rows.output, cols.output), params, macs, formula)
