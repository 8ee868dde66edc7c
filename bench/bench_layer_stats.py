"""The cost of the inside views: per-layer statistics (gradient and weight norms, update ratios,
dead ReLU shares, weight and activation histograms) on the steps that make a point.

Two measurements, same process:
- the cost of one point: plain steps and armed steps (arm, step, collect; histograms every time,
  no budget) taken in turn, CPU time, the median of the pairs' differences. Alternating at the
  step cancels the drift of a shared machine; the ratio at 10 points a second follows, and the
  ratio within the budget (a point skips its statistics when they would take more than 2% of
  the time, so the engine never pays more than that);
- the engine with statistics on against the same engine with them off, rounds alternating
  on/off and off/on, windows as in bench_training (training steps only). On the shared 2-core
  machine single rounds vary by ±30%, so this one only bounds gross mistakes.

    .venv/bin/python bench/bench_layer_stats.py --threads 1   # mlp, lenet5, cnn, deep-sigmoid
    .venv/bin/python bench/bench_layer_stats.py --quick       # one short round each

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from bench_training import SEED, Window, engine, hand_loop

from app.data import load_mnist
from app.nn import build_model, load_preset
from app.settings import Settings
from app.training import DeviceData, prepare_data, resolve_device
from app.training.device import configure_threads
from app.training.layer_stats import BUDGET, LayerStats


def point_cost(preset: str, data: DeviceData, batch_size: int, pairs: int) -> float:
    """CPU seconds one point's statistics add to its step, histograms included: the median
    over pairs of a plain step and an armed one, taken in turn (drift cancels out)."""
    built = build_model(load_preset(preset), seed=SEED)
    module = built.module.to(data.device).train()
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    stats = LayerStats(module, built.summary, budget=None)
    inputs, labels = data.train.inputs[:batch_size], data.train.labels[:batch_size]

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(module(inputs), labels).backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    def armed() -> None:
        stats.arm()
        step()
        stats.collect()

    def cpu(function: Callable[[], None]) -> float:
        began = time.process_time()
        function()
        return time.process_time() - began

    for _ in range(3):
        armed()  # warm-up
    return statistics.median(cpu(armed) - cpu(step) for _ in range(pairs))


def measure(
    preset: str, data: DeviceData, batch_size: int, seconds: float, rounds: int, pairs: int
) -> dict[str, Any]:
    """The cost of one point's statistics, and alternating engine runs with them on and off."""
    cost = max(point_cost(preset, data, batch_size, pairs), 0.0)
    warm = hand_loop(preset, data, batch_size, 6, "fp32")  # also warms oneDNN's caches
    steps = max(60, round(seconds * warm.samples / warm.wall / batch_size))
    on_runs: list[Window] = []
    off_runs: list[Window] = []
    for round_index in range(rounds):
        order = (True, False) if round_index % 2 else (False, True)
        for stats in order:
            window, _ = engine(preset, data, batch_size, steps, "fp32", layer_stats=stats)
            (on_runs if stats else off_runs).append(window)

    def summary(clock: str) -> dict[str, Any]:
        on = [run.samples / getattr(run, clock) for run in on_runs]
        off = [run.samples / getattr(run, clock) for run in off_runs]
        paired = [a / b for a, b in zip(on, off, strict=True)]
        return {
            "on_samples_per_s": round(statistics.median(on), 1),
            "off_samples_per_s": round(statistics.median(off), 1),
            "ratio": round(statistics.median(paired), 3),
            "round_ratios": [round(value, 3) for value in paired],
        }

    # 10 points a second of training: each point's cost, unless the budget makes points skip
    return {
        "preset": preset,
        "batch_size": batch_size,
        "cpu_ms_per_point": round(1000 * cost, 3),
        "ratio_at_10_points_per_s": round(1 / (1 + 10 * cost), 4),
        "ratio_within_budget": round(1 / (1 + min(10 * cost, BUDGET)), 4),
        "engine_steps": steps,
        "engine_points_per_run": statistics.median(run.points for run in on_runs),
        "engine_cpu_time": summary("cpu"),
        "engine_wall_clock": summary("wall"),
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round per case")
    parser.add_argument("--presets", nargs="+", default=["mlp", "lenet5", "cnn", "deep-sigmoid"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64])
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one measurement")
    parser.add_argument("--pairs", type=int, default=40, help="plain/armed step pairs timed")
    parser.add_argument("--device", default=None, help="default: the settings' (auto)")
    parser.add_argument("--threads", type=int, default=None, help="default: NNP_TORCH_THREADS")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 1.0
    settings = Settings()
    device = resolve_device(args.device or settings.device)
    threads = None
    if device.type == "cpu":
        chosen = args.threads if args.threads is not None else settings.torch_threads
        threads = configure_threads(chosen, role="headless")
    mnist = load_mnist(settings.mnist_cache_dir())
    data = prepare_data(mnist, device, (1, 28, 28), eval_limit=1000)
    results = [
        measure(preset, data, batch_size, args.seconds, args.rounds, args.pairs)
        for preset in args.presets
        for batch_size in args.batch_sizes
    ]
    machine = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "cpu": platform.processor() or platform.machine(),
        "threads": threads,
        "torch": torch.__version__,
    }
    report = {"machine": machine, "rounds": args.rounds, "seconds": args.seconds}
    print(json.dumps({**report, "results": results}, indent=2))


if __name__ == "__main__":
    main()
