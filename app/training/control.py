"""Live control of a run from any thread: pause, resume, stop, and tuning (the learning rate,
the regularisation) from the next step on.

The trainer reads one plain attribute, `pending`, at every step (no lock, no host sync) and
only takes the lock when something was asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

REGULARIZATIONS = ("none", "l1", "l2")


class StopKind(StrEnum):
    """Why a run should end early: a person asked (stopped) or the process shuts down."""

    STOP = "stopped"
    INTERRUPT = "interrupted"


@dataclass(frozen=True, slots=True)
class Tuning:
    """Settings a run takes while it trains, as TensorFlow Playground does (None: unchanged)."""

    lr: float | None = None
    regularization: str | None = None
    regularization_rate: float | None = None

    def __post_init__(self) -> None:
        if self.lr is not None and (not self.lr > 0.0 or self.lr > 10.0):
            raise ValueError(f"lr: must be > 0 and ≤ 10, got {self.lr!r}")
        if self.regularization is not None and self.regularization not in REGULARIZATIONS:
            raise ValueError(
                f"regularization: must be one of {', '.join(REGULARIZATIONS)}, "
                f"got {self.regularization!r}"
            )
        rate = self.regularization_rate
        if rate is not None and (not rate >= 0.0 or rate > 10.0):
            raise ValueError(f"regularization_rate: must be ≥ 0 and ≤ 10, got {rate!r}")

    def then(self, newer: Tuning) -> Tuning:
        """These settings with `newer`'s given ones on top."""
        return replace(self, **newer.changes())

    def changes(self) -> dict[str, Any]:
        """The settings given, by config field name (the wire form)."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    def regularization_changes(self) -> dict[str, Any]:
        """The changes that alter the loss's weight penalty."""
        changes = self.changes()
        changes.pop("lr", None)
        return changes


@dataclass(frozen=True, slots=True)
class Commands:
    """What was asked since the trainer last looked."""

    pause: bool
    stop: StopKind | None
    tuning: Tuning | None


class RunControl:
    """Thread-safe requests to one run; the trainer honours them at its next step boundary."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stop: StopKind | None = None
        self._tuning: Tuning | None = None
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
        self.tune(Tuning(lr=float(lr)))

    def tune(self, tuning: Tuning) -> None:
        """Train with these settings from the next step on (later changes win)."""
        with self._condition:
            self._tuning = tuning if self._tuning is None else self._tuning.then(tuning)
            self.pending = True

    def take(self) -> Commands:
        """What was asked (tuning is handed out once); called by the trainer."""
        with self._condition:
            commands = Commands(self._paused, self._stop, self._tuning)
            self._tuning = None
            self.pending = self._paused or self._stop is not None
            return commands

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused and not stopped; True once free to go (or to stop)."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._paused or self._stop is not None, timeout
            )


def obey(
    control: RunControl,
    apply: Callable[[Commands], StopKind | None],
    before_pause: Callable[[], None],
    announce: Callable[[str], None],
) -> tuple[StopKind | None, float]:
    """What a trainer does when its control has news: `apply` the commands (tuning; it returns
    a stop request), and on a pause `before_pause()` (a last picture), `announce("paused")`,
    block until resumed or stopped, apply what came in meanwhile and `announce("running")`
    unless it was a stop. Returns the stop request and the seconds spent paused."""
    commands = control.take()
    stop = apply(commands)
    if stop is not None or not commands.pause:
        return stop, 0.0
    paused_at = time.perf_counter()
    before_pause()
    announce("paused")
    control.wait_while_paused()
    paused = time.perf_counter() - paused_at
    stop = apply(control.take())  # what came in while paused
    if stop is None:
        announce("running")
    return stop, paused
