"""The fair run queue: owners take turns; the manager and the API show that order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.data import Mnist
from app.nn import load_preset
from app.service.run_views import run_views
from app.settings import Settings
from app.store import RunRecord, RunStatus, Store
from app.training import RunManager, Throttle
from app.training.fair_queue import FairQueue, QueueClosedError

# -- the queue on its own ------------------------------------------------------------------


def drain(queue: FairQueue[str]) -> list[str]:
    items = []
    while len(queue):
        item = queue.get(timeout=0)
        assert item is not None
        items.append(item)
    return items


def test_one_owner_is_first_in_first_out() -> None:
    queue: FairQueue[str] = FairQueue()
    for item in "abcde":
        queue.put(item, "alice")
    assert queue.order() == list("abcde")
    assert drain(queue) == list("abcde")


def test_owners_take_turns() -> None:
    queue: FairQueue[str] = FairQueue()
    for index in range(3):
        queue.put(f"a{index}", "alice")
    for index in range(3):
        queue.put(f"b{index}", "bob")
    queue.put("c0", None)  # no owner is an owner too
    assert queue.order() == ["a0", "b0", "c0", "a1", "b1", "a2", "b2"]
    assert drain(queue) == ["a0", "b0", "c0", "a1", "b1", "a2", "b2"]


def test_a_newcomer_goes_before_the_owner_just_served() -> None:
    queue: FairQueue[str] = FairQueue()
    for index in range(5):
        queue.put(f"a{index}", "alice")
    assert queue.get(timeout=0) == "a0"  # alice's first run starts: the slot is busy
    queue.put("b0", "bob")
    assert queue.order() == ["b0", "a1", "a2", "a3", "a4"]
    assert queue.get(timeout=0) == "b0"
    queue.put("b1", "bob")  # bob was served after alice: alice's turn now
    assert queue.order() == ["a1", "b1", "a2", "a3", "a4"]


def test_remove_takes_an_item_out_and_the_rest_move_up() -> None:
    queue: FairQueue[str] = FairQueue()
    for item, owner in [("a0", "a"), ("a1", "a"), ("b0", "b"), ("b1", "b")]:
        queue.put(item, owner)
    assert queue.order() == ["a0", "b0", "a1", "b1"]
    assert queue.remove("b0") is True
    assert queue.remove("b0") is False
    assert queue.remove("nope") is False
    assert "b0" not in queue and "b1" in queue and queue.owner("b1") == "b"
    assert queue.order() == ["a0", "b1", "a1"]
    assert drain(queue) == ["a0", "b1", "a1"]


def test_an_item_is_queued_once() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.put("x", "a")
    with pytest.raises(ValueError, match="queued already"):
        queue.put("x", "b")


def test_close_wakes_every_blocked_get_and_refuses_new_items() -> None:
    queue: FairQueue[str] = FairQueue()
    results: list[str | None] = []
    started = threading.Barrier(4)

    def consume() -> None:
        started.wait()
        results.append(queue.get())

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.wait()
    queue.close()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert results == [None, None, None]
    assert queue.closed
    with pytest.raises(QueueClosedError):
        queue.put("late", "a")


def test_get_times_out_empty() -> None:
    queue: FairQueue[str] = FairQueue()
    assert queue.get(timeout=0.01) is None


def test_many_threads_get_every_item_exactly_once() -> None:
    queue: FairQueue[str] = FairQueue()
    got: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        while (item := queue.get()) is not None:
            with lock:
                got.append(item)

    def produce(owner: str) -> None:
        for index in range(200):
            queue.put(f"{owner}-{index}", owner)

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    producers = [threading.Thread(target=produce, args=(f"o{n}",)) for n in range(4)]
    for thread in [*consumers, *producers]:
        thread.start()
    for thread in producers:
        thread.join(timeout=30)
    while len(queue):
        threading.Event().wait(0.01)
    queue.close()
    for thread in consumers:
        thread.join(timeout=30)
    assert sorted(got) == sorted(f"o{n}-{i}" for n in range(4) for i in range(200))


OPS = st.lists(
    st.one_of(st.sampled_from(["alice", "bob", "carol", "dave"]), st.just(None)), max_size=40
)


@given(OPS)
def test_order_predicts_get_and_nobody_waits_two_turns_of_another(ops: list[str | None]) -> None:
    """None in `ops` takes one item out (a run starts); a name queues one item for that owner."""
    queue: FairQueue[str] = FairQueue()
    for number, op in enumerate(ops):
        if op is None:
            expected = queue.order()
            got = queue.get(timeout=0)
            assert got == (expected[0] if expected else None)
        else:
            queue.put(f"{op}:{number}", op)
        order = queue.order()
        owners = [item.split(":")[0] for item in order]
        for owner in set(owners):
            ahead = owners[: owners.index(owner)]
            assert all(ahead.count(other) <= 1 for other in ahead), (owner, order)
            mine = [item for item in order if item.startswith(owner + ":")]
            assert mine == sorted(mine, key=lambda item: int(item.split(":")[1]))
    expected = queue.order()
    assert drain(queue) == expected


# -- the manager with real runs ------------------------------------------------------------

MLP = load_preset("mlp")
BLOCKER = {"train_subset": 50_000, "eval_limit": 100, "batch_size": 16, "epochs": 1}
TINY = {"train_subset": 128, "eval_limit": 64, "epochs": 1, "batch_size": 64, "max_steps": 2}


class Starts:
    """A listener recording the order in which runs start, and letting a test wait for one."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, run_id: str, event: dict[str, Any]) -> None:
        if event["type"] == "status" and event["status"] == "running":
            with self._changed:
                self.started.append(run_id)
                self._changed.notify_all()

    def wait_started(self, run_id: str) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: run_id in self.started, timeout=60)


