"""SQLite records of models, runs and their event (metric) history.

One file, ``<data_dir>/playground.sqlite3``, in WAL mode. A single connection guarded by a
lock serves every thread (web server and training worker alike); each write is one short
transaction, so a process killed at any moment leaves a consistent database.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import secrets
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from app.store.checkpoints import checkpoint_dir

DB_FILENAME = "playground.sqlite3"

JSONDict = dict[str, Any]


class StoreError(Exception):
    """Base class of the errors this store raises on purpose."""


class NotFoundError(StoreError, LookupError):
    """The model or run does not exist."""


class ConflictError(StoreError):
    """The change conflicts with the current state (active runs, duplicate seq, status)."""


class LimitError(StoreError):
    """The owner already has as many active runs as allowed."""

    def __init__(self, active: int, limit: int) -> None:
        super().__init__(
            f"you already have {active} runs queued or training (at most {limit}); "
            "wait for one to finish or stop one"
        )
        self.active, self.limit = active, limit


class StoreFullError(StoreError):
    """The disk (or a file size limit) is full: the write was rolled back, nothing changed."""


class RunStatus(StrEnum):
    """Lifecycle of a run; the values are what the database and the API hold."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


ACTIVE_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED}
)
"""Runs in these statuses block deleting their model."""

FINISHED_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.FAILED}
)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A saved model spec and the summary computed when it was built."""

    id: str
    name: str
    spec: JSONDict
    summary: JSONDict
    created_at: float
    owner: str | None = None  # who created it (a client or user id); None: anyone


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One training run of a model; ``checkpoint`` is the latest checkpoint's path, if any."""

    id: str
    model_id: str
    config: JSONDict
    status: RunStatus
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    epoch: int
    step: int
    best_val_accuracy: float | None
    test_accuracy: float | None
    last_seq: int
    checkpoint: str | None  # absolute (stored relative to data_dir)
    owner: str | None = None  # who started it (a client or user id); None: anyone
    share_token: str | None = None  # whoever has it may read (not control) the run
    starter: bool = False  # the run the server trains for newcomers; everyone may read it


