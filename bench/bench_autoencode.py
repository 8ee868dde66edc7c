"""Autoencoders: the engine against a plain PyTorch loop, and how good the presets' digits are.

    .venv/bin/python bench/bench_autoencode.py                      # both parts
    .venv/bin/python bench/bench_autoencode.py --part speed --rounds 3
    .venv/bin/python bench/bench_autoencode.py --part quality

`speed`: one epoch of the `conv-autoencoder` preset (batch 128, Adam, mse) as a plain loop
(slice a permutation, forward, loss, backward, step) and as the engine trains it
(`train_job` with its frames: reconstructions twice a second, the code scatter after the
epoch); samples per second of training, rounds alternating the order. The target: the engine
at ≥ 0.9× the plain loop.

`quality`: each autoencoder preset trained with its own config; its test reconstruction error
and, as the issue asks, the share of reconstructed test digits that a trained classifier (the
`speedrun` preset, one epoch, about 99%) still reads as the right digit.

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.data import load_mnist, mean_std
from app.nn import SpecLimits, build_model, load_preset, preset_config, summarize
from app.settings import Settings
from app.training import RunControl, Throttle, parse_config
from app.training.job import RunJob
from app.training.tasks import task_of, train_job

AUTOENCODERS = ("autoencoder", "conv-autoencoder", "denoising-autoencoder")


class _Sink:
    def __init__(self) -> None:
        self.weights: dict[str, torch.Tensor] = {}

    def emit(self, data: dict[str, Any]) -> None:
        json.dumps(data)  # what the server does with every event

    def checkpoint(self, state: Any) -> None:
        pass

    def snapshot(self, snapshot: Any) -> None:
        self.weights = snapshot.state


def _job(preset: str, fields: dict[str, Any], dataset: Any) -> RunJob:
    spec = load_preset(preset)
    raw = {**preset_config(preset), **fields}
    config = task_of(parse_config(raw)).check(spec, summarize(spec), parse_config(raw), dataset)
    stored = spec.model_dump(mode="json", exclude_unset=True)
    return RunJob(preset, stored, config, "cpu", 0, SpecLimits(), Throttle(), Path("."))


def plain_epoch(images: torch.Tensor) -> float:
    """Samples per second of one plain epoch of the conv autoencoder."""
    model = build_model(load_preset("conv-autoencoder"), seed=0).module.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.randperm(len(images))
    started = time.perf_counter()
    for start in range(0, len(order), 128):
        batch = images[order[start : start + 128]]  # (B, 1, 28, 28) in 0..1
        loss = F.mse_loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return len(images) / (time.perf_counter() - started)


def speed(rounds: int) -> dict[str, Any]:
    mnist = load_mnist(Settings().mnist_cache_dir())
    dataset = mnist.to_dataset()
    images = dataset.train.inputs.float().div_(255.0)  # (N, 1, 28, 28)
    job = _job("conv-autoencoder", {"epochs": 1}, dataset)
    plain, engine = [], []
    for index in range(rounds):
        order = ("plain", "engine") if index % 2 == 0 else ("engine", "plain")
        for which in order:
            if which == "plain":
                plain.append(plain_epoch(images))
            else:
                engine.append(train_job(job, dataset, RunControl(), _Sink()).samples_per_s)
    median = statistics.median
    return {
        "model": "conv-autoencoder preset, batch 128, Adam, mse, one epoch",
        "threads": torch.get_num_threads(),
        "plain_samples_per_s": round(median(plain)),
        "engine_samples_per_s": round(median(engine)),
        "ratio": round(median(engine) / median(plain), 3),
        "rounds": {"plain": [round(x) for x in plain], "engine": [round(x) for x in engine]},
    }


def quality() -> dict[str, Any]:
    mnist = load_mnist(Settings().mnist_cache_dir())
    dataset = mnist.to_dataset()
    reader_job = _job("speedrun", {}, dataset)
    reader_sink = _Sink()
    reader_result = train_job(reader_job, dataset, RunControl(), reader_sink)
    reader = build_model(load_preset("speedrun"), seed=0).module.eval()
    reader.load_state_dict(reader_sink.weights)
    mean, std = mean_std()
    test = dataset.test.inputs.float().div_(255.0)  # (N, 1, 28, 28)
    labels = dataset.test.targets
    report: dict[str, Any] = {"reader_test_accuracy": reader_result.test_accuracy}
    for preset in AUTOENCODERS:
        sink = _Sink()
        started = time.perf_counter()
        result = train_job(_job(preset, {}, dataset), dataset, RunControl(), sink)
        seconds = time.perf_counter() - started
        model = build_model(load_preset(preset), seed=0).module.eval()
        model.load_state_dict(sink.weights)
        with torch.no_grad():
            rebuilt = torch.cat([model(test[i : i + 1000]) for i in range(0, len(test), 1000)])
            read = torch.cat(
                [
                    reader((rebuilt[i : i + 1000] - mean) / std).argmax(dim=1)
                    for i in range(0, len(rebuilt), 1000)
                ]
            )
        report[preset] = {
            "epochs": result.epochs,
            "seconds": round(seconds, 1),
            "train_seconds": round(result.train_seconds, 1),
            "test_mse": round(float(F.mse_loss(rebuilt, test)), 5),
            "recognised": round(float((read == labels).float().mean()), 4),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=["speed", "quality", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if args.part in ("speed", "all"):
        report["speed"] = speed(args.rounds)
    if args.part in ("quality", "all"):
        report["quality"] = quality()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
