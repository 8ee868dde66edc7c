"""The 2-D frame source: a frame's format and size, its pictures against the model's own
answers, the neuron cap, the points, mode and determinism, and its place in a training run."""

import base64
import json
import time
from typing import Any

import numpy as np
import pytest
import torch
from torch.nn import functional

from app.data.planar import FeatureName, PlanarParams, featurize, generate
from app.nn import build_model
from app.training.boundary import (
    MAX_NEURONS,
    MAX_WEIGHTS,
    BoundaryEvent,
    BoundaryProbe,
    fair_share,
)
from app.training.config import parse_config
from app.training.data import prepare_data
from app.training.events import Event
from app.training.outputs import Throttle
from app.training.trainer import Trainer

R = 64  # the default resolution
SIDE = 16  # the default neuron picture side


def _spec(hidden: list[int], activation: str = "tanh", inputs: int = 2, outputs: int = 2) -> Any:
    layers: list[dict[str, Any]] = []
    for units in hidden:
        layers += [{"type": "linear", "out_features": units}, {"type": activation}]
    layers.append({"type": "linear", "out_features": outputs})
    return {"input_shape": [inputs], "layers": layers}


def _probe(
    hidden: list[int] | None = None, name: str = "spiral", **params: Any
) -> tuple[BoundaryProbe, torch.nn.Sequential]:
    planar = PlanarParams.model_validate({"name": name, **params})
    outputs = 1 if name in ("plane", "multi-gauss") else 2
    built = build_model(
        _spec([16, 16] if hidden is None else hidden, inputs=len(planar.features), outputs=outputs),
        seed=0,
    )
    return BoundaryProbe(built.module, built.summary, planar), built.module


def _json(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(event.to_dict()))
    return data


def _bytes(text: str) -> bytes:
    return base64.b64decode(text)


def test_a_frame_has_the_format_the_page_reads() -> None:
    probe, _ = _probe()
    event = probe.frame(7, 120, 3, False)
    assert isinstance(event, BoundaryEvent)
    data = _json(event)
    assert data["type"] == "boundary"
    assert (data["seq"], data["step"], data["epoch"], data["at_epoch_end"]) == (7, 120, 3, False)
    assert data["features"] == ["x1", "x2"]
    assert (data["extent"], data["resolution"], data["neuron_side"]) == (6.0, R, SIDE)
    assert data["output_kind"] == "probability"
    assert len(_bytes(data["output"])) == R * R
    assert data["neuron_limit"] == MAX_NEURONS and data["neurons_total"] == 32
    layers = data["neurons"]
    assert [(n["path"], n["source"], n["units"], n["shown"]) for n in layers] == [
        ("0", "1", 16, 16),
        ("2", "3", 16, 16),
    ]
    for layer in layers:
        assert len(_bytes(layer["data"])) == 16 * SIDE * SIDE
        assert len(layer["scale"]) == 16
        assert all(0 < m <= 1.0 for m in layer["scale"])  # tanh units
    weights = data["weights"]
    assert [(w["path"], w["inputs"], w["outputs"]) for w in weights] == [
        ("0", 2, 16),
        ("2", 16, 16),
        ("4", 16, 2),
    ]
    assert len(weights[1]["weight"]) == 16 and len(weights[1]["weight"][0]) == 16
    assert len(weights[2]["bias"]) == 2
    points = data["points"]
    assert (points["train"], points["test"], points["scale"]) == (250, 250, 0.001)
    assert len(_bytes(points["xy"])) == 500 * 2 * 2 and len(_bytes(points["labels"])) == 500


def test_the_output_is_the_models_own_probability_of_plus_one_at_the_corners() -> None:
    features: tuple[FeatureName, ...] = ("x1", "x2", "x1^2", "x1x2", "sin_x2")
    probe, module = _probe(features=features)
    output = np.frombuffer(_bytes(_json(probe.frame(0, 0, 1, False))["output"]), np.uint8)
    picture = output.reshape(R, R)  # rows from x2 = +6 down, columns from x1 = -6 right
    corners = {(0, 0): (-6, 6), (0, R - 1): (6, 6), (R - 1, 0): (-6, -6), (R - 1, R - 1): (6, -6)}
    coords = torch.tensor(list(corners.values()), dtype=torch.float32)
    module.eval()
    with torch.no_grad():
        expected = functional.softmax(module(featurize(coords, features)), dim=1)[:, 1] * 255
    for (row, column), value in zip(corners, expected.tolist(), strict=True):
        assert abs(int(picture[row, column]) - value) <= 0.5 + 1e-3, (row, column)
    # and one point inside: row i is x2 = 6 - 12·i/63, column j is x1 = -6 + 12·j/63
    point = torch.tensor([[-6 + 12 * 40 / 63, 6 - 12 * 21 / 63]])
    with torch.no_grad():
        inside = functional.softmax(module(featurize(point, features)), dim=1)[0, 1] * 255
    assert abs(int(picture[21, 40]) - float(inside)) <= 0.5 + 1e-3


