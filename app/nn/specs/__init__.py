"""Pydantic layer specs: the single source of truth for what a model spec may contain.

Names and arguments follow PyTorch; input sizes are never written, they are inferred. One module
per layer category; `model` joins them into the discriminated union and the whole ModelSpec.
"""

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
from app.nn.specs.arguments import (
    ConvPadding,
    Dilation,
    InitField,
    InitScheme,
    KernelSize,
    PoolPadding,
    Probability,
    Stride,
    WeightInit,
    Width,
)
from app.nn.specs.model import (
    LayerSpec,
    ModelSpec,
    Residual,
    canonical_layer_types,
    canonical_type,
    layer_classes,
)
from app.nn.specs.normalisation import BatchNorm1d, BatchNorm2d, LayerNorm
from app.nn.specs.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from app.nn.specs.recurrent import GRU, LSTM
from app.nn.specs.regularisation import Dropout, Dropout2d
from app.nn.specs.shape import Flatten, Unflatten, Upsample
from app.nn.specs.weights import Conv2d, ConvTranspose2d, Linear

__all__ = [
    "ELU",
    "GELU",
    "GRU",
    "LSTM",
    "SELU",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "ConvPadding",
    "ConvTranspose2d",
    "Dilation",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "Identity",
    "InitField",
    "InitScheme",
    "KernelSize",
    "LayerNorm",
    "LayerSpec",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "ModelSpec",
    "PReLU",
    "PoolPadding",
    "Probability",
    "ReLU",
    "Residual",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Step",
    "Stride",
    "Tanh",
    "Unflatten",
    "Upsample",
    "WeightInit",
    "Width",
    "canonical_layer_types",
    "canonical_type",
    "layer_classes",
]
