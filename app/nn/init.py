"""Weight initialisation schemes, applied per layer or to the whole model."""

import torch
from torch import nn

from app.nn.specs import WeightInit


def initialise(module: nn.Module, scheme: WeightInit, generator: torch.Generator | None) -> None:
    """Re-initialise the weights of `module` and zero its biases, unless the scheme is default."""
    if scheme.scheme == "default":
        return
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "bias" in name or parameter.dim() < 2:
                parameter.zero_()
            else:
                _fill(parameter, scheme, generator)


def _fill(weight: torch.Tensor, scheme: WeightInit, generator: torch.Generator | None) -> None:
    gain = nn.init.calculate_gain(scheme.nonlinearity)
    match scheme.scheme:
        case "xavier_uniform":
            nn.init.xavier_uniform_(weight, gain, generator)
        case "xavier_normal":
            nn.init.xavier_normal_(weight, gain, generator)
        case "kaiming_uniform":
            nn.init.kaiming_uniform_(weight, nonlinearity=scheme.nonlinearity, generator=generator)
        case "kaiming_normal":
            nn.init.kaiming_normal_(weight, nonlinearity=scheme.nonlinearity, generator=generator)
        case "normal":
            nn.init.normal_(weight, 0.0, scheme.std, generator)
        case "zeros":
            nn.init.zeros_(weight)
