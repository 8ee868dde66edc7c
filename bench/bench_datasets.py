"""Datasets beyond MNIST on this machine: 2-D training speed, and the cost of an upload.

    .venv/bin/python bench/bench_datasets.py                     # both parts
    .venv/bin/python bench/bench_datasets.py --part planar --rounds 5
    .venv/bin/python bench/bench_datasets.py --part served --epochs 200
    .venv/bin/python bench/bench_datasets.py --part upload --images 10000

`planar`: a 2-16-16-2 tanh network on `spiral` (500 points, half for training), Adam 0.01,
batch 16, one PyTorch thread: steps per second of a plain PyTorch loop against the engine
(`train_job`, as a run trains) with its decision-boundary frames on and off. Rounds alternate
the order; the figures are medians, and the engine's pace is its own `samples_per_s` ÷ batch.

`served`: the same run submitted to a run manager as the server runs it (a training process,
events persisted, checkpoints written), timed from the run's start to its end as recorded,
against the plain loop: what a person on the 2-D page gets.

`upload`: a ZIP of `--images` 28×28 PNGs in 10 class folders (MNIST test digits) read,
checked and converted into a dataset (`read_upload`), then stored (`save_dataset`); and the
same file through `POST /api/datasets` of an app in this process.

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import torch
from fastapi.testclient import TestClient
from PIL import Image
from torch import nn

from app.data import load_mnist
from app.data.planar import PlanarParams, generate
from app.data.uploads import read_upload, save_dataset
from app.main import create_app
from app.nn import SpecLimits
from app.settings import Settings
from app.store import Store
from app.training import RunControl, Throttle, parse_config
from app.training.job import RunJob
from app.training.manager import RunManager
from app.training.tasks import train_job

SPEC = {
    "input_shape": [2],
    "layers": [
        {"type": "linear", "out_features": 16},
        {"type": "tanh"},
        {"type": "linear", "out_features": 16},
        {"type": "tanh"},
        {"type": "linear", "out_features": 2},
    ],
}


class _Sink:
    def __init__(self) -> None:
        self.frames = 0

    def emit(self, data: dict[str, Any]) -> None:
        json.dumps(data)  # what the server does with every event
        self.frames += data["type"] == "boundary"

    def checkpoint(self, state: Any) -> None:
        pass

    def snapshot(self, snapshot: Any) -> None:
        pass


def plain_loop(epochs: int) -> float:
    """Steps per second of a hand-written loop on the same data and network."""
    data = generate(PlanarParams(name="spiral"))
    inputs, labels = data.train.inputs, data.train.targets
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_function = nn.CrossEntropyLoss()
    steps = 0
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(len(labels)).split(16):
            loss = loss_function(model(inputs[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            steps += 1
    return steps / (time.perf_counter() - started)


def engine(epochs: int, frames: bool) -> tuple[float, float, int]:
    """(steps/s, test accuracy, frames sent) of a run of the engine."""
    config = parse_config(
        {
            "dataset": "spiral",
            "epochs": epochs,
            "batch_size": 16,
            "lr": 0.01,
            "schedule": "none",
        }
    )
    throttle = Throttle() if frames else Throttle(feature_maps_s=1e9)
    job = RunJob("bench", SPEC, config, "cpu", 0, SpecLimits(), throttle, Path("."))
    sink = _Sink()
    result = train_job(job, generate(PlanarParams(name="spiral")), RunControl(), sink)
    return result.samples_per_s / 16, result.test_accuracy, sink.frames


def planar(rounds: int, epochs: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    engine(2, True)  # imports and first-call costs out of the way
    plain, framed, bare, accuracy, frames = [], [], [], [], []
    for index in range(rounds):
        order = ["plain", "framed", "bare"] if index % 2 == 0 else ["bare", "framed", "plain"]
        for which in order:
            if which == "plain":
                plain.append(plain_loop(epochs))
            else:
                pace, test_accuracy, sent = engine(epochs, which == "framed")
                (framed if which == "framed" else bare).append(pace)
                if which == "framed":
                    accuracy.append(test_accuracy)
                    frames.append(sent)
    median = statistics.median
    return {
        "network": "2-16-16-2 tanh, spiral, batch 16, Adam 0.01, 1 thread",
        "epochs": epochs,
        "plain_steps_per_s": round(median(plain), 1),
        "engine_steps_per_s_frames_on": round(median(framed), 1),
        "engine_steps_per_s_frames_off": round(median(bare), 1),
        "ratio_frames_on": round(median(framed) / median(plain), 3),
        "ratio_frames_off": round(median(bare) / median(plain), 3),
        "frames_cost": round(1 - median(framed) / median(bare), 3),
        "frames_per_run": int(median(frames)),
        "test_accuracy": round(median(accuracy), 3),
        "rounds": {"plain": plain, "frames_on": framed, "frames_off": bare},
    }


def served(rounds: int, epochs: int) -> dict[str, Any]:
    """Steps per second of runs trained by a run manager (start to end, as recorded)."""
    torch.set_num_threads(1)
    config = {
        "dataset": "spiral",
        "epochs": epochs,
        "batch_size": 16,
        "lr": 0.01,
        "schedule": "none",
    }
    plain, runs, accuracy = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch), torch_threads=1, device="cpu", max_epochs=200)
        with RunManager(Store(settings.data_dir), settings) as manager:
            manager.wait(manager.submit_spec(SPEC, {**config, "epochs": 2}).id, 120)  # warm
            for index in range(rounds):
                if index % 2 == 0:
                    plain.append(plain_loop(epochs))
                record = manager.wait(manager.submit_spec(SPEC, config).id, 600)
                assert record.status == "completed", record
                assert record.started_at is not None and record.finished_at is not None
                runs.append(record.step / (record.finished_at - record.started_at))
                accuracy.append(record.test_accuracy or 0.0)
                if index % 2 == 1:
                    plain.append(plain_loop(epochs))
    median = statistics.median
    return {
        "network": "2-16-16-2 tanh, spiral, batch 16, Adam 0.01, 1 thread, training process",
        "epochs": epochs,
        "plain_steps_per_s": round(median(plain), 1),
        "served_steps_per_s": round(median(runs), 1),
        "ratio": round(median(runs) / median(plain), 3),
        "test_accuracy": round(median(accuracy), 3),
        "rounds": {"plain": plain, "served": runs},
    }


def _digits_zip(count: int) -> bytes:
    mnist = load_mnist(Settings().mnist_cache_dir())
    images, labels = mnist.test.images, mnist.test.labels
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in range(count):
            png = io.BytesIO()
            Image.fromarray(images[index % len(images)].numpy()).save(png, format="PNG")
            archive.writestr(
                f"digits/{int(labels[index % len(labels)])}/{index:05d}.png", png.getvalue()
            )
    return buffer.getvalue()


def upload(count: int) -> dict[str, Any]:
    content = _digits_zip(count)
    started = time.perf_counter()
    uploaded = read_upload(content, "digits")
    converted = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        save_dataset(uploaded.dataset, Path(scratch) / "digits", uploaded.source)
        stored = time.perf_counter() - started
        settings = Settings(data_dir=Path(scratch) / "app", max_upload_bytes=len(content) + 1)
        with TestClient(create_app(settings)) as client:
            started = time.perf_counter()
            answer = client.post(
                "/api/datasets",
                files={"file": ("digits.zip", content, "application/zip")},
                data={"name": "digits"},
            )
            through_api = time.perf_counter() - started
            assert answer.status_code == 201, answer.text
    return {
        "images": count,
        "zip_bytes": len(content),
        "convert_s": round(converted, 2),
        "store_s": round(stored, 2),
        "images_per_s": round(count / converted),
        "api_upload_s": round(through_api, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=["planar", "served", "upload", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if args.part in ("planar", "all"):
        report["planar"] = planar(args.rounds, args.epochs)
    if args.part in ("served", "all"):
        report["served"] = served(args.rounds, args.epochs)
    if args.part in ("upload", "all"):
        report["upload"] = upload(args.images)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
