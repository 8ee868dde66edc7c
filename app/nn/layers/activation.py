"""Activations: each keeps the shape; only PReLU has parameters."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from torch import nn

from app.nn import specs
from app.nn.layers.registry import BuildBlock, InferContext, Inferred, register
from app.nn.modules import BinaryStep
from app.nn.shapes import Shape


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
