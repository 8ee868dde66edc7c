"""The gan task: the split of a spec into generator and discriminator and its refusals, short
runs of both presets through `train_job` (events, health, control, checkpoint and exact resume),
the health verdict on a planted collapse, and the generator's ONNX export."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import torch

from app.data.dataset import Dataset
from app.data.registry import DatasetPlaces, Datasets
from app.inference.export import export_model, model_part
from app.nn import SpecLimits, build_model, load_preset, preset_config, summarize
from app.training import ConfigError, RunControl, StopKind, Throttle, TrainingState, parse_config
from app.training.config import TrainConfig
from app.training.gan import (
    check_gan,
    diversity,
    fixed_noise,
    gan_layout,
    generate,
    judge,
    model_layout,
    oscillating,
    split_gan,
)
from app.training.gan.health import COLLAPSE_RATIO
from app.training.job import RunJob
from app.training.outputs import TrainResult
from app.training.task_params import GanParams, gan_params
from app.training.tasks import task_of, train_job
from app.training.wire import fields_of, pack_tensors, unpack_tensors

FAST = Throttle(step_s=0.0, feature_maps_s=0.0, checkpoint_s=0.0)
IMAGE = (1, 28, 28)
TINY: dict[str, Any] = {  # 8 noise numbers → a 1×28×28 image → one score
    "input_shape": [8],
    "layers": [
        {"type": "linear", "out_features": 784},
        {"type": "unflatten", "sizes": [1, 28, 28]},
        {"type": "tanh"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 32},
        {"type": "leaky_relu", "negative_slope": 0.2},
        {"type": "linear", "out_features": 1},
    ],
}
DONE_KEYS = {  # what every run's `done` event holds (app.training.events.DoneEvent)
    "seq", "type", "time", "epochs", "steps", "test_loss", "test_accuracy", "test_count",
    "val_accuracy", "best_val_accuracy", "best_epoch", "early_stopped", "seconds",
    "train_seconds", "samples_per_s", "val_loss",
}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as runs train


class Recording:
    """A RunSink keeping events as the server stores them and checkpoints as a training
    process sends them (copies); `on_checkpoint` may act on each."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.checkpoints: list[TrainingState] = []
        self.snapshots = 0
        self.on_checkpoint: Any = None
        self.changed = threading.Condition()

    def emit(self, data: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(json.loads(json.dumps(data)))
            self.changed.notify_all()

    def checkpoint(self, state: TrainingState) -> None:
        self.checkpoints.append(TrainingState(**unpack_tensors(pack_tensors(fields_of(state)))))
        if self.on_checkpoint is not None:
            self.on_checkpoint(self.checkpoints[-1])

    def snapshot(self, snapshot: Any) -> None:
        self.snapshots += 1

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.changed:
            return [event for event in self.events if event["type"] == kind]

    def wait_for(self, test: Any, timeout: float = 60.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(map(test, self.events)), timeout)


def gan_config(digits: Dataset, spec: dict[str, Any] = TINY, **fields: Any) -> TrainConfig:
    raw = {
        "task": {"name": "gan", "samples_every_s": 0.05},
        "batch_size": 64,
        "lr": 2e-4,
        "train_subset": 256,
        **fields,
    }
    config = parse_config(raw)
    built = build_model(spec)
    return task_of(config).check(built.spec, built.summary, config, digits)


def train(
    digits: Dataset,
    config: TrainConfig,
    spec: dict[str, Any] = TINY,
    sink: Recording | None = None,
    control: RunControl | None = None,
    resume: TrainingState | None = None,
    first_seq: int = 0,
) -> tuple[TrainResult, Recording]:
    sink = sink or Recording()
    job = RunJob("gan", spec, config, "cpu", first_seq, SpecLimits(), FAST, Path("."), resume)
    return train_job(job, digits, control or RunControl(), sink), sink


def _preset_spec(name: str) -> dict[str, Any]:
    return load_preset(name).model_dump(mode="json", exclude_unset=True)


# -- the split and its refusals -----------------------------------------------------------------


@pytest.mark.parametrize(("preset", "cut"), [("gan", 7), ("dcgan", 9)])
def test_a_preset_splits_after_its_last_image_layer(preset: str, cut: int) -> None:
    built = build_model(_preset_spec(preset), seed=0)
    layout = gan_layout(built.spec, built.summary, IMAGE)
    assert (layout.cut, layout.latent_dim, layout.image_range) == (cut, 64, (-1.0, 1.0))
    assert not layout.probabilities and built.spec.layers[cut - 1].type == "tanh"
    g_net, d_net = split_gan(built.module, layout)
    images = g_net(torch.randn(5, 64))  # (5, 1, 28, 28)
    assert images.shape == (5, *IMAGE) and images.abs().max() <= 1.0
    assert d_net(images).shape == (5, 1)
    assert len(g_net) + len(d_net) == len(built.module)
    assert next(g_net.parameters()) is next(built.module.parameters())  # views, not copies
    assert model_layout(built.summary) == layout  # the same split without the dataset


def _refusals(digits: Any, spec: dict[str, Any], **fields: Any) -> dict[str, str]:
    built = build_model(spec)
    config = parse_config({"task": "gan", **fields})
    with pytest.raises(ConfigError) as caught:
        check_gan(built.spec, summarize(built.spec), config, digits)
    return dict(caught.value.issues)


def _layers(*types: str) -> list[dict[str, Any]]:
    return [{"type": kind} for kind in types]


def test_a_spec_that_is_no_generator_then_discriminator_is_refused(digits: Dataset) -> None:
    layers = TINY["layers"]
    no_image = {"input_shape": [8], "layers": [{"type": "linear", "out_features": 1}]}
    issues = _refusals(digits, no_image)
    assert issues["layers"].startswith("no layer outputs a 1×28×28 image: the generator must")
    assert "linear 784 → unflatten [1, 28, 28] → tanh" in issues["layers"]

    relu_end = {**TINY, "layers": [*layers[:2], {"type": "relu"}, *layers[3:]]}
    issues = _refusals(digits, relu_end)
    assert "ends at layer 2 (relu)" in issues["layers"] and "end it with tanh" in issues["layers"]

    no_discriminator = {**TINY, "layers": layers[:3]}
    assert "add the discriminator after it" in _refusals(digits, no_discriminator)["layers"]

    ten = {**TINY, "layers": [*layers[:-1], {"type": "linear", "out_features": 10}]}
    issues = _refusals(digits, ten)
    assert issues["layers"] == (
        "the discriminator (layers 3–6) must score an image with one number; it outputs 10: "
        "end it with a linear layer of 1 out_features"
    )

    images_in = {"input_shape": [1, 28, 28], "layers": _layers("flatten", "tanh")}
    issues = _refusals(digits, images_in)
    assert "a GAN's input is its noise, one vector: use [64]" in issues["input_shape"]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"loss": "mse"}, "loss", "binary cross-entropy (leave loss out, or bce), not mse"),
        ({"label_smoothing": 0.1}, "label_smoothing", "task.label_smoothing"),
        ({"eval_limit": 100}, "eval_limit", "not to gan"),
        ({"early_stopping_patience": 2}, "early_stopping_patience", "not to gan"),
        ({"precision": "bf16"}, "precision", "fp32"),
        ({"regularization": "l2", "regularization_rate": 0.1}, "regularization", "none"),
    ],
)
def test_configs_that_do_not_fit_a_gan_are_refused(
    digits: Dataset, fields: dict[str, Any], field: str, words: str
) -> None:
    issues = _refusals(digits, TINY, **fields)
    assert field in issues and words in issues[field], issues


