"""The layer registry, filled by one module per layer category.

Each module registers, for its spec types, how to infer the output shape, parameters and MACs
(pure arithmetic, so a bad spec is refused before any tensor is made) and how to build the module.
They are imported here in palette order.
"""

# The import order is the registration order, which the palette and GET /api/layers follow.
# isort: off
from app.nn.layers import weights, pooling, shape, regularisation, normalisation  # noqa: F401
from app.nn.layers import activation, recurrent, block  # noqa: F401

# isort: on
from app.nn.layers.registry import (
    LAYER_KINDS,
    Build,
    BuildBlock,
    Category,
    Infer,
    InferContext,
    Inferred,
    LayerKind,
    register,
)

__all__ = [
    "LAYER_KINDS",
    "Build",
    "BuildBlock",
    "Category",
    "Infer",
    "InferContext",
    "Inferred",
    "LayerKind",
    "register",
]
