"""Feature maps of one fixed probe digit: every conv layer's channels, small and uint8.

Forward hooks are attached only for the probe's own forward pass (no cost on training steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from app.nn import ModelSummary
from app.nn.modules import Residual
from app.training.data import DeviceSplit
from app.training.evaluate import autocast
from app.training.events import Filters, LayerMaps
from app.training.optim import probabilities

MAX_CHANNELS = 16  # per conv layer
MAX_FILTERS = 32  # of the first conv layer
MAX_SIDE = 16  # feature maps larger than this are area-downsampled
FRAME_BUDGET = 48 * 1024  # pixel bytes of all layers together; keeps a frame well under 100 KB


@dataclass(frozen=True)
class ProbeResult:
    """One capture: the probe's class probabilities, conv outputs and first filters."""

    probabilities: tuple[float, ...]
    layers: tuple[LayerMaps, ...]
    filters: Filters | None


def conv_layers(module: nn.Sequential, summary: ModelSummary) -> list[tuple[str, nn.Conv2d]]:
    """(spec path, module) of every conv2d layer, residual blocks included, in order."""
    found: list[tuple[str, nn.Conv2d]] = []
    for row in summary.walk():
        if row.type != "conv2d":
            continue
        layer: nn.Module = module
        for part in row.path.split("."):
            container = layer.body if isinstance(layer, Residual) else layer
            layer = container[int(part)]  # type: ignore[index]
        if isinstance(layer, nn.Conv2d):
            found.append((row.path, layer))
    return found


class FeatureProbe:
    """Captures what the model makes of `split[index]`, on demand."""

    def __init__(
        self,
        module: nn.Sequential,
        summary: ModelSummary,
        split: DeviceSplit,
        index: int,
        loss: str,
        precision: str,
    ) -> None:
        self.module = module
        self.index = min(index, len(split) - 1)
        self.label = int(split.labels[self.index].item())
        if split.images is None:
            raise ValueError("feature maps need a split with pictures")
        self.image = split.images[self.index].numpy().tobytes()  # 28×28 uint8
        self._inputs = split.inputs[self.index : self.index + 1]  # (1, *input_shape)
        self._loss = loss
        self._precision = precision
        self._convs = conv_layers(module, summary)
        self._side = _side_within_budget([conv.out_channels for _, conv in self._convs])

    @torch.no_grad()
    def capture(self) -> ProbeResult:
        """Run the probe through the model in eval mode; the model's mode is restored."""
        outputs: dict[str, torch.Tensor] = {}

        def keep(path: str) -> Callable[[nn.Module, object, torch.Tensor], None]:
            def hook(_: nn.Module, __: object, output: torch.Tensor) -> None:
                outputs[path] = output

            return hook

        handles = [conv.register_forward_hook(keep(path)) for path, conv in self._convs]
        was_training = self.module.training
        self.module.eval()
        try:
            with autocast(self._inputs.device, self._precision):
                logits = self.module(self._inputs)  # (1, 10)
        finally:
            self.module.train(was_training)
            for handle in handles:
                handle.remove()
        probs = probabilities(logits, self._loss)[0].cpu().tolist()
        layers = tuple(
            layer_maps(path, outputs[path][0], self._side)
            for path, _ in self._convs
            if path in outputs
        )
        filters = _filters(*self._convs[0]) if self._convs else None
        return ProbeResult(tuple(round(p, 5) for p in probs), layers, filters)


def _side_within_budget(channel_counts: list[int]) -> int:
    """The largest map side ≤ MAX_SIDE whose frame fits FRAME_BUDGET (at least 4)."""
    channels = sum(min(count, MAX_CHANNELS) for count in channel_counts)
    if channels == 0:
        return MAX_SIDE
    return max(4, min(MAX_SIDE, math.isqrt(FRAME_BUDGET // channels)))


def layer_maps(path: str, output: torch.Tensor, side: int = MAX_SIDE) -> LayerMaps:
    """One conv output (C, H, W) → its first channels, downsampled, each scaled to 0..255."""
    channels = output.shape[0]
    maps = output[:MAX_CHANNELS].float()  # (n, H, W)
    height, width = maps.shape[1], maps.shape[2]
    if height > side or width > side:
        height, width = min(height, side), min(width, side)
        maps = F.adaptive_avg_pool2d(maps.unsqueeze(0), (height, width))[0]  # (n, h, w)
    # A few thousand numbers: numpy does the scaling several times faster than torch's ops.
    flat = maps.detach().cpu().numpy().reshape(maps.shape[0], -1)  # (n, h·w)
    low = flat.min(axis=1)  # (n,)
    high = flat.max(axis=1)  # (n,)
    scale = np.float32(255.0) / np.maximum(high - low, np.float32(1e-12))  # (n,)
    pixels = np.rint((flat - low[:, None]) * scale[:, None]).astype(np.uint8)
    return LayerMaps(
        path=path,
        channels=channels,
        shown=maps.shape[0],
        height=height,
        width=width,
        data=pixels.tobytes(),
        low=tuple(round(v, 5) for v in low.tolist()),
        high=tuple(round(v, 5) for v in high.tolist()),
    )


def _filters(path: str, conv: nn.Conv2d) -> Filters:
    """The first filters of a conv layer, mean over input channels, 127.5 ± 127.5 · w / max|w|."""
    weight = conv.weight.detach()[:MAX_FILTERS].float().mean(dim=1)  # (n, kh, kw)
    scale = float(weight.abs().max().item()) or 1.0
    pixels = (127.5 + 127.5 * weight / scale).round().clamp(0, 255).to(torch.uint8)
    return Filters(
        path=path,
        count=conv.out_channels,
        shown=weight.shape[0],
        height=weight.shape[1],
        width=weight.shape[2],
        data=pixels.cpu().numpy().tobytes(),
        scale=round(scale, 6),
    )
