"""The layer registry: for each spec type, its category, how to infer its output, how to build it.

Inference is pure arithmetic on shapes, so a bad spec is rejected before any tensor is made.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from torch import nn

from app.nn.limits import SpecLimits
from app.nn.shapes import Shape

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
