"""Thread-safe publish → per-subscriber bounded queues on the event loop.

The worker thread publishes and never waits; each viewer owns a Subscription. A slow viewer loses
only `step` points (oldest first) and stale feature maps (newest wins); status, epoch and done
events are never dropped, and memory per viewer stays bounded.
"""

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

from app.jsontext import json_text
from app.training.events import FRAME_TYPES

Event = dict[str, Any]


class Frame(NamedTuple):
    """An event as it travels to viewers: serialised once, however many viewers there are."""

    seq: int
    type: str
    text: str  # the event as JSON

    @classmethod
    def of(cls, event: Event) -> "Frame":
        """Serialise an event dict."""
        return cls(int(event.get("seq", -1)), str(event.get("type")), json_text(event))


DROPPABLE = frozenset({"step"})
LATEST_ONLY = FRAME_TYPES


class Subscription:
    """One viewer's queue: bounded step points, the newest feature map, every other event."""

    def __init__(self, max_points: int) -> None:
        self._events: deque[Frame] = deque()
        self._points = 0
        self._max_points = max_points
        self._latest: Frame | None = None
        self._ready = asyncio.Event()
        self.dropped = 0

    def offer(self, frame: Frame) -> None:
        """Queue a frame (on the loop's thread); drop what a slow viewer can do without."""
        kind = frame.type
        if kind in LATEST_ONLY:
            if self._latest is not None:
                self.dropped += 1
            self._latest = frame
        else:
            self._events.append(frame)
            if kind in DROPPABLE:
                self._points += 1
                if self._points > self._max_points:
                    self._drop_oldest_point()
        self._ready.set()

    def _drop_oldest_point(self) -> None:
        for index, queued in enumerate(self._events):
            if queued.type in DROPPABLE:
                del self._events[index]
                self._points -= 1
                self.dropped += 1
                return

    async def get(self) -> Frame:
        """The next frame, in seq order: the queued ones, with the newest picture (feature maps,
        a boundary) in its place among them (so a viewer that skips older seqs keeps it)."""
        while not self._events and self._latest is None:
            self._ready.clear()
            await self._ready.wait()
        if self._events and (self._latest is None or self._events[0].seq < self._latest.seq):
            frame = self._events.popleft()
            if frame.type in DROPPABLE:
                self._points -= 1
            return frame
        latest, self._latest = self._latest, None
        assert latest is not None
        return latest

    def pending(self) -> int:
        """How many events wait to be read (a feature map counts once)."""
        return len(self._events) + (self._latest is not None)


class EventBus:
    """Publish from any thread; subscribe per run from the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_points: int = 600) -> None:
        self._loop = loop
        self._max_points = max_points
        self._subscribers: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._dropped_by_closed = 0  # frames dropped for viewers who have left

    def publish(self, run_id: str, event: Event) -> None:
        """Hand an event to every viewer of `run_id`; safe from any thread, never blocks."""
        with self._lock:
            if not self._subscribers.get(run_id):
                return
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is shutting down
            self._loop.call_soon_threadsafe(self._deliver, run_id, event)

    def _deliver(self, run_id: str, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(run_id, ()))
        if subscribers:
            frame = Frame.of(event)
            for subscription in subscribers:
                subscription.offer(frame)

    def viewers(self, run_id: str) -> int:
        """How many subscriptions `run_id` has."""
        with self._lock:
            return len(self._subscribers.get(run_id, ()))

    def total_viewers(self) -> int:
        """How many subscriptions there are, over every run."""
        with self._lock:
            return sum(len(subscriptions) for subscriptions in self._subscribers.values())

    def dropped(self) -> int:
        """Frames dropped for slow viewers since the bus started."""
        with self._lock:
            live = sum(s.dropped for subs in self._subscribers.values() for s in subs)
            return self._dropped_by_closed + live

    @asynccontextmanager
    async def subscribe(self, run_id: str) -> AsyncIterator[Subscription]:
        """A subscription that lives as long as the `async with` block."""
        subscription = Subscription(self._max_points)
        with self._lock:
            self._subscribers.setdefault(run_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                remaining = self._subscribers.get(run_id, set())
                remaining.discard(subscription)
                self._dropped_by_closed += subscription.dropped
                if not remaining:
                    self._subscribers.pop(run_id, None)
