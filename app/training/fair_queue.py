"""A thread-safe fair queue: one FIFO lane per owner, lanes served round-robin.

The next item comes from the lane whose owner was served least recently (an owner never served
yet comes first; ties go to the item queued first). So an owner who queues many items delays
another owner's single item by at most one item per free slot, and one owner alone gets plain
FIFO order.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

REMEMBERED_OWNERS = 4096  # owners whose last turn is kept; forgetting one only helps it


class QueueClosedError(RuntimeError):
    """put() on a closed queue."""


class FairQueue(Generic[T]):
    """Per-owner FIFO lanes served round-robin; get() blocks, close() wakes every getter."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._lanes: dict[str | None, deque[tuple[int, T]]] = {}  # owner → (arrival, item)
        self._owner_of: dict[T, str | None] = {}
        self._last_turn: dict[str | None, int] = {}  # owner → the turn it was last served
        self._arrivals = itertools.count()
        self._turns = itertools.count(1)
        self._closed = False

    def put(self, item: T, owner: str | None = None) -> None:
        """Queue `item` at the end of its owner's lane (ValueError if it is queued already)."""
        with self._condition:
            if self._closed:
                raise QueueClosedError("the queue is closed")
            if item in self._owner_of:
                raise ValueError(f"{item!r} is queued already")
            self._lanes.setdefault(owner, deque()).append((next(self._arrivals), item))
            self._owner_of[item] = owner
            self._condition.notify()

    def get(self, timeout: float | None = None) -> T | None:
        """The next item by turn; blocks while empty. None once closed (or after `timeout`)."""
        with self._condition:
            self._condition.wait_for(lambda: self._closed or bool(self._owner_of), timeout)
            if self._closed or not self._owner_of:
                return None
            owner = _next_owner(self._lanes, self._last_turn)
            lane = self._lanes[owner]
            _, item = lane.popleft()
            if not lane:
                del self._lanes[owner]
            del self._owner_of[item]
            self._last_turn.pop(owner, None)
            self._last_turn[owner] = next(self._turns)  # dict order: least recently served first
            if len(self._last_turn) > REMEMBERED_OWNERS:
                self._last_turn.pop(next(iter(self._last_turn)))
            return item

    def remove(self, item: T) -> bool:
        """Take a queued item out (e.g. a run stopped before it started); False if not queued."""
        with self._condition:
            if item not in self._owner_of:
                return False
            owner = self._owner_of.pop(item)
            lane = self._lanes[owner]
            for entry in lane:
                if entry[1] == item:
                    lane.remove(entry)
                    break
            if not lane:
                del self._lanes[owner]
            return True

    def order(self) -> list[T]:
        """Every queued item in the order get() would hand them out if nothing else came."""
        with self._condition:
            lanes = {owner: deque(lane) for owner, lane in self._lanes.items()}
            last_turn = dict(self._last_turn)
        turns = itertools.count(max(last_turn.values(), default=0) + 1)
        result: list[T] = []
        while lanes:
            owner = _next_owner(lanes, last_turn)
            result.append(lanes[owner].popleft()[1])
            if not lanes[owner]:
                del lanes[owner]
            last_turn[owner] = next(turns)
        return result

    def owner(self, item: T) -> str | None:
        """The owner a queued item was put with (KeyError if it is not queued)."""
        with self._condition:
            return self._owner_of[item]

    def close(self) -> None:
        """Refuse new items and wake every blocked get() (they return None)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def __len__(self) -> int:
        with self._condition:
            return len(self._owner_of)

    def __contains__(self, item: object) -> bool:
        with self._condition:
            return item in self._owner_of


def _next_owner(
    lanes: dict[str | None, deque[tuple[int, T]]], last_turn: dict[str | None, int]
) -> str | None:
    """The owner of the non-empty lane served least recently; ties: the oldest head item."""
    return min(lanes, key=lambda owner: (last_turn.get(owner, 0), lanes[owner][0][0]))
