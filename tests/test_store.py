"""Tests of app.store: SQLite records and events, safetensors checkpoints."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from app.store import (
    SCHEMA_VERSION,
    CheckpointError,
    ConflictError,
    NotFoundError,
    RunRecord,
    RunStatus,
    Store,
    StoreError,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from app.store.checkpoints import load_model_state

SPEC: dict[str, Any] = {
    "name": "tiny — μ",
    "input": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "bias": True},
        {"type": "relu"},
        {"type": "dropout", "p": 0.25},
        {"type": "linear", "out_features": 10, "init": None},
    ],
    "nested": {"z": 1, "a": [1.5, -0.0, 1e-300, 12345678901234567890]},
}
CONFIG: dict[str, Any] = {"optimizer": "adamw", "lr": 3e-4, "epochs": 2, "seed": 0, "amp": False}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as opened:
        yield opened


def raw_connection(store: Store) -> sqlite3.Connection:
    return sqlite3.connect(store.path)


def existing_run(store: Store, run_id: str) -> RunRecord:
    run = store.get_run(run_id)
    assert run is not None
    return run


# -- models and runs ----------------------------------------------------------------------


def test_model_round_trip(store: Store) -> None:
    model = store.create_model("tiny", SPEC, {"params": 1234})
    assert len(model.id) == 12
    assert model.spec == SPEC
    assert list(model.spec) == list(SPEC)  # key order kept
    loaded = store.get_model(model.id)
    assert loaded == model
    assert loaded is not None and list(loaded.spec["nested"]) == ["z", "a"]
    other = store.create_model("other", {"layers": []}, {})
    assert [m.id for m in store.list_models()] == [model.id, other.id]
    assert store.get_model("missing") is None


def test_model_spec_must_be_plain_json(store: Store) -> None:
    with pytest.raises(ValueError):
        store.create_model("bad", {"lr": math.nan}, {})
    assert store.list_models() == []


def test_run_round_trip_and_updates(store: Store) -> None:
    model = store.create_model("m", SPEC, {})
    run = store.create_run(model.id, CONFIG)
    assert run.status is RunStatus.QUEUED
    assert run.config == CONFIG
    assert (run.epoch, run.step, run.last_seq) == (0, 0, -1)
    assert run.started_at is None and run.checkpoint is None
    assert store.get_run(run.id) == run

    updated = store.update_run(
        run.id, status="running", started_at=12.5, epoch=1, step=100, best_val_accuracy=0.9
    )
    assert updated.status is RunStatus.RUNNING
    assert (updated.started_at, updated.epoch, updated.step) == (12.5, 1, 100)
    assert updated.best_val_accuracy == 0.9
    assert store.get_run(run.id) == updated

    with pytest.raises(ValueError, match="cannot be updated"):
        store.update_run(run.id, last_seq=5)
    with pytest.raises(ValueError, match="cannot be updated"):
        injection: dict[str, Any] = {"status = 'completed' --": 1}
        store.update_run(run.id, **injection)
    with pytest.raises(ValueError, match="bad value"):
        store.update_run(run.id, status="exploded")
    with pytest.raises(ValueError, match="bad value"):
        store.update_run(run.id, epoch=1.5)
    with pytest.raises(NotFoundError):
        store.update_run("nope", status="running")
    with pytest.raises(NotFoundError):
        store.create_run("nope", CONFIG)

    with pytest.raises(ConflictError):
        store.update_run(run.id, expect_status=["queued"], status="running")
    done = store.update_run(
        run.id, expect_status=["running"], status="completed", test_accuracy=0.95
    )
    assert done.status is RunStatus.COMPLETED and done.test_accuracy == 0.95


def test_list_runs_filters(store: Store) -> None:
    first, second = store.create_model("a", {}, {}), store.create_model("b", {}, {})
    r1 = store.create_run(first.id, {})
    r2 = store.create_run(second.id, {})
    r3 = store.create_run(first.id, {})
    store.update_run(r3.id, status="failed", error="boom")
    assert [r.id for r in store.list_runs()] == [r1.id, r2.id, r3.id]
    assert [r.id for r in store.list_runs(first.id)] == [r1.id, r3.id]
    assert [r.id for r in store.list_runs(statuses=["queued"])] == [r1.id, r2.id]
    assert [r.id for r in store.list_runs(statuses="queued")] == [r1.id, r2.id]
    assert [r.id for r in store.list_runs(first.id, statuses=[RunStatus.FAILED])] == [r3.id]
    assert store.list_runs(statuses=[]) == []
    assert existing_run(store, r3.id).error == "boom"


def test_delete_model_refuses_active_runs(store: Store) -> None:
    model = store.create_model("m", {}, {})
    run = store.create_run(model.id, {})
    store.append_events(run.id, [{"seq": 0, "type": "log"}])
    ckpt_dir = checkpoint_dir(store.data_dir, run.id)
    ckpt_dir.mkdir(parents=True)
    (ckpt_dir / "last.safetensors").write_bytes(b"x")
    for status in ("queued", "running", "paused"):
        store.update_run(run.id, status=status)
        with pytest.raises(ConflictError):
            store.delete_model(model.id)
        with pytest.raises(ConflictError):
            store.delete_run(run.id)
    store.update_run(run.id, status="stopped")
    assert store.delete_model(model.id) is True
    assert store.get_model(model.id) is None
    assert store.get_run(run.id) is None
    assert store.events_since(run.id) == []
    assert not ckpt_dir.exists()
    assert store.delete_model(model.id) is False


def test_delete_run(store: Store) -> None:
    model = store.create_model("m", {}, {})
    run = store.create_run(model.id, {})
    store.update_run(run.id, status="completed")
    assert store.delete_run(run.id) is True
    assert store.delete_run(run.id) is False
    assert store.get_model(model.id) is not None


# -- events -------------------------------------------------------------------------------


def test_events_order_since_types_and_limit(store: Store) -> None:
    run = store.create_run(store.create_model("m", {}, {}).id, {})
    store.append_events(
        run.id, [{"seq": 2, "type": "step", "loss": 0.5}, {"seq": 0, "type": "log"}]
    )
    store.append_events(run.id, [{"seq": 1, "type": "step", "loss": 0.7, "nested": {"a": [1]}}])
    store.append_events(run.id, [{"seq": 3, "type": "epoch", "val_accuracy": 0.9}])
    store.append_events(run.id, [])
    assert existing_run(store, run.id).last_seq == 3

    events = store.events_since(run.id)
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    assert events[1] == {"seq": 1, "type": "step", "loss": 0.7, "nested": {"a": [1]}}
    assert [e["seq"] for e in store.events_since(run.id, since_seq=1)] == [2, 3]
    assert [e["seq"] for e in store.events_since(run.id, types={"step"})] == [1, 2]
    assert [e["seq"] for e in store.events_since(run.id, types="step")] == [1, 2]
    assert [e["seq"] for e in store.events_since(run.id, 1, types=["step", "epoch"])] == [2, 3]
    assert [e["seq"] for e in store.events_since(run.id, limit=2)] == [0, 1]
    assert store.events_since(run.id, types=[]) == []
    assert store.events_since(run.id, since_seq=3) == []
    assert store.events_since("other") == []


def test_append_events_is_all_or_nothing(store: Store) -> None:
    run = store.create_run(store.create_model("m", {}, {}).id, {})
    store.append_events(run.id, [{"seq": 0, "type": "log"}])
    with pytest.raises(ConflictError):
        store.append_events(run.id, [{"seq": 1, "type": "log"}, {"seq": 0, "type": "log"}])
    assert [e["seq"] for e in store.events_since(run.id)] == [0]
    assert existing_run(store, run.id).last_seq == 0
    for bad in ({"type": "log"}, {"seq": "1", "type": "log"}, {"seq": True, "type": "log"},
                {"seq": -1, "type": "log"}, {"seq": 5, "type": 3}):  # fmt: skip
        with pytest.raises(ValueError):
            store.append_events(run.id, [bad])
    with pytest.raises(NotFoundError):
        store.append_events("missing", [{"seq": 0, "type": "log"}])


def test_non_finite_floats_become_null(store: Store) -> None:
    run = store.create_run(store.create_model("m", {}, {}).id, {})
    store.append_events(run.id, [{"seq": 0, "type": "step", "loss": math.nan, "x": [math.inf]}])
    assert store.events_since(run.id) == [{"seq": 0, "type": "step", "loss": None, "x": [None]}]


def test_delete_events_after(store: Store) -> None:
    run = store.create_run(store.create_model("m", {}, {}).id, {})
    store.append_events(run.id, [{"seq": i, "type": "step"} for i in range(10)])
    assert store.delete_events_after(run.id, 6) == 3
    assert existing_run(store, run.id).last_seq == 6
    store.append_events(run.id, [{"seq": 7, "type": "step", "again": True}])
    assert store.events_since(run.id, 6) == [{"seq": 7, "type": "step", "again": True}]
    assert store.delete_events_after(run.id, -1) == 8
    assert existing_run(store, run.id).last_seq == -1


def test_concurrent_writers_and_reader(store: Store) -> None:
    run = store.create_run(store.create_model("m", {}, {}).id, {})
    writers, batches, batch_size = 4, 40, 5
    errors: list[BaseException] = []
    done = threading.Event()

    def write(writer: int) -> None:
        try:
            for batch in range(batches):
                seqs = [(batch * batch_size + i) * writers + writer for i in range(batch_size)]
                store.append_events(run.id, [{"seq": s, "type": "step", "w": writer} for s in seqs])
                store.update_run(run.id, step=batch)
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        try:
            while not done.is_set():
                seqs = [e["seq"] for e in store.events_since(run.id, types=["step"])]
                assert seqs == sorted(seqs)
                store.list_runs()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert errors == []
    total = writers * batches * batch_size
    assert [e["seq"] for e in store.events_since(run.id)] == list(range(total))
    assert existing_run(store, run.id).last_seq == total - 1


# -- database file ------------------------------------------------------------------------


def test_wal_mode_schema_and_integrity(store: Store) -> None:
    run = store.create_run(store.create_model("m", SPEC, {}).id, CONFIG)
    store.append_events(run.id, [{"seq": 0, "type": "log"}])
    assert store.journal_mode() == "wal"
    conn = raw_connection(store)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_restart_marks_unfinished_runs_interrupted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = Store(data_dir)
    model = store.create_model("m", {}, {})
    runs = {status: store.create_run(model.id, {}).id for status in RunStatus}
    for status, run_id in runs.items():
        store.update_run(run_id, status=status)
    store.close()
    with pytest.raises(StoreError):
        store.get_run(runs[RunStatus.QUEUED])

    with Store(data_dir) as reopened:
        changed = reopened.mark_unfinished_interrupted()
        assert changed == [runs[RunStatus.RUNNING], runs[RunStatus.PAUSED]]
        statuses = {r.id: r.status for r in reopened.list_runs()}
        assert statuses[runs[RunStatus.RUNNING]] is RunStatus.INTERRUPTED
        assert statuses[runs[RunStatus.PAUSED]] is RunStatus.INTERRUPTED
        for status in (RunStatus.QUEUED, RunStatus.COMPLETED, RunStatus.STOPPED):
            assert statuses[runs[status]] is status
        assert reopened.mark_unfinished_interrupted() == []


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "playground.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path)


def test_datasets_of_an_older_database_gain_share_tokens(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        store.create_dataset("ds_old", "old", {"kind": "classification"}, owner="alice")
    with sqlite3.connect(data / "playground.sqlite3") as conn:  # as version 5 left it
        conn.execute("DROP INDEX datasets_by_share_token")
        conn.execute("ALTER TABLE datasets DROP COLUMN share_token")
        for column in ("parent_run_id", "branch_epoch", "branch_note"):  # version 7's
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 5")
    with Store(data) as store:
        old = store.get_dataset("ds_old")
        assert old is not None and (old.owner, old.share_token) == ("alice", None)
        shared = store.set_dataset_share_token("ds_old", share=True)
        assert shared.share_token and store.shared_dataset(shared.share_token) == shared
        renewed = store.set_dataset_share_token("ds_old", share=True)
        assert renewed.share_token != shared.share_token
        assert store.shared_dataset(shared.share_token) is None  # the older token is gone
        assert store.set_dataset_share_token("ds_old", share=False).share_token is None
        assert store.shared_dataset(renewed.share_token or "") is None
        with pytest.raises(NotFoundError):
            store.set_dataset_share_token("ds_none", share=True)
        conn = raw_connection(store)
        try:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            indexes = {row[1]: row[2] for row in conn.execute("PRAGMA index_list(datasets)")}
            assert indexes["datasets_by_share_token"] == 1  # unique
        finally:
            conn.close()


# -- checkpoints --------------------------------------------------------------------------


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))


OPTIMIZERS: dict[str, Callable[[Any], torch.optim.Optimizer]] = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-2, betas=(0.8, 0.95)),
    "adamw": lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1, amsgrad=True),
}


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(32, 8, generator=generator)
    targets = torch.randint(0, 4, (32,), generator=generator)
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(inputs), targets)
    torch.autograd.backward(loss)
    optimizer.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_checkpoint_continuation_is_bit_identical(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    model = make_model()
    optimizer = OPTIMIZERS[name](model.parameters())
    for seed in range(3):
        train_step(model, optimizer, seed)
    path = checkpoint_dir(tmp_path, "abc123") / "last.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer.state_dict(), {"epoch": 3})

    torch.manual_seed(1)
    restored = make_model()
    restored_optimizer = OPTIMIZERS[name](restored.parameters())
    checkpoint = load_checkpoint(path)
    assert checkpoint.meta == {"epoch": 3}
    assert checkpoint.optimizer_state is not None
    restored.load_state_dict(checkpoint.model_state)
    restored_optimizer.load_state_dict(checkpoint.optimizer_state)
    assert restored_optimizer.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]

    for seed in (10, 11):
        train_step(model, optimizer, seed)
        train_step(restored, restored_optimizer, seed)
    for key, value in model.state_dict().items():
        assert torch.equal(value, restored.state_dict()[key]), key
    original_state = optimizer.state_dict()["state"]
    for index, entries in restored_optimizer.state_dict()["state"].items():
        for entry, value in entries.items():
            assert torch.equal(value, original_state[index][entry]), (index, entry)


def test_checkpoint_preserves_odd_values(tmp_path: Path) -> None:
    weight = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    model_state = {
        "z.weight": weight,
        "tied.weight": weight,  # aliased
        "a.transposed": weight.t(),  # not contiguous
        "half": torch.ones(2, dtype=torch.bfloat16),
        "mask": torch.tensor([True, False]),
        "count": torch.tensor(7),
        "empty": torch.zeros(0, 3),
    }
    meta = {
        "epoch": 2,
        "last_seq": 41,
        "rng": torch.get_rng_state(),
        "betas": (0.9, 0.999),
        "by_index": {0: "a", 1: [1, 2]},
        "loss": math.inf,
        "note": None,
    }
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model_state, None, meta)
    checkpoint = load_checkpoint(path)
    assert list(checkpoint.model_state) == list(model_state)
    for key, value in model_state.items():
        loaded = checkpoint.model_state[key]
        assert loaded.dtype == value.dtype and torch.equal(loaded, value), key
    assert checkpoint.optimizer_state is None
    rng = meta.pop("rng")
    assert isinstance(rng, torch.Tensor) and torch.equal(checkpoint.meta.pop("rng"), rng)
    assert checkpoint.meta == meta
    assert isinstance(checkpoint.meta["betas"], tuple)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_checkpoint_from_and_to_cuda(tmp_path: Path) -> None:
    model = nn.Linear(8, 4).cuda()
    optimizer = torch.optim.Adam(model.parameters())
    torch.autograd.backward(model(torch.randn(2, 8, device="cuda")).sum())
    optimizer.step()
    path = tmp_path / "cuda.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer.state_dict(), {})
    checkpoint = load_checkpoint(path, device="cuda")
    for key, value in model.state_dict().items():
        loaded = checkpoint.model_state[key]
        assert loaded.is_cuda and torch.equal(loaded, value)
    assert checkpoint.optimizer_state is not None
    optimizer.load_state_dict(checkpoint.optimizer_state)


def test_failed_write_keeps_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run1" / "last.safetensors"
    save_checkpoint(path, {"w": torch.zeros(3)}, None, {"epoch": 1})

    def fail_replace(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"w": torch.ones(3)}, None, {"epoch": 2})
    monkeypatch.undo()
    checkpoint = load_checkpoint(path)
    assert checkpoint.meta == {"epoch": 1}
    assert torch.equal(checkpoint.model_state["w"], torch.zeros(3))
    assert [p.name for p in path.parent.iterdir()] == ["last.safetensors"]  # no temp left


def test_corrupted_checkpoints_raise(tmp_path: Path) -> None:
    path = tmp_path / "good.safetensors"
    save_checkpoint(path, {"w": torch.randn(64)}, None, {"epoch": 1})
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    flipped = bytearray(data)
    flipped[header_end + 10] ^= 0xFF
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, foreign)
    cases = {
        "truncated": data[: len(data) - 7],
        "header_only": data[:header_end],
        "tiny": data[:5],
        "empty": b"",
        "flipped": bytes(flipped),
        "garbage_header": data[:8] + b"\xff" * (header_end - 8) + data[header_end:],
        "foreign": foreign.read_bytes(),
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(content)
        with pytest.raises(CheckpointError):
            load_checkpoint(bad)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_checkpoint_dir_validates_run_id(tmp_path: Path) -> None:
    assert checkpoint_dir(tmp_path, "0a1b2c3d4e5f") == tmp_path / "checkpoints" / "0a1b2c3d4e5f"
    for bad in ("", "../etc", "a/b", "a.b", "a b", "x" * 65, "é"):
        with pytest.raises(ValueError):
            checkpoint_dir(tmp_path, bad)


def test_the_weights_alone_can_be_read_from_a_checkpoint(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    path = tmp_path / "epoch.safetensors"
    save_checkpoint(
        path, model.state_dict(), optimizer.state_dict(), {"epoch": 2, "rng": torch.ones(2)}
    )
    weights, meta = load_model_state(path)
    assert weights.keys() == model.state_dict().keys()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert meta == {"epoch": 2}  # tensors (random states) are left out
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError):
        load_model_state(path)
