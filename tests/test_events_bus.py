"""The event bus: publishers never wait, slow viewers stay bounded, key events are never dropped."""

import asyncio
import json
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from app.events import EventBus

T = TypeVar("T")


def run_alone(scenario: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own (Playwright's sync API keeps a loop in this one)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(scenario))
        except BaseException as error:  # handed to the test's thread below
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def test_viewer_gets_events_in_order_from_another_thread() -> None:
    async def scenario() -> list[int]:
        bus = EventBus(asyncio.get_running_loop())
        async with bus.subscribe("run") as subscription:
            thread = threading.Thread(
                target=lambda: [bus.publish("run", {"seq": i, "type": "step"}) for i in range(50)]
            )
            thread.start()
            thread.join()
            return [(await subscription.get()).seq for _ in range(50)]

    assert run_alone(scenario()) == list(range(50))


def test_stalled_viewer_is_bounded_and_keeps_every_key_event() -> None:
    async def scenario() -> None:
        bus = EventBus(asyncio.get_running_loop(), max_points=100)
        async with bus.subscribe("run") as stalled:
            started = time.perf_counter()
            for seq in range(20_000):
                kind = "epoch" if seq % 1000 == 999 else "step"
                bus.publish("run", {"seq": seq, "type": kind})
                if seq % 500 == 0:
                    bus.publish("run", {"seq": seq, "type": "feature_maps", "frame": seq})
            bus.publish("run", {"seq": 20_000, "type": "done"})
            publishing = time.perf_counter() - started
            await asyncio.sleep(0)  # let the loop deliver
            assert stalled.pending() <= 100 + 20 + 1 + 1
            frames = [await stalled.get() for _ in range(stalled.pending())]
            dropped_while_watching = bus.dropped()
        events = [json.loads(frame.text) for frame in frames]
        published = 20_000 + 40 + 1  # steps and epochs, feature maps, done
        assert dropped_while_watching == bus.dropped() == published - len(events)  # counted once
        kinds = [event["type"] for event in events]
        assert kinds.count("epoch") == 20
        assert kinds.count("done") == 1
        assert kinds.count("feature_maps") == 1
        assert next(e for e in events if e["type"] == "feature_maps")["frame"] == 19_500
        steps = [event["seq"] for event in events if event["type"] == "step"]
        assert steps == sorted(steps)
        assert steps[-1] == 19_998  # the newest points survive, the oldest were dropped
        assert publishing < 2.0  # publishing never waits on the viewer

    run_alone(scenario())


def test_unsubscribed_runs_cost_nothing_and_subscriptions_end() -> None:
    async def scenario() -> None:
        bus = EventBus(asyncio.get_running_loop())
        bus.publish("nobody", {"seq": 0, "type": "step"})
        async with bus.subscribe("run"), bus.subscribe("run"):
            assert bus.viewers("run") == 2
        assert bus.viewers("run") == 0

    run_alone(scenario())


def test_the_newest_picture_keeps_its_place_in_seq_order() -> None:
    """A frame published between two events arrives between them, so a viewer that drops
    anything older than what it has sent never loses it."""

    async def scenario() -> list[int]:
        bus = EventBus(asyncio.get_running_loop())
        async with bus.subscribe("run") as subscription:
            for seq, kind in ((1, "step"), (2, "boundary"), (3, "status")):
                bus.publish("run", {"seq": seq, "type": kind})
            await asyncio.sleep(0.05)
            first = [(await subscription.get()).seq for _ in range(3)]
            for seq, kind in ((4, "feature_maps"), (5, "feature_maps"), (6, "epoch")):
                bus.publish("run", {"seq": seq, "type": kind})
            await asyncio.sleep(0.05)
            return first + [(await subscription.get()).seq for _ in range(2)]

    assert run_alone(scenario()) == [1, 2, 3, 5, 6]  # frame 4 was replaced by the newer 5
