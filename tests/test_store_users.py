"""The store's people and fair-use records: users, tokens, share links, run limits, full disks."""

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import LimitError, NotFoundError, RunStatus, Store, StoreFullError

SPEC = {
    "input": [1, 28, 28],
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}],
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as opened:
        yield opened


def _model(store: Store, owner: str | None = None) -> str:
    return store.create_model("m", SPEC, {"params": 7850}, owner=owner).id


def test_users_and_their_tokens(store: Store) -> None:
    alice = store.create_user()
    assert store.user_exists(alice)
    assert not store.user_exists("nobody")
    token = store.create_token(alice)
    assert store.user_for_token(token) == alice
    assert store.user_for_token(token + "x") is None
    with pytest.raises(NotFoundError):
        store.create_token("nobody")
    assert store.revoke_token(token)
    assert not store.revoke_token(token)
    assert store.user_for_token(token) is None
    store.ensure_user("local")
    store.ensure_user("local")  # twice is fine
    assert store.user_exists("local")


def test_models_and_runs_by_owner(store: Store) -> None:
    mine, theirs = _model(store, "alice"), _model(store, "bob")
    assert [model.id for model in store.list_models("alice")] == [mine]
    assert {model.id for model in store.list_models()} == {mine, theirs}
    run = store.create_run(mine, {}, owner="alice")
    assert [record.id for record in store.list_runs(owner="alice")] == [run.id]
    assert store.list_runs(owner="bob") == []


def test_share_tokens(store: Store) -> None:
    run = store.create_run(_model(store), {})
    assert run.share_token is None
    shared = store.set_share_token(run.id, share=True)
    assert shared.share_token
    assert store.shared_run(shared.share_token) == shared
    renewed = store.set_share_token(run.id, share=True)
    assert renewed.share_token != shared.share_token
    assert store.shared_run(shared.share_token) is None
    assert store.set_share_token(run.id, share=False).share_token is None
    with pytest.raises(NotFoundError):
        store.set_share_token("nope", share=True)


def test_the_active_run_limit_holds_under_concurrent_requests(store: Store) -> None:
    model_id = _model(store, "alice")
    created: list[str] = []
    refused: list[LimitError] = []
    start = threading.Barrier(12)

    def submit() -> None:
        start.wait()
        try:
            created.append(store.create_run(model_id, {}, owner="alice", max_active=3).id)
        except LimitError as error:
            refused.append(error)

    threads = [threading.Thread(target=submit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 3
    assert len(refused) == 9
    assert "at most 3" in str(refused[0])
    # finished runs do not count; other people have their own limit
    store.update_run(created[0], status=RunStatus.COMPLETED)
    store.create_run(model_id, {}, owner="alice", max_active=3)
    store.create_run(model_id, {}, owner="bob", max_active=3)


def test_checkpoint_paths_are_kept_relative_so_the_data_dir_can_move(tmp_path: Path) -> None:
    old = tmp_path / "old"
    with Store(old) as store:
        run = store.create_run(_model(store), {})
        path = old / "checkpoints" / run.id / "checkpoint.safetensors"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"weights")
        store.update_run(run.id, checkpoint=str(path))
        with pytest.raises(ValueError, match="outside the data directory"):
            store.update_run(run.id, checkpoint=str(tmp_path / "elsewhere.safetensors"))
    new = tmp_path / "moved"
    shutil.move(old, new)
    with Store(new) as store:
        moved = store.get_run(run.id)
        assert moved is not None
        assert moved.checkpoint == str(new / "checkpoints" / run.id / "checkpoint.safetensors")
        assert Path(moved.checkpoint).read_bytes() == b"weights"


def test_absolute_paths_of_older_databases_become_relative(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        run = store.create_run(_model(store), {})
    absolute = f"/somewhere/else/checkpoints/{run.id}/checkpoint.safetensors"
    with sqlite3.connect(data / "playground.sqlite3") as conn:  # as version 2 stored them
        conn.execute("UPDATE runs SET checkpoint = ?", (absolute,))
        conn.execute("PRAGMA user_version = 2")
        for column in ("parent_run_id", "branch_epoch", "branch_note"):  # undo version 7, …
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.execute("DROP TABLE datasets")  # … version 5 …
        conn.execute("ALTER TABLE runs DROP COLUMN starter")  # … version 4 …
        conn.execute("DROP TABLE server_events")
        conn.execute("DROP INDEX runs_by_share_token")  # … and version 3
        conn.execute("DROP INDEX models_by_owner")
        conn.execute("ALTER TABLE runs DROP COLUMN share_token")
        conn.execute("DROP TABLE api_tokens")
        conn.execute("DROP TABLE users")
    with Store(data) as store:
        migrated = store.get_run(run.id)
    assert migrated is not None
    assert migrated.checkpoint == str(data / "checkpoints" / run.id / "checkpoint.safetensors")


def test_a_full_disk_is_a_clear_error_and_changes_nothing(store: Store) -> None:
    model_id = _model(store)
    run = store.create_run(model_id, {})
    store.append_events(run.id, [{"seq": 0, "type": "status", "status": "queued"}])
    conn = sqlite3.connect(store.path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    # SQLite's own "database or disk is full": the file may not grow by another page.
    store._connection().execute(f"PRAGMA max_page_count = {pages}")
    big = [{"seq": seq, "type": "step", "loss": 0.5, "pad": "x" * 2000} for seq in range(1, 200)]
    with pytest.raises(StoreFullError, match="is full; nothing was saved"):
        store.append_events(run.id, big)
    assert [event["seq"] for event in store.events_since(run.id)] == [0]
    unchanged = store.get_run(run.id)
    assert unchanged is not None
    assert unchanged.last_seq == 0
    store._connection().execute("PRAGMA max_page_count = 1073741823")
    store.append_events(run.id, big)
    assert len(store.events_since(run.id)) == 200
    ok = store._connection().execute("PRAGMA integrity_check").fetchone()[0]
    assert ok == "ok"