def open_manager(data_dir: Path, mnist: Mnist, starts: Starts) -> tuple[Store, RunManager]:
    store = Store(data_dir)
    manager = RunManager(
        store, Settings(data_dir=data_dir, device="cpu"), mnist=mnist, throttle=Throttle()
    )
    manager.add_listener(starts)
    manager.start()
    return store, manager


@pytest.fixture
def starts() -> Starts:
    return Starts()


@pytest.fixture
def manager(tmp_path: Path, mnist: Mnist, starts: Starts) -> Iterator[RunManager]:
    store, opened = open_manager(tmp_path / "data", mnist, starts)
    try:
        yield opened
    finally:
        opened.close()
        store.close()


def submit(manager: RunManager, owner: str, config: dict[str, Any] = TINY) -> RunRecord:
    model = manager.create_model("mlp", MLP)
    return manager.submit(model.id, config, owner)


def test_the_manager_starts_runs_by_turns(manager: RunManager, starts: Starts) -> None:
    first = submit(manager, "alice", BLOCKER)
    starts.wait_started(first.id)  # alice holds the only slot
    alice = [submit(manager, "alice") for _ in range(3)]
    bob = submit(manager, "bob")
    assert manager.queue_order() == [bob.id, *(run.id for run in alice)]

    manager.stop(alice[0].id)  # a run stopped while queued leaves the queue
    assert manager.queue_order() == [bob.id, alice[1].id, alice[2].id]
    carol = submit(manager, "carol")
    expected = [bob.id, carol.id, alice[1].id, alice[2].id]
    assert manager.queue_order() == expected

    store = manager.store
    records = [store.get_run(run_id) for run_id in expected]
    views = run_views(store, [r for r in records if r is not None], manager.queue_order())
    assert [view.queue_position for view in views] == [1, 2, 3, 4]
    fifo = run_views(store, [r for r in records if r is not None])  # creation order instead
    assert [view.queue_position for view in fifo] == [3, 4, 1, 2]

    manager.stop(first.id)
    for run_id in expected:
        record = manager.wait(run_id, 60)
        assert record.status == RunStatus.COMPLETED
    assert starts.started == [first.id, *expected]
    assert manager.queue_order() == []


