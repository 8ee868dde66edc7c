"""GANs: the engine against a plain PyTorch DCGAN loop doing the same updates, and how good
the presets' digits are.

    .venv/bin/python bench/bench_gan.py                                  # speed, dcgan
    .venv/bin/python bench/bench_gan.py --steps 100 --rounds 3
    .venv/bin/python bench/bench_gan.py --quality                        # + quality, both loops
    .venv/bin/python bench/bench_gan.py --quality --loops engine --preset gan

Speed: `--steps` batches of the preset (batch 128, Adam 2e-4 β₁ 0.5 for both networks, BCE
with logits, one-sided label smoothing 0.1) as a plain loop (slice a permutation, noise, D on
real and detached fakes, D step, D on fakes, G step: pytorch/examples' DCGAN loop) and as the
engine trains it (`train_job`, streaming as a served run does: step points ≤ 10/s, sample
frames ≤ 1/s with the health verdict, snapshots, every event turned into JSON, the epoch's
checkpoint packed as a training process sends it); images per second of training, by the
wall clock and by CPU time, rounds alternating the order. The target: engine ≥ 0.9× plain.

Quality: each loop trains the preset for its default budget (its config's epochs, or
`--epochs`); then 1000
samples of seeded noise are read by a trained LeNet-5 (the `lenet5` preset, one epoch, ~98%):
`confident` is the share it gives a top probability ≥ 0.9, `classes` how many digits appear
at least 10 times among those. Reference (plain DCGAN, 2 cores): 0.49–0.56 after 3–5 epochs;
a dense GAN ≈ 0.35 after 15.

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
from torch import nn

from app.data import load_mnist, mean_std
from app.data.dataset import Dataset
from app.nn import SpecLimits, build_model, load_preset, preset_config, summarize
from app.settings import Settings
from app.training import RunControl, Throttle, parse_config
from app.training.gan import gan_layout, generate, split_gan, to_unit
from app.training.job import RunJob
from app.training.outputs import TrainingState, TrainResult
from app.training.tasks import task_of, train_job
from app.training.wire import fields_of, pack_tensors

SAMPLES = 1000
SURE = 0.9
SEEN = 10  # samples of a digit for it to count as appearing


class _Sink:
    """Does with the output what the server does (JSON, packed checkpoints); keeps weights."""

    def __init__(self) -> None:
        self.weights: dict[str, torch.Tensor] = {}

    def emit(self, data: dict[str, Any]) -> None:
        json.dumps(data)

    def checkpoint(self, state: TrainingState) -> None:
        pack_tensors(fields_of(state))

    def snapshot(self, snapshot: Any) -> None:
        self.weights = snapshot.state


def _job(preset: str, fields: dict[str, Any], dataset: Dataset) -> RunJob:
    spec = load_preset(preset)
    raw = {**preset_config(preset), **fields}
    config = task_of(parse_config(raw)).check(spec, summarize(spec), parse_config(raw), dataset)
    stored = spec.model_dump(mode="json", exclude_unset=True)
    return RunJob(preset, stored, config, "cpu", 0, SpecLimits(), Throttle(), Path("."))


def plain_loop(
    preset: str, images: torch.Tensor, steps: int | None, epochs: int
) -> tuple[nn.Sequential, float, float]:
    """The plain DCGAN loop on images (N, 1, 28, 28) in -1..1: (the trained model, images per
    second by the wall clock, by CPU time)."""
    built = build_model(load_preset(preset), seed=0)
    model = built.module.train()
    layout = gan_layout(built.spec, built.summary, tuple(images.shape[1:]))
    g_net, d_net = split_gan(model, layout)
    g_opt = torch.optim.Adam(g_net.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    d_opt = torch.optim.Adam(d_net.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    torch.manual_seed(0)
    batch, done = 128, 0
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(order), batch):
            real = images[order[start : start + batch]]  # (B, 1, 28, 28)
            count = len(real)
            fake = g_net(torch.randn(count, layout.latent_dim))
            real_loss = F.binary_cross_entropy_with_logits(
                d_net(real).reshape(-1), torch.full((count,), 0.9)
            )
            fake_loss = F.binary_cross_entropy_with_logits(
                d_net(fake.detach()).reshape(-1), torch.zeros(count)
            )
            d_opt.zero_grad()
            (real_loss + fake_loss).backward()  # type: ignore[no-untyped-call]
            d_opt.step()
            g_loss = F.binary_cross_entropy_with_logits(d_net(fake).reshape(-1), torch.ones(count))
            g_opt.zero_grad()
            g_loss.backward()  # type: ignore[no-untyped-call]
            g_opt.step()
            done += count
            if steps is not None and done >= steps * batch:
                break
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return model, done / wall, done / cpu


def engine(
    preset: str, dataset: Dataset, fields: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], TrainResult, float]:
    """The engine's run: (its last weights, result, images per second by CPU time)."""
    sink = _Sink()
    cpu = time.process_time()
    result = train_job(_job(preset, fields, dataset), dataset, RunControl(), sink)
    return sink.weights, result, result.samples / (time.process_time() - cpu)


