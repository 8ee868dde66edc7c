"""The events of a GAN run, beside the engine's status events.

- `step` (GanStepEvent): `loss` is the generator's, plus the discriminator's loss and its mean
  probability of "real" on real images (`d_real`) and on the generator's (`d_fake`).
- `epoch` (GanEpochEvent): every run's epoch keys (no validation: its figures are null) with
  the epoch's mean losses.
- `gan_samples`: a frame, images the generator makes of a fixed batch of noise (the same for
  the whole run): live at most every `samples_every_s`, and after each epoch one marked
  `at_epoch_end` (kept in the history).
- `gan_health`: stored; after each epoch and whenever the state changes (see health.py).
- `done` (GanDoneEvent): every run's done keys (test figures null) and the GAN's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.training.events import Event, StepEvent, WrongExample

SAMPLES_TYPE = "gan_samples"
HEALTH_TYPE = "gan_health"


@dataclass(frozen=True, slots=True, kw_only=True)
class GanStepEvent(StepEvent):
    """A point of the loss curves: means over the steps since the previous point."""

    d_loss: float
    d_real: float  # mean D(x): the discriminator's probability that a real image is real
    d_fake: float  # mean D(G(z)) at its update: the same for the generator's images


@dataclass(frozen=True, slots=True, kw_only=True)
class GanEpochEvent(Event):
    """One epoch: the generator's mean loss as `train_loss`, the discriminator's beside it."""

    type: ClassVar[str] = "epoch"
    epoch: int
    step: int
    train_loss: float  # the generator's
    d_loss: float
    d_real: float
    d_fake: float
    seconds: float
    train_seconds: float
    samples_per_s: float  # real images per second
    lr: float
    train_accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    val_count: int = 0
    best: bool = False
    confusion: tuple[tuple[int, ...], ...] = ()
    wrong: tuple[WrongExample, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GanSamplesEvent(Event):
    """What the generator makes of the fixed noise now."""

    type: ClassVar[str] = SAMPLES_TYPE
    step: int
    epoch: int
    shape: tuple[int, ...]  # one image, (C, H, W)
    count: int
    images: bytes  # (count, C, H, W) uint8, 0..255 over the generator's output range
    at_epoch_end: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GanHealthEvent(Event):
    """Whether the GAN trains well: its samples' variety against the real images', and the
    losses' swings; `message` says it for a learner."""

    type: ClassVar[str] = HEALTH_TYPE
    step: int
    epoch: int
    state: str  # "ok", "collapsed" or "oscillating"
    diversity: float  # mean pairwise L2 distance of the fixed noise's samples (pixels 0..1)
    real_diversity: float  # the same of as many real images
    ratio: float  # diversity / real_diversity
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GanDoneEvent(Event):
    """The run finished: every run's `done` keys (null where a GAN has no such figure) and
    the GAN's figures."""

    type: ClassVar[str] = "done"
    epochs: int
    steps: int
    test_loss: float | None = None
    test_accuracy: float | None = None
    test_count: int = 0
    val_accuracy: float | None = None
    val_loss: float | None = None
    best_val_accuracy: float | None = None
    best_epoch: int = 0
    early_stopped: bool = False
    seconds: float
    train_seconds: float
    samples_per_s: float
    g_loss: float | None  # the last epoch's means
    d_loss: float | None
    d_real: float | None
    d_fake: float | None
    diversity: float
    real_diversity: float
    health: str
