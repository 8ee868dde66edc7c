"""Pydantic layer specs: the single source of truth for what a model spec may contain.

Names and arguments follow PyTorch; input sizes are never written, they are inferred.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

_WHOLE = {"type": "integer"}


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _pair_validator(minimum: int, words: tuple[str, ...] = ()) -> Any:
    """Validate an int or an [h, w] pair of ints ≥ minimum, optionally also one of `words`."""

    def validate(value: object) -> int | tuple[int, int] | str:
        if isinstance(value, str) and value in words:
            return value
        single = _whole_number(value)
        if single is not None:
            if single < minimum:
                raise PydanticCustomError("too_small", f"must be ≥ {minimum}, got {single}")
            return single
        if isinstance(value, list | tuple) and len(value) == 2:
            pair = [_whole_number(v) for v in value]
            if pair[0] is not None and pair[1] is not None:
                if min(pair[0], pair[1]) < minimum:
                    raise PydanticCustomError("too_small", f"both values must be ≥ {minimum}")
                return (pair[0], pair[1])
        choices = "".join(f" or '{w}'" for w in words)
        raise PydanticCustomError(
            "int_or_pair", f"must be a whole number or a pair [height, width]{choices}"
        )

    return validate


def _pair_schema(minimum: int, words: tuple[str, ...] = ()) -> dict[str, Any]:
    item = {**_WHOLE, "minimum": minimum}
    options: list[dict[str, Any]] = [
        item,
        {"type": "array", "items": item, "minItems": 2, "maxItems": 2},
    ]
    if words:
        options.append({"enum": list(words)})
    return {"anyOf": options}


KernelSize = Annotated[
    int | tuple[int, int], PlainValidator(_pair_validator(1)), WithJsonSchema(_pair_schema(1))
]
Stride = KernelSize
Dilation = KernelSize
PoolPadding = Annotated[
    int | tuple[int, int], PlainValidator(_pair_validator(0)), WithJsonSchema(_pair_schema(0))
]
ConvPadding = Annotated[
    int | tuple[int, int] | str,
    PlainValidator(_pair_validator(0, ("same", "valid"))),
    WithJsonSchema(_pair_schema(0, ("same", "valid"))),
]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
Width = Annotated[int, Field(ge=1, le=65_536)]

InitScheme = Literal[
    "default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "normal",
    "zeros",
]


class WeightInit(BaseModel):
    """How to initialise a layer's weights (biases become zero for every scheme but `default`)."""

    model_config = ConfigDict(extra="forbid")

    scheme: InitScheme = "default"
    std: float = Field(default=0.01, gt=0.0, le=10.0, description="for `normal`")
    nonlinearity: Literal["relu", "leaky_relu", "tanh", "sigmoid", "linear"] = Field(
        default="relu", description="gain for the xavier and kaiming schemes"
    )

    @classmethod
    def coerce(cls, value: object) -> object:
        """Accept the shorthand `"kaiming_normal"` for `{"scheme": "kaiming_normal"}`."""
        return {"scheme": value} if isinstance(value, str) else value


InitField = Annotated[WeightInit | None, Field(default=None, description="weight initialisation")]


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _WeightedLayer(_Layer):
    weight_init: InitField = None

    @field_validator("weight_init", mode="before")
    @classmethod
    def _init_shorthand(cls, value: object) -> object:
        return WeightInit.coerce(value)


class Linear(_WeightedLayer):
    """Fully connected: every input feature feeds every output feature."""

    type: Literal["linear"] = "linear"
    out_features: Width
    bias: bool = True


class Conv2d(_WeightedLayer):
    """2-D convolution: slides `out_channels` learned filters over the image."""

    type: Literal["conv2d"] = "conv2d"
    out_channels: Annotated[int, Field(ge=1, le=4096)]
    kernel_size: KernelSize = 3
    stride: Stride = 1
    padding: ConvPadding = 0
    dilation: Dilation = 1
    groups: Annotated[int, Field(ge=1, le=4096)] = 1
    bias: bool = True


class MaxPool2d(_Layer):
    """Keeps the largest value of each window."""

    type: Literal["maxpool2d"] = "maxpool2d"
    kernel_size: KernelSize = 2
    stride: Stride | None = Field(default=None, description="defaults to kernel_size")
    padding: PoolPadding = 0
    dilation: Dilation = 1
    ceil_mode: bool = False


class AvgPool2d(_Layer):
    """Averages each window."""

    type: Literal["avgpool2d"] = "avgpool2d"
    kernel_size: KernelSize = 2
    stride: Stride | None = Field(default=None, description="defaults to kernel_size")
    padding: PoolPadding = 0
    ceil_mode: bool = False
    count_include_pad: bool = True


