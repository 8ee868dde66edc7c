"""Specs of the activations: element-wise functions, softmax over the features, identity, step."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.nn.specs.arguments import Layer


class ReLU(Layer):
    """max(0, x)."""

    type: Literal["relu"] = "relu"


class LeakyReLU(Layer):
    """x for x > 0, negative_slope·x otherwise."""

    type: Literal["leaky_relu"] = "leaky_relu"
    negative_slope: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01


class PReLU(Layer):
    """Leaky ReLU whose negative slope is learned."""

    type: Literal["prelu"] = "prelu"
    per_channel: bool = Field(default=False, description="one slope per channel instead of one")
    init: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25


class ELU(Layer):
    """x for x > 0, alpha·(eˣ − 1) otherwise."""

    type: Literal["elu"] = "elu"
    alpha: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0


class SELU(Layer):
    """Scaled ELU that keeps activations normalised."""

    type: Literal["selu"] = "selu"


class GELU(Layer):
    """x·Φ(x): a smooth ReLU used by transformers."""

    type: Literal["gelu"] = "gelu"
    approximate: Literal["none", "tanh"] = "none"


class SiLU(Layer):
    """x·sigmoid(x), also called swish."""

    type: Literal["silu"] = "silu"


class Sigmoid(Layer):
    """1 / (1 + e⁻ˣ): squashes to (0, 1)."""

    type: Literal["sigmoid"] = "sigmoid"


class Tanh(Layer):
    """Squashes to (−1, 1)."""

    type: Literal["tanh"] = "tanh"


class Softmax(Layer):
    """Turns scores into probabilities that sum to 1 (over the features or channels)."""

    type: Literal["softmax"] = "softmax"


class LogSoftmax(Layer):
    """log(softmax(x)), for the nll loss."""

    type: Literal["log_softmax"] = "log_softmax"


class Identity(Layer):
    """Passes its input through unchanged."""

    type: Literal["identity"] = "identity"


class Step(Layer):
    """1 for x > 0, else 0. Its gradient is zero everywhere, so nothing before it can learn."""

    type: Literal["step"] = "step"