def test_neuron_pictures_are_the_units_values_over_the_plane() -> None:
    probe, module = _probe()
    layer = _json(probe.frame(0, 0, 1, False))["neurons"][1]  # after the second tanh
    pixels = np.frombuffer(_bytes(layer["data"]), np.uint8).reshape(16, SIDE, SIDE)
    corner = torch.tensor([[6.0, -6.0]])  # bottom right
    with torch.no_grad():
        units = module[:4].eval()(corner)[0]  # (16,) after the second tanh
    for unit in range(16):
        m = layer["scale"][unit]
        expected = 127.5 + 127.5 * float(units[unit]) / m
        assert abs(int(pixels[unit, SIDE - 1, SIDE - 1]) - expected) <= 0.5 + 1e-2
        picture = pixels[unit].astype(int)
        assert picture.max() == 255 or picture.min() == 0  # each unit uses its own ±m


def test_linear_layers_without_activation_are_hidden_layers_too() -> None:
    planar = PlanarParams(name="xor")
    spec = {
        "input_shape": [2],
        "layers": [
            {"type": "linear", "out_features": 3},
            {"type": "linear", "out_features": 4},
            {"type": "relu"},
            {"type": "dropout", "p": 0.5},
            {"type": "linear", "out_features": 2},
        ],
    }
    built = build_model(spec, seed=0)
    data = _json(BoundaryProbe(built.module, built.summary, planar).frame(0, 0, 1, False))
    assert [(n["path"], n["source"], n["units"]) for n in data["neurons"]] == [
        ("0", "0", 3),
        ("1", "3", 4),
    ]


def test_no_hidden_layer_means_no_neuron_pictures() -> None:
    probe, _ = _probe(hidden=[])
    data = _json(probe.frame(0, 0, 1, False))
    assert data["neurons"] == [] and data["neurons_total"] == 0
    assert len(_bytes(data["output"])) == R * R


def test_neurons_are_capped_fairly_and_weights_of_big_nets_left_out() -> None:
    assert fair_share([16, 16], 64) == [16, 16]
    assert fair_share([64, 64, 64], 64) == [21, 21, 21]
    assert fair_share([4, 100, 100], 64) == [4, 30, 30]
    probe, _ = _probe(hidden=[64, 64, 64])
    data = _json(probe.frame(0, 0, 1, False))
    assert data["neurons_total"] == 192
    assert [n["shown"] for n in data["neurons"]] == [21, 21, 21]
    assert sum(n["shown"] for n in data["neurons"]) <= MAX_NEURONS
    assert data["weights"] is None  # 2·64 + 64·64·2 + 64·2 numbers > MAX_WEIGHTS
    assert MAX_WEIGHTS < 2 * 64 + 2 * 64 * 64
    assert len(json.dumps(data)) < 100_000


def test_frames_stay_well_under_100_kb_for_the_largest_page_network() -> None:
    """Six hidden layers of eight (the page's most), every feature, 5000 points."""
    features = ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"]
    probe, _ = _probe(hidden=[8] * 6, features=features, points=5000)
    text = json.dumps(probe.frame(0, 0, 1, False).to_dict())
    assert len(text) < 70_000, len(text)  # ~61 KB, 36 KB of it the points
    assert json.loads(text)["weights"] is not None


def test_the_points_are_the_runs_own_and_travel_once_in_the_stored_frames() -> None:
    params: dict[str, Any] = {"noise": 0.3, "train_ratio": 0.3, "seed": 5}
    params["features"] = ["x1^2", "x2"]
    probe, _ = _probe(**params)
    live = _json(probe.frame(0, 10, 1, False))["points"]
    first_stored = _json(probe.frame(1, 25, 1, True))["points"]
    assert live == first_stored
    assert _json(probe.frame(2, 50, 2, True))["points"] is None  # stored frames: once
    assert _json(probe.frame(3, 60, 3, False))["points"] == live  # live frames: always
    data = generate(PlanarParams.model_validate({"name": "spiral", **params, "features": ["x1"]}))
    xy = np.frombuffer(_bytes(live["xy"]), "<i2").reshape(-1, 2) * live["scale"]
    labels = np.frombuffer(_bytes(live["labels"]), np.uint8)
    assert (live["train"], live["test"]) == (len(data.train), len(data.test)) == (150, 350)
    coords = generate(
        PlanarParams.model_validate({"name": "spiral", **params, "features": ["x1", "x2"]})
    )
    expected = torch.cat([coords.train.inputs, coords.test.inputs]).numpy()
    assert np.abs(xy - expected).max() <= 0.0005 + 1e-6
    assert labels.tolist() == torch.cat([data.train.targets, data.test.targets]).tolist()


