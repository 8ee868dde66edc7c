"""The errors the store raises on purpose, and how to tell a full disk."""

from __future__ import annotations

import errno
import sqlite3


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


def is_disk_full(error: BaseException) -> bool:
    """Whether an error means the disk (or the file size limit) is full."""
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "disk is full" in str(error)
        )
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
