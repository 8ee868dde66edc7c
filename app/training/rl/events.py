"""The events of a deep Q-learning run, beside the engine's status events.

- `step` (DqnStepEvent): the loss curve as for every run, plus ε and environment steps/s.
- `episode`: one per finished episode, all stored: the return curve.
- `cartpole`: a frame (newest only, live) with the recent states of the episode being played,
  so a browser can draw the cart and the pole; after training, the greedy episode as a stored
  frame (`mode: "greedy"`, `at_epoch_end: true`) to replay.
- `done` (DqnDoneEvent): the keys of every run's `done` (test figures null) plus the returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from app.training.events import Event, StepEvent

FRAME_TYPE = "cartpole"


@dataclass(frozen=True, slots=True, kw_only=True)
class DqnStepEvent(StepEvent):
    """A point of the loss curve: `epoch` is the episode being played, `epoch_progress` its
    length so far over the time limit; `samples_per_s` counts replayed transitions."""

    epsilon: float
    steps_per_s: float  # environment steps per second


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeEvent(Event):
    """One finished episode; its return travels as `return`."""

    type: ClassVar[str] = "episode"
    episode: int  # 1-based
    step: int  # environment steps done when it ended
    episode_return: float  # the sum of its rewards
    length: int  # its steps
    mean_return: float  # over the last 100 episodes (fewer at first)
    epsilon: float  # ε at its last step

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, the return under `return`."""
        data = Event.to_dict(self)
        data["return"] = data.pop("episode_return")
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class CartpoleFrame(Event):
    """States of one episode: the recent ones of the episode in play, or a whole greedy one."""

    type: ClassVar[str] = FRAME_TYPE
    step: int  # environment steps done
    episode: int  # 1-based (greedy: the training episodes done)
    mode: str  # "training" or "greedy"
    t0: int  # the episode step of the first state below (0: its start)
    x: tuple[float, ...]  # cart position per state (m; the track ends at ±limits["x"])
    theta: tuple[float, ...]  # pole angle per state (rad, 0 upright; the episode ends beyond ±)
    actions: tuple[int, ...]  # what the agent did in each state: 0 push left, 1 push right
    episode_return: float  # rewards of the episode so far (greedy: its return)
    epsilon: float  # the chance of a random action (0 when greedy)
    limits: dict[str, float]
    seconds_per_step: float  # simulated time between two states (real-time replay)
    at_epoch_end: bool = False  # the greedy replay is kept in the history

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, the return so far under `return`."""
        data = Event.to_dict(self)
        data["return"] = data.pop("episode_return")
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class DqnDoneEvent(Event):
    """The run finished: every run's `done` keys (null where a DQN has no such figure) and
    the returns."""

    type: ClassVar[str] = "done"
    epochs: int  # episodes finished
    steps: int  # environment steps
    test_loss: float | None = None
    test_accuracy: float | None = None
    test_count: int  # greedy episodes played after training
    val_accuracy: float | None = None
    val_loss: float | None = None
    best_val_accuracy: float | None = None
    best_epoch: int = 0
    early_stopped: bool  # ended once solved (stop_when_solved)
    seconds: float
    train_seconds: float
    samples_per_s: float  # replayed transitions per second
    episodes: int
    mean_return: float | None  # over the last 100 training episodes
    best_return: float | None
    best_mean_return: float | None  # the best mean over 100 consecutive episodes (or fewer)
    solved_episode: int | None  # when the mean over 100 first reached solved_return
    solved_step: int | None
    greedy_return: float  # mean return of the greedy episodes
    steps_per_s: float  # environment steps per second
