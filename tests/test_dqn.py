"""The dqn task: replay buffer, ε schedule, target network, model checks, and short runs of
deep Q-learning on CartPole through `train_job` (events, control, checkpoint and resume)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import torch

from app.inference.export import export_model
from app.nn import SpecLimits, build_model, summarize
from app.training import ConfigError, RunControl, StopKind, Throttle, TrainingState, parse_config
from app.training.config import TrainConfig
from app.training.job import RunJob
from app.training.outputs import TrainResult
from app.training.rl import DqnTrainer, ReplayBuffer, check_dqn, epsilon
from app.training.rl.agent import td_loss_name
from app.training.task_params import DqnParams, dqn_params
from app.training.tasks import task_of, train_job
from app.training.wire import fields_of, pack_tensors, unpack_tensors

PRESET = json.loads(
    (Path(__file__).resolve().parents[1] / "app/nn/presets/dqn-cartpole.json").read_text()
)
SPEC: dict[str, Any] = PRESET["spec"]
FAST = Throttle(step_s=0.02, feature_maps_s=0.05, checkpoint_s=0.0)
DONE_KEYS = {  # what every run's `done` event holds (app.training.events.DoneEvent)
    "seq", "type", "time", "epochs", "steps", "test_loss", "test_accuracy", "test_count",
    "val_accuracy", "best_val_accuracy", "best_epoch", "early_stopped", "seconds",
    "train_seconds", "samples_per_s", "val_loss",
}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as runs train


class Recording:
    """A RunSink that keeps events as the server stores them and checkpoints as a training
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

    def wait_for(self, test: Any, timeout: float = 30.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(map(test, self.events)), timeout)


def dqn_config(**task: Any) -> TrainConfig:
    """The preset's config with a short task (task fields as given)."""
    raw = {**PRESET["config"], "task": {"name": "dqn", **task}}
    config = parse_config(raw)
    built = build_model(SPEC)
    return task_of(config).check(built.spec, built.summary, config, None)  # type: ignore[arg-type]


def train(
    config: TrainConfig,
    sink: Recording | None = None,
    control: RunControl | None = None,
    resume: TrainingState | None = None,
    first_seq: int = 0,
) -> tuple[TrainResult, Recording]:
    sink = sink or Recording()
    job = RunJob("dqn", SPEC, config, "cpu", first_seq, SpecLimits(), FAST, Path("."), resume)
    return train_job(job, None, control or RunControl(), sink), sink  # type: ignore[arg-type]


# -- parts ------------------------------------------------------------------------------------


def _state(value: float) -> np.ndarray:
    return np.full(4, value, np.float32)


