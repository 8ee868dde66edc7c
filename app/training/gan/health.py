"""Is the GAN healthy? Two failures a learner can see coming:

- Mode collapse: the generator makes (nearly) the same image whatever the noise. Measured by
  `diversity`, the mean pairwise L2 distance between the samples of the fixed noise (pixels
  on a 0..1 scale), against the same measure on as many real images. Collapsed: the ratio is
  below COLLAPSE_RATIO (a trained MNIST GAN stays around 0.8–1.0 of the real images' spread; a
  generator that makes one image for every z scores 0; one that makes a few lookalikes, ~0.2).
- Oscillation: the discriminator's loss swings up and down with no trend instead of settling.
  Over the last WINDOWS windows of at least WINDOW_STEPS steps each, the window means must zig
  (at least ZIGZAGS of the changes between neighbours reverse direction), swing widely (the
  mean change is at least SWING of the mean loss) and go nowhere (the first and last window
  differ by less than the mean change).

Live verdicts wait until the generator has had WARMUP_STEPS steps (an untrained one makes
near-identical grey blurs and would read as collapsed); each epoch's end gets one. A collapsed
run reads as recovered only once its ratio is RECOVERY times the threshold, so a ratio near
the threshold does not flip the state at every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import torch

COLLAPSE_RATIO = 0.3
WINDOWS = 8
WINDOW_STEPS = 25
ZIGZAGS = 5  # of WINDOWS - 2 possible reversals
SWING = 0.25
WARMUP_STEPS = 200
RECOVERY = 1.2
HEALTH_STATES = ("ok", "collapsed", "oscillating")


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance between images (N, C, H, W) in 0..1 (N ≥ 2)."""
    flat = images.detach().flatten(1).float()  # (N, C·H·W)
    return float(torch.pdist(flat).mean()) if len(flat) > 1 else 0.0


def oscillating(means: list[float]) -> bool:
    """Whether the window means of a loss swing with no trend (see the module's doc)."""
    if len(means) < WINDOWS:
        return False
    recent = means[-WINDOWS:]
    changes = [after - before for before, after in pairwise(recent)]
    reversals = sum(1 for a, b in pairwise(changes) if a * b < 0)
    swing = sum(abs(change) for change in changes) / len(changes)
    level = abs(sum(recent) / len(recent))
    return reversals >= ZIGZAGS and swing >= SWING * level and abs(recent[-1] - recent[0]) < swing


@dataclass(frozen=True)
class Verdict:
    """The health state with the numbers behind it and a sentence for a learner."""

    state: str  # one of HEALTH_STATES
    diversity: float
    real_diversity: float
    message: str

    @property
    def ratio(self) -> float:
        """The samples' spread over the real images'."""
        return self.diversity / self.real_diversity if self.real_diversity > 0 else 0.0


def judge(
    sample_diversity: float, real_diversity: float, swinging: bool, previous: str | None = None
) -> Verdict:
    """The verdict on the samples' diversity and the losses' swings (`previous`: the state
    told before, for the recovery margin)."""
    ratio = sample_diversity / real_diversity if real_diversity > 0 else 0.0
    share = f"{ratio:.0%}"
    threshold = COLLAPSE_RATIO * (RECOVERY if previous == "collapsed" else 1.0)
    if ratio < threshold:
        return Verdict(
            "collapsed",
            sample_diversity,
            real_diversity,
            f"Mode collapse: the samples look alike (their spread is {share} of the real "
            "images'). The generator has found a few images that fool the discriminator and "
            "makes them for any noise. Try a lower learning rate, label smoothing, or another "
            "seed.",
        )
    if swinging:
        return Verdict(
            "oscillating",
            sample_diversity,
            real_diversity,
            "The two networks keep trading the upper hand: the discriminator's loss swings up "
            "and down without settling. Try a lower learning rate (or a lower d_lr).",
        )
    return Verdict(
        "ok",
        sample_diversity,
        real_diversity,
        f"Healthy: the samples are varied (their spread is {share} of the real images') and "
        "the losses are not swinging.",
    )


@dataclass
class LossWindows:
    """The discriminator's loss averaged over windows of at least WINDOW_STEPS steps."""

    means: list[float] = field(default_factory=list)
    total: float = 0.0  # of the window being filled
    steps: int = 0

    def add(self, loss_sum: float, steps: int) -> None:
        """Count `steps` steps whose losses sum to `loss_sum`; close the window when full."""
        self.total += loss_sum
        self.steps += steps
        if self.steps >= WINDOW_STEPS:
            self.means = [*self.means[-(WINDOWS - 1) :], self.total / self.steps]
            self.total, self.steps = 0.0, 0

    def to_dict(self) -> dict[str, object]:
        """The plain form kept in checkpoints."""
        return {"means": list(self.means), "total": self.total, "steps": self.steps}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LossWindows:
        """The inverse of to_dict."""
        means = data.get("means") or []
        assert isinstance(means, list)
        return cls(
            [float(value) for value in means],
            float(data.get("total", 0.0)),  # type: ignore[arg-type]
            int(data.get("steps", 0)),  # type: ignore[call-overload]
        )
