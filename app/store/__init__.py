"""Persistence: SQLite records of models, runs and events; safetensors checkpoints."""

from app.store.checkpoints import (
    Checkpoint,
    CheckpointError,
    checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from app.store.connection import DB_FILENAME
from app.store.datasets_table import DatasetRecord
from app.store.db import Store
from app.store.errors import (
    ConflictError,
    LimitError,
    NotFoundError,
    StoreError,
    StoreFullError,
    is_disk_full,
)
from app.store.records import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    ModelRecord,
    RunRecord,
    RunStatus,
    new_id,
)
from app.store.schema import SCHEMA_VERSION

__all__ = [
    "ACTIVE_STATUSES",
    "DB_FILENAME",
    "FINISHED_STATUSES",
    "SCHEMA_VERSION",
    "Checkpoint",
    "CheckpointError",
    "ConflictError",
    "DatasetRecord",
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
