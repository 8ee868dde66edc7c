"""The `nn-playground` command line, run as a real process."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.data import locate
from app.data.locate import CHECKOUT_DATA_DIR
from app.nn import PRESET_NAMES, load_preset, summarize


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_check_preset_prints_the_table() -> None:
    result = _cli("check", "--preset", "lenet5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "shape", "params", "MACs"]
    assert any(line.split()[:3] == ["0", "conv2d", "6×28×28"] for line in lines)
    assert lines[-1].split() == ["total", "10", "61,706", "416,520"]


def test_check_json_matches_the_documented_format(tmp_path: Path) -> None:
    spec_file = tmp_path / "mlp.json"
    spec_file.write_text(load_preset("mlp").model_dump_json())
    result = _cli("check", str(spec_file), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total_params"] == 101_770
    assert data["layers"][1] == {
        "index": 1,
        "path": "1",
        "type": "linear",
        "input_shape": [784],
        "output_shape": [128],
        "params": 100_480,
        "macs": 100_352,
    }
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])


def test_check_invalid_spec_exits_2_with_one_error_per_line(tmp_path: Path) -> None:
    spec_file = tmp_path / "bad.json"
    spec_file.write_text(
        json.dumps(
            {
                "layers": [
                    {"type": "conv2d"},
                    {"type": "relu", "inplace": True},
                    {"type": "linaer", "out_features": 10},
                ]
            }
        )
    )
    result = _cli("check", str(spec_file))
    assert result.returncode == 2
    assert result.stdout == ""
    errors = result.stderr.splitlines()
    assert len(errors) == 3
    assert (
        errors[0] == "layer 0 (conv2d), field 'out_channels': missing required field 'out_channels'"
    )
    assert errors[1].startswith("layer 1 (relu), field 'inplace': unknown field")
    assert "did you mean 'linear'" in errors[2]


def test_check_unreadable_file_and_unknown_preset(tmp_path: Path) -> None:
    missing = _cli("check", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = _cli("check", "--preset", "alexnet")
    assert unknown.returncode == 2
    assert "invalid choice" in unknown.stderr


def test_every_preset_checks(capsys: pytest.CaptureFixture[str]) -> None:
    for name in PRESET_NAMES:
        assert main(["check", "--preset", name, "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed["total_params"] == summarize(load_preset(name)).total_params


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _request(url: str, body: object = None) -> Any:
    """GET (or POST `body` as JSON) and return the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_serve_with_a_fresh_data_dir_trains_at_once_and_says_its_threads(
    tmp_path: Path, mnist_data_dir: Path
) -> None:
    if (mnist_data_dir / "mnist.safetensors").resolve().parent != CHECKOUT_DATA_DIR.resolve():
        pytest.skip("set-up's MNIST is not in the checkout's data/ on this machine")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "NNP_MNIST_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "empty-cache")  # only the checkout has MNIST
    env["NNP_STARTER_RUN"] = "false"  # this test's run trains alone
    fresh = tmp_path / "fresh"
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--data-dir", str(fresh)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _request(f"{base}/healthz")["status"] == "ok"
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"the server did not answer /healthz: {log.read_text()}")
                time.sleep(0.2)
        model = _request(
            f"{base}/api/models",
            {"name": "mlp", "spec": load_preset("mlp").model_dump(mode="json")},
        )
        config = {"max_steps": 3, "train_subset": 256, "eval_limit": 128, "batch_size": 32}
        run = _request(f"{base}/api/runs", {"model_id": model["id"], "config": config})
        while (status := _request(f"{base}/api/runs/{run['id']}")["status"]) != "completed":
            assert status in {"queued", "running"}, status
            assert time.monotonic() < deadline + 60, "the run did not finish in time"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = log.read_text().splitlines()
    explicit = int(env.get("NNP_TORCH_THREADS") or 0)
    cores = len(os.sched_getaffinity(0))
    threads = explicit or max(1, cores - 1)
    assert any(
        f"training uses {threads} CPU thread" in line and f"of {cores} core" in line
        for line in lines
    ), lines
    assert any(str(CHECKOUT_DATA_DIR / "mnist.safetensors") in line for line in lines), lines
    assert "mnist.safetensors" not in {path.name for path in fresh.iterdir()}


def test_serve_refuses_to_start_when_mnist_is_nowhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locate, "CHECKOUT_DATA_DIR", tmp_path / "checkout" / "data")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NNP_MNIST_DIR", str(tmp_path / "mnist"))
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: pytest.fail("uvicorn started"))
    data_dir = tmp_path / "data"
    assert main(["serve", "--port", str(_free_port()), "--data-dir", str(data_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"nn-playground: cannot serve: MNIST not found: no mnist.safetensors in "
        f"{tmp_path / 'mnist'}, {data_dir}, {tmp_path / 'checkout' / 'data'}, "
        f"{tmp_path / 'cache' / 'nn-playground'}; prepare it with `make run` or "
        "`.venv/bin/python -m app.data.fetch`"
    ]


def _serve_fails(data_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run `serve` expecting it to refuse to start; its stderr lines."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--port",
            str(_free_port()),
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


def test_serve_refuses_a_data_dir_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    lines = _serve_fails(blocker / "data")
    assert lines == [
        f"nn-playground: cannot use the data directory {blocker / 'data'}: a part of its path is "
        "a file, not a directory; choose another one with --data-dir or NNP_DATA_DIR, or fix "
        "its permissions"
    ]
    assert blocker.read_text() == "not a directory"  # nothing of the user's was touched
    lines = _serve_fails(blocker)
    assert len(lines) == 1 and f"{blocker}: it exists and is not a directory" in lines[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_serve_refuses_a_read_only_data_dir(tmp_path: Path) -> None:
    read_only = tmp_path / "data"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        lines = _serve_fails(read_only)
    finally:
        read_only.chmod(0o700)
    assert len(lines) == 1 and f"{read_only}: it is not writable" in lines[0]


def test_serve_names_a_bad_setting(tmp_path: Path) -> None:
    lines = _serve_fails(tmp_path, {"NNP_DEVICE_CONCURRENCY": "lots"})
    assert len(lines) == 1 and lines[0].startswith("setting NNP_DEVICE_CONCURRENCY: ")