def test_the_replay_buffer_wraps_and_samples_only_filled_rows() -> None:
    buffer = ReplayBuffer(5, 4, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(2)
    for value in range(3):
        buffer.add(_state(value), value % 2, float(value), _state(value + 1), value == 2)
    assert (len(buffer), buffer.position) == (3, 3)
    batch = buffer.sample(500)
    assert set(batch.rewards.tolist()) == {0.0, 1.0, 2.0}  # rows 3, 4 are empty: never drawn
    assert torch.equal(batch.states[:, 0], batch.rewards)  # each row stays one transition
    assert torch.equal(batch.next_states[:, 0], batch.rewards + 1)
    assert torch.equal(batch.actions, batch.rewards.long() % 2)
    assert torch.equal(batch.dones, (batch.rewards == 2).float())
    assert batch.states.shape == (500, 4) and batch.actions.dtype == torch.int64

    for value in range(3, 8):  # 5 more: the oldest 3 are overwritten
        buffer.add(_state(value), 0, float(value), _state(value + 1), False)
    assert (len(buffer), buffer.position) == (5, 3)
    assert set(buffer.sample(500).rewards.tolist()) == {3.0, 4.0, 5.0, 6.0, 7.0}


def test_replay_samples_follow_the_seed_and_survive_a_checkpoint() -> None:
    def filled(seed: int) -> ReplayBuffer:
        buffer = ReplayBuffer(100, 4, torch.Generator().manual_seed(seed))
        for value in range(60):
            buffer.add(_state(value), 1, float(value), _state(value), False)
        return buffer

    first, second, other = filled(3), filled(3), filled(4)
    assert torch.equal(first.sample(32).rewards, second.sample(32).rewards)
    assert not torch.equal(first.sample(32).rewards, other.sample(32).rewards)

    copy = ReplayBuffer(100, 4, torch.Generator())
    copy.load_state_dict(unpack_tensors(pack_tensors(first.state_dict())))
    copy.generator.set_state(first.generator.get_state())
    assert (len(copy), copy.position) == (60, 60)
    assert torch.equal(copy.sample(32).states, first.sample(32).states)
    with pytest.raises(ValueError, match="holds 60 rows"):
        ReplayBuffer(10, 4, torch.Generator()).load_state_dict(first.state_dict())


def test_epsilon_falls_linearly_then_stays() -> None:
    params = DqnParams()  # 1.0 → 0.02 over 10k steps
    assert epsilon(params, 0) == 1.0
    assert epsilon(params, 5_000) == pytest.approx(0.51)
    assert epsilon(params, 10_000) == pytest.approx(0.02)
    assert epsilon(params, 70_000) == pytest.approx(0.02)
    flat = DqnParams(epsilon_start=0.3, epsilon_end=0.3)
    assert {epsilon(flat, step) for step in (0, 50, 20_000)} == {0.3}


def test_the_target_network_is_copied_every_target_sync_steps() -> None:
    config = dqn_config(env_steps=260, learn_starts=20, target_sync=50, eval_episodes=1)
    trainer = DqnTrainer(build_model(SPEC, seed=0), config, dqn_params(config.task))  # type: ignore[arg-type]
    learner, synced = trainer.learner, []

    def weights_differ() -> bool:
        online, target = learner.module.state_dict(), learner.target.state_dict()
        return any(not torch.equal(online[name], target[name]) for name in online)

    copy = learner.sync_target

    def spy() -> None:
        assert weights_differ()  # updates moved the online network away since the last copy
        copy()
        assert not weights_differ()
        synced.append(trainer.step)

    learner.sync_target = spy  # type: ignore[method-assign]
    result = trainer.run()
    assert synced == [50, 100, 150, 200, 250]
    assert result.steps == 260 and weights_differ()  # 10 updates since the last copy


# -- checks -----------------------------------------------------------------------------------


def _refusals(spec: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    built = build_model(spec)
    parsed = parse_config({**PRESET["config"], **config})
    with pytest.raises(ConfigError) as caught:
        check_dqn(built.spec, summarize(built.spec), parsed, None)  # type: ignore[arg-type]
    return dict(caught.value.issues)


def test_a_model_that_is_no_q_network_for_cartpole_is_refused() -> None:
    digits = {"input_shape": [1, 28, 28], "layers": [{"type": "flatten"}, *SPEC["layers"]]}
    issues = _refusals(digits, {})
    assert "input_shape" in issues and "use [4], not [1, 28, 28]" in issues["input_shape"]
    ten = {**SPEC, "layers": [*SPEC["layers"][:-1], {"type": "linear", "out_features": 10}]}
    issues = _refusals(ten, {})
    assert list(issues) == ["layers"]
    assert issues["layers"] == (
        "the Q-network must map CartPole-v1's 4 state numbers (cart position, cart velocity, "
        "pole angle, pole angular velocity) to 2 action values (push left, push right); it "
        "outputs 10: end with a linear layer of 2 out_features"
    )


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"loss": "nll"}, "loss", "Huber loss (leave loss out) or mse, not nll"),
        ({"loss": "bce"}, "loss", "Huber loss (leave loss out) or mse, not bce"),
        ({"dataset": "spiral"}, "dataset", "learns by playing CartPole-v1"),
        ({"train_subset": 100}, "train_subset", "not to dqn"),
        ({"early_stopping_patience": 2}, "early_stopping_patience", "not to dqn"),
        ({"schedule": "step"}, "schedule", "use none, cosine or onecycle"),
        ({"precision": "bf16"}, "precision", "fp32"),
        (
            {"task": {"name": "dqn", "buffer_size": 500, "learn_starts": 1000}},
            "task.learn_starts",
            "must be ≤ task.buffer_size (500)",
        ),
    ],
)
def test_configs_that_do_not_fit_deep_q_learning_are_refused(
    config: dict[str, Any], field: str, words: str
) -> None:
    issues = _refusals(SPEC, config)
    assert field in issues and words in issues[field], issues


