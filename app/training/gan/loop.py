"""The GAN loop: per batch a discriminator update (or `d_steps`) then a generator update.

Per step it does what a hand-written DCGAN loop does (slice a permutation of the real images,
fresh noise, D on real and on detached fakes, D step; D on the fakes, G step) plus one on-device
sum of the four numbers the curves show and a look at the run's control; values are read back
only when a step point is due (at most every `Throttle.step_s`). Samples of the fixed noise go
out at most every `samples_every_s`, and after each epoch with a health verdict (health.py).

Resuming: a checkpoint (taken at an epoch's end) holds both networks (one state dict: the
model spec's layers), both optimizers, the fixed noise, the counters and the random states, so
a resumed run goes on exactly as it would have without the interruption.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.nn import BuiltModel
from app.training.config import TrainConfig
from app.training.control import RunControl, StopKind
from app.training.data import epoch_batches
from app.training.events import Event, LayerStat, SeqCounter
from app.training.gan.events import GanEpochEvent, GanStepEvent
from app.training.gan.frames import GanFrames
from app.training.gan.parts import gan_layout, split_gan
from app.training.gan.steering import GanSteering
from app.training.layer_stats import BUDGET, LayerStats
from app.training.optim import make_optimizer
from app.training.outputs import Throttle, TrainingError, TrainingState, TrainResult, WeightSnapshot
from app.training.task_params import GanParams

EmitFunction = Callable[[Event], None]
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _with_beta1(optimizer: torch.optim.Optimizer, beta1: float) -> torch.optim.Optimizer:
    for group in optimizer.param_groups:
        if "betas" in group:  # Adam, AdamW
            group["betas"] = (beta1, group["betas"][1])
    return optimizer


@dataclass
class _Point:
    """Where the previous step point left off (host-side numbers)."""

    time: float
    step: int
    samples: int


class GanTrainer(GanSteering):
    """Trains a generator and a discriminator from one built spec; `run()` blocks until the
    run ends. Control, checkpoints and the lr are in GanSteering, pictures in GanFrames."""

    def __init__(
        self,
        built: BuiltModel,
        config: TrainConfig,
        params: GanParams,
        images: torch.Tensor,  # (N, C, H, W) uint8: the real images
        *,
        device: torch.device | None = None,
        control: RunControl | None = None,
        emit: EmitFunction | None = None,
        seq: SeqCounter | None = None,
        checkpoint: Callable[[TrainingState], None] | None = None,
        snapshot: Callable[[WeightSnapshot], None] | None = None,
        resume: TrainingState | None = None,
        throttle: Throttle | None = None,
        layer_stats: bool = True,
    ) -> None:
        self.config, self.params = config, params
        self.device = device = device or torch.device("cpu")
        self.layout = layout = gan_layout(built.spec, built.summary, tuple(images.shape[1:]))
        self.module = built.module.to(device).train()
        self.g_net, self.d_net = split_gan(self.module, layout)
        low, high = layout.image_range
        real = images.to(device=device, dtype=torch.float32).div_(255.0)  # (N, C, H, W) 0..1
        self.real = real.mul_(high - low).add_(low)  # on the generator's scale
        self.g_optimizer = _with_beta1(
            make_optimizer(self.g_net.parameters(), config, device), params.beta1
        )
        d_config = config.model_copy(update={"lr": params.d_lr or config.lr})
        self.d_optimizer = _with_beta1(
            make_optimizer(self.d_net.parameters(), d_config, device), params.beta1
        )
        self.d_lr_ratio = (params.d_lr or config.lr) / config.lr
        self.control = control or RunControl()
        self.seq = seq or SeqCounter()
        self.throttle = throttle or Throttle()
        self._emit_event, self._checkpoint, self._snapshot = emit, checkpoint, snapshot
        self.generator = torch.Generator().manual_seed(config.seed)  # the epochs' permutations
        self._layer_stats = _halves_stats(built, layout.cut, self.throttle) if layer_stats else None
        self._layers: tuple[LayerStat, ...] = ()  # of the last step armed, for the next point
        self.frames = GanFrames(self.g_net, layout, self.real, config.seed, device)
        self.steps_per_epoch = -(-len(self.real) // config.batch_size)
        self.total_steps = config.total_steps(len(self.real))
        self.base_lr = config.lr
        self.epoch = self.step = self.samples = 0
        self.train_seconds = 0.0
        self.last_means: tuple[float, float, float, float] | None = None  # g, d, d_real, d_fake
        self._sums = torch.zeros(4, device=device)  # the same, summed since the last point
        self._epoch_sums = [0.0, 0.0, 0.0, 0.0]  # host sums of the epoch's points
        self._epoch_start = (0, 0)  # (step, samples) when the epoch in flight began
        self._point = _Point(time.perf_counter(), 0, 0)
        self._epoch_paused = 0.0
        self._next_step_event = self._next_frame = 0.0  # the first step makes a point, a frame
        self._next_checkpoint = time.perf_counter() + self.throttle.checkpoint_s
        if resume is not None:
            self._restore(resume)
        else:
            torch.manual_seed(config.seed)  # the noise, dropout
        self._set_lr()

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> TrainResult:
        """Train until the last epoch, max_steps, or a stop/interrupt request."""
        started = time.perf_counter()
        while self.epoch < self.config.epochs and not self._step_limit_reached():
            epoch_started = time.perf_counter()
            stop = self._train_epoch()
            if stop is StopKind.INTERRUPT:
                return self._result("interrupted", started)
            if stop is StopKind.STOP:
                self._save(final=True)
                return self._result("stopped", started)
            self._end_epoch(epoch_started)
        return self._finish(started)

    def _step_function(self) -> Callable[[torch.Tensor, bool], None]:
        """train_step(real (B, C, H, W), due): the discriminator's update(s), then the
        generator's; the four numbers of the curves are added to the on-device sums. Where a
        point is `due` the layer statistics are taken: the discriminator's right after its last
        update (the gradients of its own loss, before the generator's backward adds to them),
        the generator's after its update; kept in `_layers`, generator's first."""
        params, device, sums = self.params, self.device, self._sums
        g_net, d_net, g_opt, d_opt = self.g_net, self.d_net, self.g_optimizer, self.d_optimizer
        size = self.config.batch_size
        # A discriminator ending in sigmoid gives probabilities, else logits (parts.py).
        bce: Loss = F.binary_cross_entropy_with_logits
        probability: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid
        if self.layout.probabilities:
            bce, probability = F.binary_cross_entropy, torch.Tensor.clone
        noise = torch.empty(size, self.layout.latent_dim, device=device)  # (B, Z), refilled
        real_target = torch.full((size,), 1.0 - params.label_smoothing, device=device)
        zeros, ones = torch.zeros(size, device=device), torch.ones(size, device=device)
        g_stats, d_stats = self._layer_stats or (None, None)

        def train_step(real: torch.Tensor, due: bool = False) -> None:
            count = real.shape[0]
            for d_step in range(params.d_steps):
                if due and d_step == params.d_steps - 1 and g_stats and d_stats:
                    g_stats.arm()  # G's forward for its own step is the one below
                    d_stats.arm()
                fake = g_net(noise[:count].normal_())  # (B, C, H, W)
                real_out = d_net(real).reshape(-1)  # (B,)
                fake_out = d_net(fake.detach()).reshape(-1)  # (B,)
                d_loss = bce(real_out, real_target[:count]) + bce(fake_out, zeros[:count])
                d_opt.zero_grad(set_to_none=True)
                d_loss.backward()  # type: ignore[no-untyped-call]
                d_opt.step()
            d_layers = d_stats.collect() if due and d_stats else ()  # () where not armed
            g_loss = bce(d_net(fake).reshape(-1), ones[:count])  # non-saturating: -log D(G(z))
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()  # type: ignore[no-untyped-call]
            g_opt.step()
            if due and g_stats:
                self._layers = g_stats.collect() + d_layers
            with torch.no_grad():
                sums.add_(
                    torch.stack(
                        (g_loss, d_loss, probability(real_out).mean(), probability(fake_out).mean())
                    )
                )

        return train_step

    def _train_epoch(self) -> StopKind | None:
        """One pass over the (permuted) real images; returns a stop request if one came."""
        control, real_images = self.control, self.real
        train_step = self._step_function()
        scheduled = self.config.schedule != "none"
        step_s, frame_s = self.throttle.step_s, self._frame_s
        next_step_event, next_frame = self._next_step_event, self._next_frame
        began, self._epoch_paused = time.perf_counter(), 0.0
        self._point = _Point(began, self.step, self.samples)
        self._epoch_start = (self.step, self.samples)
        self._epoch_sums = [0.0, 0.0, 0.0, 0.0]
        batches = epoch_batches(
            len(real_images), self.config.batch_size, self.generator, self.device
        )
        stop: StopKind | None = None
        for index in batches:  # (B,) indices of real images
            if control.pending:
                stop = self._obey()
                if stop is not None:
                    break
                next_step_event = 0.0  # show the effect of a command at once
            if scheduled:
                self._set_lr()
            due = time.perf_counter() >= next_step_event  # a point after this step
            train_step(real_images.index_select(0, index), due)  # (B, C, H, W)
            self.step += 1
            self.samples += index.shape[0]
            now = time.perf_counter()
            if due:
                self._emit_step(now)
                next_step_event = now + step_s
            if now >= next_frame:
                self._emit_frame(at_epoch_end=False)
                next_frame = time.perf_counter() + frame_s
            if self._step_limit_reached():
                break
        self._next_step_event, self._next_frame = next_step_event, next_frame
        self.train_seconds += time.perf_counter() - began - self._epoch_paused
        if stop is None and self.step > self._point.step:
            self._emit_step(time.perf_counter())  # the epoch's last point
        return stop

    def _end_epoch(self, epoch_started: float) -> None:
        """Report the epoch, its samples and health; checkpoint when it is time."""
        self.epoch += 1
        steps = max(self.step - self._epoch_start[0], 1)
        images = self.samples - self._epoch_start[1]
        g, d, d_real, d_fake = (value / steps for value in self._epoch_sums)
        self.last_means = (g, d, d_real, d_fake)
        seconds = time.perf_counter() - epoch_started - self._epoch_paused
        self._emit(
            GanEpochEvent(
                seq=self.seq(),
                epoch=self.epoch,
                step=self.step,
                train_loss=g,
                d_loss=d,
                d_real=round(d_real, 4),
                d_fake=round(d_fake, 4),
                seconds=round(seconds, 3),
                train_seconds=round(self.train_seconds, 3),
                samples_per_s=round(images / max(seconds, 1e-9), 1),
                lr=self.current_lr,
            )
        )
        self._emit_frame(at_epoch_end=True)
        now = time.perf_counter()
        self._next_frame = now + self._frame_s
        if self.epoch >= self.config.epochs or now >= self._next_checkpoint:
            self._save(final=False)
            self._next_checkpoint = time.perf_counter() + self.throttle.checkpoint_s

    def _step_limit_reached(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    # -- events ------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self._emit_event is not None:
            self._emit_event(event)

    @property
    def _frame_s(self) -> float:
        return max(self.params.samples_every_s, self.throttle.feature_maps_s)

    def _emit_step(self, now: float) -> None:
        """A point of the loss curves over the steps since the previous point (reads back),
        with the layer statistics of its last step where they were taken."""
        layers, self._layers = self._layers, ()
        point = self._point
        steps = max(self.step - point.step, 1)
        totals = self._sums.tolist()
        self._sums.zero_()
        self._epoch_sums = [a + b for a, b in zip(self._epoch_sums, totals, strict=True)]
        g, d, d_real, d_fake = (value / steps for value in totals)
        if not (math.isfinite(g) and math.isfinite(d)):
            raise TrainingError(
                f"the losses diverged (generator {g}, discriminator {d}) at step {self.step} "
                f"(epoch {self.epoch + 1}); the learning rate ({self.current_lr:g}) is "
                "probably too high"
            )
        self.frames.windows.add(totals[1], self.step - point.step)
        elapsed = max(now - point.time, 1e-9)
        self._emit(
            GanStepEvent(
                seq=self.seq(),
                step=self.step,
                total_steps=self.total_steps,
                epoch=self.epoch + 1,
                epoch_progress=round(
                    (self.step - self.epoch * self.steps_per_epoch) / self.steps_per_epoch, 4
                ),
                loss=g,
                accuracy=None,
                lr=self.current_lr,
                samples_per_s=round((self.samples - point.samples) / elapsed, 1),
                d_loss=d,
                d_real=round(d_real, 4),
                d_fake=round(d_fake, 4),
                layers=layers,
            )
        )
        self._point = _Point(now, self.step, self.samples)


def _halves_stats(built: BuiltModel, cut: int, throttle: Throttle) -> tuple[LayerStats, LayerStats]:
    """(generator's, discriminator's) layer statistics: the summary's paths before and after
    the cut (top-level index), half the budget each."""
    paths = [row.path for row in built.summary.walk()]
    halves = (
        [path for path in paths if int(path.split(".")[0]) < cut],
        [path for path in paths if int(path.split(".")[0]) >= cut],
    )
    g_stats, d_stats = (
        LayerStats(
            built.module,
            built.summary,
            histograms_s=throttle.histograms_s,
            budget=BUDGET / 2,
            paths=half,
        )
        for half in halves
    )
    return g_stats, d_stats
