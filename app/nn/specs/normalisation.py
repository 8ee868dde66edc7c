"""Specs of the normalisation layers: batch norm (features or channels) and layer norm."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.nn.specs.arguments import Layer

Fraction = Annotated[float, Field(gt=0.0, le=1.0)]


class BatchNorm1d(Layer):
    """Normalises each feature over the batch."""

    type: Literal["batchnorm1d"] = "batchnorm1d"
    eps: Fraction = 1e-5
    momentum: Fraction = 0.1
    affine: bool = True


class BatchNorm2d(Layer):
    """Normalises each channel over the batch and the image."""

    type: Literal["batchnorm2d"] = "batchnorm2d"
    eps: Fraction = 1e-5
    momentum: Fraction = 0.1
    affine: bool = True


class LayerNorm(Layer):
    """Normalises each sample over all its values."""

    type: Literal["layernorm"] = "layernorm"
    eps: Fraction = 1e-5
    elementwise_affine: bool = True
