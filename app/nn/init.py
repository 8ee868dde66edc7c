"""Weight initialisation schemes, applied per layer or to the whole model."""

from typing import Literal

import torch
from torch import nn

from app.nn.specs import WeightInit


def initialise(module: nn.Module, scheme: WeightInit, generator: torch.Generator | None) -> None:
    """Re-initialise the weights of `module` and zero its biases, unless the scheme is default.

    The kaiming schemes scale by the number of inputs that feed each output (in_channels·kH·kW for
    a conv). A transposed conv stores its weight as (in, out/groups, kH, kW), the other way round
    from a conv, so PyTorch's `fan_in` would count its outputs; it uses `fan_out` instead, which
    gives the same weights as a conv2d with the same in_channels and kernel.
    """
    if scheme.scheme == "default":
        return
    transposed = isinstance(module, nn.ConvTranspose2d)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "bias" in name or parameter.dim() < 2:
                parameter.zero_()
            else:
                _fill(parameter, scheme, generator, "fan_out" if transposed else "fan_in")


def _fill(
    weight: torch.Tensor,
    scheme: WeightInit,
    generator: torch.Generator | None,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
) -> None:
    gain = nn.init.calculate_gain(scheme.nonlinearity)
    match scheme.scheme:
        case "xavier_uniform":
            nn.init.xavier_uniform_(weight, gain, generator)
        case "xavier_normal":
            nn.init.xavier_normal_(weight, gain, generator)
        case "kaiming_uniform":
            nn.init.kaiming_uniform_(
                weight, mode=mode, nonlinearity=scheme.nonlinearity, generator=generator
            )
        case "kaiming_normal":
            nn.init.kaiming_normal_(
                weight, mode=mode, nonlinearity=scheme.nonlinearity, generator=generator
            )
        case "normal":
            nn.init.normal_(weight, 0.0, scheme.std, generator)
        case "zeros":
            nn.init.zeros_(weight)
