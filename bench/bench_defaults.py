"""Out-of-the-box speed: `nn-playground train` with its defaults against a ten-line PyTorch loop.

Both train LeNet-5 (the `lenet5` preset) on the CPU for one epoch of MNIST with Adam, lr 1e-3,
batch 64, each in a fresh process with its default thread count: the engine's (the headless
role: every core; NNP_TORCH_THREADS is removed from its environment) and torch's own for the
plain loop. The engine's figure is its summary's `samples_per_s`; the plain loop's is samples
over the seconds of its training steps, as the engine times its own (no set-up, no evaluation).
Rounds alternate engine/plain and plain/engine so that a drifting load favours neither.

    .venv/bin/python bench/bench_defaults.py [--rounds 3]

Prints one JSON document: the samples/s of each (median and per round), the per-round
engine/plain ratios and their median. Both use every core by default, so anything else running on
the machine slows a round down a lot: read the rounds, not only the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.data import load_mnist, mean_std
from app.nn import build_model, load_preset
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 64
ENGINE_COMMAND = [
    *("train", "--preset", "lenet5", "--epochs", "1", "--batch-size", str(BATCH_SIZE)),
    *("--optimizer", "adam", "--lr", "0.001", "--device", "cpu", "--json"),
]


def plain_loop() -> dict[str, Any]:
    """One epoch of the ten-line loop a PyTorch user would write; its samples/s."""
    train = load_mnist(Settings().mnist_cache_dir()).train
    mean, std = mean_std()
    inputs = ((train.images.float() / 255 - mean) / std).unsqueeze(1)  # (N, 1, 28, 28)
    model = build_model(load_preset("lenet5"), seed=0).module
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(train.labels))
    started = time.perf_counter()
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        loss = F.cross_entropy(model(inputs[batch]), train.labels[batch])
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    seconds = time.perf_counter() - started
    return {"samples_per_s": len(order) / seconds, "threads": torch.get_num_threads()}


def run_engine() -> dict[str, Any]:
    """`nn-playground train ...` in its own process; its summary (the last JSON line)."""
    env = {key: value for key, value in os.environ.items() if key != "NNP_TORCH_THREADS"}
    output = _run([sys.executable, "-m", "app", *ENGINE_COMMAND], env)
    summary: dict[str, Any] = json.loads(output.splitlines()[-1])
    return summary


def run_plain() -> dict[str, Any]:
    """The plain loop in its own process."""
    measured: dict[str, Any] = json.loads(
        _run([sys.executable, __file__, "--plain-loop"], dict(os.environ))
    )
    return measured


def _run(command: list[str], env: dict[str, str]) -> str:
    """The command's stdout; its stderr and exit if it fails."""
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def _figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median samples/s of some runs, each round's, and the threads they used."""
    rates = [run["samples_per_s"] for run in runs]
    return {
        "samples_per_s": round(statistics.median(rates)),
        "rounds": [round(rate) for rate in rates],
        "threads": runs[0]["threads"],
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--plain-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        print(json.dumps(plain_loop()))
        return
    engine: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    for round_index in range(args.rounds):
        if round_index % 2:  # alternate which goes first
            plain.append(run_plain())
            engine.append(run_engine())
        else:
            engine.append(run_engine())
            plain.append(run_plain())
    ratios = [
        mine["samples_per_s"] / theirs["samples_per_s"]
        for mine, theirs in zip(engine, plain, strict=True)
    ]
    print(
        json.dumps(
            {
                "machine": {
                    "cpu": platform.processor() or platform.machine(),
                    "cores": len(os.sched_getaffinity(0)),
                    "torch": torch.__version__,
                    "python": platform.python_version(),
                },
                "command": "nn-playground " + " ".join(ENGINE_COMMAND),
                "rounds": args.rounds,
                "engine": _figures(engine),
                "plain": _figures(plain),
                "round_ratios": [round(ratio, 3) for ratio in ratios],
                "ratio": round(statistics.median(ratios), 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
