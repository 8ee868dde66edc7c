"""The deep Q-learning loop: play ε-greedy, keep transitions, learn from replayed ones.

Per environment step it does what a hand-written DQN loop does (choose, step the environment,
store, sample a batch, one update, a target copy every `target_sync` steps) plus a look at the
run's control and a clock read; events are throttled by time as the supervised trainer's are
(a loss point at most every `Throttle.step_s`, a cartpole frame at most every
`Throttle.feature_maps_s`), and a checkpoint is taken at an episode's end once
`Throttle.checkpoint_s` have passed since the last one and CHECKPOINT_SHARE times as long as
that one took: with its replay buffer a checkpoint is MBs, and training waits while a training
process sends it and the server writes it, so at most ~2% of the run goes to checkpoints.

Resuming: a checkpoint holds the Q-network, the target network, the optimizer, the counters,
the recent returns, the random states and the replay buffer's filled rows (at most
buffer_size × 11 numbers: 2.2 MB for 50k transitions; the run's final checkpoint leaves the
buffer out). Each episode's environment is seeded from the run's seed and the episode's
number, so a run resumed from a checkpoint (always at an episode's start) plays on exactly as
it would have without the interruption. A checkpoint without a buffer refills learn_starts
transitions before learning again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from app.nn import BuiltModel
from app.training.checkpoint_meta import CheckpointMeta
from app.training.config import TrainConfig
from app.training.control import Commands, RunControl, StopKind, obey
from app.training.events import Event, SeqCounter, StatusEvent
from app.training.layer_stats import LayerStats
from app.training.optim import lr_factor
from app.training.outputs import (
    Throttle,
    TrainingError,
    TrainingState,
    TrainResult,
    WeightSnapshot,
)
from app.training.rl.agent import QLearner, epsilon
from app.training.rl.environments import (
    ENVIRONMENTS,
    GREEDY,
    episode_seed,
    make_environment,
)
from app.training.rl.events import DqnDoneEvent, DqnStepEvent, EpisodeEvent
from app.training.rl.frames import Episode, cartpole_frame
from app.training.rl.replay import ReplayBuffer
from app.training.rl.returns import Returns, rounded
from app.training.task_params import DqnParams

EmitFunction = Callable[[Event], None]
CHECKPOINT_SHARE = 50  # a checkpoint waits this many times as long as the last one took
_TUNED = ("regularization", "regularization_rate")  # config fields changed while training


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}


@dataclass
class _Point:
    """Where the previous step event left off (host-side numbers)."""

    time: float
    step: int
    updates: int


class DqnTrainer:
    """Trains one Q-network in its environment; `run()` blocks until the run ends."""

    def __init__(
        self,
        built: BuiltModel,
        config: TrainConfig,
        params: DqnParams,
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
        self.config = config
        self.params = params
        self.info = ENVIRONMENTS[params.env]
        self.device = device or torch.device("cpu")
        self.module: nn.Module = built.module.to(self.device)
        self.module.train()
        self.control = control or RunControl()
        self.seq = seq or SeqCounter()
        self.throttle = throttle or Throttle()
        self._emit_event = emit
        self._checkpoint = checkpoint
        self._snapshot = snapshot
        self.generator = torch.Generator().manual_seed(config.seed)  # exploration, sampling
        self.buffer = ReplayBuffer(params.buffer_size, self.info.state_size, self.generator)
        self.learner = QLearner(self.module, config, params, self.device)
        self._layer_stats = (  # the Q-network's, from the update a point shows (not the target)
            LayerStats(built.module, built.summary, histograms_s=self.throttle.histograms_s)
            if layer_stats
            else None
        )
        self.env = make_environment(params.env)
        self.total_steps = min(params.env_steps, config.max_steps or params.env_steps)
        self.base_lr = config.lr
        self._scheduled = config.schedule != "none"
        self.step = 0  # environment steps done
        self.episodes = 0  # episodes finished
        self.updates = 0
        self.train_seconds = 0.0  # in episodes, pauses excluded
        self.returns = Returns()
        self._loss_sum = torch.zeros((), device=self.device)  # TD losses since the last point
        self._point = _Point(time.perf_counter(), 0, 0)
        self._paused = 0.0  # seconds paused in the episode in play
        self._next_step_event = self._next_frame = 0.0  # the first step makes a point, a frame
        self._next_checkpoint = time.perf_counter() + self.throttle.checkpoint_s
        if resume is not None:
            self._restore(resume)
        else:
            torch.manual_seed(config.seed)  # dropout and other random layers
        self._set_lr()

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> TrainResult:
        """Play and learn until the step budget is spent, the task is solved (if asked), or a
        stop/interrupt request comes."""
        started = time.perf_counter()
        self._point = _Point(started, self.step, self.updates)
        solved = False
        while self.step < self.total_steps and not solved:
            stop = self._play_episode()
            if stop is StopKind.INTERRUPT:
                return self._result("interrupted", started)
            if stop is StopKind.STOP:
                self._save(final=True)
                return self._result("stopped", started)
            solved = self.params.stop_when_solved and self.returns.solved_episode is not None
        return self._finish(started, early_stopped=solved)

    def _play_episode(self) -> StopKind | None:
        """One episode, or what the step budget leaves of it (a cut episode is not counted)."""
        control, step_s, frame_s = self.control, self.throttle.step_s, self.throttle.feature_maps_s
        next_step_event, next_frame = self._next_step_event, self._next_frame
        episode = Episode()
        state, _ = self.env.reset(seed=episode_seed(self.config.seed, self.episodes))
        began, self._paused = time.perf_counter(), 0.0
        stop: StopKind | None = None
        ended = False
        while self.step < self.total_steps:
            if control.pending:
                stop = self._obey(episode)
                if stop is not None:
                    break
                next_step_event = 0.0  # show the effect of a command at once
            due = time.perf_counter() >= next_step_event  # a point after this step's update
            state, ended, learned = self._env_step(state, episode, due)
            now = time.perf_counter()
            if due and learned:
                self._emit_step(now, len(episode.actions))
                next_step_event = now + step_s
            if now >= next_frame:
                self._emit_frame(episode)
                self._publish_snapshot()
                next_frame = time.perf_counter() + frame_s
            if ended:
                break
        self._next_step_event, self._next_frame = next_step_event, next_frame
        self.train_seconds += time.perf_counter() - began - self._paused
        if ended:
            self._end_episode(episode)
        return stop

    def _env_step(
        self, state: npt.NDArray[np.float32], episode: Episode, due: bool = False
    ) -> tuple[npt.NDArray[np.float32], bool, bool]:
        """Act ε-greedily in `state`, keep the transition, learn when it is time (the layer
        statistics armed for the update if a point is `due`); returns the next state, whether
        the episode ended there and whether it learned."""
        params, buffer, generator = self.params, self.buffer, self.generator
        fraction = min(self.step / params.epsilon_steps, 1.0)
        chance = params.epsilon_start + fraction * (params.epsilon_end - params.epsilon_start)
        if torch.rand((), generator=generator).item() < chance:
            action = int(torch.randint(self.info.actions, (), generator=generator))
        else:
            action = self.learner.act(state)
        next_state, reward, terminated, truncated, _ = self.env.step(action)
        buffer.add(state, action, float(reward), next_state, bool(terminated))
        episode.states.append(state)
        episode.actions.append(action)
        episode.total += float(reward)
        self.step += 1
        learned = self.step % params.train_every == 0 and buffer.size >= params.learn_starts
        if learned:
            if self._scheduled:
                self._set_lr()
            if due and self._layer_stats is not None:
                self._layer_stats.arm()
            self._loss_sum += self.learner.update(
                buffer.sample(self.config.batch_size, self.device)
            )
            self.updates += 1
        if self.step % params.target_sync == 0:
            self.learner.sync_target()
        return next_state, bool(terminated or truncated), learned

    def _end_episode(self, episode: Episode) -> None:
        """Count the episode, report it, checkpoint when it is time."""
        self.episodes += 1
        mean = self.returns.add(episode.total, self.episodes, self.step, self.params.solved_return)
        self._emit(
            EpisodeEvent(
                seq=self.seq(),
                episode=self.episodes,
                step=self.step,
                episode_return=episode.total,
                length=len(episode.actions),
                mean_return=round(mean, 3),
                epsilon=round(self.epsilon, 4),
            )
        )
        began = time.perf_counter()
        if began >= self._next_checkpoint:
            self._publish_snapshot()
            self._save(final=False)
            now = time.perf_counter()
            wait = max(self.throttle.checkpoint_s, CHECKPOINT_SHARE * (now - began))
            self._next_checkpoint = now + wait

    def _finish(self, started: float, early_stopped: bool) -> TrainResult:
        """Play the greedy episodes, report, save the final checkpoint."""
        if self.updates > self._point.updates:
            self._emit_step(time.perf_counter(), 0, playing=False)  # the run's last point
        greedy = self._play_greedy()
        self._publish_snapshot()
        self._save(final=True)
        result = self._result("completed", started, early_stopped, greedy)
        returns = self.returns
        self._emit(
            DqnDoneEvent(
                seq=self.seq(),
                epochs=self.episodes,
                steps=self.step,
                test_count=self.params.eval_episodes,
                early_stopped=early_stopped,
                seconds=round(result.seconds, 3),
                train_seconds=round(result.train_seconds, 3),
                samples_per_s=round(result.samples_per_s, 1),
                episodes=self.episodes,
                mean_return=rounded(returns.mean),
                best_return=returns.best,
                best_mean_return=rounded(returns.best_mean),
                solved_episode=returns.solved_episode,
                solved_step=returns.solved_step,
                greedy_return=round(greedy, 3),
                steps_per_s=round(self.step_rate, 1),
            )
        )
        return result

    def _play_greedy(self) -> float:
        """Play `eval_episodes` episodes without exploring (fixed seeds of their own); the
        first is sent as a stored frame to replay. Returns their mean return."""
        totals: list[float] = []
        for index in range(self.params.eval_episodes):
            episode = Episode()
            state, _ = self.env.reset(seed=episode_seed(self.config.seed, index, GREEDY))
            while True:
                action = self.learner.act(state)
                episode.states.append(state)
                episode.actions.append(action)
                state, reward, terminated, truncated, _ = self.env.step(action)
                episode.total += float(reward)
                if terminated or truncated:
                    break
            totals.append(episode.total)
            if index == 0:
                self._emit_frame(episode, greedy=True)
        return sum(totals) / len(totals)

    def _result(
        self, status: str, started: float, early_stopped: bool = False, greedy: float | None = None
    ) -> TrainResult:
        returns = self.returns
        figures: dict[str, float | None] = {
            "episodes": self.episodes,
            "mean_return": rounded(returns.mean),
            "best_return": returns.best,
            "best_mean_return": rounded(returns.best_mean),
            "solved_episode": returns.solved_episode,
            "solved_step": returns.solved_step,
            "greedy_return": rounded(greedy),
            "steps_per_s": round(self.step_rate, 1),
        }
        return TrainResult(
            status=status,
            epochs=self.episodes,
            steps=self.step,
            seconds=time.perf_counter() - started,
            train_seconds=self.train_seconds,
            samples=self.updates * self.config.batch_size,
            val_accuracy=None,
            best_val_accuracy=None,
            best_epoch=None,
            test_accuracy=None,
            test_loss=None,
            early_stopped=early_stopped,
            figures=figures,
        )

    @property
    def step_rate(self) -> float:
        """Environment steps per second of training so far."""
        return self.step / self.train_seconds if self.train_seconds > 0 else 0.0

    @property
    def epsilon(self) -> float:
        """The chance of a random action at the next step."""
        return epsilon(self.params, self.step)

    # -- control -----------------------------------------------------------------------------

    def _obey(self, episode: Episode) -> StopKind | None:
        """Apply what the control asks for; blocks while paused (showing where the cart
        stands). Returns a stop request."""
        stop, paused = obey(
            self.control,
            self._apply_tuning_and_stop,
            lambda: self._emit_frame(episode),
            lambda status: self._emit(StatusEvent(seq=self.seq(), status=status)),
        )
        self._paused += paused
        self._point.time += paused
        return stop

    def _apply_tuning_and_stop(self, commands: Commands) -> StopKind | None:
        tuning = commands.tuning
        if tuning is not None:
            if tuning.lr is not None:
                self.base_lr = tuning.lr
                self._set_lr()
            if tuning.regularization_changes():
                self.config = self.config.model_copy(update=tuning.regularization_changes())
                self.learner.set_regularization(self.config)
        return commands.stop

    def _set_lr(self) -> None:
        factor = lr_factor(self.config, self.step, self.total_steps, self.total_steps)
        for group in self.learner.optimizer.param_groups:
            group["lr"] = self.base_lr * factor

    @property
    def current_lr(self) -> float:
        """The learning rate the next update uses."""
        return float(self.learner.optimizer.param_groups[0]["lr"])

    # -- events ------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self._emit_event is not None:
            self._emit_event(event)

    def _emit_step(self, now: float, episode_length: int, *, playing: bool = True) -> None:
        """A point of the loss curve over the updates since the previous point (reads back);
        its `epoch` is the episode in play, or the last one finished when none is (`playing`),
        with the Q-network's layer statistics of the update just made where they were armed."""
        layers = self._layer_stats.collect() if self._layer_stats is not None else ()
        point = self._point
        updates = self.updates - point.updates
        loss = self._loss_sum.item() / max(updates, 1)
        self._loss_sum.zero_()
        if not math.isfinite(loss):
            raise TrainingError(
                f"the loss diverged (NaN/infinite: {loss}) at environment step {self.step}; "
                f"the learning rate ({self.current_lr:g}) is probably too high"
            )
        elapsed = max(now - point.time, 1e-9)
        self._emit(
            DqnStepEvent(
                seq=self.seq(),
                step=self.step,
                total_steps=self.total_steps,
                epoch=self.episodes + 1 if playing else self.episodes,
                epoch_progress=round(min(episode_length / self.info.max_episode_steps, 1.0), 4),
                loss=loss,
                accuracy=None,
                lr=self.current_lr,
                samples_per_s=round(updates * self.config.batch_size / elapsed, 1),
                epsilon=round(self.epsilon, 4),
                steps_per_s=round((self.step - point.step) / elapsed, 1),
                layers=layers,
            )
        )
        self._point = _Point(now, self.step, self.updates)

    def _emit_frame(self, episode: Episode, *, greedy: bool = False) -> None:
        frame = cartpole_frame(
            episode,
            self.info,
            seq=self.seq,
            step=self.step,
            episodes=self.episodes,
            epsilon=0.0 if greedy else self.epsilon,
            greedy=greedy,
        )
        if frame is not None:
            self._emit(frame)

    # -- weights out and in ------------------------------------------------------------------

    def _publish_snapshot(self) -> None:
        if self._snapshot is not None:
            state = _cpu_copy(self.module.state_dict())
            self._snapshot(WeightSnapshot(self.step, self.episodes, state))

    def state(self, *, final: bool) -> TrainingState:
        """Everything needed to go on from here (an episode's start) or to use the weights."""
        meta = CheckpointMeta(
            epoch=self.episodes,
            step=self.step,
            seq=self.seq.last,
            base_lr=self.base_lr,
            train_seconds=self.train_seconds,
            samples=self.updates * self.config.batch_size,
            final=final,
            config=self.config.model_dump(mode="json"),
            cpu_rng=torch.get_rng_state(),
            permutation_rng=self.generator.get_state(),
            cuda_rng=torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
        ).to_dict()
        meta["dqn"] = {
            "updates": self.updates,
            "target_state": dict(self.learner.target.state_dict()),
            "returns": self.returns.to_dict(),
            "buffer": None if final else self.buffer.state_dict(),
        }
        return TrainingState(
            model_state=dict(self.module.state_dict()),
            optimizer_state=self.learner.optimizer.state_dict(),
            meta=meta,
        )

    def _save(self, *, final: bool) -> None:
        if self._checkpoint is not None:
            self._checkpoint(self.state(final=final))

    def _restore(self, state: TrainingState) -> None:
        """Go on from a checkpoint taken at an episode's end."""
        meta = CheckpointMeta.from_dict(state.meta)
        dqn = state.meta.get("dqn")
        if not isinstance(dqn, dict) or meta.cpu_rng is None or meta.permutation_rng is None:
            raise TrainingError("the checkpoint is not one a dqn run can resume from")
        self.module.load_state_dict(state.model_state)
        self.learner.target.load_state_dict(dqn["target_state"])
        if state.optimizer_state is not None:
            self.learner.optimizer.load_state_dict(state.optimizer_state)
        self.episodes, self.step, self.base_lr = meta.epoch, meta.step, meta.base_lr
        self.updates = int(dqn["updates"])
        self.train_seconds = meta.train_seconds
        self.returns = Returns.from_dict(dqn["returns"])
        tuned = {name: meta.config[name] for name in _TUNED if name in meta.config}
        if tuned:
            self.config = self.config.model_copy(update=tuned)  # as changed while it trained
            self.learner.set_regularization(self.config)
        if dqn.get("buffer") is not None:
            self.buffer.load_state_dict(dqn["buffer"])
        torch.set_rng_state(meta.cpu_rng.cpu())
        self.generator.set_state(meta.permutation_rng.cpu())
        if meta.cuda_rng is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(meta.cuda_rng.cpu(), self.device)
