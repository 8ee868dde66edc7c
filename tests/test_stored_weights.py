"""StoredWeights: a finished run's checkpoint weights, read once and reused while the file stays."""

import os
from pathlib import Path

import torch

from app.store import save_checkpoint
from app.training.stored_weights import StoredWeights


def _save(path: Path, value: float, step: int) -> None:
    state = {"weight": torch.full((2, 2), value)}
    save_checkpoint(
        path, state, None, {"epoch": 1, "step": step, "seq": step, "base_lr": 0.01, "final": True}
    )


def test_unchanged_answers_without_reading_while_the_file_stays(tmp_path: Path) -> None:
    path = tmp_path / "run" / "checkpoint.safetensors"
    path.parent.mkdir()
    _save(path, 1.0, step=10)
    weights = StoredWeights()
    assert weights.unchanged("run") is None  # nothing read yet

    first = weights.read("run", str(path))
    assert first is not None and first.step == 10
    assert weights.unchanged("run") is first  # the same file: the same snapshot, one stat

    _save(path, 2.0, step=20)  # a resumed run finished again: a new file in the same place
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert weights.unchanged("run") is None
    second = weights.read("run", str(path))
    assert second is not None and second.step == 20
    assert torch.equal(second.state["weight"], torch.full((2, 2), 2.0))

    path.unlink()  # deleted with its run
    assert weights.unchanged("run") is None
    weights.read("run", str(path))  # logged, not raised
    weights.forget("run")
    assert weights.unchanged("run") is None
