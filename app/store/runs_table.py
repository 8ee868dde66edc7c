"""The runs table: training runs of a model, their status, progress, checkpoint and sharing."""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from app.store.checkpoints import checkpoint_dir
from app.store.connection import Database, dump_strict, name_list
from app.store.errors import ConflictError, LimitError, NotFoundError
from app.store.records import ACTIVE_STATUSES, RunRecord, RunStatus, new_id


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
        parent_run_id=row["parent_run_id"],
        branch_epoch=row["branch_epoch"],
        branch_note=row["branch_note"],
    )


def remove_run_checkpoints(data_dir: Path, run_id: str) -> None:
    """Delete the run's checkpoint directory, if any (once its row is gone)."""
    try:
        directory = checkpoint_dir(data_dir, run_id)
    except ValueError:
        return
    shutil.rmtree(directory, ignore_errors=True)


class RunsTable(Database):
    """Create, read, list, update and delete runs; share them read-only."""

    def create_run(
        self,
        model_id: str,
        config: Mapping[str, Any],
        owner: str | None = None,
        max_active: int | None = None,
        starter: bool = False,
        branch: tuple[str, int, str] | None = None,
    ) -> RunRecord:
        """Queue a new run of the model (`starter`: the run made for newcomers; `branch`: the
        parent run, its epoch and a note, for a run that starts from the parent's weights).

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
            parent, epoch, note = branch or (None, None, None)
            conn.execute(
                "INSERT INTO runs (id, model_id, config, status, created_at, owner, starter,"
                " parent_run_id, branch_epoch, branch_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    model_id,
                    dump_strict(config),
                    RunStatus.QUEUED.value,
                    time.time(),
                    owner,
                    int(starter),
                    parent,
                    epoch,
                    note,
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
            wanted = [RunStatus(status).value for status in name_list(statuses)]
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
                params.append(dump_strict(value))
            elif name == "status":
                params.append(RunStatus(value).value)
            elif name == "checkpoint" and value is not None:
                params.append(self._relative(value))
            else:
                params.append(value)
        expected = (
            None if expect_status is None else {RunStatus(s) for s in name_list(expect_status)}
        )
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
        remove_run_checkpoints(self.data_dir, run_id)
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

    def shared_run(self, share_token: str) -> RunRecord | None:
        """The run shared with this token, or None."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT * FROM runs WHERE share_token = ?", (share_token,)
            ).fetchone()
        return None if row is None else _run_from_row(row, self.data_dir)
