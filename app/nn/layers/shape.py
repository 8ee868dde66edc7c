"""Layers that change a sample's shape, not its values: flatten, unflatten, upsample."""

import math

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.checks import check_side, image
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.shapes import Shape, pair, show


def _build_flatten(spec: specs.Flatten, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Flatten()


@register(specs.Flatten, "shape", _build_flatten)
def _infer_flatten(spec: specs.Flatten, shape: Shape, ctx: InferContext) -> Inferred:
    return Inferred((math.prod(shape),))


def _build_unflatten(spec: specs.Unflatten, shape: Shape, _: BuildBlock) -> nn.Module:
    return nn.Unflatten(spec.dim, tuple(spec.sizes))


@register(specs.Unflatten, "shape", _build_unflatten)
def _infer_unflatten(spec: specs.Unflatten, shape: Shape, ctx: InferContext) -> Inferred:
    rank = len(shape)
    if spec.dim == 0:
        raise LayerError("dim 0 is the batch; 1 is the first dimension of a sample", "dim")
    if abs(spec.dim) > rank:
        last = f" to {rank} (or −1 to −{rank} from the end)" if rank > 1 else " (or −1)"
        raise LayerError(
            f"the {show(shape)} input has {rank} dimension{'s' * (rank > 1)} per sample, "
            f"so dim can be 1{last}; got {spec.dim}",
            "dim",
        )
    axis = spec.dim - 1 if spec.dim > 0 else rank + spec.dim  # index into the sample's shape
    sizes = tuple(spec.sizes)
    product = math.prod(sizes)
    if product != shape[axis]:
        has = (
            f"the input has {shape[axis]:,} values per sample"
            if rank == 1
            else f"dimension {spec.dim} of the {show(shape)} input has size {shape[axis]:,}"
        )
        named = show(sizes) if len(sizes) > 1 else f"[{product}]"
        raise LayerError(
            f"sizes {named} = {product}, but {has}: use sizes whose product is {shape[axis]}",
            "sizes",
        )
    out = (*shape[:axis], *sizes, *shape[axis + 1 :])
    if len(out) > 3:
        raise LayerError(
            f"it turns the {show(shape)} input into {show(out)}, {len(out)} dimensions per "
            "sample; layers take at most 3 (channels×height×width): give fewer sizes",
            "sizes",
        )
    return Inferred(out)


def _build_upsample(spec: specs.Upsample, shape: Shape, _: BuildBlock) -> nn.Module:
    if spec.size is not None:
        size, scale = pair(spec.size), None
    else:
        size, scale = None, tuple(float(s) for s in pair(spec.scale_factor or 2))
    return nn.Upsample(
        size=size,
        scale_factor=scale,
        mode=spec.mode,
        align_corners=spec.align_corners if spec.mode == "bilinear" else None,
    )


@register(specs.Upsample, "shape", _build_upsample)
def _infer_upsample(spec: specs.Upsample, shape: Shape, ctx: InferContext) -> Inferred:
    channels, height, width = image(shape, "upsample")
    if spec.size is not None and spec.scale_factor is not None:
        raise LayerError("give scale_factor or size, not both", "size")
    if spec.align_corners and spec.mode != "bilinear":
        raise LayerError(
            "applies only to mode 'bilinear'; set mode to 'bilinear' or turn align_corners off",
            "align_corners",
        )
    if spec.size is not None:
        out_h, out_w = pair(spec.size)
        formula = f"resized from {height}×{width} to {out_h}×{out_w}"
    else:
        scale = pair(spec.scale_factor or 2)
        out_h, out_w = height * scale[0], width * scale[1]
        formula = f"{height}·{scale[0]} = {out_h}"
        if (height, scale[0]) != (width, scale[1]):
            formula = f"height {formula}; width {width}·{scale[1]} = {out_w}"
    check_side((out_h, out_w), ctx.limits, "scale_factor" if spec.size is None else "size")
    return Inferred((channels, out_h, out_w), formula=formula)
