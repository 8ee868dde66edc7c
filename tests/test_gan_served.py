"""gan runs as the server trains them (a training process, events and checkpoints stored,
kill -9 survived) and from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.data import Mnist
from app.nn import load_preset, preset_config
from app.settings import Settings
from app.store import RunStatus, Store
from app.training import RunManager, Throttle
from app.training.process import ProcessExecutor

QUICK = Throttle(step_s=0.05, feature_maps_s=0.1, checkpoint_s=0.0)
SPEC = load_preset("gan").model_dump(mode="json", exclude_unset=True)


@pytest.fixture
def manager(tmp_path: Path, mnist: Mnist) -> Iterator[RunManager]:
    with Store(tmp_path / "data") as store:
        settings = Settings(data_dir=tmp_path / "data", device="cpu", torch_threads=1)
        assert settings.training_process
        with RunManager(store, settings, mnist=mnist, throttle=QUICK) as opened:
            yield opened


def _config(**fields: Any) -> dict[str, Any]:
    return {**preset_config("gan"), **fields}


def test_kill_9_interrupts_a_gan_run_and_resume_goes_on_from_its_last_epoch(
    manager: RunManager,
) -> None:
    run = manager.submit_spec(SPEC, _config(epochs=10, train_subset=1024))
    assert run.config["schedule"] == "none"  # completed for a GAN
    deadline = time.monotonic() + 120
    while (manager.store.get_run(run.id) or run).epoch < 1:  # a checkpoint after an epoch
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.02)
    executor = manager._executor
    assert isinstance(executor, ProcessExecutor)
    (pid,) = [process.pid for process in executor.processes() if process.pid is not None]
    os.kill(pid, signal.SIGKILL)
    record = manager.wait(run.id, 60)
    assert record.status == RunStatus.INTERRUPTED, record.error
    assert record.error is not None and "killed by signal 9" in record.error
    saved_epochs = record.epoch
    assert 1 <= saved_epochs < 10

    manager.resume(run.id)
    record = manager.wait(run.id, 180)
    assert record.status == RunStatus.COMPLETED, record.error
    assert (record.epoch, record.step) == (10, 10 * 8)
    history = manager.store.events_since(run.id)
    assert [e["seq"] for e in history] == sorted({e["seq"] for e in history})
    epochs = [e["epoch"] for e in history if e["type"] == "epoch"]
    assert epochs == list(range(1, 11))  # each once: what came after the checkpoint is dropped
    health = [e["epoch"] for e in history if e["type"] == "gan_health" and e["step"] % 8 == 0]
    assert set(range(1, 11)) <= set(health)
    kept = [e for e in history if e["type"] == "gan_samples"]
    assert sorted(e["epoch"] for e in kept if e["at_epoch_end"]) == list(range(1, 11))
    assert all(e["at_epoch_end"] for e in kept)  # live frames are not stored
    statuses = [e["status"] for e in history if e["type"] == "status"]
    assert statuses == ["queued", "running", "queued", "running", "completed"]
    (done,) = [e for e in history if e["type"] == "done"]
    assert done["epochs"] == 10 and done["health"] in ("ok", "collapsed", "oscillating")
    weights = manager.latest_weights(run.id)
    assert weights is not None and weights.state["0.weight"].shape == (256, 64)


def test_the_command_line_trains_a_gan_and_sums_it_up(tmp_path: Path) -> None:
    spec = tmp_path / "gan.json"
    spec.write_text(json.dumps(SPEC))
    task = json.dumps({"name": "gan", "label_smoothing": 0.1})
    fields = ["--set", f"task={task}", "--set", "train_subset=512", "--set", "schedule=none"]
    options = ["--lr", "2e-4", "--batch-size", "128", "--epochs", "2", "--threads", "1"]
    result = subprocess.run(
        [sys.executable, "-m", "app", "train", str(spec), *fields, *options, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"step", "epoch", "gan_samples", "gan_health", "done", "summary"} <= {
        line["type"] for line in lines
    }
    summary = lines[-1]
    assert summary["status"] == "completed" and (summary["epochs"], summary["steps"]) == (2, 8)
    for key in ("g_loss", "d_loss", "d_real", "d_fake", "diversity", "real_diversity"):
        assert summary[key] > 0, key
    assert summary["test_accuracy"] is None
