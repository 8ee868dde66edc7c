"""Time to 99%: the `speedrun` preset with its default config against one epoch of a plain loop.

In one process, rounds alternate plain/speedrun and speedrun/plain so that a drifting load
favours neither:

- the plain loop: the ten lines a PyTorch user would write for LeNet-5 (the `lenet5` preset),
  Adam lr 1e-3 (torch's defaults otherwise), batch 64, one epoch; its seconds, start to end;
- the engine training the `speedrun` preset with the config in its preset file, as
  `nn-playground train --preset speedrun` does (feature maps and events on); after each epoch
  the bench scores the test digits itself, outside the engine's clock, and takes the epoch's
  `train_seconds` (training steps only) when the test accuracy first reached 99.0%.

    .venv/bin/python bench/bench_speedrun.py [--rounds 3] [--threads N]

Prints one JSON document: per round and as medians, the plain epoch's seconds, the speedrun's
seconds to 99.0% and per epoch, its final test accuracy, and `ratio` = speedrun seconds / plain
epoch seconds (the target is ≤ 1.5).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.data import load_mnist
from app.nn import build_model, load_preset, preset_config
from app.settings import Settings
from app.training import DeviceData, EpochEvent, Event, Trainer, parse_config, prepare_data
from app.training.device import configure_threads
from app.training.evaluate import evaluate

TARGET = 0.99
PLAIN_BATCH = 64
SEED = 0


def plain_epoch(data: DeviceData) -> dict[str, Any]:
    """One epoch of the plain loop; its seconds and the test accuracy it reached."""
    model = build_model(load_preset("lenet5"), seed=SEED).module.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    inputs, labels = data.train.inputs, data.train.labels  # (N, 1, 28, 28), (N,)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SEED))
    started = time.perf_counter()
    for start in range(0, len(order), PLAIN_BATCH):
        batch = order[start : start + PLAIN_BATCH]  # (B,)
        loss = F.cross_entropy(model(inputs[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    seconds = time.perf_counter() - started
    accuracy = evaluate(model, data.test, parse_config({}), data.device).accuracy
    return {"seconds": round(seconds, 3), "test_accuracy": accuracy}


def speedrun(data: DeviceData) -> dict[str, Any]:
    """The speedrun preset with its config; test accuracy after every epoch, off the clock."""
    config = parse_config(preset_config("speedrun"))
    built = build_model(load_preset("speedrun"), seed=config.seed)
    epochs: list[dict[str, Any]] = []
    trainer: Trainer | None = None

    def emit(event: Event) -> None:
        json.dumps(event.to_dict())  # what the CLI and the web layer do with each event
        if isinstance(event, EpochEvent) and trainer is not None:
            test = evaluate(trainer.module, data.test, config, data.device)
            epochs.append(
                {
                    "epoch": event.epoch,
                    "train_seconds": event.train_seconds,
                    "test_accuracy": test.accuracy,
                }
            )

    trainer = Trainer(built, config, data, emit=emit, snapshot=lambda snapshot: None)
    result = trainer.run()
    reached = next((epoch for epoch in epochs if epoch["test_accuracy"] >= TARGET), None)
    return {
        "seconds_to_99": reached["train_seconds"] if reached else None,
        "epoch_reached": reached["epoch"] if reached else None,
        "train_seconds": round(result.train_seconds, 3),
        "seconds_per_epoch": round(result.train_seconds / max(result.epochs, 1), 3),
        "test_accuracy": result.test_accuracy,
        "epochs": epochs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="default: NNP_TORCH_THREADS, else every core"
    )
    args = parser.parse_args()
    settings = Settings()
    threads = configure_threads(
        args.threads if args.threads is not None else settings.torch_threads, role="headless"
    )
    data = prepare_data(load_mnist(settings.mnist_cache_dir()), torch.device("cpu"), (1, 28, 28))
    rounds: list[dict[str, Any]] = []
    for index in range(args.rounds):
        order = (plain_epoch, speedrun) if index % 2 == 0 else (speedrun, plain_epoch)
        measured = {run.__name__: run(data) for run in order}
        plain, fast = measured["plain_epoch"], measured["speedrun"]
        seconds = fast["seconds_to_99"]
        ratio = round(seconds / plain["seconds"], 3) if seconds is not None else None
        rounds.append({"plain_epoch": plain, "speedrun": fast, "ratio": ratio})

    def median(values: list[float | None], digits: int = 3) -> float | None:
        known = [value for value in values if value is not None]
        return round(statistics.median(known), digits) if len(known) == len(values) else None

    print(
        json.dumps(
            {
                "machine": {
                    "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__,
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "threads": threads,
                },
                "speedrun_config": preset_config("speedrun"),
                "plain_epoch_seconds": median([r["plain_epoch"]["seconds"] for r in rounds]),
                "speedrun_seconds_to_99": median([r["speedrun"]["seconds_to_99"] for r in rounds]),
                "speedrun_seconds_per_epoch": median(
                    [r["speedrun"]["seconds_per_epoch"] for r in rounds]
                ),
                "speedrun_test_accuracy": median(
                    [r["speedrun"]["test_accuracy"] for r in rounds], digits=4
                ),
                "ratio": median([r["ratio"] for r in rounds]),
                "target_ratio": 1.5,
                "rounds": rounds,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
