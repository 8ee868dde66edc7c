"""Per-layer statistics beyond the supervised trainer: the `paths` filter, a short DQN run's
and a short GAN run's step events, and a GAN discriminator's gradients being those of its own
loss (read before the generator's backward adds to them)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from app.data.dataset import Dataset
from app.nn import build_model
from app.training.gan.loop import GanTrainer
from app.training.layer_stats import LayerStats
from app.training.task_params import gan_params
from tests.test_dqn import SPEC as DQN_SPEC
from tests.test_dqn import dqn_config
from tests.test_dqn import train as train_dqn
from tests.test_gan import TINY as GAN_TINY
from tests.test_gan import gan_config
from tests.test_gan import train as train_gan
from tests.test_layer_stats import TINY, _one_step, _tiny_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as runs train


def _all_paths(spec: dict[str, Any]) -> list[str]:
    built = build_model(spec)
    return LayerStats(built.module, built.summary).paths


def _check_layers(points: list[dict[str, Any]], paths: list[str]) -> None:
    """Every point with statistics covers `paths`; layers with weights have finite norms."""
    assert points, "no step event carried layer statistics"
    for point in points:
        assert [layer["path"] for layer in point["layers"]] == paths
        weighted = [layer for layer in point["layers"] if layer.get("weight_norm") is not None]
        assert weighted  # the linear layers
        for layer in weighted:
            assert math.isfinite(layer["grad_norm"]) and layer["grad_norm"] > 0


def test_the_paths_filter_follows_only_the_given_layers() -> None:
    module, everything = _tiny_model()
    summary = build_model({"input_shape": [1, 2, 2], "layers": TINY}).summary
    only = LayerStats(module, summary, budget=None, paths={"3"})
    assert only.paths == ["3"]
    expected = _one_step(module, everything, lr=0.0)["3"]  # lr 0: the same weights again
    assert _one_step(module, only, lr=0.0) == {"3": expected}


def test_a_dqn_run_streams_the_q_networks_statistics() -> None:
    config = dqn_config(env_steps=800, learn_starts=200, eval_episodes=1)
    result, sink = train_dqn(config)
    assert result.status == "completed"
    points = [point for point in sink.of("step") if point["layers"]]
    _check_layers(points, _all_paths(DQN_SPEC))


def test_a_gan_run_streams_both_halves_generator_first(digits: Dataset) -> None:
    config = gan_config(digits, epochs=2)
    result, sink = train_gan(digits, config)
    assert result.status == "completed"
    points = [point for point in sink.of("step") if point["layers"]]
    paths = _all_paths(GAN_TINY)
    assert paths == ["0", "2", "4", "5", "6"]  # generator (cut 3): 0, 2; discriminator: 4–6
    _check_layers(points, paths)


def test_the_discriminators_gradients_are_those_of_its_own_loss(digits: Dataset) -> None:
    config = gan_config(digits)
    built = build_model(GAN_TINY, seed=0)
    images = digits.train.inputs[:64]  # (64, 1, 28, 28) uint8
    trainer = GanTrainer(built, config, gan_params(config.task), images)  # type: ignore[arg-type]
    at_d_step: dict[str, float] = {}  # D's grad norms as its optimizer steps (d_steps = 1)
    step = trainer.d_optimizer.step

    def recording_step(*args: Any, **kwargs: Any) -> Any:
        for path in ("4", "6"):  # the discriminator's linear layers
            at_d_step[path] = _grad_norm(built.module[int(path)])
        return step(*args, **kwargs)

    trainer.d_optimizer.step = recording_step  # type: ignore[method-assign]
    trainer._step_function()(trainer.real, True)
    reported = {layer.path: layer.grad_norm for layer in trainer._layers}
    assert list(reported) == ["0", "2", "4", "5", "6"]
    for path, norm in at_d_step.items():
        assert reported[path] == pytest.approx(norm, rel=1e-3)
        # D's .grad now also holds the generator's backward: not what was reported
        assert _grad_norm(built.module[int(path)]) != pytest.approx(norm, rel=1e-3)
    assert reported["0"] is not None and reported["0"] > 0  # G's from its own loss


def _grad_norm(layer: torch.nn.Module) -> float:
    """The 2-norm of a layer's gradients (weight and bias as one vector)."""
    return math.sqrt(
        sum(float(p.grad.pow(2).sum()) for p in layer.parameters() if p.grad is not None)
    )
