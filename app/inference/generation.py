"""What a GAN run's generator makes: images of given noise vectors, or of a seed's noise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from app.inference.run_models import RunModel, RunModels
from app.training.gan import GanLayout, generate, model_layout, split_gan, to_unit
from app.training.task_params import gan_params

MAX_SAMPLES = 256  # images in one answer


class NotAGanError(ValueError):
    """Images asked of a run that is no gan run, or noise of the wrong size."""


@dataclass(frozen=True)
class Generated:
    """Images a generator made, with the step its weights come from."""

    images: npt.NDArray[np.float32]  # (N, C, H, W) in 0..1
    step: int
    seed: int | None = None  # the seed the noise came from, if it did

    def to_dict(self) -> dict[str, Any]:
        """{"images": N×C×H×W in 0..1 (4 decimals), "shape": [C, H, W], "step", "seed"?}."""
        data: dict[str, Any] = {
            "images": self.images.round(4).tolist(),
            "shape": list(self.images.shape[1:]),
            "step": self.step,
        }
        if self.seed is not None:
            data["seed"] = self.seed
        return data


class Generation:
    """Runs the generators of GAN runs; safe to use from many threads."""

    def __init__(self, models: RunModels) -> None:
        self._models = models

    @staticmethod
    def layout(model: RunModel) -> GanLayout | None:
        """Where the run's model splits, or None for a run that is no GAN."""
        if gan_params(model.train_config.task) is None:
            return None
        return model_layout(model.summary)

    def _gan(self, run_id: str) -> tuple[RunModel, GanLayout]:
        model = self._models.get(run_id)
        layout = self.layout(model)
        if layout is None:
            raise NotAGanError("this run is no gan run: only a GAN's generator makes images")
        return model, layout

    def generate(self, run_id: str, noise: Sequence[Sequence[float]]) -> Generated:
        """The generator's images of the given noise vectors (each latent_dim numbers)."""
        model, layout = self._gan(run_id)
        if not 1 <= len(noise) <= MAX_SAMPLES:
            raise NotAGanError(f"send 1 to {MAX_SAMPLES} noise vectors, not {len(noise)}")
        sizes = {len(vector) for vector in noise}
        if sizes != {layout.latent_dim}:
            wrong = next(size for size in sizes if size != layout.latent_dim)
            raise NotAGanError(
                f"this generator's noise has {layout.latent_dim} numbers, got {wrong}"
            )
        return self._run(model, layout, torch.tensor(noise, dtype=torch.float32))

    def samples(self, run_id: str, count: int, seed: int) -> Generated:
        """`count` images of standard normal noise drawn from `seed` (same seed, same images
        for the same weights)."""
        model, layout = self._gan(run_id)
        if not 1 <= count <= MAX_SAMPLES:
            raise NotAGanError(f"n: ask for 1 to {MAX_SAMPLES} samples, not {count}")
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(count, layout.latent_dim, generator=generator)  # (N, Z)
        return self._run(model, layout, noise, seed)

    def _run(
        self, model: RunModel, layout: GanLayout, noise: torch.Tensor, seed: int | None = None
    ) -> Generated:
        with model.lock, torch.inference_mode():
            step = model.snapshot.step
            g_net, _ = split_gan(model.module, layout)
            images = to_unit(generate(g_net, noise), layout)  # (N, C, H, W)
        return Generated(images.numpy(), step, seed)
