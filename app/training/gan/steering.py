"""The GAN trainer's side that is not the hot loop: control (pause, resume, stop, lr), the
pictures it sends, the end of the run, and the checkpoints it writes and resumes from."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from app.training.checkpoint_meta import CheckpointMeta
from app.training.config import TrainConfig
from app.training.control import Commands, RunControl, StopKind, obey
from app.training.events import Event, SeqCounter, StatusEvent
from app.training.gan.events import GanDoneEvent
from app.training.gan.frames import GanFrames
from app.training.gan.health import WARMUP_STEPS, LossWindows
from app.training.optim import lr_factor
from app.training.outputs import TrainingError, TrainingState, TrainResult, WeightSnapshot
from app.training.task_params import GanParams

_TUNED = ("regularization", "regularization_rate")  # config fields changed while training


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class GanSteering:
    """Control, pictures, results and checkpoints of GanTrainer (which sets these fields)."""

    config: TrainConfig
    params: GanParams
    device: torch.device
    module: nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    d_lr_ratio: float
    control: RunControl
    seq: SeqCounter
    generator: torch.Generator
    frames: GanFrames
    steps_per_epoch: int
    total_steps: int
    base_lr: float
    epoch: int
    step: int
    samples: int
    train_seconds: float
    last_means: tuple[float, float, float, float] | None
    _epoch_paused: float
    _point: Any  # GanTrainer's last step point (its `time` moves on by the time paused)
    _snapshot: Callable[[WeightSnapshot], None] | None
    _checkpoint: Callable[[TrainingState], None] | None

    def _emit(self, event: Event) -> None:  # pragma: no cover (GanTrainer's)
        raise NotImplementedError

    def _emit_step(self, now: float) -> None:  # pragma: no cover (GanTrainer's)
        raise NotImplementedError

    # -- control -----------------------------------------------------------------------------

    def _obey(self) -> StopKind | None:
        """Apply what the control asks for; blocks while paused (showing what the generator
        makes while it holds). Returns a stop request."""
        stop, paused = obey(
            self.control,
            self._apply_tuning_and_stop,
            lambda: self._emit_frame(at_epoch_end=False),
            lambda status: self._emit(StatusEvent(seq=self.seq(), status=status)),
        )
        self._epoch_paused += paused
        self._point.time += paused
        return stop

    def _apply_tuning_and_stop(self, commands: Commands) -> StopKind | None:
        """A new lr scales both networks' (their ratio stays); the regularisation is kept in
        the config but a GAN trains without one (its check refuses it)."""
        tuning = commands.tuning
        if tuning is not None:
            if tuning.lr is not None:
                self.base_lr = tuning.lr
                self._set_lr()
            if tuning.regularization_changes():
                self.config = self.config.model_copy(update=tuning.regularization_changes())
        return commands.stop

    def _set_lr(self) -> None:
        factor = lr_factor(self.config, self.step, self.total_steps, self.steps_per_epoch)
        for group in self.g_optimizer.param_groups:
            group["lr"] = self.base_lr * factor
        for group in self.d_optimizer.param_groups:
            group["lr"] = self.base_lr * self.d_lr_ratio * factor

    @property
    def current_lr(self) -> float:
        """The generator's learning rate at the next step."""
        return float(self.g_optimizer.param_groups[0]["lr"])

    # -- pictures and the end ----------------------------------------------------------------

    def _emit_frame(self, *, at_epoch_end: bool) -> None:
        """Samples of the fixed noise; the health verdict after an epoch or when it changes
        (live verdicts wait WARMUP_STEPS: an untrained generator looks collapsed). The weights
        that made them are published first, so a viewer who asks for more images on seeing a
        frame finds them."""
        self._publish_snapshot()
        epoch = self.epoch if at_epoch_end else self.epoch + 1
        event, spread = self.frames.samples(self.seq, self.step, epoch, at_epoch_end)
        self._emit(event)
        if at_epoch_end or self.step >= WARMUP_STEPS:
            health = self.frames.health(self.seq, self.step, epoch, spread, always=at_epoch_end)
            if health is not None:
                self._emit(health)

    def _finish(self, started: float) -> TrainResult:
        """Save the final checkpoint and report."""
        self._save(final=True)
        result = self._result("completed", started)
        figures = result.figures or {}
        verdict = self.frames.verdict
        self._emit(
            GanDoneEvent(
                seq=self.seq(),
                epochs=result.epochs,
                steps=result.steps,
                seconds=round(result.seconds, 3),
                train_seconds=round(result.train_seconds, 3),
                samples_per_s=round(result.samples_per_s, 1),
                g_loss=figures.get("g_loss"),
                d_loss=figures.get("d_loss"),
                d_real=figures.get("d_real"),
                d_fake=figures.get("d_fake"),
                diversity=round(verdict.diversity, 4) if verdict else 0.0,
                real_diversity=round(self.frames.real_diversity, 4),
                health=verdict.state if verdict else "ok",
            )
        )
        return result

    def _result(self, status: str, started: float) -> TrainResult:
        means = self.last_means or (None, None, None, None)
        verdict = self.frames.verdict
        figures: dict[str, float | None] = {
            "g_loss": _rounded(means[0]),
            "d_loss": _rounded(means[1]),
            "d_real": _rounded(means[2]),
            "d_fake": _rounded(means[3]),
            "diversity": _rounded(verdict.diversity) if verdict else None,
            "real_diversity": round(self.frames.real_diversity, 4),
            "diversity_ratio": _rounded(verdict.ratio) if verdict else None,
        }
        return TrainResult(
            status=status,
            epochs=self.epoch,
            steps=self.step,
            seconds=time.perf_counter() - started,
            train_seconds=self.train_seconds,
            samples=self.samples,
            val_accuracy=None,
            best_val_accuracy=None,
            best_epoch=None,
            test_accuracy=None,
            test_loss=None,
            early_stopped=False,
            figures=figures,
        )

    # -- weights out and in ------------------------------------------------------------------

    def _publish_snapshot(self) -> None:
        if self._snapshot is not None:
            state = _cpu_copy(self.module.state_dict())
            self._snapshot(WeightSnapshot(self.step, self.epoch, state))

    def state(self, *, final: bool) -> TrainingState:
        """Everything needed to go on from here (an epoch's end) or to use the weights: the
        generator's optimizer is the run's, the discriminator's travels in meta["gan"]."""
        meta = CheckpointMeta(
            epoch=self.epoch,
            step=self.step,
            seq=self.seq.last,
            base_lr=self.base_lr,
            train_seconds=self.train_seconds,
            samples=self.samples,
            final=final,
            config=self.config.model_dump(mode="json"),
            cpu_rng=torch.get_rng_state(),
            permutation_rng=self.generator.get_state(),
            cuda_rng=torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
        ).to_dict()
        frames = self.frames
        meta["gan"] = {
            "d_optimizer": self.d_optimizer.state_dict(),
            "fixed_noise": frames.noise,
            "windows": frames.windows.to_dict(),
            "health": frames.state,
            "last_means": list(self.last_means) if self.last_means else None,
        }
        return TrainingState(
            model_state=dict(self.module.state_dict()),
            optimizer_state=self.g_optimizer.state_dict(),
            meta=meta,
        )

    def _save(self, *, final: bool) -> None:
        if self._checkpoint is not None:
            self._publish_snapshot()
            self._checkpoint(self.state(final=final))

    def _restore(self, state: TrainingState) -> None:
        """Go on from a checkpoint taken at an epoch's end."""
        meta = CheckpointMeta.from_dict(state.meta)
        gan: Any = state.meta.get("gan")
        if not isinstance(gan, dict) or meta.cpu_rng is None or meta.permutation_rng is None:
            raise TrainingError("the checkpoint is not one a gan run can resume from")
        self.module.load_state_dict(state.model_state)
        if state.optimizer_state is not None:
            self.g_optimizer.load_state_dict(state.optimizer_state)
        self.d_optimizer.load_state_dict(gan["d_optimizer"])
        self.frames.noise = gan["fixed_noise"].to(self.device)
        self.frames.windows = LossWindows.from_dict(gan.get("windows") or {})
        self.frames.state = gan.get("health")
        means = gan.get("last_means")
        if means:
            g, d, d_real, d_fake = (float(value) for value in means)
            self.last_means = (g, d, d_real, d_fake)
        self.epoch, self.step, self.base_lr = meta.epoch, meta.step, meta.base_lr
        self.train_seconds, self.samples = meta.train_seconds, meta.samples
        tuned = {name: meta.config[name] for name in _TUNED if name in meta.config}
        if tuned:
            self.config = self.config.model_copy(update=tuned)
        torch.set_rng_state(meta.cpu_rng.cpu())
        self.generator.set_state(meta.permutation_rng.cpu())
        if meta.cuda_rng is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(meta.cuda_rng.cpu(), self.device)
