"""The SQLite plumbing every table shares: one connection, its lock, transactions, migrations.

One file, ``<data_dir>/playground.sqlite3``, in WAL mode. A single connection guarded by a
lock serves every thread (web server and training worker alike); each write is one short
transaction, so a process killed at any moment leaves a consistent database.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from app.store.errors import StoreError, StoreFullError, is_disk_full
from app.store.schema import MIGRATIONS, SCHEMA_VERSION

DB_FILENAME = "playground.sqlite3"


def dump_strict(value: Mapping[str, Any]) -> str:
    """Specs, summaries and configs must be plain JSON: NaN and infinities are refused."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def name_list(values: Collection[str]) -> list[str]:
    """A collection of names as a list; a lone string counts as one name, not characters."""
    return [values] if isinstance(values, str) else list(values)


class Database:
    """One connection to the database in ``data_dir``, migrated to the current schema.

    Each table's class (models, runs, events, users) builds on it; Store joins them.
    """

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
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first, so BEGIN/COMMIT make each migration atomic.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
            )

    def journal_mode(self) -> str:
        """The database's journal mode ("wal" when all is well)."""
        with self._reading() as conn:
            mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
            return mode
