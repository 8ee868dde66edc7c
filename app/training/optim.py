"""Optimizers, learning-rate schedules and losses, each a name → implementation map."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from app.training.config import TrainConfig

ONECYCLE_WARMUP = 0.25  # fraction of the run spent warming up
ONECYCLE_START = 1 / 25  # the warm-up starts at peak lr × this

_FUSED_DEVICE_TYPES = frozenset({"cpu", "cuda"})


def load_optimizer_code() -> None:
    """Do now what the first optimizer of a process does on its own: torch imports
    `torch._dynamo` when the first optimizer is built (about 3 s on a small CPU)."""
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])


def make_optimizer(
    parameters: Iterable[nn.Parameter], config: TrainConfig, device: torch.device
) -> torch.optim.Optimizer:
    """The configured optimizer; fused kernels where PyTorch has them (same maths, faster)."""
    params = list(parameters)
    # Fused kernels exist for these on CPU and CUDA; elsewhere the multi-tensor (foreach) path.
    fused = True if device.type in _FUSED_DEVICE_TYPES else None
    foreach = None if fused else True
    lr, decay = config.lr, config.weight_decay
    speed: dict[str, Any] = {"fused": fused, "foreach": foreach}
    match config.optimizer:
        case "sgd":
            return torch.optim.SGD(
                params,
                lr=lr,
                momentum=config.momentum,
                nesterov=config.nesterov,
                weight_decay=decay,
                **speed,
            )
        case "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=decay, **speed)
        case "adamw":
            return torch.optim.AdamW(params, lr=lr, weight_decay=decay, **speed)
        case "adagrad":
            return torch.optim.Adagrad(params, lr=lr, weight_decay=decay, **speed)
        case "rmsprop":
            return torch.optim.RMSprop(
                params, lr=lr, momentum=config.momentum, weight_decay=decay, foreach=True
            )
    raise ValueError(f"optimizer: unknown {config.optimizer!r}")  # pragma: no cover


def lr_factor(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """The schedule's multiplier of the base lr for 0-based `step` of `total_steps`."""
    progress = min(step / max(total_steps, 1), 1.0)
    match config.schedule:
        case "none":
            return 1.0
        case "step":
            return float(config.gamma ** ((step // max(steps_per_epoch, 1)) // config.step_size))
        case "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        case "onecycle":
            if progress < ONECYCLE_WARMUP:  # cosine warm-up from START to 1
                rise = 0.5 * (1.0 - math.cos(math.pi * progress / ONECYCLE_WARMUP))
                return ONECYCLE_START + (1.0 - ONECYCLE_START) * rise
            fall = (progress - ONECYCLE_WARMUP) / (1.0 - ONECYCLE_WARMUP)
            return 0.5 * (1.0 + math.cos(math.pi * fall))
    raise ValueError(f"schedule: unknown {config.schedule!r}")  # pragma: no cover


LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_loss(config: TrainConfig, *, training: bool = True) -> LossFunction:
    """loss(outputs (B, C), targets) → mean loss; label smoothing only while training.

    Targets are class indices (B,) for cross_entropy and nll; for mse one-hot rows (B, C), or
    the values (B, 1) of a regression (see `Objective.targets`).
    """
    smoothing = config.label_smoothing if training else 0.0
    match config.loss:
        case "cross_entropy":
            return lambda outputs, targets: F.cross_entropy(
                outputs, targets, label_smoothing=smoothing
            )
        case "nll":
            return lambda outputs, targets: F.nll_loss(outputs.float(), targets)
        case "mse":
            return lambda outputs, targets: F.mse_loss(outputs.float(), targets)
        case "bce":
            return lambda outputs, targets: F.binary_cross_entropy(outputs.float(), targets)
    raise ValueError(f"loss: unknown {config.loss!r}")  # pragma: no cover


def weight_penalty(config: TrainConfig, module: nn.Module) -> Callable[[], torch.Tensor] | None:
    """The regularisation term added to the loss, as TensorFlow Playground has it: rate × Σ|w|
    (l1) or rate × ½Σw² (l2) over the weights (parameters of 2 or more dimensions: not biases
    or norm scales); None when there is none."""
    if config.regularization == "none" or config.regularization_rate == 0.0:
        return None
    weights = [parameter for parameter in module.parameters() if parameter.ndim > 1]
    rate, l1 = config.regularization_rate, config.regularization == "l1"

    def penalty() -> torch.Tensor:
        if l1:
            return rate * torch.stack([weight.abs().sum() for weight in weights]).sum()
        return rate * 0.5 * torch.stack([weight.square().sum() for weight in weights]).sum()

    return penalty


def probabilities(outputs: torch.Tensor, loss: str) -> torch.Tensor:
    """Outputs (B, 10) → class probabilities (B, 10) as the loss reads them.

    cross_entropy: outputs are logits (softmax); nll: log-probabilities (exp); mse: scores
    compared with one-hot rows, so the clamped scores are normalised to sum to 1.
    """
    outputs = outputs.float()
    if loss == "nll":
        return outputs.exp()
    if loss == "mse":
        scores = outputs.clamp(min=0.0)
        return scores / scores.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return outputs.softmax(dim=1)