def test_a_dataset_without_images_is_refused_and_task_parameters_are_checked() -> None:
    spiral = Datasets(DatasetPlaces(Path("."))).info("spiral")
    issues = _refusals(spiral, TINY)
    assert issues["dataset"].startswith("a GAN learns to make images: 'spiral' has samples")
    with pytest.raises(ConfigError, match=r"task\.beta1: Input should be less than 1"):
        parse_config({"task": {"name": "gan", "beta1": 1}})
    with pytest.raises(ConfigError, match=r"task\.d_steps"):
        parse_config({"task": {"name": "gan", "d_steps": 0}})


def test_the_preset_configs_fit_and_complete(digits: Dataset) -> None:
    for preset in ("gan", "dcgan"):
        raw = preset_config(preset)
        config = parse_config(raw)
        spec = load_preset(preset)
        checked = check_gan(spec, summarize(spec), config, digits)
        params = gan_params(checked.task)
        assert params is not None and params.beta1 == 0.5 and params.label_smoothing == 0.1
        assert (checked.optimizer, checked.lr, checked.schedule) == ("adam", 2e-4, "none")
        stored = parse_config(checked.model_dump(mode="json"))  # as a run's record holds it
        assert check_gan(spec, summarize(spec), stored, digits) == checked
    bare = parse_config({"task": "gan"})
    spec = load_preset("gan")
    assert check_gan(spec, summarize(spec), bare, digits).schedule == "none"
    assert gan_params(bare.task) == GanParams()