def test_the_preset_config_fits_and_task_parameters_are_checked() -> None:
    config = dqn_config()
    params = dqn_params(config.task)
    assert params == DqnParams() and params.env_steps >= 60_000
    assert (config.batch_size, config.optimizer, config.lr) == (64, "adam", 5e-4)
    bare = parse_config({"task": "dqn"})  # the schedule defaults to none for a dqn run
    built = build_model(SPEC)
    assert check_dqn(built.spec, built.summary, bare, None).schedule == "none"  # type: ignore[arg-type]
    mse = parse_config({"task": "dqn", "loss": "mse"})
    assert check_dqn(built.spec, built.summary, mse, None).loss == "mse"  # type: ignore[arg-type]
    assert (td_loss_name(mse), td_loss_name(bare)) == ("mse", "huber")
    stored = parse_config(config.model_dump(mode="json"))  # as a run's record holds it
    assert check_dqn(built.spec, built.summary, stored, None) == config  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"task\.epsilon_end: Input should be less than or"):
        parse_config({"task": {"name": "dqn", "epsilon_end": 2}})
    with pytest.raises(ConfigError, match=r"task\.env: Input should be 'CartPole-v1'"):
        parse_config({"task": {"name": "dqn", "env": "Pong"}})


# -- runs -------------------------------------------------------------------------------------


def test_a_short_run_streams_episodes_steps_frames_and_done() -> None:
    config = dqn_config(env_steps=2_000, learn_starts=500, eval_episodes=3)
    result, sink = train(config, first_seq=7)
    events = sink.events
    assert [event["seq"] for event in events] == list(range(7, 7 + len(events)))
    assert result.status == "completed" and result.steps == 2_000

    episodes = sink.of("episode")
    assert [event["episode"] for event in episodes] == list(range(1, len(episodes) + 1))
    assert len(episodes) == result.epochs >= 30  # random play: ~20 steps an episode
    assert all(event["return"] == event["length"] >= 8 for event in episodes)  # 1 per step
    ends = [event["step"] for event in episodes]
    assert ends == sorted(ends) and ends[-1] <= 2_000
    assert sum(event["length"] for event in episodes) == ends[-1]
    last = [event["return"] for event in episodes[-100:]]
    assert episodes[-1]["mean_return"] == pytest.approx(sum(last) / len(last), abs=1e-3)
    assert episodes[0]["epsilon"] > episodes[-1]["epsilon"] >= 0.8  # 2k of 10k steps of decay

    points = sink.of("step")
    assert len(points) >= 10 and points[-1]["step"] == 2_000
    assert points[0]["step"] >= 500  # loss points begin with learning
    for point in points:
        assert point["total_steps"] == 2_000 and point["accuracy"] is None
        assert np.isfinite(point["loss"]) and point["lr"] == 5e-4
        assert point["steps_per_s"] > 0 and point["samples_per_s"] > 0
        assert 1 <= point["epoch"] <= len(episodes) + 1 and 0 <= point["epoch_progress"] <= 1
    assert [point["epsilon"] for point in points] == sorted(
        (point["epsilon"] for point in points), reverse=True
    )

    frames = sink.of("cartpole")
    live = [frame for frame in frames if frame["mode"] == "training"]
    assert len(live) >= 10 and not any(frame["at_epoch_end"] for frame in live)
    for frame in live:
        assert len(frame["x"]) == len(frame["theta"]) == len(frame["actions"]) >= 1
        assert all(abs(x) <= 2.5 for x in frame["x"]) and set(frame["actions"]) <= {0, 1}
        assert all(abs(theta) <= 0.25 for theta in frame["theta"]) and frame["t0"] >= 0
        assert frame["limits"] == {"x": 2.4, "theta": pytest.approx(0.2094, abs=1e-4)}
    (greedy,) = [frame for frame in frames if frame["mode"] == "greedy"]
    assert greedy["at_epoch_end"] and greedy["epsilon"] == 0 and greedy["t0"] == 0
    assert greedy["return"] == len(greedy["x"]) and greedy["episode"] == len(episodes)
    assert frames[-1] is greedy  # the replay comes after training

    (done,) = sink.of("done")
    assert events[-1] is done and set(done) >= DONE_KEYS
    assert done["test_loss"] is None and done["test_accuracy"] is None
    assert (done["epochs"], done["episodes"], done["steps"]) == (len(episodes), len(episodes), 2000)
    assert done["best_return"] == max(event["return"] for event in episodes)
    assert done["mean_return"] == pytest.approx(episodes[-1]["mean_return"], abs=1e-3)
    assert done["test_count"] == 3 and done["greedy_return"] > 0
    summary = result.summary()
    assert summary["mean_return"] == done["mean_return"]
    assert summary["best_return"] == done["best_return"] and summary["test_accuracy"] is None
    assert sink.checkpoints[-1].meta["final"] and sink.checkpoints[-1].meta["dqn"]["buffer"] is None
    assert sink.snapshots >= 10


