"""The learning half of deep Q-learning: the ε-greedy schedule, the Q-network with its target
copy, and the temporal-difference update."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from app.training.config import TrainConfig
from app.training.optim import make_optimizer, weight_penalty
from app.training.rl.replay import Batch
from app.training.task_params import DqnParams

TdLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# The losses a Q-network can regress its values with: Huber unless the config names mse.
TD_LOSSES: dict[str, TdLoss] = {"huber": F.smooth_l1_loss, "mse": F.mse_loss}
# What the config's loss field may say for a dqn run: its default (cross_entropy, which a
# classifier's config holds when no loss is named) stands for Huber, as "huber" would.
TD_LOSS_OF_CONFIG = {"cross_entropy": "huber", "huber": "huber", "mse": "mse"}


def td_loss_name(config: TrainConfig) -> str:
    """The TD loss of a run: mse where the config names it, else Huber."""
    return TD_LOSS_OF_CONFIG.get(config.loss, "huber")


def epsilon(params: DqnParams, step: int) -> float:
    """The chance of a random action at 0-based env step `step`: linear from epsilon_start to
    epsilon_end over epsilon_steps, then flat."""
    fraction = min(step / params.epsilon_steps, 1.0)
    return params.epsilon_start + fraction * (params.epsilon_end - params.epsilon_start)


def _has_modes(module: nn.Module) -> bool:
    """Whether the module acts differently in training and eval mode (dropout, batch norm)."""
    kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
    return any(isinstance(layer, kinds) for layer in module.modules())


class QLearner:
    """A Q-network (state → one value per action), its target network and its optimizer."""

    def __init__(
        self, module: nn.Module, config: TrainConfig, params: DqnParams, device: torch.device
    ) -> None:
        self.module = module
        self.device = device
        self.params = params
        self.target = copy.deepcopy(module)
        self.target.requires_grad_(False)
        self.optimizer = make_optimizer(module.parameters(), config, device)
        self._loss = TD_LOSSES[td_loss_name(config)]
        self._has_modes = _has_modes(module)
        if self._has_modes:
            self.target.eval()
        self.set_regularization(config)

    def set_regularization(self, config: TrainConfig) -> None:
        """Use the config's weight penalty (l1, l2 or none) from the next update on."""
        self._penalty = weight_penalty(config, self.module)

    def act(self, state: npt.NDArray[np.float32]) -> int:
        """The greedy action in `state` (S,)."""
        inputs = torch.from_numpy(state).unsqueeze(0)  # (1, S)
        if self.device.type != "cpu":
            inputs = inputs.to(self.device)
        if self._has_modes:
            self.module.eval()
        with torch.no_grad():
            action = int(self.module(inputs).argmax())  # (1, A) → the best action
        if self._has_modes:
            self.module.train()
        return action

    def q_values(self, states: torch.Tensor) -> torch.Tensor:
        """(N, A) action values of states (N, S), without gradients."""
        with torch.no_grad():
            values: torch.Tensor = self.module(states.to(self.device))  # (N, A)
        return values

    def update(self, batch: Batch) -> torch.Tensor:
        """One gradient step towards r + γ·max_a' Q_target(s', a') (Double DQN: the online
        network picks a'); returns the batch's TD loss (a 0-dim tensor, not read back)."""
        chosen = self.module(batch.states).gather(1, batch.actions.unsqueeze(1)).squeeze(1)  # (B,)
        with torch.no_grad():
            next_values = self.target(batch.next_states)  # (B, A)
            if self.params.double:
                best = self.module(batch.next_states).argmax(dim=1, keepdim=True)  # (B, 1)
                next_value = next_values.gather(1, best).squeeze(1)  # (B,)
            else:
                next_value = next_values.max(dim=1).values  # (B,)
            targets = batch.rewards + self.params.gamma * (1.0 - batch.dones) * next_value
        loss = self._loss(chosen, targets)
        total = loss if self._penalty is None else loss + self._penalty()
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        return loss.detach()

    def sync_target(self) -> None:
        """Copy the online weights into the target network."""
        self.target.load_state_dict(self.module.state_dict())