# -- health -------------------------------------------------------------------------------------


def test_collapse_is_told_from_variety(digits: Dataset) -> None:
    real = digits.train.inputs[:64].float().div(255.0)  # (64, 1, 28, 28)
    real_spread = diversity(real)
    assert real_spread > 5.0
    same = real[:1].expand(64, -1, -1, -1)  # one image for every z: a planted collapse
    verdict = judge(diversity(same), real_spread, swinging=False)
    assert verdict.state == "collapsed" and verdict.diversity == 0.0
    assert verdict.message.startswith("Mode collapse: the samples look alike (their spread is 0%")
    few = real[torch.arange(64) % 3]  # three images only
    assert diversity(few) / real_spread < 1.0
    lookalikes = same + 0.05 * torch.rand_like(same)
    assert judge(diversity(lookalikes), real_spread, False).ratio < COLLAPSE_RATIO
    healthy = judge(diversity(digits.train.inputs[64:128].float().div(255.0)), real_spread, False)
    assert healthy.state == "ok" and 0.9 < healthy.ratio < 1.1
    assert healthy.message.startswith("Healthy")
    assert judge(real_spread, real_spread, swinging=True).state == "oscillating"
    near = COLLAPSE_RATIO * 1.1 * real_spread  # just above the threshold
    assert judge(near, real_spread, False).state == "ok"
    assert judge(near, real_spread, False, previous="collapsed").state == "collapsed"


def test_oscillation_is_a_wide_zigzag_without_a_trend() -> None:
    assert oscillating([1.4, 0.6, 1.5, 0.5, 1.4, 0.6, 1.5, 0.5])
    assert not oscillating([1.4, 0.6, 1.5, 0.5, 1.4, 0.6, 1.5])  # too few windows yet
    assert not oscillating([1.0, 1.02, 0.99, 1.01, 1.0, 1.02, 0.99, 1.01])  # small wobble
    assert not oscillating([3.0, 2.7, 2.4, 2.1, 1.8, 1.5, 1.2, 0.9])  # a trend
    assert not oscillating([3.0, 2.0, 2.6, 1.5, 2.0, 1.0, 1.5, 0.4])  # zigzag going down


def test_a_planted_collapse_is_reported_after_the_epoch(digits: Dataset) -> None:
    planted = json.loads(json.dumps(TINY))
    planted["layers"][0]["weight_init"] = "zeros"  # every z gives the bias: one image
    config = gan_config(digits, planted, epochs=1, lr=1e-9)
    result, sink = train(digits, config, planted)
    (health,) = sink.of("gan_health")
    assert health["state"] == "collapsed" and health["diversity"] < 0.01
    assert health["ratio"] < COLLAPSE_RATIO and health["real_diversity"] > 5.0
    assert "Mode collapse" in health["message"]
    assert sink.of("done")[0]["health"] == "collapsed"
    assert result.figures is not None
    assert (result.figures["diversity_ratio"] or 0.0) < COLLAPSE_RATIO


# -- runs -----------------------------------------------------------------------------------------


