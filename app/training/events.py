"""Typed training events: what the browser draws. Each has a per-run increasing `seq`.

`to_dict()` gives the JSON form sent to clients and stored in the metric history; uint8 pixel
payloads travel base64-encoded, one string per layer.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


class SeqCounter:
    """Hands out a run's event numbers, strictly increasing, from any thread."""

    def __init__(self, start: int = 0) -> None:
        self._next = start
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            seq = self._next
            self._next += 1
            return seq

    def advance_past(self, seq: int) -> None:
        """Hand out numbers after `seq` from now on (events numbered elsewhere, e.g. in a
        training process, keep the order)."""
        with self._lock:
            self._next = max(self._next, seq + 1)

    @property
    def last(self) -> int:
        """The last number handed out (start - 1 before the first)."""
        with self._lock:
            return self._next - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: `seq` orders a run's events, `time` is a Unix timestamp."""

    type: ClassVar[str] = "event"
    seq: int
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: {"seq", "type", "time", ...fields}."""
        data: dict[str, Any] = {"seq": self.seq, "type": self.type, "time": self.time}
        for item in fields(self):
            if item.name not in data:
                data[item.name] = _plain(getattr(self, item.name))
        return data


def _plain(value: Any) -> Any:
    """JSON-ready form of a field value (bytes → base64, tuples → lists, payloads → dicts)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusEvent(Event):
    """The run moved to `status` (queued, running, paused, completed, stopped, failed, …)."""

    type: ClassVar[str] = "status"
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEvent(Event):
    """A point of the live loss curve: means over the steps since the previous point."""

    type: ClassVar[str] = "step"
    step: int  # steps done so far, 1-based
    total_steps: int
    epoch: int  # 1-based
    epoch_progress: float  # 0..1 through this epoch
    loss: float
    accuracy: float | None  # None where the targets are values (regression), as below
    lr: float
    samples_per_s: float
    layers: tuple[LayerStat, ...] = ()  # per-layer statistics of this point's last step


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts in `len(counts)` equal bins from `low` to `high` (bin i: low + i·width …)."""

    low: float
    high: float
    counts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """{"low", "high", "counts"}."""
        return {"low": self.low, "high": self.high, "counts": list(self.counts)}


@dataclass(frozen=True, slots=True)
class LayerStat:
    """One layer at one training step: gradient and weight norms and the update-to-weight
    ratio (layers with parameters), the share of dead units (ReLU), histograms; None where
    it does not apply (left out of the JSON form)."""

    path: str  # the summary's path: "3", or "5.1" inside residual block 5
    type: str
    grad_norm: float | None = None  # ‖∇w‖ over the layer's parameters
    weight_norm: float | None = None  # ‖w‖ after the step
    update_ratio: float | None = None  # ‖Δw‖ / ‖w‖ of the step
    dead_fraction: float | None = None  # units at 0 for every sample of the batch
    weight_hist: Histogram | None = None
    act_hist: Histogram | None = None

    def to_dict(self) -> dict[str, Any]:
        """{"path", "type", …the statistics that apply}."""
        return {
            item.name: _plain(getattr(self, item.name))
            for item in fields(self)
            if getattr(self, item.name) is not None
        }


@dataclass(frozen=True, slots=True)
class WrongExample:
    """A validation digit the model got wrong with high confidence."""

    index: int  # in the validation split
    label: int
    prediction: int
    probability: float  # of the (wrong) prediction
    image: bytes  # 28×28 uint8, row-major

    def to_dict(self) -> dict[str, Any]:
        """{"index", "label", "prediction", "probability", "image": base64 uint8}."""
        return {
            "index": self.index,
            "label": self.label,
            "prediction": self.prediction,
            "probability": self.probability,
            "image": _plain(self.image),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochEvent(Event):
    """The summary of one epoch (or of the partial epoch a max_steps run ends in)."""

    type: ClassVar[str] = "epoch"
    epoch: int
    step: int
    train_loss: float
    train_accuracy: float | None
    val_loss: float
    val_accuracy: float | None
    val_count: int
    seconds: float  # wall time of the epoch, evaluation included
    train_seconds: float  # time in training steps since the run began, pauses excluded
    samples_per_s: float  # training throughput of the epoch
    lr: float
    best: bool  # the best validation accuracy (regression: loss) so far
    confusion: tuple[tuple[int, ...], ...]  # [label][prediction], C×C; () for regression
    wrong: tuple[WrongExample, ...]


@dataclass(frozen=True, slots=True)
class LayerMaps:
    """Output channels of one conv layer for the probe digit, each scaled to 0..255 on its own."""

    path: str  # the layer's path in the spec ("3", or "5.1" inside residual block 5)
    channels: int  # the layer's channels; the first `shown` travel
    shown: int
    height: int
    width: int
    data: bytes  # (shown, height, width) uint8
    low: tuple[float, ...]  # per channel: the value that became 0 …
    high: tuple[float, ...]  # … and the one that became 255

    def to_dict(self) -> dict[str, Any]:
        """{"path", "channels", "shown", "height", "width", "data": base64, "low", "high"}
        (written out: every live prediction of a drawing sends these)."""
        return {
            "path": self.path,
            "channels": self.channels,
            "shown": self.shown,
            "height": self.height,
            "width": self.width,
            "data": base64.b64encode(self.data).decode("ascii"),
            "low": list(self.low),
            "high": list(self.high),
        }


@dataclass(frozen=True, slots=True)
class Filters:
    """The first conv layer's filters (averaged over input channels), 127 = 0."""

    path: str
    count: int  # filters of the layer; the first `shown` travel
    shown: int
    height: int
    width: int
    data: bytes  # (shown, height, width) uint8: 127.5 + 127.5·w/scale
    scale: float  # the largest |w|

    def to_dict(self) -> dict[str, Any]:
        """{"path", "count", "shown", "height", "width", "data": base64, "scale"}."""
        return {item.name: _plain(getattr(self, item.name)) for item in fields(self)}


# Pictures of what the model does now (feature maps of a digit, a 2-D decision boundary, the
# cart and pole of a Q-learner's episode, a GAN's samples): a viewer needs only the newest; a
# frame marked `at_epoch_end` is kept in the history. (An autoencoder's `codes` scatter is not
# one: each epoch's is kept and none is dropped.)
FRAME_TYPES = frozenset({"feature_maps", "boundary", "reconstructions", "cartpole", "gan_samples"})


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureMapsEvent(Event):
    """What every conv layer sees of one fixed validation digit, and what the model says."""

    type: ClassVar[str] = "feature_maps"
    step: int
    epoch: int
    probe_index: int  # in the validation split
    probe_label: int
    probe_image: bytes  # 28×28 uint8
    probabilities: tuple[float, ...]  # 10
    layers: tuple[LayerMaps, ...]
    filters: Filters | None
    at_epoch_end: bool = False  # the frame taken right after an epoch (kept in the history)


@dataclass(frozen=True, slots=True, kw_only=True)
class DoneEvent(Event):
    """The run finished training: final figures, test accuracy on the held-out digits."""

    type: ClassVar[str] = "done"
    epochs: int  # epochs begun (a max_steps run may end inside one)
    steps: int
    test_loss: float
    test_accuracy: float | None
    test_count: int
    val_accuracy: float | None
    best_val_accuracy: float | None
    best_epoch: int
    early_stopped: bool
    seconds: float  # wall time of the run, evaluation included
    train_seconds: float  # time in training steps (events included, evaluation not)
    samples_per_s: float  # training throughput
    val_loss: float | None = None
