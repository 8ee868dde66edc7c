"""What a 2-D model does now, as TensorFlow Playground draws it: a frame source for the trainer.

One forward pass over a fixed grid of the plane (the output's picture and, on a coarser grid,
every hidden unit's) in eval mode without gradients; the model's mode is restored. The frame is
small: the output as resolution² uint8, each hidden unit as neuron_side² uint8, the weights of
small nets as rounded floats, and the problem's points as int16.

The points (train then test, exactly those the run trains and is tested on: the problem is drawn
from its seed) travel in every live frame (throttled, never stored) and in the first frame taken
at an epoch end (stored, so a replay of the history has them); later epoch-end frames, one per
epoch and all stored, leave them out.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from app.data.dataset import TaskKind
from app.data.planar import EXTENT, PLANAR_PROBLEMS, PlanarParams, generate, plane_grid
from app.nn import ModelSummary
from app.training.events import Event, SeqCounter
from app.training.optim import probabilities

RESOLUTION = 64  # the output's picture: RESOLUTION² points of [-EXTENT, EXTENT]²
NEURON_SIDE = 16  # each hidden unit's picture (TF Playground's are 10×10)
MAX_NEURONS = 64  # hidden units pictured per frame, shared fairly between the layers
MAX_WEIGHTS = 2000  # weights + biases sent; a bigger net's frames leave them out
POINT_SCALE = 1000  # point coordinates travel as int16 thousandths (±32.767)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class NeuronMaps:
    """The hidden units of one layer over the plane: 127.5 + 127.5·v/m, each with its own m."""

    path: str  # the linear layer whose units these are
    source: str  # the layer whose output was pictured (its activation, or the linear layer)
    units: int  # the layer's units; the first `shown` travel
    shown: int
    data: bytes  # (shown, side, side) uint8, rows top (x2 = +extent) first
    scale: tuple[float, ...]  # per unit: m, the largest |value| over the grid

    def to_dict(self) -> dict[str, Any]:
        """{"path", "source", "units", "shown", "data": base64, "scale"}."""
        return {
            "path": self.path,
            "source": self.source,
            "units": self.units,
            "shown": self.shown,
            "data": _b64(self.data),
            "scale": list(self.scale),
        }


@dataclass(frozen=True, slots=True)
class LayerWeights:
    """One linear layer's weights, rounded: weight[j][i] joins input i to unit j."""

    path: str
    inputs: int
    outputs: int
    weight: tuple[tuple[float, ...], ...]  # (outputs, inputs)
    bias: tuple[float, ...] | None

    def to_dict(self) -> dict[str, Any]:
        """{"path", "inputs", "outputs", "weight": [[...]], "bias": [...] | null}."""
        return {
            "path": self.path,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "weight": [list(row) for row in self.weight],
            "bias": list(self.bias) if self.bias is not None else None,
        }


