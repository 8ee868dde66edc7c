"""The `nn-playground` command line, run as a real process."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.cli import main
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


def test_serve_answers_healthz(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
                    assert json.load(response)["status"] == "ok"
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the server did not answer /healthz")
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
