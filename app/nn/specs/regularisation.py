"""Specs of the regularisation layers: dropout of values and of whole channels."""

from __future__ import annotations

from typing import Literal

from app.nn.specs.arguments import Layer, Probability


class Dropout(Layer):
    """Zeroes each value with probability p while training."""

    type: Literal["dropout"] = "dropout"
    p: Probability = 0.5


class Dropout2d(Layer):
    """Zeroes whole channels with probability p while training."""

    type: Literal["dropout2d"] = "dropout2d"
    p: Probability = 0.5
