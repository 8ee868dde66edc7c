"""The cost of the inside views: the engine with per-layer statistics on against the same engine
with them off, same process, same seed, same steps.

Statistics (gradient and weight norms, update ratios, dead ReLU shares, weight and activation
histograms) are taken only on the steps that make a step point (≤ 10/s); this measures what that
costs. Rounds alternate on/off and off/on so that a drifting load favours neither; the window of
each run is bench_training's (training steps only, from each epoch's first point to its last).
Both clocks are reported; the CPU-time ratio is the figure to trust on a shared machine.

    .venv/bin/python bench/bench_layer_stats.py            # mlp, lenet5, cnn, deep-sigmoid × 64
    .venv/bin/python bench/bench_layer_stats.py --quick    # one short round each

Prints one JSON document; per case and clock: the median samples/s with statistics on and off,
and `ratio`, the median of the per-round on/off ratios (≥ 0.95 is the target); and the CPU
milliseconds one point's statistics cost, with the ratio that gives at 10 points a second (a
loaded machine's slow steps make more points per step, so its measured ratio is pessimistic).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from typing import Any

import torch
from bench_training import Window, engine, hand_loop

from app.data import load_mnist
from app.settings import Settings
from app.training import DeviceData, prepare_data, resolve_device
from app.training.device import configure_threads


def measure(
    preset: str, data: DeviceData, batch_size: int, seconds: float, rounds: int, steps: int | None
) -> dict[str, Any]:
    """Alternating rounds of the engine with statistics on and off."""
    if steps is None:
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

    # What one point's statistics cost in CPU time, and the ratio that gives at the throttle's
    # 10 points per second of training (the measured ratio depends on how many points the
    # machine's speed let through: a loaded machine makes more points per step).
    costs = [
        (on.cpu - off.cpu) / max(on.points, 1) for on, off in zip(on_runs, off_runs, strict=True)
    ]
    cost = max(statistics.median(costs), 0.0)
    return {
        "preset": preset,
        "batch_size": batch_size,
        "steps": steps,
        "points_per_run": statistics.median(run.points for run in on_runs),
        "cpu_time": summary("cpu"),
        "wall_clock": summary("wall"),
        "cpu_ms_per_point": round(1000 * cost, 3),
        "ratio_at_10_points_per_s": round(1 / (1 + 10 * cost), 4),
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round per case")
    parser.add_argument("--presets", nargs="+", default=["mlp", "lenet5", "cnn", "deep-sigmoid"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64])
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one measurement")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (else by --seconds)")
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
        measure(preset, data, batch_size, args.seconds, args.rounds, args.steps)
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
