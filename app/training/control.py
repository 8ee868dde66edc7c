"""Live control of a run from any thread: pause, resume, stop, change the learning rate.

The trainer reads one plain attribute, `pending`, at every step (no lock, no host sync) and
only takes the lock when something was asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


class StopKind(StrEnum):
    """Why a run should end early: a person asked (stopped) or the process shuts down."""

    STOP = "stopped"
    INTERRUPT = "interrupted"


@dataclass(frozen=True, slots=True)
class Commands:
    """What was asked since the trainer last looked."""

    pause: bool
    stop: StopKind | None
    lr: float | None


class RunControl:
    """Thread-safe requests to one run; the trainer honours them at its next step boundary."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stop: StopKind | None = None
        self._lr: float | None = None
        self.pending = False  # read by the trainer every step; set under the lock

    @property
    def paused(self) -> bool:
        """Whether a pause is asked for (and not yet resumed)."""
        return self._paused

    @property
    def stop_requested(self) -> StopKind | None:
        """Whether (and why) a stop was asked for."""
        return self._stop

    def pause(self) -> None:
        """Hold the run at the next step until resume() or stop()."""
        with self._condition:
            self._paused = True
            self.pending = True

    def resume(self) -> None:
        """Let a paused run go on."""
        with self._condition:
            self._paused = False
            self.pending = True
            self._condition.notify_all()

    def stop(self, kind: StopKind = StopKind.STOP) -> None:
        """End the run at the next step (a stop wins over an interrupt)."""
        with self._condition:
            if self._stop is None or kind is StopKind.STOP:
                self._stop = kind
            self.pending = True
            self._condition.notify_all()

    def set_lr(self, lr: float) -> None:
        """Use `lr` as the base learning rate from the next step on (schedules scale it)."""
        if not lr > 0.0 or lr > 10.0:
            raise ValueError(f"lr: must be > 0 and ≤ 10, got {lr!r}")
        with self._condition:
            self._lr = float(lr)
            self.pending = True

    def take(self) -> Commands:
        """What was asked (an lr change is handed out once); called by the trainer."""
        with self._condition:
            commands = Commands(self._paused, self._stop, self._lr)
            self._lr = None
            self.pending = self._paused or self._stop is not None
            return commands

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused and not stopped; True once free to go (or to stop)."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._paused or self._stop is not None, timeout
            )
