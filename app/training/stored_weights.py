"""Weights of finished runs, read from their checkpoints once and kept for predictions."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app.store import CheckpointError, load_checkpoint
from app.training.checkpoint_meta import CheckpointMeta
from app.training.outputs import WeightSnapshot

logger = logging.getLogger(__name__)

STORED_SNAPSHOTS = 16  # finished runs whose weights stay in memory for predictions


class StoredWeights:
    """A small cache of checkpoint weights by run, valid while the file is unchanged."""

    def __init__(self, size: int = STORED_SNAPSHOTS) -> None:
        self._size = size
        self._lock = threading.Lock()
        # run id → ((path, mtime), snapshot), oldest first
        self._cache: dict[str, tuple[tuple[str, int], WeightSnapshot]] = {}

    def read(self, run_id: str, checkpoint: str) -> WeightSnapshot | None:
        """The weights in the run's checkpoint file (None, logged, if it cannot be read)."""
        try:
            version = (checkpoint, Path(checkpoint).stat().st_mtime_ns)
            with self._lock:
                cached = self._cache.get(run_id)
            if cached is not None and cached[0] == version:
                return cached[1]  # the same file: predictions reuse one snapshot
            stored = load_checkpoint(checkpoint)
        except (CheckpointError, OSError):
            logger.warning("run %s: cannot read its checkpoint", run_id, exc_info=True)
            return None
        meta = CheckpointMeta.from_dict(stored.meta)
        snapshot = WeightSnapshot(meta.step, meta.epoch, stored.model_state)
        with self._lock:
            self._cache[run_id] = (version, snapshot)
            while len(self._cache) > self._size:
                self._cache.pop(next(iter(self._cache)))
        return snapshot

    def unchanged(self, run_id: str) -> WeightSnapshot | None:
        """The run's cached weights if its checkpoint file is still the one they came from
        (one stat, no database read: a live drawing asks for them every frame), else None."""
        with self._lock:
            cached = self._cache.get(run_id)
        if cached is None:
            return None
        (path, mtime), snapshot = cached
        try:
            return snapshot if Path(path).stat().st_mtime_ns == mtime else None
        except OSError:
            return None

    def __contains__(self, run_id: object) -> bool:
        with self._lock:
            return run_id in self._cache

    def forget(self, run_id: str) -> None:
        """Drop a run's weights (it was deleted)."""
        with self._lock:
            self._cache.pop(run_id, None)