def test_a_short_run_streams_steps_epochs_samples_health_and_done(digits: Dataset) -> None:
    config = gan_config(digits, epochs=2)
    result, sink = train(digits, config, first_seq=5)
    events = sink.events
    assert [event["seq"] for event in events] == list(range(5, 5 + len(events)))
    assert (result.status, result.steps, result.epochs, result.samples) == ("completed", 8, 2, 512)

    points = sink.of("step")
    assert [point["step"] for point in points] == list(range(1, 9))  # FAST: every step
    for point in points:
        assert point["total_steps"] == 8 and point["accuracy"] is None and point["lr"] == 2e-4
        assert np.isfinite(point["loss"]) and np.isfinite(point["d_loss"])
        assert 0 < point["d_real"] < 1 and 0 < point["d_fake"] < 1
        assert point["samples_per_s"] > 0 and 0 < point["epoch_progress"] <= 1
    epochs = sink.of("epoch")
    assert [epoch["epoch"] for epoch in epochs] == [1, 2]
    for epoch in epochs:
        assert epoch["val_accuracy"] is None and epoch["train_accuracy"] is None
        assert epoch["val_loss"] is None and np.isfinite(epoch["train_loss"])
        assert {"d_loss", "d_real", "d_fake", "seconds", "lr", "samples_per_s"} <= set(epoch)
    first = points[:4]
    assert epochs[0]["train_loss"] == pytest.approx(sum(p["loss"] for p in first) / 4)

    frames = sink.of("gan_samples")
    kept = [frame for frame in frames if frame["at_epoch_end"]]
    assert [frame["epoch"] for frame in kept] == [1, 2] and len(frames) > len(kept)
    for frame in frames:
        assert frame["shape"] == [1, 28, 28] and frame["count"] == 64
        pixels = np.frombuffer(base64.b64decode(frame["images"]), np.uint8)
        assert pixels.size == 64 * 784 and pixels.max() > pixels.min()
    assert frames[0]["step"] == 1 and not frames[0]["at_epoch_end"]  # the first step's
    assert frames[0]["images"] != kept[-1]["images"]  # the generator learns

    health = sink.of("gan_health")
    assert [event["epoch"] for event in health] == [1, 2]  # after each epoch (no live verdicts
    for event in health:  # before WARMUP_STEPS)
        assert event["state"] in ("ok", "collapsed", "oscillating") and event["message"]
        assert event["real_diversity"] > 5.0 and event["diversity"] > 0

    (done,) = sink.of("done")
    assert events[-1] is done and set(done) >= DONE_KEYS
    assert done["test_loss"] is None and done["test_accuracy"] is None
    assert (done["epochs"], done["steps"]) == (2, 8) and done["health"] == health[-1]["state"]
    summary = result.summary()
    for key in ("g_loss", "d_loss", "d_real", "d_fake", "diversity", "real_diversity"):
        assert summary[key] == done[key], key
    assert summary["test_accuracy"] is None and summary["diversity_ratio"] > 0
    final = sink.checkpoints[-1]
    assert final.meta["final"] and final.meta["gan"]["fixed_noise"].shape == (64, 8)
    assert torch.equal(final.meta["gan"]["fixed_noise"], fixed_noise(config.seed, 8))
    assert sink.snapshots >= 2


@pytest.mark.parametrize("preset", ["gan", "dcgan"])
def test_each_preset_trains_a_few_steps(digits: Dataset, preset: str) -> None:
    spec = _preset_spec(preset)
    fields = {**preset_config(preset), "max_steps": 2, "train_subset": 256}
    config = gan_config(digits, spec, **fields)
    result, sink = train(digits, config, spec)
    assert (result.status, result.steps) == ("completed", 2)
    assert all(np.isfinite(point["loss"]) for point in sink.of("step"))
    assert sink.of("gan_samples")[-1]["at_epoch_end"] and sink.of("gan_health")


def test_a_discriminator_that_ends_in_sigmoid_trains_on_probabilities(digits: Dataset) -> None:
    spec = {**TINY, "layers": [*TINY["layers"], {"type": "sigmoid"}]}
    built = build_model(spec)
    assert gan_layout(built.spec, built.summary, IMAGE).probabilities
    result, sink = train(digits, gan_config(digits, spec, epochs=1), spec)
    assert result.status == "completed"
    assert all(
        0 < point["d_real"] < 1 and np.isfinite(point["d_loss"]) for point in sink.of("step")
    )


