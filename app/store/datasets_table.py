"""The datasets table: who uploaded which dataset (its samples live in DATA_DIR/datasets/ID/)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.store.connection import Database, dump_strict
from app.store.errors import ConflictError, NotFoundError
from app.store.records import ACTIVE_STATUSES


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """An uploaded dataset: its id (what a run's config names), owner, name and meta, and the
    token of its share link (None while it is not shared)."""

    id: str
    name: str
    meta: dict[str, Any]  # kind, classes, input_shape, splits (as the API shows them)
    created_at: float
    owner: str | None = None
    share_token: str | None = None


def _dataset_from_row(row: sqlite3.Row) -> DatasetRecord:
    return DatasetRecord(
        id=row["id"],
        name=row["name"],
        meta=json.loads(row["meta"]),
        created_at=row["created_at"],
        owner=row["owner"],
        share_token=row["share_token"],
    )


class DatasetsTable(Database):
    """Record, read, list, share and forget uploaded datasets."""

    def create_dataset(
        self, dataset_id: str, name: str, meta: Mapping[str, Any], owner: str | None = None
    ) -> DatasetRecord:
        """Record an uploaded dataset whose files are in place already."""
        meta_json = dump_strict(meta)
        record = DatasetRecord(dataset_id, name, json.loads(meta_json), time.time(), owner)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO datasets (id, owner, name, meta, created_at) VALUES (?, ?, ?, ?, ?)",
                (dataset_id, owner, name, meta_json, record.created_at),
            )
        return record

    def get_dataset(self, dataset_id: str) -> DatasetRecord | None:
        """The dataset, or None."""
        with self._reading() as conn:
            row = conn.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        return None if row is None else _dataset_from_row(row)

    def list_datasets(self, owner: str | None = None) -> list[DatasetRecord]:
        """Uploaded datasets, oldest first; only `owner`'s when given."""
        query, args = "SELECT * FROM datasets", tuple[str, ...]()
        if owner is not None:
            query, args = query + " WHERE owner = ?", (owner,)
        with self._reading() as conn:
            rows = conn.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [_dataset_from_row(row) for row in rows]

    def set_dataset_share_token(self, dataset_id: str, share: bool) -> DatasetRecord:
        """Give the dataset a new share token (or remove it); returns the dataset."""
        token = secrets.token_urlsafe(18) if share else None
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE datasets SET share_token = ? WHERE id = ?", (token, dataset_id)
            ).rowcount
            if not changed:
                raise NotFoundError(f"no dataset {dataset_id}")
            row = conn.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        return _dataset_from_row(row)

    def shared_dataset(self, share_token: str) -> DatasetRecord | None:
        """The dataset shared with this token, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT * FROM datasets WHERE share_token = ?", (share_token,)
            ).fetchone()
        return None if row is None else _dataset_from_row(row)

    def delete_dataset(self, dataset_id: str) -> bool:
        """Forget a dataset (its files are the caller's to remove); False if there is none.
        ConflictError while a queued, running or paused run trains on it."""
        statuses = [status.value for status in ACTIVE_STATUSES]
        marks = ", ".join("?" for _ in statuses)
        with self._transaction() as conn:
            busy = conn.execute(
                f"SELECT id FROM runs WHERE status IN ({marks})"
                " AND json_extract(config, '$.dataset') = ?",
                (*statuses, dataset_id),
            ).fetchone()
            if busy is not None:
                raise ConflictError(
                    f"dataset {dataset_id} is in use by run {busy['id']}: stop it first"
                )
            deleted = conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,)).rowcount
        return deleted > 0
