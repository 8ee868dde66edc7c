"""The `nn-playground train` command: headless training with the engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from app.cli import main

QUICK = ["--set", "train_subset=640", "--set", "eval_limit=200"]


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "train", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_prints_one_event_per_line_and_a_summary_last() -> None:
    options = ["--max-steps", "12", "--batch-size", "32", "--json"]
    result = _train("--preset", "lenet5", *options, *QUICK)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "step" and kinds[-2:] == ["done", "summary"]
    assert {"epoch", "feature_maps"} <= set(kinds)
    assert [line["seq"] for line in lines[:-1]] == list(range(len(lines) - 1))
    summary = lines[-1]
    assert summary["status"] == "completed" and summary["device"] == "cpu"
    assert (summary["steps"], summary["epochs"]) == (12, 1)
    for key in ("samples_per_s", "seconds", "val_accuracy", "test_accuracy"):
        assert isinstance(summary[key], float) and summary[key] > 0


def test_default_output_is_a_progress_bar_and_a_sentence() -> None:
    options = ["--epochs", "1", "--batch-size", "64", "--optimizer", "sgd", "--lr", "0.05"]
    result = _train("--preset", "mlp", *options, *QUICK)
    assert result.returncode == 0, result.stderr
    assert "epoch 1: train loss" in result.stderr and "step" in result.stderr
    assert result.stdout.startswith("completed: 1 epoch(s), 10 steps")
    assert "test accuracy" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "epochs: must be ≥ 1, got 0"),
        (["--lr", "50"], "lr: must be ≤ 10.0, got 50.0"),
        (["--set", "bogus=1"], "bogus: unknown field"),
        (["--set", "schedule=sometimes"], "schedule: must be one of"),
        (["--set", "nonsense"], "write FIELD=VALUE"),
    ],
)
def test_bad_options_name_the_field(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["train", "--preset", "mlp", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_a_missing_device_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["train", "--preset", "mlp", "--device", "cuda"]) == 2
    assert "cuda is not available" in capsys.readouterr().err


def test_a_bad_spec_file_lists_its_issues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"layers": [{"type": "linear", "out_features": 10}]}))
    assert main(["train", str(spec)]) == 2
    assert "layer 0 (linear)" in capsys.readouterr().err
