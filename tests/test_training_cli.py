"""The `nn-playground train` command: headless training with the engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from app.cli import main
from app.data import cache_path, locate
from app.nn import preset_config
from app.training import DEFAULT_LR, TrainConfig, headless, parse_config
from app.training.device import configure_threads, default_thread_count

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
    explicit = int(os.environ.get("NNP_TORCH_THREADS") or 0)
    assert summary["threads"] == (explicit or len(os.sched_getaffinity(0)))  # headless: every core


def test_default_output_is_a_progress_bar_and_a_sentence() -> None:
    options = ["--epochs", "1", "--batch-size", "64", "--optimizer", "sgd", "--lr", "0.05"]
    result = _train("--preset", "mlp", *options, *QUICK)
    assert result.returncode == 0, result.stderr
    assert "epoch 1: train loss" in result.stderr and "step" in result.stderr
    assert result.stdout.startswith("completed: 1 epoch(s), 10 steps")
    assert "test accuracy" in result.stdout


def test_an_autoencoder_preset_sums_up_with_its_reconstruction_loss() -> None:
    options = ["--max-steps", "20", "--json", *QUICK]
    result = _train("--preset", "conv-autoencoder", *options)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["test_accuracy"] is None and summary["val_accuracy"] is None
    assert 0 < summary["reconstruction_loss"] == summary["test_loss"] < 0.2  # mse on pixels
    sentence = _train("--preset", "conv-autoencoder", "--max-steps", "5", *QUICK)
    assert sentence.returncode == 0, sentence.stderr
    assert "; reconstruction loss 0." in sentence.stdout and "accuracy" not in sentence.stdout


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


def test_a_preset_trains_with_its_config_and_options_override_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configs: list[TrainConfig] = []

    def record(spec: object, config: TrainConfig, settings: object, **options: object) -> object:
        configs.append(config)
        return SimpleNamespace(status="completed")

    monkeypatch.setattr(headless, "train_headless", record)
    overrides = ["--epochs", "2", "--batch-size", "64", "--set", "channels_last=false"]
    assert main(["train", "--preset", "speedrun"]) == 0
    assert main(["train", "--preset", "speedrun", *overrides]) == 0
    assert main(["train", "--preset", "speedrun", "--optimizer", "sgd"]) == 0
    assert main(["train", "--preset", "lenet5"]) == 0
    preset, overridden, sgd, plain = configs
    assert preset == parse_config(preset_config("speedrun")) and preset.channels_last
    assert (overridden.epochs, overridden.batch_size, overridden.channels_last) == (2, 64, False)
    assert (overridden.lr, overridden.label_smoothing) == (preset.lr, preset.label_smoothing)
    assert sgd.lr == DEFAULT_LR["sgd"]  # another optimizer: its own lr, not Adam's
    assert sgd.label_smoothing == preset.label_smoothing
    assert plain == TrainConfig()  # a preset without a config trains with the defaults


def test_speedrun_runs_headless_with_channels_last() -> None:
    result = _train("--preset", "speedrun", "--max-steps", "4", "--threads", "1", "--json", *QUICK)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    (epoch,) = [line for line in lines if line["type"] == "epoch"]
    assert 0 < epoch["train_seconds"] <= lines[-1]["seconds"]
    assert lines[-1]["status"] == "completed"


@pytest.mark.parametrize(("cores", "headless", "serve"), [(1, 1, 1), (2, 2, 1), (8, 8, 7)])
def test_default_threads_by_role(
    monkeypatch: pytest.MonkeyPatch, cores: int, headless: int, serve: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert default_thread_count("headless") == headless  # the train command, benchmarks
    assert default_thread_count("serve") == serve  # the web server keeps a core


def test_an_explicit_thread_count_wins_and_0_means_the_roles_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(torch, "get_num_threads", lambda: 0)
    chosen: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", chosen.append)
    assert configure_threads(0, role="headless") == 4
    assert configure_threads(0, role="serve") == 3
    assert configure_threads(0) == 3  # the server's call, without a role
    assert configure_threads(2, role="headless") == 2
    assert configure_threads(4, role="serve") == 4
    assert chosen == [4, 3, 3, 2, 4]


@pytest.fixture
def checkout_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mnist_data_dir: Path) -> Path:
    """A stand-in for the checkout's data/ holding set-up's MNIST; no other place has it."""
    checkout = tmp_path / "checkout" / "data"
    checkout.mkdir(parents=True)
    cache_path(checkout).symlink_to(cache_path(mnist_data_dir))
    monkeypatch.setattr(locate, "CHECKOUT_DATA_DIR", checkout)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("NNP_MNIST_DIR", raising=False)
    return checkout


def test_a_fresh_data_dir_trains_at_once_with_set_ups_mnist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, checkout_data: Path
) -> None:
    fresh = tmp_path / "fresh"
    options = ["--max-steps", "5", "--threads", "1", "--json", *QUICK]
    assert main(["train", "--preset", "mlp", "--data-dir", str(fresh), *options]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["status"], summary["steps"]) == ("completed", 5)
    assert not fresh.exists()  # nothing copied: MNIST came from the checkout


def test_mnist_nowhere_is_one_line_that_says_how_to_prepare_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, checkout_data: Path
) -> None:
    cache_path(checkout_data).unlink()
    fresh = tmp_path / "fresh"
    assert main(["train", "--preset", "mlp", "--data-dir", str(fresh), "--max-steps", "1"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert f"no mnist.safetensors in {fresh}, {checkout_data}" in lines[0]
    assert ".venv/bin/python -m app.data.fetch" in lines[0]
