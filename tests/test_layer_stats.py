"""Per-layer statistics: each against a hand computation on a tiny model, histograms' bins, the
step events that carry them, the stored history, and the vanishing gradients of deep-sigmoid."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from app.data import Mnist
from app.main import create_app
from app.nn import ModelSpec, build_model, load_preset, preset_config
from app.settings import Settings
from app.training import Event, StepEvent, Throttle, parse_config
from app.training.layer_stats import MAX_VALUES, LayerStats, histogram
from app.training.probe import conv_layers
from tests.support import train_tiny_run
from tests.test_training import of_type, trainer_for

TINY = [
    {"type": "flatten"},
    {"type": "linear", "out_features": 3},
    {"type": "relu"},
    {"type": "linear", "out_features": 1},
]


def _tiny_model() -> tuple[torch.nn.Sequential, LayerStats]:
    """flatten → linear 4→3 → relu → linear 3→1, with weights chosen for easy arithmetic."""
    built = build_model(
        ModelSpec.model_validate({"input_shape": [1, 2, 2], "layers": TINY}), seed=0
    )
    module = built.module
    with torch.no_grad():
        module[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [-1, -1, -1, -1]]))
        module[1].bias.copy_(torch.tensor([0.0, -0.5, -1.0]))
        module[3].weight.copy_(torch.tensor([[2.0, -1.0, 3.0]]))
        module[3].bias.copy_(torch.tensor([0.5]))
    return module, LayerStats(module, built.summary, budget=None)


def _one_step(module: torch.nn.Sequential, stats: LayerStats, lr: float = 0.1) -> dict[str, Any]:
    """One SGD step on loss = Σ outputs over two samples, statistics armed; {path: stat dict}."""
    x = torch.tensor([[1.0, 0.2, 0.3, 0.4], [0.5, 1.0, 0.0, 0.0]]).reshape(2, 1, 2, 2)
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    stats.arm()
    optimizer.zero_grad()
    module(x).sum().backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    return {stat.path: stat.to_dict() for stat in stats.collect()}


def test_each_statistic_matches_a_hand_computation() -> None:
    module, stats = _tiny_model()
    assert stats.paths == ["1", "2", "3"]  # the summary's paths: weights and activations
    got = _one_step(module, stats)
    # relu outputs h: sample 1 [1, 0, 0], sample 2 [0.5, 0.5, 0]; dL/dy = 1 per sample.
    # Last layer: dW2 = Σ h = [1.5, 0.5, 0], db2 = 2.
    grad3 = math.sqrt(1.5**2 + 0.5**2 + 2**2)
    w3 = torch.tensor([2 - 0.15, -1 - 0.05, 3.0, 0.5 - 0.2])  # weights and bias after the step
    # First layer: dz = W2 ⊙ [z > 0]: sample 1 [2, 0, 0], sample 2 [2, -1, 0];
    # dW1 rows: 2·x1 + 2·x2 = [3, 2.4, 0.6, 0.8], −x2 = [−0.5, −1, 0, 0], 0; db1 = [4, −1, 0].
    g1 = torch.tensor([[3.0, 2.4, 0.6, 0.8], [-0.5, -1, 0, 0], [0, 0, 0, 0]])
    b1 = torch.tensor([4.0, -1.0, 0.0])
    grad1 = math.sqrt(float((g1**2).sum() + (b1**2).sum()))
    w1 = torch.cat([(module[1].weight).reshape(-1), module[1].bias])  # after the step
    expected_w1 = torch.cat(
        [
            (torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [-1, -1, -1, -1]]) - 0.1 * g1).reshape(-1),
            torch.tensor([0.0, -0.5, -1.0]) - 0.1 * b1,
        ]
    )
    assert torch.allclose(w1, expected_w1)
    assert got["1"]["grad_norm"] == pytest.approx(grad1, rel=1e-3)
    assert got["3"]["grad_norm"] == pytest.approx(grad3, rel=1e-3)
    assert got["1"]["weight_norm"] == pytest.approx(float(expected_w1.norm()), rel=1e-3)
    assert got["3"]["weight_norm"] == pytest.approx(float(w3.norm()), rel=1e-3)
    # ‖Δw‖ / ‖w‖ with Δw = −lr·g
    assert got["1"]["update_ratio"] == pytest.approx(0.1 * grad1 / float(expected_w1.norm()), 1e-3)
    assert got["3"]["update_ratio"] == pytest.approx(0.1 * grad3 / float(w3.norm()), rel=1e-3)
    # unit 3 is 0 for both samples, unit 2 only for the first: one dead unit of three
    assert got["2"]["dead_fraction"] == pytest.approx(1 / 3, rel=1e-3)
    assert "grad_norm" not in got["2"] and "dead_fraction" not in got["1"]


def test_histograms_of_weights_and_activations() -> None:
    module, stats = _tiny_model()
    got = _one_step(module, stats)
    bins = stats.bins
    act = got["2"]["act_hist"]  # relu outputs 1, 0, 0, 0.5, 0.5, 0
    assert (act["low"], act["high"]) == (0.0, 1.0)
    expected = [0] * bins
    expected[0], expected[bins // 2], expected[-1] = 3, 2, 1
    assert act["counts"] == expected
    weights = got["3"]["weight_hist"]  # weights after the step, bias left out: 1.85, −1.05, 3
    assert (weights["low"], weights["high"]) == (pytest.approx(-1.05), 3.0)
    assert sum(weights["counts"]) == 3 and weights["counts"][0] == weights["counts"][-1] == 1
    assert "act_hist" not in got["1"]


def test_histogram_bins_edges_and_sampling() -> None:
    assert histogram(torch.arange(5.0), bins=4).tolist() == [0, 4, 1, 1, 1, 2]
    assert histogram(torch.full((7,), 2.5), bins=3).tolist() == [2.5, 2.5, 7, 0, 0]
    big = histogram(torch.arange(float(3 * MAX_VALUES)), bins=8)
    assert big[2:].sum() == pytest.approx(MAX_VALUES, abs=1)  # a fixed stride through the values
    assert big[2:].tolist() == pytest.approx([MAX_VALUES / 8] * 8, abs=2)


def test_histograms_come_at_most_every_histograms_s() -> None:
    module, _ = _tiny_model()
    built = build_model(ModelSpec.model_validate({"input_shape": [1, 2, 2], "layers": TINY}))
    stats = LayerStats(module, built.summary, histograms_s=3600, budget=None)
    first, second = _one_step(module, stats), _one_step(module, stats)
    assert "weight_hist" in first["1"] and "act_hist" in first["2"]
    assert "weight_hist" not in second["1"] and "act_hist" not in second["2"]
    assert second["1"]["grad_norm"] > 0
    assert second["2"]["dead_fraction"] == pytest.approx(1 / 3, rel=1e-3)


def test_a_spent_budget_skips_points() -> None:
    module, _ = _tiny_model()
    built = build_model(ModelSpec.model_validate({"input_shape": [1, 2, 2], "layers": TINY}))
    stats = LayerStats(module, built.summary, budget=1e-9)  # any cost: the next hour is skipped
    assert _one_step(module, stats)["1"]["grad_norm"] > 0
    stats.arm()
    assert not stats.armed and stats.collect() == ()
    assert not module[2]._forward_hooks


def test_unarmed_stats_cost_nothing_and_return_nothing() -> None:
    module, stats = _tiny_model()
    x = torch.ones(2, 1, 2, 2)
    module(x).sum().backward()  # type: ignore[no-untyped-call]
    assert stats.collect() == () and not stats.armed
    assert not module[2]._forward_hooks  # hooks live only from arm() to collect()


def test_step_events_carry_the_layers_of_the_summary(mnist: Mnist) -> None:
    config = parse_config({"train_subset": 128, "eval_limit": 64, "epochs": 1, "batch_size": 64})
    built = build_model(load_preset("resnet-tiny"), seed=0)
    events: list[Event] = []
    trainer_for(mnist, built, config, events=events).run()
    steps = of_type(events, StepEvent)
    assert steps and steps[0].layers  # the first point always; later ones within the budget
    paths = [stat.path for stat in steps[0].layers]
    rows = {row.path: row for row in built.summary.walk()}
    assert set(paths) <= set(rows) and "3.0" in paths  # inside residual block 3
    convs = [path for path, _ in conv_layers(built.module, built.summary)]
    assert [path for path in paths if rows[path].type == "conv2d"] == convs
    data = json.loads(json.dumps(steps[0].to_dict()))  # plain JSON, no NaN
    first = data["layers"][0]
    assert first["path"] == "0" and first["grad_norm"] > 0 and first["update_ratio"] > 0
    assert len(first["weight_hist"]["counts"]) == 24
    relu = next(layer for layer in data["layers"] if layer["type"] == "relu")
    assert 0 <= relu["dead_fraction"] <= 1 and sum(relu["act_hist"]["counts"]) > 0


def test_only_steps_that_make_a_point_are_armed(mnist: Mnist, monkeypatch: Any) -> None:
    config = parse_config({"train_subset": 256, "eval_limit": 64, "epochs": 1, "batch_size": 64})
    armed: list[int] = []
    original = LayerStats.arm

    def counted(self: LayerStats) -> None:
        armed.append(1)
        original(self)

    monkeypatch.setattr(LayerStats, "arm", counted)
    events: list[Event] = []
    built = build_model(load_preset("mlp"), seed=0)
    trainer_for(mnist, built, config, events=events, throttle=Throttle(step_s=3600)).run()
    steps = of_type(events, StepEvent)
    assert [step.step for step in steps] == [1, 4]  # the first point and the epoch's last
    assert len(armed) == 1 and steps[0].layers and steps[1].layers == ()
    quiet: list[Event] = []
    trainer_for(mnist, built, config, events=quiet, layer_stats=False).run()
    assert all(step.layers == () for step in of_type(quiet, StepEvent))


def test_deep_sigmoid_gradients_vanish_toward_the_input(mnist: Mnist) -> None:
    """The first layers of the sigmoid stack get gradients orders of magnitude below the last;
    ReLU and residual blocks keep them within reach."""

    def first_and_last(preset: str) -> tuple[float, float]:
        fields = {**preset_config(preset), "train_subset": 128, "eval_limit": 64, "max_steps": 1}
        config = parse_config(fields)
        events: list[Event] = []
        trainer_for(mnist, build_model(load_preset(preset), seed=0), config, events=events).run()
        norms = [s.grad_norm for s in of_type(events, StepEvent)[0].layers if s.type == "linear"]
        assert len(norms) == 9 and all(norm is not None for norm in norms)
        return float(norms[0] or 0), float(norms[-1] or 0)

    first, last = first_and_last("deep-sigmoid")
    assert first < 1e-4 * last  # measured: 7e-7 against 1.3
    first, last = first_and_last("deep-relu")
    assert first > 1e-3 * last
    first, last = first_and_last("deep-residual")
    assert first > 1e-2 * last


def test_the_history_keeps_the_layers(app_data_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as client:
        run_id = train_tiny_run(client)
        history = client.get(f"/api/runs/{run_id}/metrics").json()
    steps = history["steps"]
    assert steps and steps[0]["layers"][0]["path"] == "1"  # flatten → linear: the linear
    assert steps[0]["layers"][0]["grad_norm"] > 0