def speed(preset: str, dataset: Dataset, steps: int, rounds: int) -> dict[str, Any]:
    images = dataset.train.inputs.float().div_(127.5).sub_(1.0)  # (N, 1, 28, 28) in -1..1
    plain: list[float] = []
    plain_cpu: list[float] = []
    ours: list[float] = []
    ours_cpu: list[float] = []
    for index in range(rounds):
        order = ("plain", "engine") if index % 2 == 0 else ("engine", "plain")
        for which in order:
            if which == "plain":
                _, wall, cpu = plain_loop(preset, images, steps, 1)
                plain.append(wall)
                plain_cpu.append(cpu)
            else:
                _, result, cpu = engine(preset, dataset, {"max_steps": steps, "epochs": 1})
                ours.append(result.samples_per_s)
                ours_cpu.append(cpu)
    median = statistics.median
    return {
        "model": f"{preset} preset, batch 128, Adam 2e-4 β₁ 0.5, {steps} steps",
        "threads": torch.get_num_threads(),
        "plain_samples_per_s": round(median(plain), 1),
        "engine_samples_per_s": round(median(ours), 1),
        "ratio": round(median(ours) / median(plain), 3),
        "ratio_cpu_time": round(median(ours_cpu) / median(plain_cpu), 3),
        "rounds": {"plain": [round(x) for x in plain], "engine": [round(x) for x in ours]},
    }


def _judge(dataset: Dataset) -> tuple[nn.Module, float | None]:
    sink = _Sink()
    result = train_job(_job("lenet5", {"epochs": 1}, dataset), dataset, RunControl(), sink)
    reader = build_model(load_preset("lenet5"), seed=0).module.eval()
    reader.load_state_dict(sink.weights)
    return reader, result.test_accuracy


def _score(model: nn.Sequential, preset: str, reader: nn.Module) -> dict[str, Any]:
    built = build_model(load_preset(preset), seed=0)
    layout = gan_layout(built.spec, built.summary, (1, 28, 28))
    g_net, _ = split_gan(model, layout)
    noise = torch.randn(SAMPLES, layout.latent_dim, generator=torch.Generator().manual_seed(1))
    mean, std = mean_std()
    with torch.no_grad():
        images = to_unit(generate(g_net, noise), layout)  # (N, 1, 28, 28) in 0..1
        probabilities = reader((images - mean) / std).softmax(dim=1)  # (N, 10)
    top, digit = probabilities.max(dim=1)
    sure = digit[top >= SURE]
    counts = torch.bincount(sure, minlength=10)
    return {
        "confident": round(float((top >= SURE).float().mean()), 4),
        "classes": int((counts >= SEEN).sum()),
        "per_digit": counts.tolist(),
    }


def quality(preset: str, dataset: Dataset, loops: list[str], epochs: int | None) -> dict[str, Any]:
    reader, accuracy = _judge(dataset)
    epochs = epochs or parse_config(preset_config(preset)).epochs
    report: dict[str, Any] = {"judge_test_accuracy": accuracy, "preset": preset, "epochs": epochs}
    images = dataset.train.inputs.float().div_(127.5).sub_(1.0)
    for loop in loops:
        started = time.perf_counter()
        if loop == "plain":
            model, _, _ = plain_loop(preset, images, None, epochs)
        else:
            weights, _, _ = engine(preset, dataset, {"epochs": epochs})
            model = build_model(load_preset(preset), seed=0).module
            model.load_state_dict(weights)
        report[loop] = {"seconds": round(time.perf_counter() - started, 1)}
        report[loop] |= _score(model.eval(), preset, reader)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--preset", choices=["gan", "dcgan"], default="dcgan")
    parser.add_argument("--steps", type=int, default=150, help="batches per speed round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--epochs", type=int, help="quality: instead of the preset's budget")
    parser.add_argument(
        "--loops", nargs="+", choices=["engine", "plain"], default=["engine", "plain"]
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load_mnist(Settings().mnist_cache_dir()).to_dataset()
    report: dict[str, Any] = {}
    if not args.no_speed:
        report["speed"] = speed(args.preset, dataset, args.steps, args.rounds)
    if args.quality:
        report["quality"] = quality(args.preset, dataset, args.loops, args.epochs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