# Each entry migrates the schema from version i to i + 1; never edit a released entry.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE models (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        summary TEXT NOT NULL,
        created_at REAL NOT NULL
    ) STRICT;
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        config TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN (
            'queued', 'running', 'paused', 'completed', 'stopped', 'failed', 'interrupted'
        )),
        error TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        epoch INTEGER NOT NULL DEFAULT 0,
        step INTEGER NOT NULL DEFAULT 0,
        best_val_accuracy REAL,
        test_accuracy REAL,
        last_seq INTEGER NOT NULL DEFAULT -1,
        checkpoint TEXT
    ) STRICT;
    CREATE INDEX runs_by_model ON runs (model_id, created_at);
    CREATE INDEX runs_by_status ON runs (status);
    CREATE TABLE events (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX events_by_type ON events (run_id, type, seq);
    """,
    """
    ALTER TABLE models ADD COLUMN owner TEXT;
    ALTER TABLE runs ADD COLUMN owner TEXT;
    CREATE INDEX runs_by_owner ON runs (owner, status);
    """,
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL
    ) STRICT;
    CREATE TABLE api_tokens (
        digest TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at REAL NOT NULL
    ) STRICT;
    ALTER TABLE runs ADD COLUMN share_token TEXT;
    CREATE UNIQUE INDEX runs_by_share_token ON runs (share_token);
    CREATE INDEX models_by_owner ON models (owner, created_at);
    UPDATE runs
        SET checkpoint = substr(checkpoint, instr(checkpoint, '/checkpoints/' || id || '/') + 1)
        WHERE instr(checkpoint, '/checkpoints/' || id || '/') > 0;
    """,
    """
    ALTER TABLE runs ADD COLUMN starter INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE server_events (
        name TEXT PRIMARY KEY,
        happened_at REAL NOT NULL
    ) STRICT;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_optional_number(value: object) -> bool:
    return value is None or _is_number(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


# The only run columns update_run may write, with a check of each value's type.
_UPDATABLE_RUN_FIELDS: dict[str, Callable[[Any], bool]] = {
    "config": lambda v: isinstance(v, dict),
    "status": lambda v: isinstance(v, str) and v in {status.value for status in RunStatus},
    "error": _is_optional_str,
    "started_at": _is_optional_number,
    "finished_at": _is_optional_number,
    "epoch": lambda v: _is_int(v) and v >= 0,
    "step": lambda v: _is_int(v) and v >= 0,
    "best_val_accuracy": _is_optional_number,
    "test_accuracy": _is_optional_number,
    "checkpoint": _is_optional_str,
}


def new_id() -> str:
    """A fresh 12-hex-digit id."""
    return uuid.uuid4().hex[:12]


def _dump_strict(value: Mapping[str, Any]) -> str:
    """Specs, summaries and configs must be plain JSON: NaN and infinities are refused."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _finite_or_none(value: Any) -> Any:
    """Replace non-finite floats (a diverging loss) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    return value


def _names(values: Collection[str]) -> list[str]:
    """A collection of names as a list; a lone string counts as one name, not characters."""
    return [values] if isinstance(values, str) else list(values)


def _model_from_row(row: sqlite3.Row) -> ModelRecord:
    return ModelRecord(
        id=row["id"],
        name=row["name"],
        spec=json.loads(row["spec"]),
        summary=json.loads(row["summary"]),
        created_at=row["created_at"],
        owner=row["owner"],
    )


def _token_digest(token: str) -> str:
    """Bearer tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_disk_full(error: BaseException) -> bool:
    """Whether an error means the disk (or the file size limit) is full."""
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "disk is full" in str(error)
        )
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _run_from_row(row: sqlite3.Row, data_dir: Path) -> RunRecord:
    checkpoint = row["checkpoint"]
    return RunRecord(
        id=row["id"],
        model_id=row["model_id"],
        config=json.loads(row["config"]),
        status=RunStatus(row["status"]),
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        epoch=row["epoch"],
        step=row["step"],
        best_val_accuracy=row["best_val_accuracy"],
        test_accuracy=row["test_accuracy"],
        last_seq=row["last_seq"],
        checkpoint=None if checkpoint is None else str(data_dir / checkpoint),
        owner=row["owner"],
        share_token=row["share_token"],
        starter=bool(row["starter"]),
    )


