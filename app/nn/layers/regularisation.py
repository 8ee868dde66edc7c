"""Regularisation layers: dropout of single values and of whole channels."""

from torch import nn

from app.nn import specs
from app.nn.errors import LayerError
from app.nn.layers.checks import image
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.shapes import Shape


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
        image(shape, "dropout2d")
    except LayerError as error:
        raise LayerError(f"{error}, or use dropout instead") from None
    return Inferred(shape)
