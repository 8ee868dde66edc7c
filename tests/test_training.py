"""Tests of the trainer loop: every preset, events, schedules, control, early stopping, resume."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch

from app.data import Mnist
from app.nn import PRESET_NAMES, BuiltModel, build_model, load_preset, preset_config
from app.store import load_checkpoint, save_checkpoint
from app.training import (
    ConfigError,
    DoneEvent,
    EpochEvent,
    Event,
    FeatureMapsEvent,
    RunControl,
    StatusEvent,
    StepEvent,
    Throttle,
    TrainConfig,
    Trainer,
    TrainingError,
    TrainingState,
    WeightSnapshot,
    parse_config,
    prepare_data,
)
from app.training.evaluate import Evaluation, evaluate
from app.training.optim import ONECYCLE_START, lr_factor
from app.training.probe import conv_layers, layer_maps

CPU = torch.device("cpu")
TINY = {"train_subset": 192, "eval_limit": 100, "epochs": 1, "batch_size": 64}  # 3 steps
EVERY_STEP = Throttle(step_s=0.0, feature_maps_s=0.0, checkpoint_s=0.0)


def make_trainer(
    mnist: Mnist,
    preset: str = "mlp",
    *,
    events: list[Event] | None = None,
    **fields: Any,
) -> Trainer:
    config = parse_config({**TINY, **fields})
    built = build_model(load_preset(preset), seed=config.seed)
    return trainer_for(mnist, built, config, events=events)


def trainer_for(
    mnist: Mnist,
    built: BuiltModel,
    config: TrainConfig,
    *,
    events: list[Event] | None = None,
    **options: Any,
) -> Trainer:
    data = prepare_data(
        mnist,
        CPU,
        built.spec.input_shape,
        train_subset=config.train_subset,
        eval_limit=config.eval_limit,
    )
    emit = events.append if events is not None else None
    options.setdefault("throttle", EVERY_STEP)
    return Trainer(built, config, data, emit=emit, **options)


E = TypeVar("E", bound=Event)


def of_type(events: list[Event], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


# -- config --------------------------------------------------------------------------------


def test_default_config_is_the_measured_one() -> None:
    config = TrainConfig()
    assert (config.optimizer, config.lr, config.schedule, config.batch_size) == (
        "adam",
        3e-3,
        "onecycle",
        64,
    )
    assert parse_config({"optimizer": "sgd"}).lr == 0.02  # each optimizer has its own default
    assert parse_config({"optimizer": "sgd", "lr": 0.1}).lr == 0.1


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"epochs": 1000}, "epochs", "≤ 200"),
        ({"batch_size": 0}, "batch_size", "≥ 1"),
        ({"lr": -1}, "lr", "> 0"),
        ({"optimizer": "lbfgs"}, "optimizer", "'sgd'"),
        ({"epoch": 3}, "epoch", "unknown field"),
        ({"loss": "mse", "label_smoothing": 0.1}, "label_smoothing", "cross_entropy only"),
        ({"optimizer": "adam", "nesterov": True}, "nesterov", "sgd"),
    ],
)
def test_bad_config_names_the_field(raw: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    fields = [issue_field for issue_field, _ in caught.value.issues]
    assert field in fields
    assert words in str(caught.value)
    assert "pydantic" not in str(caught.value)


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_preset_configs_are_valid(preset: str) -> None:
    config = parse_config(preset_config(preset))
    assert config.model_dump(include=set(preset_config(preset))) == preset_config(preset)


def test_layer_maps_scale_each_channel_to_0_255_and_downsample() -> None:
    ramp = torch.arange(16.0).reshape(4, 4)  # 0..15
    output = torch.stack([ramp, -2 * ramp, torch.full((4, 4), 3.0)])  # (3, 4, 4)
    maps = layer_maps("2", output, side=4)
    pixels = torch.frombuffer(bytearray(maps.data), dtype=torch.uint8).reshape(3, 4, 4)
    assert (maps.channels, maps.shown, maps.height, maps.width) == (3, 3, 4, 4)
    assert pixels[0].flatten().tolist() == [round(v * 17) for v in range(16)]  # 255 / 15 = 17
    assert pixels[1].flatten().tolist() == [255 - round(v * 17) for v in range(16)]
    assert pixels[2].eq(0).all()  # a constant channel: nothing to show, no division by zero
    assert maps.low == (0.0, -30.0, 3.0) and maps.high == (15.0, 0.0, 3.0)

    small = layer_maps("2", output, side=2)  # area means of 2×2 blocks
    assert (small.height, small.width) == (2, 2) and small.low[0] == 2.5 and small.high[0] == 12.5

    assert maps.to_dict() == {  # the JSON form every live prediction sends
        "path": "2",
        "channels": 3,
        "shown": 3,
        "height": 4,
        "width": 4,
        "data": base64.b64encode(pixels.numpy().tobytes()).decode("ascii"),
        "low": [0.0, -30.0, 3.0],
        "high": [15.0, 0.0, 3.0],
    }


def test_schedules() -> None:
    def factors(schedule: str) -> list[float]:
        config = parse_config({"schedule": schedule, "epochs": 4, "gamma": 0.5})
        return [lr_factor(config, step, 400, 100) for step in range(0, 401, 50)]

    assert factors("none") == [1.0] * 9
    assert factors("step") == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]
    cosine = factors("cosine")
    assert cosine[0] == 1.0 and cosine[-1] == pytest.approx(0.0, abs=1e-12)
    assert cosine == sorted(cosine, reverse=True)
    onecycle = factors("onecycle")
    assert onecycle[0] == pytest.approx(ONECYCLE_START)
    assert max(onecycle) == pytest.approx(1.0)
    assert onecycle[-1] == pytest.approx(0.0, abs=1e-12)


# -- every preset, events ----------------------------------------------------------------


CLASSIFIERS = [
    name for name in PRESET_NAMES if preset_config(name).get("task", "classify") == "classify"
]  # the other tasks' presets are trained by their own tests (test_autoencode.py, …)


@pytest.mark.parametrize("preset", CLASSIFIERS)
def test_every_classifier_preset_trains_three_batches(mnist: Mnist, preset: str) -> None:
    events: list[Event] = []
    trainer = make_trainer(mnist, preset, events=events)
    result = trainer.run()

    assert result.status == "completed"
    assert (result.steps, result.epochs, result.samples) == (3, 1, 192)
    assert [event.seq for event in events] == list(range(len(events)))
    steps = of_type(events, StepEvent)
    assert [event.step for event in steps] == [1, 2, 3]
    assert all(math.isfinite(event.loss) and 0 <= event.accuracy <= 1 for event in steps)
    (epoch,) = of_type(events, EpochEvent)
    assert epoch.val_count == 100
    assert sum(map(sum, epoch.confusion)) == 100
    (done,) = of_type(events, DoneEvent)
    assert done.test_count == 100 and done.steps == 3
    assert isinstance(events[-1], DoneEvent)

    frames = of_type(events, FeatureMapsEvent)
    assert frames and frames[-1].at_epoch_end
    convs = conv_layers(trainer.module, build_model(load_preset(preset)).summary)
    for frame in frames:
        assert sum(frame.probabilities) == pytest.approx(1.0, abs=1e-3)
        assert [layer.path for layer in frame.layers] == [path for path, _ in convs]
        for layer in frame.layers:
            assert layer.shown == min(layer.channels, 16)
            assert len(layer.data) == layer.shown * layer.height * layer.width
        assert (frame.filters is None) == (not convs)
        assert len(json.dumps(frame.to_dict())) < 60_000  # well under 100 KB per frame


def test_event_dicts_are_plain_json(mnist: Mnist) -> None:
    events: list[Event] = []
    make_trainer(mnist, "lenet5", events=events, max_steps=2).run()
    for event in events:
        data = json.loads(json.dumps(event.to_dict(), allow_nan=False))
        assert data["type"] == event.type and data["seq"] == event.seq
    epoch = next(e.to_dict() for e in events if isinstance(e, EpochEvent))
    assert set(epoch) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}
    assert len(epoch["confusion"]) == 10 and all(len(row) == 10 for row in epoch["confusion"])
    wrong = epoch["wrong"]
    assert wrong and set(wrong[0]) == {"index", "label", "prediction", "probability", "image"}
    probabilities = [example["probability"] for example in wrong]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(example["label"] != example["prediction"] for example in wrong)
    frame = next(e.to_dict() for e in events if isinstance(e, FeatureMapsEvent))
    first = frame["layers"][0]
    assert (first["path"], first["channels"], first["shown"]) == ("0", 6, 6)
    assert frame["filters"]["count"] == 6 and frame["filters"]["height"] == 5


def test_epoch_events_carry_the_training_seconds_so_far(mnist: Mnist) -> None:
    events: list[Event] = []
    result = make_trainer(mnist, "mlp", events=events, epochs=3).run()
    seconds = [event.train_seconds for event in of_type(events, EpochEvent)]
    assert len(seconds) == 3 and 0 < seconds[0] < seconds[1] < seconds[2]
    assert seconds[-1] == pytest.approx(result.train_seconds, abs=1e-3)
    assert seconds[-1] < result.seconds  # evaluation does not count
    assert of_type(events, EpochEvent)[0].to_dict()["train_seconds"] == seconds[0]


def test_channels_last_trains_the_same_model(mnist: Mnist) -> None:
    def run(channels_last: bool) -> tuple[list[float], Trainer]:
        events: list[Event] = []
        trainer = make_trainer(mnist, "speedrun", events=events, channels_last=channels_last)
        trainer.run()
        losses = [event.loss for event in of_type(events, StepEvent)]
        return losses + [event.val_loss for event in of_type(events, EpochEvent)], trainer

    plain_losses, _ = run(False)
    nhwc_losses, nhwc = run(True)
    conv = nhwc.module[4].weight  # (24, 8, 5, 5)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert nhwc_losses == pytest.approx(plain_losses, rel=1e-3)  # the same sums, reordered


def test_step_events_are_throttled(mnist: Mnist) -> None:
    events: list[Event] = []
    config = parse_config({"train_subset": 6400, "eval_limit": 100, "batch_size": 16, "epochs": 1})
    built = build_model(load_preset("mlp"), seed=0)
    trainer_for(mnist, built, config, events=events, throttle=Throttle(1e6, 1e6)).run()
    # 400 steps: only the first and the epoch's last make a point; one live frame + one at the end.
    assert [event.step for event in of_type(events, StepEvent)] == [1, 400]
    assert len(of_type(events, FeatureMapsEvent)) == 2


def test_evaluation_matches_a_direct_count(mnist: Mnist) -> None:
    trainer = make_trainer(mnist, "mlp", max_steps=3)
    trainer.run()
    split = trainer.data.validation
    result = evaluate(trainer.module, split, trainer.config, CPU)
    with torch.no_grad():
        predictions = trainer.module.eval()(split.inputs).argmax(dim=1)
    assert result.accuracy == (predictions == split.labels).sum().item() / len(split)
    confusion = torch.tensor(result.confusion)
    assert confusion.trace().item() == (predictions == split.labels).sum().item()
    assert confusion.sum(dim=1).tolist() == torch.bincount(split.labels, minlength=10).tolist()


def test_same_seed_same_numbers(mnist: Mnist) -> None:
    def losses(seed: int) -> tuple[list[float], dict[str, torch.Tensor]]:
        events: list[Event] = []
        trainer = make_trainer(mnist, "mlp-deep", events=events, seed=seed)  # has dropout
        trainer.run()
        return [event.loss for event in of_type(events, StepEvent)], trainer.module.state_dict()

    first, first_weights = losses(7)
    second, second_weights = losses(7)
    other, _ = losses(8)
    assert first == second
    assert all(torch.equal(first_weights[k], second_weights[k]) for k in first_weights)
    assert first != other


# -- failures ------------------------------------------------------------------------------


def test_huge_lr_fails_with_a_nan_reason(mnist: Mnist) -> None:
    # ReLU nets trained with cross-entropy only die at a huge lr; a linear model under mse
    # grows without bound and overflows within ten steps.
    spec = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
    config = parse_config(
        {"train_subset": 1280, "epochs": 1, "loss": "mse", "optimizer": "sgd", "lr": 10.0}
        | {"momentum": 0.0, "schedule": "none", "eval_limit": 100}
    )
    trainer = trainer_for(mnist, build_model(spec, seed=0), config)
    with pytest.raises(TrainingError, match="NaN") as caught:
        trainer.run()
    assert "learning rate (10)" in str(caught.value)
    assert trainer.step < 20


# -- control -------------------------------------------------------------------------------


class Recorder:
    """Collects events from the training thread; lets the test wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, matches: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((event for event in self.events if matches(event)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, "timed out waiting for an event"
                self._changed.wait(left)

    def steps(self) -> list[StepEvent]:
        with self._changed:
            return of_type(list(self.events), StepEvent)


def test_pause_resume_lr_and_stop_from_another_thread(mnist: Mnist) -> None:
    control = RunControl()
    recorder = Recorder()
    config = parse_config(
        {"train_subset": 50_000, "batch_size": 32, "schedule": "none", "eval_limit": 100}
    )
    built = build_model(load_preset("mlp"), seed=0)
    data = prepare_data(mnist, CPU, built.spec.input_shape, train_subset=50_000, eval_limit=100)
    trainer = Trainer(built, config, data, control=control, emit=recorder, throttle=EVERY_STEP)
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(trainer.run()))
    thread.start()
    try:
        recorder.wait_for(lambda e: isinstance(e, StepEvent) and e.step >= 5)
        control.pause()
        recorder.wait_for(lambda e: isinstance(e, StatusEvent) and e.status == "paused")
        paused_at = trainer.step
        time.sleep(0.3)
        assert trainer.step == paused_at  # no step while paused
        assert recorder.steps()[-1].step == paused_at

        control.set_lr(0.0123)
        control.resume()
        recorder.wait_for(lambda e: isinstance(e, StatusEvent) and e.status == "running")
        after = recorder.wait_for(lambda e: isinstance(e, StepEvent) and e.step > paused_at)
        assert isinstance(after, StepEvent)
        assert after.lr == 0.0123
        assert [group["lr"] for group in trainer.optimizer.param_groups] == [0.0123]

        control.stop()
        thread.join(20)
    finally:
        control.stop()
        thread.join(20)
    (result,) = outcome
    assert result.status == "stopped"
    assert result.steps < 50_000 // 32
    assert result.test_accuracy is None
    assert not any(isinstance(event, DoneEvent) for event in recorder.events)


# -- early stopping --------------------------------------------------------------------------


def test_early_stopping_restores_the_best_weights(
    mnist: Mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted = iter([0.50, 0.70, 0.60, 0.65])  # validation accuracy of epochs 1..4
    events: list[Event] = []
    snapshots: list[WeightSnapshot] = []
    config = parse_config({**TINY, "epochs": 5, "early_stopping_patience": 2})
    built = build_model(load_preset("mlp"), seed=0)
    trainer = trainer_for(mnist, built, config, events=events, snapshot=snapshots.append)

    def scripted_evaluate(
        module: Any, split: Any, config: Any, device: Any, classes: int, objective: Any
    ) -> Evaluation:
        result = evaluate(module, split, config, device, classes, objective)
        accuracy = next(scripted, None) if split is trainer.data.validation else None
        return result if accuracy is None else replace(result, accuracy=accuracy)

    monkeypatch.setattr("app.training.trainer.evaluate", scripted_evaluate)
    result = trainer.run()

    assert result.early_stopped and result.status == "completed"
    assert result.epochs == 4  # epochs 3 and 4 were no better than epoch 2
    assert (result.best_epoch, result.best_val_accuracy) == (2, 0.70)
    assert [e.best for e in of_type(events, EpochEvent)] == [True, True, False, False]
    best = next(s for s in snapshots if s.epoch == 2)
    final = trainer.module.state_dict()
    assert all(torch.equal(final[name], best.state[name]) for name in final)
    assert not torch.equal(final["1.weight"], snapshots[-2].state["1.weight"])  # epoch 4's
    (done,) = of_type(events, DoneEvent)
    assert done.early_stopped and done.best_epoch == 2


# -- checkpoints and resume ----------------------------------------------------------------


def test_resume_restores_optimizer_state_and_continues_identically(
    mnist: Mnist, tmp_path: Path
) -> None:
    fields = {**TINY, "epochs": 2, "precision": "fp32"}
    config = parse_config(fields)

    def fresh(**options: Any) -> Trainer:
        built = build_model(load_preset("mlp-deep"), seed=config.seed)  # dropout: RNG matters
        return trainer_for(mnist, built, config, **options)

    straight = fresh()
    straight.run()

    saved: list[TrainingState] = []

    class SimulatedCrashError(Exception):
        pass

    def save_then_crash(state: TrainingState) -> None:
        path = tmp_path / f"epoch{state.meta['epoch']}.safetensors"
        save_checkpoint(path, state.model_state, state.optimizer_state, state.meta)
        saved.append(state)
        raise SimulatedCrashError  # the process dies right after the first checkpoint

    with pytest.raises(SimulatedCrashError):
        fresh(checkpoint=save_then_crash).run()

    stored = load_checkpoint(tmp_path / "epoch1.safetensors")
    assert stored.meta["epoch"] == 1 and stored.meta["step"] == 3
    resumed = fresh(resume=TrainingState(stored.model_state, stored.optimizer_state, stored.meta))
    loaded = resumed.optimizer.state_dict()
    original = saved[0].optimizer_state
    assert original is not None
    for index, state in original["state"].items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(loaded["state"][index][key]), torch.as_tensor(value))
    result = resumed.run()
    assert (result.epochs, result.steps) == (2, 6)
    expected = straight.module.state_dict()
    assert all(torch.equal(resumed.module.state_dict()[k], expected[k]) for k in expected)


def test_channels_last_resume_continues_identically(mnist: Mnist, tmp_path: Path) -> None:
    """A checkpoint stores contiguous tensors; fused Adam needs its state laid out like the
    channels-last weights again, or the resumed run drifts."""
    config = parse_config({**TINY, "epochs": 2, "channels_last": True})

    def fresh(**options: Any) -> Trainer:
        return trainer_for(mnist, build_model(load_preset("speedrun"), seed=0), config, **options)

    straight = fresh()
    straight.run()
    path = tmp_path / "epoch1.safetensors"

    class SimulatedCrashError(Exception):
        pass

    def save_then_crash(state: TrainingState) -> None:
        save_checkpoint(path, state.model_state, state.optimizer_state, state.meta)
        raise SimulatedCrashError

    with pytest.raises(SimulatedCrashError):
        fresh(checkpoint=save_then_crash).run()
    stored = load_checkpoint(path)
    resumed = fresh(resume=TrainingState(stored.model_state, stored.optimizer_state, stored.meta))
    result = resumed.run()
    assert (result.epochs, result.steps) == (2, 6)
    expected = straight.module.state_dict()
    assert all(torch.equal(resumed.module.state_dict()[k], expected[k]) for k in expected)


@pytest.mark.slow
def test_speedrun_preset_reaches_99_percent_with_its_config(mnist: Mnist) -> None:
    config = parse_config(preset_config("speedrun"))
    built = build_model(load_preset("speedrun"), seed=config.seed)
    data = prepare_data(mnist, CPU, built.spec.input_shape)
    result = Trainer(built, config, data, feature_maps=False).run()
    assert result.epochs == 1
    assert result.test_accuracy is not None and result.test_accuracy >= 0.99
