"""Specs of the recurrent layers, which read an image row by row: LSTM and GRU."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.nn.specs.arguments import WeightedLayer


class _Recurrent(WeightedLayer):
    hidden_size: Annotated[int, Field(ge=1, le=4096)] = 64
    num_layers: Annotated[int, Field(ge=1, le=8)] = 1
    bidirectional: bool = False


class LSTM(_Recurrent):
    """Reads the image row by row (28 steps of 28 features) and returns the last step."""

    type: Literal["lstm"] = "lstm"


class GRU(_Recurrent):
    """Like the LSTM with fewer gates: reads the rows and returns the last step."""

    type: Literal["gru"] = "gru"
