"""Event tables: each run's event (metric) history, and server events that happen once."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from app.store.connection import Database, name_list
from app.store.errors import ConflictError, NotFoundError
from app.store.records import JSONDict


def _finite_or_none(value: Any) -> Any:
    """Replace non-finite floats (a diverging loss) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    return value


class EventsTable(Database):
    """Append, read and trim a run's events; record one-off server events."""

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
            wanted = name_list(types)
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

    def happen_once(self, name: str) -> bool:
        """Record that `name` happened; True only the first time (e.g. "starter run made")."""
        with self._transaction() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO server_events (name, happened_at) VALUES (?, ?)",
                (name, time.time()),
            ).rowcount
        return bool(inserted)
