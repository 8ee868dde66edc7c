"""The returns of a deep Q-learning run's episodes: the moving mean over the last WINDOW, the
records, and when the task was first solved (a mean of `solved_return` over a full window)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

WINDOW = 100  # episodes in the moving average, and in "solved"


@dataclass
class Returns:
    """The returns of the episodes so far: the recent window and the records."""

    recent: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    best: float | None = None
    best_mean: float | None = None  # over full windows of WINDOW episodes
    solved_episode: int | None = None
    solved_step: int | None = None

    @property
    def mean(self) -> float | None:
        """Mean return of the last WINDOW episodes (fewer at first); None before the first."""
        return sum(self.recent) / len(self.recent) if self.recent else None

    def add(self, value: float, episode: int, step: int, solved_return: float) -> float:
        """Count a finished episode; returns the new moving mean."""
        self.recent.append(value)
        self.best = value if self.best is None else max(self.best, value)
        mean = sum(self.recent) / len(self.recent)
        if len(self.recent) == WINDOW:
            self.best_mean = mean if self.best_mean is None else max(self.best_mean, mean)
            if self.solved_episode is None and mean >= solved_return:
                self.solved_episode, self.solved_step = episode, step
        return mean

    def to_dict(self) -> dict[str, Any]:
        """The plain form kept in checkpoints."""
        return {
            "recent": list(self.recent),
            "best": self.best,
            "best_mean": self.best_mean,
            "solved_episode": self.solved_episode,
            "solved_step": self.solved_step,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Returns:
        """The inverse of to_dict."""
        return cls(
            recent=deque((float(value) for value in data["recent"]), maxlen=WINDOW),
            best=data.get("best"),
            best_mean=data.get("best_mean"),
            solved_episode=data.get("solved_episode"),
            solved_step=data.get("solved_step"),
        )


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
