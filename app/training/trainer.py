"""The training loop: plain synchronous PyTorch, with throttled events and live control.

The hot loop does what a hand-written loop does (slice a permutation, forward, backward, step)
plus two on-device additions per step (loss and correct-count sums). Values are read back to
the host only when an event is due: a step point at most every `Throttle.step_s`, feature maps
at most every `Throttle.feature_maps_s`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from app.nn import BuiltModel
from app.training.checkpoint_meta import CheckpointMeta
from app.training.config import TrainConfig
from app.training.control import Commands, RunControl, StopKind, obey
from app.training.data import DeviceData, DeviceSplit, epoch_batches
from app.training.evaluate import Evaluation, evaluate
from app.training.events import (
    DoneEvent,
    EpochEvent,
    Event,
    FeatureMapsEvent,
    SeqCounter,
    StatusEvent,
    StepEvent,
)
from app.training.freezing import trainable_parameters
from app.training.layer_stats import LayerStats
from app.training.objectives import objective_for
from app.training.optim import lr_factor, make_loss, make_optimizer, weight_penalty
from app.training.outputs import (
    Throttle,
    TrainingError,
    TrainingState,
    TrainResult,
    WeightSnapshot,
)
from app.training.probe import FeatureProbe

EmitFunction = Callable[[Event], None]
_TUNED = ("regularization", "regularization_rate")  # config fields changed while training


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}


def _match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give loaded optimizer state its parameter's memory layout (e.g. channels-last).

    Fused optimizers walk a parameter and its state buffers as flat memory: a contiguous
    buffer beside a channels-last parameter would be read in the wrong order.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for key, value in state.items():
                if (
                    isinstance(value, torch.Tensor)
                    and value.shape == param.shape
                    and value.stride() != param.stride()
                ):
                    state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class _Progress:
    """Counters since the last step event (host-side numbers only)."""

    time: float = 0.0
    step: int = 0
    samples: int = 0
    loss_sum: float = 0.0
    correct: float = 0.0


@dataclass
class _EpochState:
    """Running sums of the epoch in flight; the sums stay on the device until an event."""

    started: float
    start_step: int
    loss_sum: torch.Tensor  # () sum of batch mean losses
    correct: torch.Tensor  # () int64 (stays 0 for regression)
    progress: _Progress
    samples: int = 0
    paused_seconds: float = 0.0
    train_seconds: float = 0.0  # in training steps, pauses excluded (set when the epoch ends)

    @classmethod
    def begin(cls, step: int, device: torch.device) -> _EpochState:
        now = time.perf_counter()
        return cls(
            started=now,
            start_step=step,
            loss_sum=torch.zeros((), device=device),
            correct=torch.zeros((), dtype=torch.int64, device=device),
            progress=_Progress(time=now, step=step),
        )


@dataclass
class _Best:
    """Early-stopping bookkeeping: the best validation score (accuracy, or -loss for
    regression) and that epoch's accuracy."""

    score: float | None = None
    accuracy: float | None = None
    epoch: int | None = None
    stale_epochs: int = 0
    state: dict[str, torch.Tensor] | None = field(default=None, repr=False)


class FrameSource(Protocol):
    """Pictures of what the model does now where there are no class feature maps (a 2-D
    decision boundary, an autoencoder's reconstructions); called at most every
    Throttle.feature_maps_s, like the feature maps, and after an epoch: after each one when
    `each_epoch`, else when the throttle allows (a 2-D run's epochs take milliseconds)."""

    each_epoch: bool

    def frames(self, seq: SeqCounter, step: int, epoch: int, at_epoch_end: bool) -> list[Event]:
        """The events to send, numbered by `seq`; the model is in training mode and must be
        left so."""