def test_pause_lr_and_stop_reach_a_dqn_run_from_another_thread() -> None:
    config = dqn_config(env_steps=200_000, learn_starts=200)
    control, sink = RunControl(), Recording()
    finished: list[TrainResult] = []
    worker = threading.Thread(target=lambda: finished.append(train(config, sink, control)[0]))
    worker.start()
    try:
        sink.wait_for(lambda event: event["type"] == "step")
        control.pause()
        sink.wait_for(lambda event: event.get("status") == "paused")
        steps = len(sink.of("step"))
        frames = sink.of("cartpole")
        assert frames and frames[-1]["mode"] == "training"  # where the cart stands, paused
        time.sleep(0.4)
        assert len(sink.of("step")) == steps  # held
        control.set_lr(0.0123)
        control.resume()
        sink.wait_for(lambda event: event["type"] == "step" and event["lr"] == 0.0123)
    finally:
        control.stop()
        worker.join(60)
    (result,) = finished
    assert result.status == "stopped" and result.steps < 200_000
    statuses = [event["status"] for event in sink.of("status")]
    assert statuses == ["paused", "running"]
    assert not sink.of("done")
    assert sink.checkpoints[-1].meta["final"] and sink.checkpoints[-1].meta["step"] == result.steps


def test_a_resumed_run_goes_on_exactly_as_if_never_interrupted() -> None:
    config = dqn_config(env_steps=1_500, learn_starts=300, target_sync=100, eval_episodes=2)
    whole, whole_sink = train(config)

    control, cut = RunControl(), Recording()

    def interrupt_after_400_steps(state: TrainingState) -> None:
        if state.meta["step"] > 400:
            control.stop(StopKind.INTERRUPT)  # as a server shutting down would

    cut.on_checkpoint = interrupt_after_400_steps
    first, _ = train(config, cut, control)
    assert first.status == "interrupted" and not cut.of("done")
    saved = cut.checkpoints[-1]
    meta = saved.meta
    assert not meta["final"] and meta["dqn"]["buffer"]["size"] == meta["step"] > 400
    assert meta["epoch"] == meta["dqn"]["returns"]["recent"].__len__() >= 5

    resumed, rest = train(config, resume=saved, first_seq=meta["seq"] + 1)
    assert resumed.status == "completed"
    assert rest.events[0]["seq"] == meta["seq"] + 1
    episodes = [event for event in cut.events if event["seq"] <= meta["seq"]] + rest.events
    keys = ("episode", "step", "return", "length", "mean_return", "epsilon")
    shown = [tuple(e[key] for key in keys) for e in episodes if e["type"] == "episode"]
    expected = [tuple(e[key] for key in keys) for e in whole_sink.of("episode")]
    assert shown == expected  # the same episodes, numbered on from the checkpoint
    assert (resumed.steps, resumed.epochs) == (whole.steps, whole.epochs)
    assert resumed.figures == {**whole.figures, "steps_per_s": resumed.figures["steps_per_s"]}  # type: ignore[dict-item]
    final, expected_final = rest.checkpoints[-1], whole_sink.checkpoints[-1]
    for name, tensor in expected_final.model_state.items():
        assert torch.equal(final.model_state[name], tensor), name  # the same weights


def test_a_trained_q_network_exports_to_onnx_and_answers_the_same() -> None:
    config = dqn_config(env_steps=600, learn_starts=100, eval_episodes=1)
    _, sink = train(config)
    built = build_model(SPEC)
    built.module.load_state_dict(sink.checkpoints[-1].model_state)
    states = torch.tensor([[0.0, 0.0, 0.05, 0.1], [0.5, -0.2, -0.1, -0.3]])  # (2, 4)
    with torch.no_grad():
        expected = built.module(states).numpy()  # (2, 2) action values
    data = export_model(built.module, (4,), "onnx", {"task": "dqn"})
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (answer,) = session.run(None, {session.get_inputs()[0].name: states.numpy()})
    assert np.allclose(answer, expected, atol=1e-5)