@pytest.mark.parametrize("training", [True, False])
def test_the_mode_is_restored_and_frames_are_deterministic(training: bool) -> None:
    planar = PlanarParams(name="circle")
    spec = _spec([8])
    spec["layers"].insert(2, {"type": "dropout", "p": 0.5})  # would differ in training mode
    built = build_model(spec, seed=0)
    built.module.train(training)
    probe = BoundaryProbe(built.module, built.summary, planar)
    first, second = _json(probe.frame(0, 0, 1, False)), _json(probe.frame(1, 0, 1, False))
    assert built.module.training is training
    assert all(layer.training is training for layer in built.module)
    for key in ("output", "neurons", "weights", "points"):
        assert first[key] == second[key], key


def test_the_grid_follows_the_modules_device_and_dtype() -> None:
    probe, module = _probe(hidden=[4])
    before = _json(probe.frame(0, 0, 1, False))
    module.double()  # moved after the probe was made, as the trainer moves it to its device
    after = _json(probe.frame(1, 0, 1, False))
    assert before["output"] == after["output"] or _close(before["output"], after["output"])
    if torch.cuda.is_available():
        module.float().to("cuda")
        on_gpu = _json(probe.frame(2, 0, 1, False))
        assert _close(before["output"], on_gpu["output"])
        assert next(module.parameters()).device.type == "cuda"


def _close(a: str, b: str) -> bool:
    diff = np.frombuffer(_bytes(a), np.uint8).astype(int) - np.frombuffer(_bytes(b), np.uint8)
    return int(np.abs(diff).max()) <= 1


def test_regression_outputs_are_values() -> None:
    probe, module = _probe(hidden=[4], name="plane")
    data = _json(probe.frame(0, 0, 1, False))
    assert data["output_kind"] == "value"
    picture = np.frombuffer(_bytes(data["output"]), np.uint8).reshape(R, R)
    with torch.no_grad():
        value = module.eval()(torch.tensor([[-6.0, 6.0]]))[0, 0].clamp(-1, 1)
    assert abs(int(picture[0, 0]) - (float(value) + 1) * 127.5) <= 0.5 + 1e-3
    points = data["points"]
    dataset = generate(PlanarParams(name="plane"))
    targets = torch.cat([dataset.train.targets, dataset.test.targets]).numpy()
    values = np.frombuffer(_bytes(points["values"]), np.uint8)  # the points' own values
    assert np.abs(values - (targets.clip(-1, 1) + 1) * 127.5).max() <= 0.5 + 1e-3


def test_class_points_carry_no_values() -> None:
    probe, _ = _probe(hidden=[4])
    assert _json(probe.frame(0, 0, 1, False))["points"]["values"] is None


def test_a_frame_costs_a_few_milliseconds_at_most() -> None:
    """~1.5 ms for 2-16-16-2 tanh on one core of this machine; the bound is loose (shared CPUs)."""
    probe, _ = _probe()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as training runs: two threads collapse when the CPUs are busy
    try:
        probe.frame(0, 0, 1, False)
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            probe.frame(0, 0, 1, True)
            timings.append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)
    assert sorted(timings)[len(timings) // 2] < 0.03


def test_a_training_run_sends_boundary_frames() -> None:
    params = PlanarParams(name="circle", points=100)
    built = build_model(_spec([4]), seed=0)
    config = parse_config(
        {"dataset": "circle", "epochs": 2, "batch_size": 10, "schedule": "none", "lr": 0.03}
    )
    data = prepare_data(generate(params), torch.device("cpu"), (2,))
    events: list[dict[str, Any]] = []
    probe = BoundaryProbe(built.module, built.summary, params)
    trainer = Trainer(
        built, config, data, emit=lambda e: events.append(e.to_dict()), frames=probe,
        throttle=Throttle(feature_maps_s=0.0),
    )  # fmt: skip
    trainer.run()
    frames = [e for e in events if e["type"] == "boundary"]
    ends = [e for e in frames if e["at_epoch_end"]]
    assert [e["epoch"] for e in ends] == [1, 2]
    assert ends[0]["points"] is not None and ends[1]["points"] is None
    assert frames[0]["step"] == 1 and frames[0]["points"] is not None
    assert frames[0]["output"] != ends[-1]["output"]  # it learned something
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
