"""The replay buffer: the last transitions an agent lived through, sampled uniformly for updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch


@dataclass(frozen=True)
class Batch:
    """Transitions drawn for one update, each a tensor of B rows."""

    states: torch.Tensor  # (B, S) float32
    actions: torch.Tensor  # (B,) int64
    rewards: torch.Tensor  # (B,) float32
    next_states: torch.Tensor  # (B, S) float32
    dones: torch.Tensor  # (B,) float32: 1 where the episode ended there (no value after it)


class ReplayBuffer:
    """A ring of `capacity` transitions in preallocated arrays; the oldest is overwritten first.

    Rows are written through NumPy (a transition costs a few stores, no tensor is made) and
    read through tensors that share the same memory, so a sample is five index operations.
    Samples draw uniformly, with replacement, from the filled rows with `generator`.
    """

    def __init__(self, capacity: int, state_size: int, generator: torch.Generator) -> None:
        self.capacity = capacity
        self.generator = generator
        self.position = 0  # the row the next transition goes to
        self.size = 0  # rows filled
        self._states = np.zeros((capacity, state_size), np.float32)
        self._actions = np.zeros(capacity, np.int64)
        self._rewards = np.zeros(capacity, np.float32)
        self._next_states = np.zeros((capacity, state_size), np.float32)
        self._dones = np.zeros(capacity, np.float32)
        self._tensors = tuple(
            torch.from_numpy(array)
            for array in (
                self._states,
                self._actions,
                self._rewards,
                self._next_states,
                self._dones,
            )
        )

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        state: npt.NDArray[np.float32],
        action: int,
        reward: float,
        next_state: npt.NDArray[np.float32],
        done: bool,
    ) -> None:
        """Keep one transition; `done`: the episode ended in `next_state` (not cut by a time
        limit)."""
        row = self.position
        self._states[row] = state
        self._actions[row] = action
        self._rewards[row] = reward
        self._next_states[row] = next_state
        self._dones[row] = done
        self.position = row + 1 if row + 1 < self.capacity else 0
        if self.size < self.capacity:
            self.size += 1

    def sample(self, count: int, device: torch.device | None = None) -> Batch:
        """`count` transitions drawn uniformly from the filled rows (ValueError when empty)."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        index = torch.randint(self.size, (count,), generator=self.generator)  # (B,)
        states, actions, rewards, next_states, dones = (
            tensor.index_select(0, index) for tensor in self._tensors
        )
        if device is not None and device.type != "cpu":
            states, actions, rewards, next_states, dones = (
                tensor.to(device, non_blocking=True)
                for tensor in (states, actions, rewards, next_states, dones)
            )
        return Batch(states, actions, rewards, next_states, dones)

    def state_dict(self) -> dict[str, Any]:
        """The filled rows (copies) and the write position, for a checkpoint."""
        rows = self.size
        states, actions, rewards, next_states, dones = (
            tensor[:rows].clone() for tensor in self._tensors
        )
        return {
            "position": self.position,
            "size": rows,
            "states": states,
            "actions": actions,
            "rewards": rewards,
            "next_states": next_states,
            "dones": dones,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Refill from `state_dict()`'s form (ValueError if it does not fit this buffer)."""
        rows, position = int(state["size"]), int(state["position"])
        if not 0 <= rows <= self.capacity or not 0 <= position < max(self.capacity, 1):
            raise ValueError(
                f"the saved replay buffer holds {rows} rows at {position}; this one has "
                f"{self.capacity}"
            )
        names = ("states", "actions", "rewards", "next_states", "dones")
        for tensor, name in zip(self._tensors, names, strict=True):
            tensor[:rows] = state[name]
        self.size, self.position = rows, position
