"""The argument types layer specs share (sizes, pairs, probabilities), weight init, base classes."""

from __future__ import annotations

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
Factor = KernelSize  # a whole-number scale, or one per side
OutputSize = KernelSize
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
Channels = Annotated[int, Field(ge=1, le=4096)]
Dimension = Annotated[int, Field(ge=1, le=1024)]  # one side of a sample's shape

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


class Layer(BaseModel):
    """Base of every layer spec: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class WeightedLayer(Layer):
    """Base of the layers with learned weights: they take a `weight_init`."""

    weight_init: InitField = None

    @field_validator("weight_init", mode="before")
    @classmethod
    def _init_shorthand(cls, value: object) -> object:
        return WeightInit.coerce(value)
