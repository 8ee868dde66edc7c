"""Bounds on what a spec may ask for; configurable through the app's settings."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecLimits:
    """The largest model a spec may describe."""

    max_layers: int = 64  # counted with the layers inside residual blocks
    max_params: int = 20_000_000
    max_kernel_size: int = 11  # conv and pooling windows, each side
    max_nesting: int = 4  # residual blocks inside residual blocks
    max_side: int = 1024  # height or width an upsample or convtranspose2d may produce


DEFAULT_LIMITS = SpecLimits()
