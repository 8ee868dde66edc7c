"""Frozen layers: parameters that keep their values while the rest of the model trains.

A layer is named by its path in the model summary ("3", or "5.1" inside residual block 5).
Freezing sets `requires_grad` False and leaves the parameters out of the optimizer; a frozen
batch norm's running statistics still follow the data (they are buffers, not parameters).
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from app.nn import ModelSummary
from app.nn.modules import Residual


def layer_at(module: nn.Sequential, path: str) -> nn.Module:
    """The module of the layer at a summary path (KeyError if there is none)."""
    layer: nn.Module = module
    for part in path.split("."):
        container = layer.body if isinstance(layer, Residual) else layer
        if not isinstance(container, nn.Sequential) or not part.isdigit():
            raise KeyError(path)
        if int(part) >= len(container):
            raise KeyError(path)
        layer = container[int(part)]
    return layer


def trainable_parameters(module: nn.Sequential, frozen: Iterable[str]) -> list[nn.Parameter]:
    """Freeze the layers at `frozen` paths; the parameters left to train, in module order."""
    for path in frozen:
        layer_at(module, path).requires_grad_(False)
    return [parameter for parameter in module.parameters() if parameter.requires_grad]


def trainable_names(module: nn.Module, frozen: Iterable[str]) -> list[str]:
    """The names of the parameters an optimizer of this config holds, in its order."""
    if isinstance(module, nn.Sequential):
        trainable_parameters(module, frozen)
    return [name for name, parameter in module.named_parameters() if parameter.requires_grad]


def frozen_issues(summary: ModelSummary, frozen: Iterable[str]) -> list[tuple[str, str]]:
    """(field, message) for each frozen path that names no layer with parameters, and when
    nothing would be left to train."""
    rows = {row.path: row for row in summary.walk()}
    learnable = ", ".join(path for path, row in rows.items() if row.params and "." not in path)
    issues: list[tuple[str, str]] = []
    paths = list(frozen)
    for index, path in enumerate(paths):
        row = rows.get(path)
        if row is None:
            issues.append(
                (f"frozen.{index}", f"no layer {path!r}; layers with weights: {learnable}")
            )
        elif not row.params:
            issues.append(
                (f"frozen.{index}", f"layer {path} ({row.type}) has no weights to freeze")
            )
    chosen = set(paths)
    outermost = [path for path in chosen if not any(path.startswith(f"{p}.") for p in chosen)]
    if not issues and sum(rows[path].params for path in outermost) >= summary.total_params:
        issues.append(("frozen", "every layer with weights is frozen: nothing would train"))
    return issues
