"""Residual blocks: x + layers(x), with a projection when the layers change the shape."""

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.modules import Residual
from app.nn.shapes import Shape, show


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
