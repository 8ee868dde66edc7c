"""Reinforcement learning: deep Q-learning (the `dqn` task) in a gymnasium environment.

`DqnTrainer` (loop.py) plays ε-greedy, keeps transitions in a `ReplayBuffer` (replay.py) and
updates a Q-network against its target copy (`QLearner`, agent.py); `check_dqn`/`train_dqn`
(task.py) are the task's entry in app.training.tasks. Events: see events.py; the returns'
moving mean and records: returns.py; the cart-and-pole frames: frames.py.
"""

from app.training.rl.agent import QLearner, epsilon
from app.training.rl.environments import ENVIRONMENTS, EnvironmentInfo
from app.training.rl.loop import DqnTrainer
from app.training.rl.replay import Batch, ReplayBuffer
from app.training.rl.task import check_dqn, dqn_total_steps, train_dqn

__all__ = [
    "ENVIRONMENTS",
    "Batch",
    "DqnTrainer",
    "EnvironmentInfo",
    "QLearner",
    "ReplayBuffer",
    "check_dqn",
    "dqn_total_steps",
    "epsilon",
    "train_dqn",
]
