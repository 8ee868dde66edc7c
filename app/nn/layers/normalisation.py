"""Normalisation layers: batch norm over features or channels, and layer norm."""

import math

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.shapes import Shape, show


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
