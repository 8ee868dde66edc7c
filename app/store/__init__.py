"""Persistence: SQLite records of models, runs and events; safetensors checkpoints."""

from app.store.checkpoints import (
    Checkpoint,
    CheckpointError,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from app.store.db import (
    ACTIVE_STATUSES,
    DB_FILENAME,
    FINISHED_STATUSES,
    SCHEMA_VERSION,
    ConflictError,
    LimitError,
    ModelRecord,
    NotFoundError,
    RunRecord,
    RunStatus,
    Store,
    StoreError,
    StoreFullError,
    is_disk_full,
    new_id,
)

__all__ = [
    "ACTIVE_STATUSES",
    "DB_FILENAME",
    "FINISHED_STATUSES",
    "SCHEMA_VERSION",
    "Checkpoint",
    "CheckpointError",
    "ConflictError",
    "LimitError",
    "ModelRecord",
    "NotFoundError",
    "RunRecord",
    "RunStatus",
    "Store",
    "StoreError",
    "StoreFullError",
    "checkpoint_dir",
    "is_disk_full",
    "load_checkpoint",
    "new_id",
    "save_checkpoint",
]