def test_queued_runs_keep_their_owner_and_turns_after_a_restart(
    tmp_path: Path, mnist: Mnist
) -> None:
    data_dir = tmp_path / "data"
    before = Starts()
    store, manager = open_manager(data_dir, mnist, before)
    first = submit(manager, "alice", BLOCKER)
    before.wait_started(first.id)
    a1, a2, b1 = submit(manager, "alice"), submit(manager, "alice"), submit(manager, "bob")
    manager.close()  # the blocker is interrupted, the rest stay queued
    store.close()

    after = Starts()
    store, manager = open_manager(data_dir, mnist, after)
    try:
        for run in (a1, a2, b1):
            assert manager.wait(run.id, 60).status == RunStatus.COMPLETED
        assert after.started == [a1.id, b1.id, a2.id]  # FIFO would be a1, a2, b1
        assert {store.get_run(run.id).owner for run in (a1, a2)} == {"alice"}  # type: ignore[union-attr]
        assert store.get_run(first.id).status == RunStatus.INTERRUPTED  # type: ignore[union-attr]
    finally:
        manager.close()
        store.close()


def test_eta_of_a_queued_run_counts_the_runs_ahead_in_turn_order(
    manager: RunManager, starts: Starts
) -> None:
    first = submit(manager, "alice", BLOCKER)
    starts.wait_started(first.id)
    alice = submit(manager, "alice", {**TINY, "max_steps": None, "train_subset": 50_000})
    bob = submit(manager, "bob")
    store = manager.store
    records = [store.get_run(bob.id), store.get_run(alice.id)]
    pause = threading.Event()
    for _ in range(600):  # step points reach the store about once a second
        views = run_views(store, [r for r in records if r], manager.queue_order())
        if all(view.eta_s is not None for view in views):
            break
        pause.wait(0.1)
    bob_view, alice_view = views
    assert (bob_view.queue_position, alice_view.queue_position) == (1, 2)
    assert bob_view.eta_s is not None and alice_view.eta_s is not None
    # alice's run (782 steps) waits for bob's (2 steps) too, bob's does not wait for hers
    assert alice_view.eta_s > bob_view.eta_s
    manager.stop(alice.id)
    manager.stop(first.id)


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        (1, [15.0, 25.0, 35.0]),  # one slot, its run done at 5 s: the queue runs one by one
        (2, [15.0, 18.0, 25.0]),  # the two running runs free their slots at 5 s and 8 s
        (3, [10.0, 15.0, 18.0]),  # a free slot takes the first queued run at once
    ],
)
def test_queued_etas_count_every_slot(tmp_path: Path, slots: int, expected: list[float]) -> None:
    """Each run: 100 steps of 100 images; every running run trains 1,000 images/s."""
    store = Store(tmp_path)
    model = store.create_model("m", {"input_shape": [1, 28, 28], "layers": []}, {})
    config = {"epochs": 1, "batch_size": 100, "train_subset": 10_000}
    running = [store.create_run(model.id, config) for _ in range(2)]
    queued = [store.create_run(model.id, config) for _ in range(3)]
    for record, step in zip(running, (50, 20), strict=True):  # 5 s and 8 s left
        store.update_run(record.id, status=RunStatus.RUNNING, step=step)
        point = {"type": "step", "seq": 1, "step": step, "epoch": 0, "samples_per_s": 1000.0}
        store.append_events(record.id, [point])
    if slots == 1:  # one slot holds one run: the other one has finished
        store.update_run(running[1].id, status=RunStatus.COMPLETED)
    views = run_views(store, queued, [record.id for record in queued], slots=slots)
    assert [view.queue_position for view in views] == [1, 2, 3]
    assert [view.eta_s for view in views] == expected