class Trainer:
    """Trains one built model on a dataset's tensors; `run()` blocks until the run ends."""

    def __init__(
        self,
        built: BuiltModel,
        config: TrainConfig,
        data: DeviceData,
        *,
        control: RunControl | None = None,
        emit: EmitFunction | None = None,
        seq: SeqCounter | None = None,
        checkpoint: Callable[[TrainingState], None] | None = None,
        snapshot: Callable[[WeightSnapshot], None] | None = None,
        resume: TrainingState | None = None,
        throttle: Throttle | None = None,
        feature_maps: bool = True,
        frames: FrameSource | None = None,
        layer_stats: bool = True,
    ) -> None:
        self.config = config
        self.data = data
        self.device = data.device
        self.module: nn.Sequential = built.module.to(self.device)
        if config.channels_last:  # 4-D weights channels-last: conv outputs become NHWC
            self.module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.control = control or RunControl()
        self.seq = seq or SeqCounter()
        self._emit_event = emit
        self._checkpoint = checkpoint
        self._snapshot = snapshot
        self.throttle = throttle or Throttle()
        trainable = trainable_parameters(self.module, config.frozen)  # frozen layers: no grad
        self.optimizer = make_optimizer(trainable, config, self.device)
        self._loss = make_loss(config)
        self._objective = objective = objective_for(config, data.kind)
        # (N,) class indices, (N, C) one-hot rows for mse, (N, 1) values (regression), or the
        # inputs themselves (an autoencoder's)
        train = data.train
        self._targets = objective.targets(config, train.inputs, train.labels, data.num_classes)
        self._probe = (
            FeatureProbe(
                self.module,
                built.summary,
                data.validation,
                config.probe_index,
                config.loss,
                config.precision,
            )
            if feature_maps and data.validation.images is not None and objective.counts_hits
            else None
        )
        self._frames = frames if feature_maps and self._probe is None else None
        self._layer_stats = (
            LayerStats(self.module, built.summary, histograms_s=self.throttle.histograms_s)
            if layer_stats
            else None
        )
        self.steps_per_epoch = -(-len(data.train) // config.batch_size)
        self.total_steps = config.total_steps(len(data.train))
        self.base_lr = config.lr
        self.epoch = 0  # epochs completed
        self.step = 0  # steps completed
        self.train_seconds = 0.0
        self.samples = 0
        self._best = _Best()
        self._generator = torch.Generator().manual_seed(config.seed)
        self._last_validation: Evaluation | None = None
        self._next_step_event = self._next_maps = 0.0  # the first step makes a point and a frame
        self._next_checkpoint = time.perf_counter() + self.throttle.checkpoint_s
        self._current = _EpochState.begin(self.step, self.device)
        self._step_offset = 0  # a branch's step count minus the schedule's (batch size changed)
        if resume is not None:
            self._restore(resume)
        else:
            torch.manual_seed(config.seed)  # dropout and other random layers
        self._set_lr(self.step)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> TrainResult:
        """Train until the last epoch, max_steps, early stopping, or a stop/interrupt request."""
        started = time.perf_counter()
        early_stopped = False
        self.module.train()
        while self.epoch < self.config.epochs and not self._step_limit_reached():
            epoch_started = time.perf_counter()
            stop = self._train_epoch()
            if stop is StopKind.INTERRUPT:
                return self._result("interrupted", started, early_stopped)
            if stop is StopKind.STOP:
                self._save(final=True)
                return self._result("stopped", started, early_stopped)
            early_stopped = self._end_epoch(epoch_started)
            if early_stopped:
                break
        return self._finish(started, early_stopped)

    def _train_epoch(self) -> StopKind | None:
        """One pass over the (permuted) training digits; returns a stop request if one came."""
        train, config, control = self.data.train, self.config, self.control
        pictures = self._probe is not None or self._frames is not None
        inputs, labels, targets = train.inputs, train.labels, self._targets
        scheduled, corrupt = config.schedule != "none", self._objective.corrupt
        count_hits = self._objective.hits if self._objective.counts_hits else None
        train_step = self._step_function()
        batches = epoch_batches(len(train), config.batch_size, self._generator, self.device)
        epoch = self._current = _EpochState.begin(self.step, self.device)
        next_step_event, next_maps = self._next_step_event, self._next_maps
        stop: StopKind | None = None
        for index in batches:  # (B,) indices into the training split
            if control.pending:
                stop = self._obey()
                if stop is not None:
                    break
                train_step = self._step_function()  # the regularisation may have changed
                next_step_event = 0.0  # show the effect of a command at once
            if scheduled:
                self._set_lr(self.step)
            batch_targets = targets.index_select(0, index)  # (B,), (B, C) or (B, 1)
            batch_inputs = inputs.index_select(0, index)  # (B, *input_shape)
            if corrupt is not None:
                batch_inputs = corrupt(batch_inputs, config)
            due = self._point_due(next_step_event)  # a point after this step
            outputs, loss = train_step(batch_inputs, batch_targets)
            epoch.loss_sum += loss.detach()
            if count_hits is not None:
                batch_labels = batch_targets if targets is labels else labels.index_select(0, index)
                epoch.correct += count_hits(outputs, batch_labels)
            self.step += 1
            epoch.samples += index.shape[0]
            now = time.perf_counter()
            if due:
                self._emit_step(now)
                next_step_event = now + self.throttle.step_s
            if pictures and now >= next_maps:
                self._emit_feature_maps()
                self._publish_snapshot()
                next_maps = time.perf_counter() + self.throttle.feature_maps_s
            if self._step_limit_reached():
                break
        self._next_step_event, self._next_maps = next_step_event, next_maps
        _synchronize(self.device)
        now = time.perf_counter()
        epoch.train_seconds = now - epoch.started - epoch.paused_seconds
        self.train_seconds += epoch.train_seconds
        self.samples += epoch.samples
        if stop is None and self.step > epoch.progress.step:
            self._emit_step(now)  # the epoch's last point
        return stop

    def _step_function(
        self,
    ) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """train_step(inputs, targets) → (outputs, loss): forward, backward, optimizer step."""
        module, optimizer, loss_function = self.module, self.optimizer, self._loss
        bf16, device_type = self.config.precision == "bf16", self.device.type
        penalty = weight_penalty(self.config, module)

        def train_step(
            inputs: torch.Tensor, targets: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            if bf16:
                with torch.autocast(device_type, dtype=torch.bfloat16):
                    outputs = module(inputs)  # (B, 10)
                    loss = loss_function(outputs, targets)
            else:
                outputs = module(inputs)  # (B, 10)
                loss = loss_function(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            total = loss if penalty is None else loss + penalty()  # the reported loss: data only
            total.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            return outputs, loss

        return train_step

    def _end_epoch(self, epoch_started: float) -> bool:
        """Validate, report the epoch, track the best epoch, checkpoint; True to stop early."""
        self.epoch += 1
        epoch = self._current
        steps = max(self.step - epoch.start_step, 1)
        train_loss = epoch.loss_sum.item() / steps
        self._check_finite(train_loss)
        validation = self._evaluate(self.data.validation)
        self._last_validation = validation
        best = self._best
        improved = best.score is None or validation.score > best.score
        if improved:
            best.score, best.accuracy = validation.score, validation.accuracy
            best.epoch, best.stale_epochs = self.epoch, 0
            if self._keeps_best_weights():
                best.state = _cpu_copy(self.module.state_dict())
        else:
            best.stale_epochs += 1
        epoch_seconds = time.perf_counter() - epoch_started - epoch.paused_seconds
        self._emit(
            EpochEvent(
                seq=self.seq(),
                epoch=self.epoch,
                step=self.step,
                train_loss=train_loss,
                train_accuracy=self._accuracy(epoch.correct, epoch.samples),
                val_loss=validation.loss,
                val_accuracy=validation.accuracy,
                val_count=validation.count,
                seconds=round(epoch_seconds, 3),
                train_seconds=round(self.train_seconds, 3),
                samples_per_s=round(epoch.samples / max(epoch.train_seconds, 1e-9), 1),
                lr=self.current_lr,
                best=improved,
                confusion=validation.confusion,
                wrong=validation.wrong,
            )
        )
        now = time.perf_counter()
        patience = self.config.early_stopping_patience
        stop_early = patience is not None and best.stale_epochs >= patience
        last = stop_early or self.epoch >= self.config.epochs or self._step_limit_reached()
        frames = self._frames
        each_epoch = self._probe is not None or (frames is not None and frames.each_epoch)
        pictured = each_epoch or last or now >= self._next_maps
        if pictured:  # tiny epochs: throttled
            self._emit_feature_maps(at_epoch_end=True)
            self._next_maps = now + self.throttle.feature_maps_s
        saved = last or self.epoch == 1 or now >= self._next_checkpoint  # first: to branch from
        if pictured or saved:
            self._publish_snapshot()
        if saved:
            self._save(final=False)
            self._next_checkpoint = time.perf_counter() + self.throttle.checkpoint_s
        return stop_early

    def _finish(self, started: float, early_stopped: bool) -> TrainResult:
        """Restore the best weights if asked, test, report and save the final checkpoint."""
        best = self._best
        restored = best.state is not None and best.epoch != self.epoch
        if restored and best.state is not None:
            self.module.load_state_dict(best.state)
            self._last_validation = self._evaluate(self.data.validation)
        test = self._evaluate(self.data.test)
        if restored:
            self._emit_feature_maps(at_epoch_end=True)
        self._publish_snapshot()
        self._save(final=True)
        result = self._result("completed", started, early_stopped, test)
        self._emit(
            DoneEvent(
                seq=self.seq(),
                epochs=result.epochs,
                steps=result.steps,
                test_loss=test.loss,
                test_accuracy=test.accuracy,
                test_count=test.count,
                val_accuracy=result.val_accuracy,
                val_loss=result.val_loss,
                best_val_accuracy=result.best_val_accuracy,
                best_epoch=result.best_epoch or 0,
                early_stopped=early_stopped,
                seconds=round(result.seconds, 3),
                train_seconds=round(result.train_seconds, 3),
                samples_per_s=round(result.samples_per_s, 1),
            )
        )
        return result

    def _evaluate(self, split: DeviceSplit) -> Evaluation:
        data = self.data
        return evaluate(
            self.module, split, self.config, self.device, data.num_classes, self._objective
        )

    def _accuracy(self, correct: torch.Tensor | float, samples: int) -> float | None:
        """Right answers / samples (reads back), or None where targets are values."""
        if not self._objective.counts_hits:
            return None
        return float(correct) / max(samples, 1)

    def _result(
        self, status: str, started: float, early_stopped: bool, test: Evaluation | None = None
    ) -> TrainResult:
        validation = self._last_validation
        return TrainResult(
            status=status,
            epochs=self.epoch,
            steps=self.step,
            seconds=time.perf_counter() - started,
            train_seconds=self.train_seconds,
            samples=self.samples,
            val_accuracy=validation.accuracy if validation else None,
            val_loss=validation.loss if validation else None,
            best_val_accuracy=self._best.accuracy,
            best_epoch=self._best.epoch,
            test_accuracy=test.accuracy if test else None,
            test_loss=test.loss if test else None,
            early_stopped=early_stopped,
        )

    # -- control -----------------------------------------------------------------------------

    def _obey(self) -> StopKind | None:
        """Apply what the control asks for; blocks while paused. Returns a stop request."""
        stop, paused = obey(
            self.control, self._apply_tuning_and_stop, self._picture_at_pause, self._announce
        )
        self._current.paused_seconds += paused
        self._current.progress.time += paused
        return stop

    def _picture_at_pause(self) -> None:
        if self._frames is not None:  # the picture of the weights it holds at
            self._emit_feature_maps()

    def _announce(self, status: str) -> None:
        self._emit(StatusEvent(seq=self.seq(), status=status))

    def _apply_tuning_and_stop(self, commands: Commands) -> StopKind | None:
        """Take new settings at once (the caller remakes its step function); hand back a stop
        request, if any."""
        tuning = commands.tuning
        if tuning is not None:
            if tuning.lr is not None:
                self.base_lr = tuning.lr
                self._set_lr(self.step)
            if tuning.regularization_changes():
                self.config = self.config.model_copy(update=tuning.regularization_changes())
        return commands.stop

    def _set_lr(self, step: int) -> None:
        offset = self._step_offset
        factor = lr_factor(
            self.config, step - offset, self.total_steps - offset, self.steps_per_epoch
        )
        lr = self.base_lr * factor
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @property
    def current_lr(self) -> float:
        """The learning rate the next step uses."""
        return float(self.optimizer.param_groups[0]["lr"])

    def _step_limit_reached(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def _keeps_best_weights(self) -> bool:
        return self.config.early_stopping_patience is not None and self.config.restore_best

    # -- events ------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self._emit_event is not None:
            self._emit_event(event)

    def _point_due(self, next_step_event: float) -> bool:
        """Whether the step about to be taken makes a point; if so the layer statistics are
        armed for it (no other step pays for them)."""
        due = time.perf_counter() >= next_step_event
        if due and self._layer_stats is not None:
            self._layer_stats.arm()
        return due

    def _emit_step(self, now: float) -> None:
        """A point of the loss curve over the steps since the previous point (reads back),
        with the per-layer statistics of its last step where they were armed."""
        stats = self._layer_stats
        layers = stats.collect() if stats is not None else ()
        epoch = self._current
        loss_total, correct_total = epoch.loss_sum.item(), float(epoch.correct.item())
        progress = epoch.progress
        steps = self.step - progress.step
        samples = epoch.samples - progress.samples
        loss = (loss_total - progress.loss_sum) / max(steps, 1)
        self._check_finite(loss)
        elapsed = max(now - progress.time, 1e-9)
        self._emit(
            StepEvent(
                seq=self.seq(),
                step=self.step,
                total_steps=self.total_steps,
                epoch=self.epoch + 1,
                epoch_progress=round((self.step - epoch.start_step) / self.steps_per_epoch, 4),
                loss=loss,
                accuracy=self._accuracy(correct_total - progress.correct, samples),
                lr=self.current_lr,
                samples_per_s=round(samples / elapsed, 1),
                layers=layers,
            )
        )
        epoch.progress = _Progress(now, self.step, epoch.samples, loss_total, correct_total)

    def _emit_feature_maps(self, *, at_epoch_end: bool = False) -> None:
        """A frame of pictures: feature maps of the probe digit, or the run's own frames."""
        probe = self._probe
        if probe is None:
            if self._frames is not None:
                epoch = self.epoch if at_epoch_end else self.epoch + 1
                for event in self._frames.frames(self.seq, self.step, epoch, at_epoch_end):
                    self._emit(event)
            return
        result = probe.capture()
        self._emit(
            FeatureMapsEvent(
                seq=self.seq(),
                step=self.step,
                epoch=self.epoch if at_epoch_end else self.epoch + 1,
                probe_index=probe.index,
                probe_label=probe.label,
                probe_image=probe.image,
                probabilities=result.probabilities,
                layers=result.layers,
                filters=result.filters,
                at_epoch_end=at_epoch_end,
            )
        )

    def _check_finite(self, loss: float) -> None:
        if not math.isfinite(loss):
            raise TrainingError(
                f"the loss diverged (NaN/infinite: {loss}) at step {self.step} "
                f"(epoch {self.epoch + 1}); the learning rate ({self.current_lr:g}) is probably "
                "too high"
            )

    # -- weights out and in ------------------------------------------------------------------

    def _publish_snapshot(self) -> None:
        if self._snapshot is not None:
            state = _cpu_copy(self.module.state_dict())
            self._snapshot(WeightSnapshot(self.step, self.epoch, state))

    def state(self, *, final: bool) -> TrainingState:
        """Everything needed to go on from here (at an epoch boundary) or to use the weights."""
        best = self._best
        meta = CheckpointMeta(
            epoch=self.epoch,
            step=self.step,
            seq=self.seq.last,
            base_lr=self.base_lr,
            train_seconds=self.train_seconds,
            samples=self.samples,
            best_val_accuracy=best.accuracy,
            best_score=best.score,
            best_epoch=best.epoch,
            stale_epochs=best.stale_epochs,
            final=final,
            config=self.config.model_dump(),
            cpu_rng=torch.get_rng_state(),
            permutation_rng=self._generator.get_state(),
            cuda_rng=torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            best_model_state=best.state if best.epoch != self.epoch else None,
        )
        return TrainingState(
            model_state=dict(self.module.state_dict()),
            optimizer_state=self.optimizer.state_dict(),
            meta=meta.to_dict(),
        )

    def _save(self, *, final: bool) -> None:
        if self._checkpoint is not None:
            self._checkpoint(self.state(final=final))

    def _restore(self, state: TrainingState) -> None:
        """Continue from a checkpoint taken at the end of an epoch."""
        meta = CheckpointMeta.from_dict(state.meta)
        self.module.load_state_dict(state.model_state)
        if state.optimizer_state is not None:
            self.optimizer.load_state_dict(state.optimizer_state)
            _match_parameter_layouts(self.optimizer)
        self.epoch, self.step, self.base_lr = meta.epoch, meta.step, meta.base_lr
        offset = meta.step - meta.epoch * self.steps_per_epoch  # 0 unless a branch's batch size
        self._step_offset = offset  # changed: the schedule goes on from the branch point
        self.total_steps = min(self.total_steps + offset, self.config.max_steps or 1 << 62)
        tuned = {name: meta.config[name] for name in _TUNED if name in meta.config}
        self.config = self.config.model_copy(update=tuned)  # as changed while it trained
        self.train_seconds, self.samples = meta.train_seconds, meta.samples
        score = meta.best_score if meta.best_score is not None else meta.best_val_accuracy
        self._best = _Best(
            score=score,
            accuracy=meta.best_val_accuracy,
            epoch=meta.best_epoch,
            stale_epochs=meta.stale_epochs,
        )
        if self._keeps_best_weights():
            best_state = meta.best_model_state
            self._best.state = (
                _cpu_copy(best_state) if best_state else _cpu_copy(self.module.state_dict())
            )
        if meta.cpu_rng is None or meta.permutation_rng is None:
            raise TrainingError("the checkpoint lacks the random states needed to resume")
        torch.set_rng_state(meta.cpu_rng.cpu())
        self._generator.set_state(meta.permutation_rng.cpu())
        if meta.cuda_rng is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(meta.cuda_rng.cpu(), self.device)
