"""The models table: saved model specs and the summaries computed when they were built."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from app.store.connection import Database, dump_strict
from app.store.errors import ConflictError
from app.store.records import ACTIVE_STATUSES, ModelRecord, new_id
from app.store.runs_table import remove_run_checkpoints


def _model_from_row(row: sqlite3.Row) -> ModelRecord:
    return ModelRecord(
        id=row["id"],
        name=row["name"],
        spec=json.loads(row["spec"]),
        summary=json.loads(row["summary"]),
        created_at=row["created_at"],
        owner=row["owner"],
    )


class ModelsTable(Database):
    """Create, read, list and delete models (deleting one deletes its runs and their files)."""

    def create_model(
        self,
        name: str,
        spec: Mapping[str, Any],
        summary: Mapping[str, Any],
        owner: str | None = None,
    ) -> ModelRecord:
        """Save a model spec; ``spec`` and ``summary`` must be plain JSON objects."""
        spec_json, summary_json = dump_strict(spec), dump_strict(summary)
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
            remove_run_checkpoints(self.data_dir, row["id"])
        return True
