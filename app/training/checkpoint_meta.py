"""What a checkpoint records besides the weights: where training stood and how to go on.

On disk and across the training process's pipe it travels as a plain dict (`to_dict`), so
checkpoints written before a field existed still load: `from_dict` fills what they lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch


@dataclass(frozen=True, kw_only=True)
class CheckpointMeta:
    """Counters, the best epoch so far and the random states at the end of an epoch."""

    epoch: int
    step: int
    seq: int  # the last event's seq at this point (a resumed run drops what came after)
    base_lr: float  # the learning rate schedules scale (a person may have changed it)
    train_seconds: float = 0.0  # seconds of training steps so far
    samples: int = 0  # training digits seen so far
    best_val_accuracy: float | None = None
    best_score: float | None = None  # what "best" compares: the accuracy, or -loss (regression)
    best_epoch: int | None = None
    stale_epochs: int = 0  # epochs since the best one (early stopping)
    final: bool = False  # the run's last checkpoint
    config: dict[str, Any] = field(default_factory=dict)
    cpu_rng: torch.Tensor | None = None
    permutation_rng: torch.Tensor | None = None  # the generator that shuffles each epoch
    cuda_rng: torch.Tensor | None = None
    best_model_state: dict[str, torch.Tensor] | None = None  # when not the current weights

    @classmethod
    def from_dict(cls, meta: Mapping[str, Any]) -> CheckpointMeta:
        """The typed form of a stored meta dict (keys it does not know are ignored)."""
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in meta.items() if key in known}
        for name, kind in (("epoch", int), ("step", int), ("seq", int), ("samples", int)):
            if name in values:
                values[name] = kind(values[name])
        for name in ("base_lr", "train_seconds"):
            if name in values:
                values[name] = float(values[name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The plain form stored in checkpoints (fields left unset are left out)."""
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        return {key: value for key, value in data.items() if value is not None or key in _KEPT}


_KEPT = frozenset({"best_val_accuracy", "best_epoch"})  # None is information here