def test_pause_lr_and_stop_reach_a_gan_run_from_another_thread(digits: Dataset) -> None:
    config = gan_config(digits, epochs=200, train_subset=None)
    control, sink = RunControl(), Recording()
    finished: list[TrainResult] = []
    worker = threading.Thread(
        target=lambda: finished.append(train(digits, config, sink=sink, control=control)[0])
    )
    worker.start()
    try:
        sink.wait_for(lambda event: event["type"] == "step")
        control.pause()
        sink.wait_for(lambda event: event.get("status") == "paused")
        steps = len(sink.of("step"))
        kinds = [event["type"] for event in sink.events]
        held = kinds.index("status")
        assert "gan_samples" in kinds[held - 2 : held]  # what it makes while it holds
        time.sleep(0.4)
        assert len(sink.of("step")) == steps  # held
        control.set_lr(0.0123)
        control.resume()
        sink.wait_for(lambda event: event["type"] == "step" and event["lr"] == 0.0123)
    finally:
        control.stop()
        worker.join(60)
    (result,) = finished
    assert result.status == "stopped" and result.epochs == 0
    assert [event["status"] for event in sink.of("status")] == ["paused", "running"]
    assert not sink.of("done")
    final = sink.checkpoints[-1]
    assert final.meta["final"] and final.meta["step"] == result.steps
    d_groups = final.meta["gan"]["d_optimizer"]["param_groups"]
    assert d_groups[0]["lr"] == 0.0123 and d_groups[0]["betas"][0] == 0.5  # both networks


def test_a_resumed_run_goes_on_exactly_as_if_never_interrupted(digits: Dataset) -> None:
    config = gan_config(digits, epochs=3, train_subset=192)
    whole, whole_sink = train(digits, config)
    assert whole.figures is not None

    control, cut = RunControl(), Recording()

    def interrupt_after_the_first_epoch(state: TrainingState) -> None:
        control.stop(StopKind.INTERRUPT)  # as a server shutting down would

    cut.on_checkpoint = interrupt_after_the_first_epoch
    first, _ = train(digits, config, sink=cut, control=control)
    assert first.status == "interrupted" and not cut.of("done")
    saved = cut.checkpoints[-1]
    meta = saved.meta
    assert (meta["epoch"], meta["step"], meta["final"]) == (1, 3, False)

    resumed, rest = train(digits, config, resume=saved, first_seq=meta["seq"] + 1)
    assert resumed.status == "completed" and (resumed.steps, resumed.epochs) == (9, 3)
    assert resumed.figures == whole.figures
    assert rest.events[0]["seq"] == meta["seq"] + 1
    keys = ("step", "loss", "d_loss", "d_real", "d_fake")
    shown = [tuple(e[key] for key in keys) for e in rest.of("step")]
    expected = [tuple(e[key] for key in keys) for e in whole_sink.of("step")][3:]
    assert shown == expected  # the same steps, numbered on from the checkpoint
    kept = [e["images"] for e in rest.of("gan_samples") if e["at_epoch_end"]]
    assert kept == [e["images"] for e in whole_sink.of("gan_samples") if e["at_epoch_end"]][1:]
    final, expected_final = rest.checkpoints[-1], whole_sink.checkpoints[-1]
    for name, tensor in expected_final.model_state.items():
        assert torch.equal(final.model_state[name], tensor), name  # the same weights
    d_state = final.meta["gan"]["d_optimizer"]["state"]
    for key, value in expected_final.meta["gan"]["d_optimizer"]["state"].items():
        assert torch.equal(d_state[key]["exp_avg"], value["exp_avg"])


def test_the_generator_exports_to_onnx_and_draws_the_same(digits: Dataset) -> None:
    config = gan_config(digits, epochs=1)
    _, sink = train(digits, config)
    built = build_model(TINY)
    built.module.load_state_dict(sink.checkpoints[-1].model_state)
    part = model_part(built.module, built.summary, config.model_dump(mode="json"), "generator")
    assert (part.input_shape, part.input_name, part.output_name) == ((8,), "noise", "images")
    noise = fixed_noise(3, 8, count=4)  # (4, 8)
    expected = generate(part.module, noise).numpy()  # (4, 1, 28, 28)
    names = (part.input_name, part.output_name)
    data = export_model(part.module, part.input_shape, "onnx", {"task": "gan"}, names)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert [item.name for item in session.get_inputs()] == ["noise"]
    (answer,) = session.run(None, {"noise": noise.numpy()})
    assert answer.shape == (4, 1, 28, 28) and np.allclose(answer, expected, atol=1e-5)
    scores = model_part(
        built.module, built.summary, config.model_dump(mode="json"), "discriminator"
    )
    assert scores.module(torch.from_numpy(answer)).shape == (4, 1)
