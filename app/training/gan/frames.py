"""Pictures of a GAN run: the generator's images of a fixed batch of noise, and their health."""

from __future__ import annotations

import torch
from torch import nn

from app.training.events import SeqCounter
from app.training.gan.events import GanHealthEvent, GanSamplesEvent
from app.training.gan.health import LossWindows, Verdict, diversity, judge, oscillating
from app.training.gan.parts import GanLayout

SHOWN = 64  # samples in a frame: the fixed noise's size
_NOISE_SALT = 0x6A09E667  # the fixed noise's seed differs from the training noise's


def to_unit(images: torch.Tensor, layout: GanLayout) -> torch.Tensor:
    """Images on the generator's scale → 0..1 (clipped)."""
    low, high = layout.image_range
    return images.float().sub(low).div_(high - low).clamp_(0.0, 1.0)


def to_bytes(images: torch.Tensor) -> bytes:
    """(N, C, H, W) in 0..1 → uint8 bytes, row-major."""
    return images.mul(255.0).round_().to(torch.uint8).cpu().numpy().tobytes()


def fixed_noise(seed: int, latent_dim: int, count: int = SHOWN) -> torch.Tensor:
    """The run's fixed noise (count, latent_dim): the same for a seed, whatever else runs."""
    generator = torch.Generator().manual_seed((seed ^ _NOISE_SALT) % 2**63)
    return torch.randn(count, latent_dim, generator=generator)


def generate(g_net: nn.Module, noise: torch.Tensor) -> torch.Tensor:
    """The generator's images of `noise` (N, Z) in eval mode (batch norm's running statistics,
    no dropout: nothing random, nothing updated); the module's mode is kept."""
    was_training = g_net.training
    g_net.eval()
    try:
        with torch.no_grad():
            return g_net(noise)  # type: ignore[no-any-return]
    finally:
        g_net.train(was_training)


class GanFrames:
    """The fixed noise, the real images' diversity, and the health state so far."""

    def __init__(
        self,
        g_net: nn.Module,
        layout: GanLayout,
        real: torch.Tensor,  # (N, C, H, W) on the generator's scale
        seed: int,
        device: torch.device,
    ) -> None:
        self.g_net, self.layout = g_net, layout
        self.noise = fixed_noise(seed, layout.latent_dim).to(device)  # (S, Z)
        self.real_diversity = diversity(to_unit(real[: len(self.noise)], layout))
        self.windows = LossWindows()
        self.state: str | None = None  # the last verdict told
        self.verdict: Verdict | None = None

    def samples(
        self, seq: SeqCounter, step: int, epoch: int, at_epoch_end: bool
    ) -> tuple[GanSamplesEvent, float]:
        """The samples frame and the samples' diversity."""
        images = to_unit(generate(self.g_net, self.noise), self.layout)  # (S, C, H, W)
        event = GanSamplesEvent(
            seq=seq(),
            step=step,
            epoch=epoch,
            shape=self.layout.image_shape,
            count=len(images),
            images=to_bytes(images),
            at_epoch_end=at_epoch_end,
        )
        return event, diversity(images)

    def health(
        self, seq: SeqCounter, step: int, epoch: int, sample_diversity: float, *, always: bool
    ) -> GanHealthEvent | None:
        """The verdict as an event if it changed (or `always`), else None."""
        swinging = oscillating(self.windows.means)
        verdict = judge(sample_diversity, self.real_diversity, swinging, self.state)
        self.verdict = verdict
        if not always and verdict.state == self.state:
            return None
        self.state = verdict.state
        return GanHealthEvent(
            seq=seq(),
            step=step,
            epoch=epoch,
            state=verdict.state,
            diversity=round(verdict.diversity, 4),
            real_diversity=round(verdict.real_diversity, 4),
            ratio=round(verdict.ratio, 4),
            message=verdict.message,
        )
