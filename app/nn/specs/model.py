"""The whole model spec: the discriminated union of layer specs, residual blocks, type names."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.nn.specs.activation import (
    ELU,
    GELU,
    SELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Step,
    Tanh,
)
from app.nn.specs.arguments import Dimension, InitField, Layer, WeightInit
from app.nn.specs.normalisation import BatchNorm1d, BatchNorm2d, LayerNorm
from app.nn.specs.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from app.nn.specs.recurrent import GRU, LSTM
from app.nn.specs.regularisation import Dropout, Dropout2d
from app.nn.specs.shape import Flatten, Unflatten, Upsample
from app.nn.specs.weights import Conv2d, ConvTranspose2d, Linear


class Residual(Layer):
    """Adds the output of its layers to its input (via a 1×1 projection if the shapes differ)."""

    type: Literal["residual"] = "residual"
    layers: list[LayerSpec] = Field(min_length=1, max_length=1024)

    @field_validator("layers", mode="before")
    @classmethod
    def _canonical_types(cls, value: object) -> object:
        return canonical_layer_types(value)


# In palette order.
LayerSpec = Annotated[
    Linear
    | Conv2d
    | ConvTranspose2d
    | MaxPool2d
    | AvgPool2d
    | AdaptiveAvgPool2d
    | Flatten
    | Unflatten
    | Upsample
    | Dropout
    | Dropout2d
    | BatchNorm1d
    | BatchNorm2d
    | LayerNorm
    | ReLU
    | LeakyReLU
    | PReLU
    | ELU
    | SELU
    | GELU
    | SiLU
    | Sigmoid
    | Tanh
    | Softmax
    | LogSoftmax
    | Identity
    | Step
    | LSTM
    | GRU
    | Residual,
    Field(discriminator="type"),
]

Residual.model_rebuild()


class ModelSpec(BaseModel):
    """A whole network: the shape of one input sample and its layers in order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "input_shape": [1, 28, 28],
                    "layers": [
                        {"type": "flatten"},
                        {"type": "linear", "out_features": 128},
                        {"type": "relu"},
                        {"type": "linear", "out_features": 10},
                    ],
                }
            ]
        },
    )

    input_shape: list[Dimension] = Field(
        default_factory=lambda: [1, 28, 28], min_length=1, max_length=3
    )
    layers: list[LayerSpec] = Field(min_length=1, max_length=1024)
    weight_init: InitField = None

    @field_validator("layers", mode="before")
    @classmethod
    def _canonical_types(cls, value: object) -> object:
        return canonical_layer_types(value)

    @field_validator("weight_init", mode="before")
    @classmethod
    def _init_shorthand(cls, value: object) -> object:
        return WeightInit.coerce(value)


def layer_classes() -> dict[str, type[BaseModel]]:
    """Every layer type name and its spec class, in palette order."""
    members = LayerSpec.__origin__.__args__  # type: ignore[attr-defined]
    return {cls.model_fields["type"].default: cls for cls in members}


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


_EXTRA_ALIASES = {
    "dense": "linear",
    "conv": "conv2d",
    "convtranspose": "convtranspose2d",
    "deconv": "convtranspose2d",
    "deconv2d": "convtranspose2d",
    "maxpool": "maxpool2d",
    "avgpool": "avgpool2d",
    "swish": "silu",
    "gap": "adaptiveavgpool2d",
}


def canonical_type(name: str) -> str:
    """Map PyTorch-style spellings (`LeakyReLU`, `BatchNorm2d`, `log-softmax`) to our names."""
    squashed = _squash(name)
    for canonical in layer_classes():
        if _squash(canonical) == squashed:
            return canonical
    return _EXTRA_ALIASES.get(squashed, name)


def canonical_layer_types(value: object) -> object:
    """Rewrite each raw layer's `type` to its canonical spelling before validation."""
    if not isinstance(value, list):
        return value
    return [
        {**item, "type": canonical_type(item["type"])}
        if isinstance(item, dict) and isinstance(item.get("type"), str)
        else item
        for item in value
    ]
