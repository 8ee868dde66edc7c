"""The environments a Q-network can learn to act in: what each is and how an episode starts.

Gymnasium is imported only when an environment is made, so importing the training engine
stays as light as before for runs that never play.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import gymnasium


@dataclass(frozen=True)
class EnvironmentInfo:
    """What a Q-network for the environment reads and answers."""

    name: str
    state_names: tuple[str, ...]  # what each number of a state is
    action_names: tuple[str, ...]  # the actions, by index
    max_episode_steps: int  # where the time limit cuts an episode
    seconds_per_step: float  # the simulated time of one step (for replaying it)
    limits: dict[str, float]  # where an episode ends: |x| and |theta| beyond these

    @property
    def state_size(self) -> int:
        """Numbers per state: the Q-network's input size."""
        return len(self.state_names)

    @property
    def actions(self) -> int:
        """Actions to choose from: the Q-network's output size."""
        return len(self.action_names)


ENVIRONMENTS: dict[str, EnvironmentInfo] = {
    "CartPole-v1": EnvironmentInfo(
        name="CartPole-v1",
        state_names=("cart position", "cart velocity", "pole angle", "pole angular velocity"),
        action_names=("push left", "push right"),
        max_episode_steps=500,
        seconds_per_step=0.02,
        limits={"x": 2.4, "theta": 12 * 2 * np.pi / 360},
    ),
}


def make_environment(name: str) -> gymnasium.Env[Any, Any]:
    """A fresh instance of the environment (KeyError for an unknown name)."""
    import gymnasium  # noqa: PLC0415 (only runs that play need it)

    info = ENVIRONMENTS[name]
    return gymnasium.make(info.name)


# Seeds of episodes: training episodes and the greedy ones played after training differ.
TRAINING, GREEDY = 0, 1


def episode_seed(seed: int, episode: int, purpose: int = TRAINING) -> int:
    """The environment seed of an episode (0-based) of a run: each episode starts from a state
    of its own that depends on nothing but the run's seed and its number, so a run resumed at
    an episode's start meets the same episodes."""
    return int(np.random.SeedSequence((seed, purpose, episode)).generate_state(1)[0])
