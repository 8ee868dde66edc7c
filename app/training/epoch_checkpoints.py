"""Epoch checkpoints: the checkpoint of each saved epoch, kept beside the rolling one, capped.

Which epochs: those whose end the trainer checkpoints (`Throttle.checkpoint_s`): every epoch
that takes a second or more (an MNIST epoch), at most one a second of tiny ones (a 2-D
problem's epochs take milliseconds), and always a run's last epoch. No second file is written:
the epoch's file is a hard link to the rolling checkpoint just written (a copy where the file
system has no links); the next rolling write replaces that name, not the linked file.

Over the cap (`Settings.epoch_checkpoints`) the kept epoch whose neighbours are closest goes
(the older one on a tie), so what stays spreads over the whole run; the first epoch, the best
one and the newest are never thinned out. Deleting a run deletes its directory, these included.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.store import checkpoint_dir

EPOCHS_DIR = "epochs"
_NAME = re.compile(r"epoch-(\d{1,6})\.safetensors")
_HEADER_SIZE_BYTES = 8
_MAX_HEADER = 16 * 1024 * 1024


def epoch_path(data_dir: Path, run_id: str, epoch: int) -> Path:
    """Where epoch `epoch` of the run is (or would be) kept."""
    return checkpoint_dir(data_dir, run_id) / EPOCHS_DIR / f"epoch-{epoch:05d}.safetensors"


def kept_epochs(data_dir: Path, run_id: str) -> list[int]:
    """The epochs of the run with a checkpoint kept, in order."""
    try:
        directory = checkpoint_dir(data_dir, run_id) / EPOCHS_DIR
        names = os.listdir(directory)
    except (ValueError, OSError):
        return []
    found = (_NAME.fullmatch(name) for name in names)
    return sorted(int(match.group(1)) for match in found if match)


def keep_epoch(
    data_dir: Path, run_id: str, source: Path, epoch: int, best: int | None, cap: int
) -> None:
    """Keep `source` (the rolling checkpoint just written) as epoch `epoch`, then thin out."""
    target = epoch_path(data_dir, run_id, epoch)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.tmp")  # a leftover is replaced next time
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        os.link(source, partial)
    except OSError:  # no hard links here: copy
        shutil.copyfile(source, partial)
    os.replace(partial, target)
    for gone in thinned(kept_epochs(data_dir, run_id), best, cap):
        with contextlib.suppress(FileNotFoundError):
            epoch_path(data_dir, run_id, gone).unlink()


def thinned(epochs: Sequence[int], best: int | None, cap: int) -> list[int]:
    """The epochs to delete so at most `cap` stay (the first, `best` and the last always do)."""
    kept = sorted(epochs)
    gone: list[int] = []
    while len(kept) > cap:
        protected = {kept[0], kept[-1], best}
        spans = [
            (kept[i + 1] - kept[i - 1], kept[i], i)
            for i in range(1, len(kept) - 1)
            if kept[i] not in protected
        ]
        if not spans:
            break
        _, epoch, index = min(spans)
        gone.append(epoch)
        del kept[index]
    return gone


def read_meta(path: Path) -> dict[str, Any]:
    """The plain fields of a checkpoint's meta (epoch, step, best…), read from its header only
    (tensor-valued fields are left out); {} if the file cannot be read."""
    try:
        with path.open("rb") as file:
            size = int.from_bytes(file.read(_HEADER_SIZE_BYTES), "little")
            if not 0 < size <= _MAX_HEADER:
                return {}
            header = json.loads(file.read(size))
        meta = json.loads(header["__metadata__"]["nnp.meta"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(meta, dict):
        return {}
    return {key: value for key, value in meta.items() if not isinstance(value, dict | list)}