class AdaptiveAvgPool2d(_Layer):
    """Averages down to a fixed output size, whatever the input size."""

    type: Literal["adaptiveavgpool2d"] = "adaptiveavgpool2d"
    output_size: KernelSize = 1


class Flatten(_Layer):
    """Turns a C×H×W feature map into one long vector."""

    type: Literal["flatten"] = "flatten"


class Dropout(_Layer):
    """Zeroes each value with probability p while training."""

    type: Literal["dropout"] = "dropout"
    p: Probability = 0.5


class Dropout2d(_Layer):
    """Zeroes whole channels with probability p while training."""

    type: Literal["dropout2d"] = "dropout2d"
    p: Probability = 0.5


class BatchNorm1d(_Layer):
    """Normalises each feature over the batch."""

    type: Literal["batchnorm1d"] = "batchnorm1d"
    eps: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-5
    momentum: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    affine: bool = True


class BatchNorm2d(_Layer):
    """Normalises each channel over the batch and the image."""

    type: Literal["batchnorm2d"] = "batchnorm2d"
    eps: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-5
    momentum: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    affine: bool = True


class LayerNorm(_Layer):
    """Normalises each sample over all its values."""

    type: Literal["layernorm"] = "layernorm"
    eps: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-5
    elementwise_affine: bool = True


class ReLU(_Layer):
    """max(0, x)."""

    type: Literal["relu"] = "relu"


class LeakyReLU(_Layer):
    """x for x > 0, negative_slope·x otherwise."""

    type: Literal["leaky_relu"] = "leaky_relu"
    negative_slope: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01


class PReLU(_Layer):
    """Leaky ReLU whose negative slope is learned."""

    type: Literal["prelu"] = "prelu"
    per_channel: bool = Field(default=False, description="one slope per channel instead of one")
    init: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25


class ELU(_Layer):
    """x for x > 0, alpha·(eˣ − 1) otherwise."""

    type: Literal["elu"] = "elu"
    alpha: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0


class SELU(_Layer):
    """Scaled ELU that keeps activations normalised."""

    type: Literal["selu"] = "selu"


class GELU(_Layer):
    """x·Φ(x): a smooth ReLU used by transformers."""

    type: Literal["gelu"] = "gelu"
    approximate: Literal["none", "tanh"] = "none"


class SiLU(_Layer):
    """x·sigmoid(x), also called swish."""

    type: Literal["silu"] = "silu"


class Sigmoid(_Layer):
    """1 / (1 + e⁻ˣ): squashes to (0, 1)."""

    type: Literal["sigmoid"] = "sigmoid"


class Tanh(_Layer):
    """Squashes to (−1, 1)."""

    type: Literal["tanh"] = "tanh"


class Softmax(_Layer):
    """Turns scores into probabilities that sum to 1 (over the features or channels)."""

    type: Literal["softmax"] = "softmax"


class LogSoftmax(_Layer):
    """log(softmax(x)), for the nll loss."""

    type: Literal["log_softmax"] = "log_softmax"


class Identity(_Layer):
    """Passes its input through unchanged."""

    type: Literal["identity"] = "identity"


class Step(_Layer):
    """1 for x > 0, else 0. Its gradient is zero everywhere, so nothing before it can learn."""

    type: Literal["step"] = "step"


class _Recurrent(_WeightedLayer):
    hidden_size: Annotated[int, Field(ge=1, le=4096)] = 64
    num_layers: Annotated[int, Field(ge=1, le=8)] = 1
    bidirectional: bool = False


class LSTM(_Recurrent):
    """Reads the image row by row (28 steps of 28 features) and returns the last step."""

    type: Literal["lstm"] = "lstm"


class GRU(_Recurrent):
    """Like the LSTM with fewer gates: reads the rows and returns the last step."""

    type: Literal["gru"] = "gru"


class Residual(_Layer):
    """Adds the output of its layers to its input (via a 1×1 projection if the shapes differ)."""

    type: Literal["residual"] = "residual"
    layers: list[LayerSpec] = Field(min_length=1, max_length=1024)

    @field_validator("layers", mode="before")
    @classmethod
    def _canonical_types(cls, value: object) -> object:
        return canonical_layer_types(value)


LayerSpec = Annotated[
    Linear
    | Conv2d
    | MaxPool2d
    | AvgPool2d
    | AdaptiveAvgPool2d
    | Flatten
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

Dimension = Annotated[int, Field(ge=1, le=1024)]


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
