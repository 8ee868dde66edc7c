"""Training throughput: a minimal hand-written PyTorch loop against the engine, same process.

For each preset × batch size both loops train the same model (same seed), with the same
optimizer (Adam, fused, lr 3e-3), the same precision and the same on-device data, for the same
number of steps; rounds alternate hand/engine and engine/hand so that a
drifting load favours neither. The engine runs its default config (onecycle schedule, on-device
running loss/accuracy sums), with step events (≤ 10/s) and feature maps (≤ 2/s) on, every event
turned into JSON, and a weight snapshot copied with each frame, as in the web app.

Throughput is samples per second of training steps, timed in each epoch from the end of its
first step to the end of its last (the engine's window comes from its own step events), so
neither loop's set-up nor the engine's evaluations count. Two clocks: wall-clock, and the
process's CPU time, which other tenants of a shared machine disturb far less.

    .venv/bin/python bench/bench_training.py            # mlp, lenet5, cnn × batch 64, 256
    .venv/bin/python bench/bench_training.py --quick    # one short round each

Prints one JSON document; per case and clock: the median samples/s of each loop and `ratio`,
the median of the per-round engine/hand ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.data import load_mnist
from app.nn import build_model, load_preset
from app.settings import Settings
from app.training import (
    DeviceData,
    Event,
    StepEvent,
    Trainer,
    parse_config,
    prepare_data,
    resolve_device,
)
from app.training.device import configure_threads

LR = 3e-3
SEED = 0


@dataclass
class Window:
    """Wall-clock and process-CPU seconds of training steps: in each epoch, from the end of its
    first step to the end of its last (so set-up, evaluation and epoch changes never count)."""

    wall: float = 0.0
    cpu: float = 0.0
    samples: int = 0
    points: int = 0  # the engine's step events inside the window
    _wall0: float = 0.0
    _cpu0: float = 0.0

    def open(self) -> None:
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()

    def close(self, samples: int) -> None:
        self.wall += time.perf_counter() - self._wall0
        self.cpu += time.process_time() - self._cpu0
        self.samples += samples


def hand_loop(preset: str, data: DeviceData, batch_size: int, steps: int, precision: str) -> Window:
    """The minimal loop: permutation slices, forward, loss, backward, optimizer step."""
    model = build_model(load_preset(preset), seed=SEED).module.to(data.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    inputs, labels = data.train.inputs, data.train.labels
    generator = torch.Generator().manual_seed(SEED)
    window = Window()
    done = 0
    while done < steps:
        permutation = torch.randperm(len(data.train), generator=generator).to(data.device)
        in_epoch = min(steps - done, -(-len(data.train) // batch_size))
        for step in range(in_epoch):
            index = permutation[step * batch_size : (step + 1) * batch_size]
            batch_inputs = inputs.index_select(0, index)
            batch_labels = labels.index_select(0, index)
            if precision == "bf16":
                with torch.autocast(data.device.type, torch.bfloat16):
                    loss = F.cross_entropy(model(batch_inputs), batch_labels)
            else:
                loss = F.cross_entropy(model(batch_inputs), batch_labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            if step == 0:
                _synchronize(data.device)
                window.open()
        _synchronize(data.device)
        window.close((in_epoch - 1) * batch_size)
        done += in_epoch
    return window


def engine(
    preset: str,
    data: DeviceData,
    batch_size: int,
    steps: int,
    precision: str,
    *,
    layer_stats: bool = True,
) -> tuple[Window, int]:
    """The engine with events, feature maps, snapshots and (unless turned off) per-layer
    statistics on; its window is read from its step events: each epoch's first point opens it,
    the epoch's last point closes it."""
    config = parse_config(
        {
            "batch_size": batch_size,
            "lr": LR,
            "optimizer": "adam",
            "max_steps": steps,
            "epochs": 200,
            "precision": precision,
            "seed": SEED,
        }
    )
    built = build_model(load_preset(preset), seed=SEED)
    per_epoch = -(-len(data.train) // batch_size)
    window = Window()
    count = 0

    def emit(event: Event) -> None:
        nonlocal count
        json.dumps(event.to_dict())  # what the web layer and the CLI do with each event
        count += 1
        if not isinstance(event, StepEvent):
            return
        in_epoch = event.step - (event.epoch - 1) * per_epoch
        if in_epoch == 1 and event.step != steps:
            window.open()
            return
        window.points += 1
        if in_epoch == per_epoch or event.step == steps:
            window.close((in_epoch - 1) * batch_size)

    trainer = Trainer(
        built, config, data, emit=emit, snapshot=lambda snapshot: None, layer_stats=layer_stats
    )
    trainer.run()
    return window, count


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    preset: str,
    data: DeviceData,
    batch_size: int,
    seconds: float,
    rounds: int,
    precision: str,
) -> dict[str, Any]:
    """Alternating rounds of both loops on one preset and batch size."""
    warm = hand_loop(preset, data, batch_size, 6, precision)  # also warms oneDNN's caches
    steps = max(6, round(seconds * warm.samples / warm.wall / batch_size))
    hand_runs: list[Window] = []
    engine_runs: list[Window] = []
    events = 0
    for round_index in range(rounds):
        # Alternate which loop goes first, so a drifting load favours neither.
        if round_index % 2:
            window, events = engine(preset, data, batch_size, steps, precision)
            hand_runs.append(hand_loop(preset, data, batch_size, steps, precision))
        else:
            hand_runs.append(hand_loop(preset, data, batch_size, steps, precision))
            window, events = engine(preset, data, batch_size, steps, precision)
        engine_runs.append(window)

    def summary(clock: str) -> dict[str, Any]:
        hand = [run.samples / getattr(run, clock) for run in hand_runs]
        ours = [run.samples / getattr(run, clock) for run in engine_runs]
        paired = [mine / theirs for mine, theirs in zip(ours, hand, strict=True)]
        return {
            "hand_samples_per_s": round(statistics.median(hand), 1),
            "engine_samples_per_s": round(statistics.median(ours), 1),
            "ratio": round(statistics.median(paired), 3),
            "round_ratios": [round(value, 3) for value in paired],
        }

    return {
        "preset": preset,
        "batch_size": batch_size,
        "steps": steps,
        "engine_events": events,
        "cpu_time": summary("cpu"),
        "wall_clock": summary("wall"),
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round per case")
    parser.add_argument("--presets", nargs="+", default=["mlp", "lenet5", "cnn"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per case")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of one measurement")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--device", default=None, help="default: the settings' (auto)")
    parser.add_argument(
        "--threads", type=int, default=None, help="default: NNP_TORCH_THREADS, else every core"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 1.0

    settings = Settings()
    device = resolve_device(args.device or settings.device)
    threads = None
    if device.type == "cpu":
        threads = configure_threads(
            args.threads if args.threads is not None else settings.torch_threads, role="headless"
        )
    mnist = load_mnist(settings.mnist_cache_dir())
    data = prepare_data(mnist, device, (1, 28, 28), eval_limit=1000)
    results = [
        measure(preset, data, batch_size, args.seconds, args.rounds, args.precision)
        for preset in args.presets
        for batch_size in args.batch_sizes
    ]
    machine = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "cpu": platform.processor() or platform.machine(),
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    print(
        json.dumps(
            {
                "machine": machine,
                "precision": args.precision,
                "rounds": args.rounds,
                "seconds": args.seconds,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
