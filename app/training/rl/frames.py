"""What a browser needs to draw the cart and the pole: the states of the episode in play (the
ones not sent yet, at most FRAME_STATES), or a whole greedy episode to replay."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.training.events import SeqCounter
from app.training.rl.environments import EnvironmentInfo
from app.training.rl.events import CartpoleFrame

FRAME_STATES = 250  # the most states a live frame carries


@dataclass
class Episode:
    """The episode in play: its states and actions so far (for frames) and its return."""

    states: list[npt.NDArray[np.float32]] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    total: float = 0.0
    shown: int = 0  # states already sent in a live frame


def cartpole_frame(
    episode: Episode,
    info: EnvironmentInfo,
    *,
    seq: SeqCounter,
    step: int,
    episodes: int,
    epsilon: float,
    greedy: bool,
) -> CartpoleFrame | None:
    """The episode's states not sent yet (the last FRAME_STATES of them; greedy: all), or None
    when there are none; `episodes` counts the finished ones."""
    end = len(episode.actions)
    start = 0 if greedy else max(episode.shown, end - FRAME_STATES)
    if start >= end:
        return None
    rows = np.stack(episode.states[start:end])  # (K, S)
    episode.shown = end
    return CartpoleFrame(
        seq=seq(),
        step=step,
        episode=episodes if greedy else episodes + 1,
        mode="greedy" if greedy else "training",
        t0=start,
        x=tuple(np.round(rows[:, 0].astype(np.float64), 4).tolist()),
        theta=tuple(np.round(rows[:, 2].astype(np.float64), 4).tolist()),
        actions=tuple(episode.actions[start:end]),
        episode_return=episode.total,
        epsilon=round(epsilon, 4),
        limits=dict(info.limits),
        seconds_per_step=info.seconds_per_step,
        at_epoch_end=greedy,
    )