class Store:
    """Thread-safe access to the playground database in ``data_dir``."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILENAME
        self._lock = threading.RLock()
        # isolation_level=None: no implicit transactions; _transaction() opens them.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # -- plumbing -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; later calls raise StoreError. Closing twice is fine."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one write transaction; commit on success, roll back on error."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                if conn.in_transaction:  # also when COMMIT itself failed
                    conn.execute("ROLLBACK")
                if is_disk_full(error):
                    raise StoreFullError(
                        f"the disk holding {self.data_dir} is full; nothing was saved"
                    ) from error
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    def _migrate(self) -> None:
        conn = self._connection()
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this app's "
                f"{SCHEMA_VERSION}; upgrade the app"
            )
        for target, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            # executescript commits first, so BEGIN/COMMIT make each migration atomic.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
            )

    def journal_mode(self) -> str:
        """The database's journal mode ("wal" when all is well)."""
        with self._reading() as conn:
            mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
            return mode

    # -- models ---------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        spec: Mapping[str, Any],
        summary: Mapping[str, Any],
        owner: str | None = None,
    ) -> ModelRecord:
        """Save a model spec; ``spec`` and ``summary`` must be plain JSON objects."""
        spec_json, summary_json = _dump_strict(spec), _dump_strict(summary)
        record = ModelRecord(
            id=new_id(),
            name=name,
            spec=json.loads(spec_json),
            summary=json.loads(summary_json),
            created_at=time.time(),
            owner=owner,
        )
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO models (id, name, spec, summary, created_at, owner)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, name, spec_json, summary_json, record.created_at, owner),
            )
        return record

    def get_model(self, model_id: str) -> ModelRecord | None:
        """The model, or None."""
        with self._reading() as conn:
            row = conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else _model_from_row(row)

    def list_models(self, owner: str | None = None) -> list[ModelRecord]:
        """All models (or one owner's), oldest first."""
        where, params = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT * FROM models {where} ORDER BY created_at, rowid", params
            ).fetchall()
        return [_model_from_row(row) for row in rows]

    def delete_model(self, model_id: str) -> bool:
        """Delete a model with its runs, events and checkpoint files.

        Returns False if there was no such model; raises ConflictError while one of its runs
        is queued, running or paused.
        """
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone() is None:
                return False
            runs = conn.execute(
                "SELECT id, status FROM runs WHERE model_id = ?", (model_id,)
            ).fetchall()
            active = [row["id"] for row in runs if row["status"] in ACTIVE_STATUSES]
            if active:
                raise ConflictError(
                    f"model {model_id} has active runs ({', '.join(active)}); stop them first"
                )
            conn.execute("DELETE FROM models WHERE id = ?", (model_id,))
        for row in runs:
            self._remove_checkpoints(row["id"])
        return True

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        model_id: str,
        config: Mapping[str, Any],
        owner: str | None = None,
        max_active: int | None = None,
        starter: bool = False,
    ) -> RunRecord:
        """Queue a new run of the model (`starter`: the run made for newcomers).

        Raises NotFoundError if the model does not exist, LimitError if `owner` already has
        `max_active` queued, running or paused runs (checked in the same transaction).
        """
        run_id = new_id()
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone() is None:
                raise NotFoundError(f"no model {model_id}")
            if max_active is not None:
                active: int = conn.execute(
                    "SELECT count(*) FROM runs WHERE owner IS ? AND status IN (?, ?, ?)",
                    (owner, *sorted(status.value for status in ACTIVE_STATUSES)),
                ).fetchone()[0]
                if active >= max_active:
                    raise LimitError(active, max_active)
            conn.execute(
                "INSERT INTO runs (id, model_id, config, status, created_at, owner, starter)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    model_id,
                    _dump_strict(config),
                    RunStatus.QUEUED.value,
                    time.time(),
                    owner,
                    int(starter),
                ),
            )
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run_from_row(row, self.data_dir)

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or None."""
        with self._reading() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _run_from_row(row, self.data_dir)

    def list_runs(
        self,
        model_id: str | None = None,
        statuses: Collection[str] | None = None,
        owner: str | None = None,
        *,
        with_starters: bool = False,
    ) -> list[RunRecord]:
        """Runs, oldest first, optionally of one model, in some statuses, of one owner (and,
        `with_starters`, the starter runs everyone may read)."""
        clauses: list[str] = []
        params: list[str] = []
        if model_id is not None:
            clauses.append("model_id = ?")
            params.append(model_id)
        if owner is not None:
            clauses.append("(owner = ? OR starter = 1)" if with_starters else "owner = ?")
            params.append(owner)
        elif with_starters:
            clauses.append("starter = 1")
        if statuses is not None:
            wanted = [RunStatus(status).value for status in _names(statuses)]
            if not wanted:
                return []
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT * FROM runs {where} ORDER BY created_at, rowid", params
            ).fetchall()
        return [_run_from_row(row, self.data_dir) for row in rows]

    def count_runs(self) -> dict[str, int]:
        """How many runs are in each status (statuses without runs are left out)."""
        with self._reading() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        return {str(status): int(count) for status, count in rows}

    def update_run(
        self,
        run_id: str,
        *,
        expect_status: Collection[str] | None = None,
        **fields: Any,
    ) -> RunRecord:
        """Set some of the run's fields and return the updated run.

        Allowed fields: config, status, error, started_at, finished_at, epoch, step,
        best_val_accuracy, test_accuracy, checkpoint. With ``expect_status`` the update only
        happens if the run's current status is one of them (else ConflictError), atomically.
        Raises NotFoundError for an unknown run, ValueError for a bad field name or value.
        """
        assignments: list[str] = []
        params: list[Any] = []
        for name, value in fields.items():
            check = _UPDATABLE_RUN_FIELDS.get(name)
            if check is None:
                raise ValueError(f"run field {name!r} cannot be updated")
            if not check(value):
                raise ValueError(f"bad value for run field {name!r}: {value!r}")
            assignments.append(f"{name} = ?")  # name comes from the allow-list above
            if name == "config":
                params.append(_dump_strict(value))
            elif name == "status":
                params.append(RunStatus(value).value)
            elif name == "checkpoint" and value is not None:
                params.append(self._relative(value))
            else:
                params.append(value)
        expected = None if expect_status is None else {RunStatus(s) for s in _names(expect_status)}
        with self._transaction() as conn:
            row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run {run_id}")
            if expected is not None and row["status"] not in expected:
                raise ConflictError(
                    f"run {run_id} is {row['status']}, expected one of "
                    f"{sorted(status.value for status in expected)}"
                )
            if assignments:
                conn.execute(
                    f"UPDATE runs SET {', '.join(assignments)} WHERE id = ?", [*params, run_id]
                )
            updated = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run_from_row(updated, self.data_dir)

    def delete_run(self, run_id: str) -> bool:
        """Delete a finished run with its events and checkpoint files.

        Returns False if there was no such run; raises ConflictError while it is active.
        """
        with self._transaction() as conn:
            row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return False
            if row["status"] in ACTIVE_STATUSES:
                raise ConflictError(f"run {run_id} is {row['status']}; stop it first")
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self._remove_checkpoints(run_id)
        return True

    def mark_unfinished_interrupted(self) -> list[str]:
        """At start-up: runs left running or paused by a dead process become interrupted.

        Queued runs stay queued (the worker can simply pick them up again). Returns the ids
        of the runs changed, oldest first.
        """
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM runs WHERE status IN (?, ?) ORDER BY created_at, rowid",
                (RunStatus.RUNNING.value, RunStatus.PAUSED.value),
            ).fetchall()
            conn.execute(
                "UPDATE runs SET status = ? WHERE status IN (?, ?)",
                (RunStatus.INTERRUPTED.value, RunStatus.RUNNING.value, RunStatus.PAUSED.value),
            )
        return [row["id"] for row in rows]

    def _relative(self, path: str) -> str:
        """A checkpoint path as stored: relative to data_dir, so the directory can move."""
        try:
            return Path(path).resolve().relative_to(self.data_dir.resolve()).as_posix()
        except ValueError:
            raise ValueError(f"checkpoint {path} is outside the data directory") from None

    def set_share_token(self, run_id: str, share: bool) -> RunRecord:
        """Give the run a new read-only share token (or remove it); returns the run."""
        token = secrets.token_urlsafe(18) if share else None
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE runs SET share_token = ? WHERE id = ?", (token, run_id)
            ).rowcount
            if not changed:
                raise NotFoundError(f"no run {run_id}")
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run_from_row(row, self.data_dir)

    def happen_once(self, name: str) -> bool:
        """Record that `name` happened; True only the first time (e.g. "starter run made")."""
        with self._transaction() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO server_events (name, happened_at) VALUES (?, ?)",
                (name, time.time()),
            ).rowcount
        return bool(inserted)

    def shared_run(self, share_token: str) -> RunRecord | None:
        """The run shared with this token, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT * FROM runs WHERE share_token = ?", (share_token,)
            ).fetchone()
        return None if row is None else _run_from_row(row, self.data_dir)

    # -- users ----------------------------------------------------------------------------

    def create_user(self) -> str:
        """A new user (an identity for shared mode); returns its id."""
        user_id = new_id()
        with self._transaction() as conn:
            conn.execute("INSERT INTO users (id, created_at) VALUES (?, ?)", (user_id, time.time()))
        return user_id

    def ensure_user(self, user_id: str) -> None:
        """Create the user with this id unless it exists (the local user of single-user mode)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (user_id, time.time())
            )

    def user_exists(self, user_id: str) -> bool:
        """Whether the user exists."""
        with self._reading() as conn:
            found = conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone()
        return found is not None

    def create_token(self, user_id: str) -> str:
        """A new bearer token for the user; only its digest is stored, so show it once."""
        token = secrets.token_urlsafe(32)
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
                raise NotFoundError(f"no user {user_id}")
            conn.execute(
                "INSERT INTO api_tokens (digest, user_id, created_at) VALUES (?, ?, ?)",
                (_token_digest(token), user_id, time.time()),
            )
        return token

    def user_for_token(self, token: str) -> str | None:
        """The user a bearer token belongs to, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT user_id FROM api_tokens WHERE digest = ?", (_token_digest(token),)
            ).fetchone()
        return None if row is None else str(row["user_id"])

    def revoke_token(self, token: str) -> bool:
        """Forget a bearer token; False if it was unknown."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM api_tokens WHERE digest = ?", (_token_digest(token),)
            ).rowcount
        return bool(deleted)

    def _remove_checkpoints(self, run_id: str) -> None:
        try:
            directory = checkpoint_dir(self.data_dir, run_id)
        except ValueError:
            return
        shutil.rmtree(directory, ignore_errors=True)

    # -- events ---------------------------------------------------------------------------

    def append_events(self, run_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Store events of a run in one transaction and advance its ``last_seq``.

        Each event is a JSON object with an int ``seq`` (>= 0, unique per run) and a str
        ``type``; non-finite floats are stored as null. Raises NotFoundError for an unknown
        run, ConflictError if a seq is already stored, ValueError for a malformed event.
        """
        rows: list[tuple[str, int, str, str]] = []
        for event in events:
            seq = event.get("seq")
            kind = event.get("type")
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                raise ValueError(f"event seq must be an int >= 0, got {seq!r}")
            if not isinstance(kind, str):
                raise ValueError(f"event type must be a str, got {kind!r}")
            data = json.dumps(_finite_or_none(dict(event)), allow_nan=False, separators=(",", ":"))
            rows.append((run_id, seq, kind, data))
        if not rows:
            return
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise NotFoundError(f"no run {run_id}")
            try:
                conn.executemany(
                    "INSERT INTO events (run_id, seq, type, data) VALUES (?, ?, ?, ?)", rows
                )
            except sqlite3.IntegrityError as error:
                raise ConflictError(f"run {run_id}: an event seq is already stored") from error
            conn.execute(
                "UPDATE runs SET last_seq = MAX(last_seq, ?) WHERE id = ?",
                (max(row[1] for row in rows), run_id),
            )

    def events_since(
        self,
        run_id: str,
        since_seq: int = -1,
        types: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[JSONDict]:
        """The run's events with ``seq > since_seq``, ordered by seq, as they were appended."""
        sql = "SELECT data FROM events WHERE run_id = ? AND seq > ?"
        params: list[Any] = [run_id, since_seq]
        if types is not None:
            wanted = _names(types)
            if not wanted:
                return []
            sql += f" AND type IN ({', '.join('?' * len(wanted))})"
            params.extend(wanted)
        sql += " ORDER BY seq"
        if limit is not None:
            if limit < 0:
                raise ValueError("limit must be >= 0")
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [json.loads(row["data"]) for row in rows]

    def delete_events_after(self, run_id: str, seq: int) -> int:
        """Drop the run's events with ``seq > seq`` (those of an epoch lost in a crash).

        Resets ``last_seq`` to the highest seq kept (-1 if none); returns how many were
        dropped.
        """
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM events WHERE run_id = ? AND seq > ?", (run_id, seq)
            ).rowcount
            conn.execute(
                "UPDATE runs SET last_seq = "
                "COALESCE((SELECT MAX(seq) FROM events WHERE run_id = ?), -1) WHERE id = ?",
                (run_id, run_id),
            )
        return int(deleted)