@dataclass(frozen=True, slots=True)
class BoundaryPoints:
    """The problem's points: the first `train` are the training split, the next `test` the test
    split. Coordinates are int16 little-endian x1, x2 pairs; x = value · scale."""

    train: int
    test: int
    scale: float
    xy: bytes  # (train + test, 2) int16 LE
    labels: bytes  # (train + test,) uint8 class index (0: "-1", 1: "+1"); regression: sign
    values: bytes | None = None  # regression: (train + test,) uint8, 127.5 + 127.5·value (-1..1)

    def to_dict(self) -> dict[str, Any]:
        """{"train", "test", "scale", "xy": base64, "labels": base64, "values": base64|null}."""
        return {
            "train": self.train,
            "test": self.test,
            "scale": self.scale,
            "xy": _b64(self.xy),
            "labels": _b64(self.labels),
            "values": None if self.values is None else _b64(self.values),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundaryEvent(Event):
    """A 2-D model's decision boundary, hidden units and weights, as TF Playground shows them.

    Pictures are row-major with the top row at x2 = +extent and the left column at
    x1 = -extent, both edges included.
    """

    type: ClassVar[str] = "boundary"
    step: int
    epoch: int
    at_epoch_end: bool = False  # the frame taken right after an epoch (kept in the history)
    features: tuple[str, ...]  # the model's inputs, in order (x1, x2, x1^2, …)
    extent: float = EXTENT
    resolution: int
    output_kind: str  # "probability" (of class "+1") or "value" (regression, -1..1)
    output: bytes  # (resolution, resolution) uint8: probability·255, or (value+1)·127.5
    neuron_side: int
    neuron_limit: int  # at most this many hidden units travel
    neurons_total: int  # hidden units of the model
    neurons: tuple[NeuronMaps, ...]
    weights: tuple[LayerWeights, ...] | None  # None: more than MAX_WEIGHTS numbers
    points: BoundaryPoints | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: bytes base64-encoded, nested parts as their own dicts."""
        data: dict[str, Any] = {"seq": self.seq, "type": self.type, "time": self.time}
        for item in fields(self):
            if item.name in data:
                continue
            value = getattr(self, item.name)
            if isinstance(value, bytes):
                value = _b64(value)
            elif isinstance(value, tuple) and item.name in ("neurons", "weights"):
                value = [part.to_dict() for part in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, BoundaryPoints):
                value = value.to_dict()
            data[item.name] = value
        return data


@dataclass(frozen=True)
class _Hidden:
    """Where one hidden layer's units are read: the output of top-level layer `index`."""

    path: str  # the linear layer
    index: int  # the layer whose output is read (the last before the next linear layer)
    units: int
    shown: int = field(default=0)


def hidden_layers(summary: ModelSummary) -> list[_Hidden]:
    """Every linear layer but the last, with the output that holds its units: the input of the
    next linear layer (after its activation, if any)."""
    rows = summary.layers
    linear = [row.index for row in rows if row.type == "linear"]
    found = []
    for this, following in itertools.pairwise(linear):
        read = rows[following - 1]
        if len(read.output_shape) == 1:
            found.append(_Hidden(rows[this].path, read.index, read.output_shape[0]))
    return found


def fair_share(counts: list[int], limit: int) -> list[int]:
    """How many of each layer's units to show: min(count, t) with the largest t that fits."""
    if sum(counts) <= limit:
        return list(counts)
    cap = 0
    while sum(min(count, cap + 1) for count in counts) <= limit:
        cap += 1
    return [min(count, cap) for count in counts]


class BoundaryProbe:
    """Frames of a 2-D model; `frames()` makes it the trainer's FrameSource."""

    each_epoch = False  # epochs of milliseconds: throttled like the live frames

    def __init__(
        self,
        module: nn.Sequential,
        summary: ModelSummary,
        params: PlanarParams,
        *,
        resolution: int = RESOLUTION,
        neuron_side: int = NEURON_SIDE,
        loss: str = "cross_entropy",
    ) -> None:
        self.module = module
        self.params = params
        self.resolution = resolution
        self.neuron_side = neuron_side
        self._loss = loss
        self._regression = PLANAR_PROBLEMS[params.name].kind is TaskKind.REGRESSION
        layers = hidden_layers(summary)
        shown = fair_share([layer.units for layer in layers], MAX_NEURONS)
        self._hidden = [
            _Hidden(layer.path, layer.index, layer.units, count)
            for layer, count in zip(layers, shown, strict=True)
        ]
        self._paths = [row.path for row in summary.layers]
        self._linear = [
            (row.path, layer)
            for row, layer in zip(summary.layers, module, strict=False)
            if row.type == "linear" and isinstance(layer, nn.Linear)
        ]
        numbers = sum(layer.weight.numel() + layer.out_features for _, layer in self._linear)
        self._send_weights = numbers <= MAX_WEIGHTS
        grid, _ = plane_grid(params, resolution)  # (R², F)
        small, _ = plane_grid(params, neuron_side)  # (S², F)
        self._grid = torch.cat([grid, small])  # one forward pass for both pictures
        self._grids: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
        self._points = _points(params)
        self._stored_points = False  # an epoch-end frame (stored) carried the points

    def _inputs(self, like: torch.Tensor | None) -> torch.Tensor:
        """The grid on the module's device and in its dtype (cached per device and dtype)."""
        device = like.device if like is not None else torch.device("cpu")
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.float32
        key = (device, dtype)
        cached = self._grids.get(key)
        if cached is None:
            cached = self._grids[key] = self._grid.to(device=device, dtype=dtype)
        return cached

    def frames(self, seq: SeqCounter, step: int, epoch: int, at_epoch_end: bool) -> list[Event]:
        """The trainer's frame source: one frame (see `frame`)."""
        return [self.frame(seq(), step, epoch, at_epoch_end)]

    def frame(self, seq: int, step: int, epoch: int, at_epoch_end: bool) -> BoundaryEvent:
        """The model's pictures now; the module's training mode is left as it was."""
        output, neurons = self._capture()
        send_points = not at_epoch_end or not self._stored_points
        if at_epoch_end:
            self._stored_points = True
        return BoundaryEvent(
            seq=seq,
            step=step,
            epoch=epoch,
            at_epoch_end=at_epoch_end,
            features=tuple(self.params.features),
            resolution=self.resolution,
            output_kind="value" if self._regression else "probability",
            output=output,
            neuron_side=self.neuron_side,
            neuron_limit=MAX_NEURONS,
            neurons_total=sum(layer.units for layer in self._hidden),
            neurons=neurons,
            weights=self._weights() if self._send_weights else None,
            points=self._points if send_points else None,
        )

    @torch.no_grad()
    def _capture(self) -> tuple[bytes, tuple[NeuronMaps, ...]]:
        """One forward pass over both grids: the output picture and the hidden units'."""
        parameter = next(self.module.parameters(), None)
        x = self._inputs(parameter)  # (R² + S², F)
        reads = {layer.index for layer in self._hidden}
        kept: dict[int, torch.Tensor] = {}
        was_training = self.module.training
        self.module.eval()
        try:
            for index, part in enumerate(self.module):
                x = part(x)
                if index in reads:
                    kept[index] = x
        finally:
            self.module.train(was_training)
        cells = self.resolution**2
        # A few thousand numbers: one copy to the host, then numpy (faster than torch's ops
        # on arrays this small).
        level = self._level(x[:cells])  # (R²,) 0..255
        hidden = [kept[layer.index][cells:, : layer.shown] for layer in self._hidden]
        values = torch.cat(hidden, dim=1).float().cpu().numpy() if hidden else None  # (S², n)
        output = np.rint(level).clip(0, 255).astype(np.uint8).tobytes()
        if values is None:
            return output, ()
        scale = np.maximum(np.abs(values).max(axis=0), np.float32(1e-6))  # (n,)
        pixels = np.rint(127.5 + values * (np.float32(127.5) / scale)).clip(0, 255)
        pixels = np.ascontiguousarray(pixels.astype(np.uint8).T)  # (n, S²), unit by unit
        neurons, first = [], 0
        for layer in self._hidden:
            last = first + layer.shown
            neurons.append(
                NeuronMaps(
                    path=layer.path,
                    source=self._paths[layer.index],
                    units=layer.units,
                    shown=layer.shown,
                    data=pixels[first:last].tobytes(),
                    scale=tuple(_round(v) for v in scale[first:last].tolist()),
                )
            )
            first = last
        return output, tuple(neurons)

    def _level(self, outputs: torch.Tensor) -> NDArray[np.float32]:
        """(R², outputs) → (R²,) 0..255: P(class "+1"), or a regression value -1..1."""
        if self._regression or outputs.shape[1] == 1:
            value = outputs[:, 0].float().cpu().numpy()
            level: NDArray[np.float32] = (np.clip(value, -1.0, 1.0) + 1.0) * np.float32(127.5)
            return level
        if outputs.shape[1] == 2 and self._loss == "cross_entropy":
            # softmax of two scores = the logistic function of their difference
            scores = outputs.float().cpu().numpy()
            difference = scores[:, 1] - scores[:, 0]
            logistic: NDArray[np.float32] = np.float32(255.0) / (1.0 + np.exp(-difference))
            return logistic
        probs: NDArray[np.float32] = probabilities(outputs, self._loss)[:, 1].cpu().numpy()
        return probs * np.float32(255.0)

    def _weights(self) -> tuple[LayerWeights, ...]:
        """Every linear layer's weights and biases, rounded to 4 decimals."""
        found = []
        for path, layer in self._linear:
            weight = layer.weight.detach().to("cpu", torch.float64).numpy().round(4)
            bias = layer.bias
            found.append(
                LayerWeights(
                    path=path,
                    inputs=layer.in_features,
                    outputs=layer.out_features,
                    weight=tuple(tuple(row) for row in weight.tolist()),
                    bias=(
                        tuple(bias.detach().to("cpu", torch.float64).numpy().round(4).tolist())
                        if bias is not None
                        else None
                    ),
                )
            )
        return tuple(found)


def _round(value: float) -> float:
    return float(f"{value:.5g}")


def _points(params: PlanarParams) -> BoundaryPoints:
    """The run's own train and test points (the same seed draws the same points)."""
    data = generate(params.model_copy(update={"features": ("x1", "x2")}))
    coords = torch.cat([data.train.inputs, data.test.inputs]).numpy()  # (N, 2) x1, x2
    targets = torch.cat([data.train.targets, data.test.targets]).numpy()  # (N,)
    scaled = np.clip(np.rint(coords * POINT_SCALE), -32767, 32767).astype("<i2")
    values = None
    if data.kind is TaskKind.REGRESSION:
        values = np.rint(127.5 + 127.5 * np.clip(targets, -1.0, 1.0)).astype(np.uint8).tobytes()
    return BoundaryPoints(
        train=len(data.train),
        test=len(data.test),
        scale=1.0 / POINT_SCALE,
        xy=scaled.tobytes(),
        labels=(targets > 0).astype(np.uint8).tobytes(),
        values=values,
    )
