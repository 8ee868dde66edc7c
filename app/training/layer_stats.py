"""Per-layer statistics of one training step: what the run page's inside views draw.

Armed only on the steps where a step point is due: `arm()` before the step keeps a copy of the
weights and hooks the activations, `collect()` after `optimizer.step()` reads the gradients
(still in `.grad` until the next step's `zero_grad`), the update and the histograms back in one
transfer. Other steps pay nothing: no hooks, no copies, no host sync. Histograms come at most
every `histograms_s` (they are most of an event's bytes, and of the history's), and a big model
skips points so that the statistics take at most `budget` of the time (a conv net's ReLU outputs
and weight copies cost milliseconds a point on a CPU).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import torch
from torch import nn

from app.nn import LAYER_KINDS, ModelSummary
from app.nn.modules import Residual
from app.training.events import Histogram, LayerStat

BINS = 24  # of every histogram
BUDGET = 0.02  # the largest share of the training time the statistics may take
MAX_VALUES = 65536  # values per histogram; larger tensors are sampled with a fixed stride
DEAD_TYPES = frozenset({"relu"})  # activations whose zero outputs make a unit dead
_HOOKED = frozenset({"activation"})  # layer categories whose outputs get a histogram


def module_at(model: nn.Sequential, path: str) -> nn.Module:
    """The module of a summary path ("3", or "5.1" inside residual block 5)."""
    layer: nn.Module = model
    for part in path.split("."):
        container = layer.body if isinstance(layer, Residual) else layer
        layer = container[int(part)]  # type: ignore[index]
    return layer


def _memory_order(values: torch.Tensor) -> torch.Tensor:
    """The same values with the batch first, viewed in the order memory holds them (a
    channels-last (B, C, H, W) becomes (B, H, W, C)), so that flattening copies nothing."""
    values = values.detach()
    if values.dim() == 4 and values.is_contiguous(memory_format=torch.channels_last):
        return values.permute(0, 2, 3, 1)  # (B, H, W, C)
    return values


def histogram(values: torch.Tensor, bins: int = BINS) -> torch.Tensor:
    """(bins + 2,) float32 on the values' device: [low, high, counts…] of at most MAX_VALUES
    values, equal bins from the smallest to the largest (no host sync)."""
    flat = _memory_order(values).reshape(-1)  # (N,)
    if flat.numel() > MAX_VALUES:
        flat = flat[:: -(-flat.numel() // MAX_VALUES)]  # (≤ MAX_VALUES,)
    flat = flat.float()
    low, high = torch.aminmax(flat)
    scale = bins / (high - low).clamp_min(1e-12)
    index = ((flat - low) * scale).long().clamp_(0, bins - 1)  # (n,) bin of each value
    counts = torch.zeros(bins, device=flat.device).index_add_(0, index, torch.ones_like(flat))
    return torch.cat((low.reshape(1), high.reshape(1), counts))


def dead_fraction(output: torch.Tensor) -> torch.Tensor:
    """() share of units (elements of one sample's output) that are 0 for every sample, for
    outputs ≥ 0 (a ReLU's): a unit is alive where its largest output is above 0."""
    alive = _memory_order(output).amax(dim=0) > 0  # (*units): 5× faster than any() of (x > 0)
    return 1.0 - alive.float().mean()


@dataclass
class _Tracked:
    """One layer followed: its parameters (maybe none) and whether its outputs are hooked."""

    path: str
    type: str
    module: nn.Module
    params: list[torch.Tensor]
    weights: list[torch.Tensor]  # the parameters shown in the histogram (biases left out)
    hooked: bool
    dead: bool


class LayerStats:
    """Follows every layer with parameters and every activation of a model, in summary order;
    only those whose summary path is in `paths` where it is given (a GAN's two halves)."""

    def __init__(
        self,
        model: nn.Sequential,
        summary: ModelSummary,
        bins: int = BINS,
        histograms_s: float = 0.0,
        budget: float | None = BUDGET,
        paths: Collection[str] | None = None,
    ) -> None:
        self.bins = bins
        self.histograms_s = histograms_s
        self.budget = budget  # None: every arm() is taken
        self._next_allowed = 0.0  # arm() before this perf_counter time is declined
        self._spent = 0.0  # seconds the armed step's statistics took so far
        self._next_histograms = 0.0
        self._histograms = False  # whether the armed step takes histograms
        self._layers: list[_Tracked] = []
        for row in summary.walk():
            category = LAYER_KINDS[row.type].category
            if category == "block":  # its inner layers are followed one by one
                continue
            if paths is not None and row.path not in paths:
                continue
            module = module_at(model, row.path)
            named = list(module.named_parameters())
            hooked = category in _HOOKED
            if named or hooked:
                self._layers.append(
                    _Tracked(
                        path=row.path,
                        type=row.type,
                        module=module,
                        params=[param for _, param in named],
                        weights=[p for name, p in named if "bias" not in name]
                        or [p for _, p in named],
                        hooked=hooked,
                        dead=row.type in DEAD_TYPES,
                    )
                )
        self._device = next(model.parameters(), torch.zeros(())).device
        self._before: list[list[torch.Tensor]] | None = None
        self._outputs: dict[str, tuple[torch.Tensor | None, torch.Tensor | None]] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    @property
    def paths(self) -> list[str]:
        """The followed layers' paths, in order."""
        return [layer.path for layer in self._layers]

    @property
    def armed(self) -> bool:
        """True between arm() and collect()."""
        return self._before is not None

    def arm(self) -> None:
        """Before a step: copy the weights, hook the activations of the next forward pass;
        declined (nothing armed) while the budget is spent."""
        self.disarm()
        now = time.perf_counter()
        if now < self._next_allowed:
            return
        self._spent = 0.0
        self._histograms = now >= self._next_histograms
        if self._histograms:
            self._next_histograms = now + self.histograms_s
        self._device = next(
            (p.device for layer in self._layers for p in layer.params), self._device
        )
        with torch.no_grad():
            self._before = [[p.detach().clone() for p in layer.params] for layer in self._layers]
        for layer in self._layers:
            if layer.hooked:
                self._handles.append(layer.module.register_forward_hook(self._keeper(layer)))
        self._spent += time.perf_counter() - now

    def disarm(self) -> None:
        """Drop the hooks and the copies (a step that was not taken)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._outputs.clear()
        self._before = None

    def _keeper(self, layer: _Tracked) -> Callable[[nn.Module, object, torch.Tensor], None]:
        bins = self.bins

        def hook(_: nn.Module, __: object, output: torch.Tensor) -> None:
            # computed at once: an in-place layer after this one would change `output`
            began = time.perf_counter()
            with torch.no_grad():
                dead = dead_fraction(output) if layer.dead else None
                hist = histogram(output, bins) if self._histograms else None
                self._outputs[layer.path] = (hist, dead)
            self._spent += time.perf_counter() - began

        return hook

    @torch.no_grad()
    def collect(self) -> tuple[LayerStat, ...]:
        """After the step: every followed layer's statistics (one read-back), then disarm."""
        before = self._before
        if before is None:
            return ()
        began = time.perf_counter()
        histograms, missing = self._histograms, torch.tensor(math.nan)
        parts: list[torch.Tensor] = []  # every number, flat, read back at once
        for layer, old in zip(self._layers, before, strict=True):
            if layer.params:
                grads = [p.grad for p in layer.params if p.grad is not None]
                parts += [_norm(grads), _norm(layer.params)]
                parts.append(_norm([p - q for p, q in zip(layer.params, old, strict=True)]))
                if histograms:
                    weights = torch.cat([w.reshape(-1) for w in layer.weights])  # (n,)
                    parts.append(histogram(weights, self.bins))
            if layer.hooked:
                hist, dead = self._outputs.get(layer.path, (None, None))
                if histograms:
                    parts.append(hist if hist is not None else missing.expand(self.bins + 2))
                if layer.dead:
                    parts.append(dead if dead is not None else missing)
        device = self._device
        flat = [part.to(device).reshape(-1) for part in parts]
        values = torch.cat(flat).tolist() if flat else []
        self.disarm()
        now = time.perf_counter()
        if self.budget is not None:  # e.g. 5 ms spent at 2%: the next point after 250 ms
            self._next_allowed = now + (self._spent + now - began) / self.budget
        return tuple(self._read(values, histograms))

    def _read(self, values: list[float], histograms: bool) -> list[LayerStat]:
        """The flat numbers of collect() → one LayerStat per layer, in the same order."""
        stats: list[LayerStat] = []
        at, span = 0, self.bins + 2 if histograms else 0
        for layer in self._layers:
            fields: dict[str, float | Histogram | None] = {}
            if layer.params:
                grad, weight, update = values[at : at + 3]
                fields |= {
                    "grad_norm": _number(grad),
                    "weight_norm": _number(weight),
                    "update_ratio": _number(update / weight) if weight > 0 else None,
                }
                if histograms:
                    fields["weight_hist"] = _histogram(values[at + 3 : at + 3 + span])
                at += 3 + span
            if layer.hooked:
                if histograms:
                    fields["act_hist"] = _histogram(values[at : at + span])
                at += span
                if layer.dead:
                    fields["dead_fraction"] = _number(values[at])
                    at += 1
            stats.append(LayerStat(path=layer.path, type=layer.type, **fields))  # type: ignore[arg-type]
        return stats


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """() the 2-norm of several tensors taken as one vector (0 for none)."""
    if not tensors:
        return torch.zeros(())
    norms = torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors])  # (n,)
    total: torch.Tensor = torch.linalg.vector_norm(norms)
    return total


def _number(value: float) -> float | None:
    """4 significant digits; None for NaN/infinite (JSON has no such numbers)."""
    return float(f"{value:.4g}") if math.isfinite(value) else None


def _histogram(values: list[float]) -> Histogram | None:
    low, high, counts = values[0], values[1], values[2:]
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return Histogram(
        low=_number(low) or 0.0, high=_number(high) or 0.0, counts=tuple(int(c) for c in counts)
    )
