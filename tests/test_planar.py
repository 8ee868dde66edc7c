"""Tests of the 2-D problems: shapes, labels, seeds, noise, features, the picture grid, params."""

import math
from typing import Any, get_args

import pytest
import torch
from pydantic import ValidationError
from torch import nn
from torch.nn import functional

from app.data.dataset import Dataset, TaskKind
from app.data.planar import (
    FEATURE_NAMES,
    PLANAR_DESCRIPTIONS,
    PLANAR_NAMES,
    PLANAR_PROBLEMS,
    FeatureName,
    PlanarName,
    PlanarParams,
    featurize,
    generate,
    plane_grid,
)

CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "multi-gauss")


def _all(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The main draw again: train then test inputs and targets."""
    return (
        torch.cat([data.train.inputs, data.test.inputs]),
        torch.cat([data.train.targets, data.test.targets]),
    )


def _draw(name: str, **params: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return _all(generate(PlanarParams.model_validate({"name": name, **params})))


def test_the_list_names_every_problem_once_with_a_one_line_description() -> None:
    assert PLANAR_NAMES == get_args(PlanarName) == tuple(PLANAR_PROBLEMS)
    assert get_args(FeatureName) == FEATURE_NAMES
    for name in PLANAR_NAMES:
        description = PLANAR_DESCRIPTIONS[name]
        assert description and "\n" not in description
    assert {n for n in PLANAR_NAMES if PLANAR_PROBLEMS[n].kind is TaskKind.REGRESSION} == {
        *REGRESSION
    }


@pytest.mark.parametrize("name", PLANAR_NAMES)
def test_splits_have_the_asked_sizes_shapes_and_dtypes(name: str) -> None:
    data = generate(PlanarParams.model_validate({"name": name, "points": 301, "train_ratio": 0.3}))
    assert data.name == name
    assert (len(data.train), len(data.test), len(data.validation)) == (90, 211, 211)
    assert data.input_shape == (2,)
    for split in (data.train, data.validation, data.test):
        assert split.inputs.dtype == torch.float32
        assert split.inputs.shape == (len(split), 2)
        assert split.targets.shape == (len(split),)
        assert torch.isfinite(split.inputs).all()
    assert not data.is_image
    if name in CLASSIFICATION:
        assert data.kind is TaskKind.CLASSIFICATION
        assert data.classes == ("-1", "+1")
        assert data.outputs == 2
        assert data.train.targets.dtype == torch.int64
        assert set(_all(data)[1].tolist()) == {0, 1}
    else:
        assert data.kind is TaskKind.REGRESSION
        assert data.classes == ()
        assert data.outputs == 1
        assert data.train.targets.dtype == torch.float32


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral"])
def test_two_part_problems_give_each_class_half_the_points(name: str) -> None:
    for points in (500, 501):
        _, labels = _draw(name, points=points)
        assert int(labels.sum()) == (points + 1) // 2  # class 1 (+1) takes the odd one


def test_xor_is_roughly_balanced() -> None:
    _, labels = _draw("xor")
    assert 0.4 < labels.float().mean().item() < 0.6


@pytest.mark.parametrize("name", PLANAR_NAMES)
def test_same_params_give_identical_tensors_and_other_seeds_differ(name: str) -> None:
    params = PlanarParams.model_validate({"name": name, "noise": 0.2, "seed": 7})
    first, again = generate(params), generate(params)
    other = generate(params.model_copy(update={"seed": 8}))
    for split in ("train", "validation", "test"):
        for field in ("inputs", "targets"):
            assert torch.equal(
                getattr(getattr(first, split), field), getattr(getattr(again, split), field)
            )
    assert not torch.equal(first.train.inputs, other.train.inputs)


@pytest.mark.parametrize("name", PLANAR_NAMES)
def test_validation_is_a_separate_draw_not_a_piece_of_train_or_test(name: str) -> None:
    data = generate(PlanarParams.model_validate({"name": name, "noise": 0.1}))
    seen = {tuple(row) for row in _all(data)[0].tolist()}
    assert not seen & {tuple(row) for row in data.validation.inputs.tolist()}
    if name in CLASSIFICATION:
        assert set(data.validation.targets.tolist()) == {0, 1}


@pytest.mark.parametrize("name", ["circle", "xor", "spiral", "plane", "multi-gauss"])
def test_points_stay_on_the_plane_even_at_full_noise(name: str) -> None:
    coords, _ = _draw(name, noise=0.5)
    assert coords.abs().max().item() <= 6.0


def test_circle_labels_the_disc_plus_and_the_ring_minus_without_noise() -> None:
    coords, labels = _draw("circle")
    radius = coords.norm(dim=1)
    assert torch.equal(labels, (radius < 2.5).long())
    assert not ((radius > 2.5) & (radius < 3.5)).any()  # the gap between disc and ring
    assert radius.max().item() <= 5.0


def test_circle_noise_flips_labels_near_the_edge_but_keeps_the_points() -> None:
    coords, clean = _draw("circle")
    same, noisy = _draw("circle", noise=0.3)
    assert torch.equal(coords, same)  # TF Playground reads the label at a jittered point
    flipped = noisy != clean
    assert 0 < flipped.sum() < len(clean) // 2


def test_xor_labels_the_sign_of_the_product_and_keeps_off_the_axes() -> None:
    coords, labels = _draw("xor")
    assert torch.equal(labels, (coords[:, 0] * coords[:, 1] >= 0).long())
    assert coords.abs().min().item() >= 0.3
    assert coords.abs().max().item() <= 5.3
    same, noisy = _draw("xor", noise=0.3)
    assert torch.equal(coords, same)
    assert 0 < (noisy != labels).sum() < len(labels) // 2


@pytest.mark.parametrize(("noise", "variance"), [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_clouds_sit_at_plus_and_minus_two_and_widen_with_noise(
    noise: float, variance: float
) -> None:
    coords, labels = _draw("gauss", points=4000, noise=noise)
    for label, centre in ((1, 2.0), (0, -2.0)):
        cloud = coords[labels == label]
        assert torch.allclose(cloud.mean(dim=0), torch.tensor([centre, centre]), atol=0.15)
        assert cloud.var(dim=0).sub(variance).abs().max().item() < 0.12 * variance


def test_spiral_points_lie_on_two_arms_half_a_turn_apart_without_noise() -> None:
    coords, labels = _draw("spiral")
    radius = coords.norm(dim=1).double()
    turn = 1.75 * 2 * math.pi * radius / 5 + torch.where(labels == 1, 0.0, math.pi).double()
    on_arm = radius[:, None] * torch.stack([torch.sin(turn), torch.cos(turn)], dim=1)
    assert torch.allclose(on_arm, coords.double(), atol=1e-4)
    assert radius.max().item() < 5.0


def test_spiral_noise_moves_points_by_at_most_the_noise() -> None:
    coords, labels = _draw("spiral")
    moved, same_labels = _draw("spiral", noise=0.2)
    assert torch.equal(labels, same_labels)
    shift = (moved - coords).abs()
    assert shift.max().item() <= 0.2 + 1e-5
    assert shift.mean().item() > 0.05


def test_plane_value_is_x1_plus_x2_over_ten_and_noise_jitters_it() -> None:
    coords, values = _draw("plane")
    exact = coords.sum(dim=1) / 10
    assert torch.allclose(values, exact, atol=1e-6)
    assert values.abs().max().item() <= 1.2
    same, noisy = _draw("plane", noise=0.25)
    assert torch.equal(coords, same)
    error = (noisy - exact).abs()
    assert 0 < error.max().item() <= 1.2 * 0.25 + 1e-6


def _bump_value(x1: float, x2: float) -> float:
    """TF Playground's rule, written out: the bump of largest magnitude at the point."""
    best = 0.0
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    for cx, cy, sign in bumps:
        value = sign * min(1.0, max(0.0, 1 - math.hypot(x1 - cx, x2 - cy) / 2))
        if abs(value) > abs(best):
            best = value
    return best


def test_multi_gauss_values_are_the_largest_bump_under_each_point() -> None:
    coords, values = _draw("multi-gauss")
    expected = torch.tensor([_bump_value(x1, x2) for x1, x2 in coords.tolist()])
    assert torch.allclose(values, expected, atol=1e-5)
    assert values.min().item() < -0.5 and values.max().item() > 0.5
    assert values.abs().max().item() <= 1.0
    assert (values == 0).any()  # between the bumps
    same, noisy = _draw("multi-gauss", noise=0.2)
    assert torch.equal(coords, same)
    assert not torch.equal(values, noisy)


def test_features_are_computed_from_x1_and_x2_in_the_asked_order() -> None:
    base = generate(PlanarParams(name="spiral", noise=0.1))
    order: tuple[FeatureName, ...] = ("sin_x2", "x1^2", "x2", "x1x2", "x2^2", "sin_x1", "x1")
    data = generate(PlanarParams(name="spiral", noise=0.1, features=order))
    assert data.input_shape == (7,)
    for split in ("train", "validation", "test"):
        x1, x2 = getattr(base, split).inputs.unbind(dim=1)
        got = dict(zip(order, getattr(data, split).inputs.unbind(dim=1), strict=True))
        assert torch.equal(got["x1"], x1) and torch.equal(got["x2"], x2)
        assert torch.equal(got["x1^2"], x1 * x1) and torch.equal(got["x2^2"], x2 * x2)
        assert torch.equal(got["x1x2"], x1 * x2)
        assert torch.equal(got["sin_x1"], torch.sin(x1))
        assert torch.equal(got["sin_x2"], torch.sin(x2))
        assert torch.equal(getattr(data, split).targets, getattr(base, split).targets)


def test_grid_covers_the_plane_row_by_row_from_the_top_left() -> None:
    params = PlanarParams(name="xor", features=("x1^2", "x2", "sin_x1"))
    inputs, coords = plane_grid(params, resolution=5)
    assert inputs.shape == (25, 3) and coords.shape == (25, 2)
    assert inputs.dtype == coords.dtype == torch.float32
    image = coords.reshape(5, 5, 2)  # (row, column, x1/x2)
    steps = torch.tensor([-6.0, -3.0, 0.0, 3.0, 6.0])
    assert torch.equal(image[0, :, 0], steps)  # x1 grows left to right
    assert torch.equal(image[:, 0, 1], steps.flip(0))  # x2 falls top to bottom
    assert torch.equal(image[2, 4], torch.tensor([6.0, 0.0]))
    assert torch.equal(inputs, featurize(coords, params.features))
    assert plane_grid(params)[0].shape == (64 * 64, 3)


@pytest.mark.parametrize("resolution", [1, 0, 5000])
def test_grid_refuses_a_resolution_out_of_range(resolution: int) -> None:
    with pytest.raises(ValueError, match="resolution"):
        plane_grid(PlanarParams(name="circle"), resolution=resolution)


def test_params_have_tf_playground_defaults_and_embed_as_json() -> None:
    params = PlanarParams.model_validate({"name": "spiral", "noise": 0.1})
    assert (params.points, params.train_ratio, params.seed) == (500, 0.5, 0)
    assert params.features == ("x1", "x2")
    assert PlanarParams.model_validate_json(params.model_dump_json()) == params
    with pytest.raises(ValidationError):
        params.noise = 0.2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "location", "fragment"),
    [
        ({}, ("name",), "Field required"),
        ({"name": "moons"}, ("name",), "'circle'"),
        ({"name": "circle", "noise": 0.7}, ("noise",), "0.5"),
        ({"name": "circle", "noise": -0.1}, ("noise",), "0"),
        ({"name": "circle", "points": 5}, ("points",), "10"),
        ({"name": "circle", "points": 10_000}, ("points",), "5000"),
        ({"name": "circle", "train_ratio": 0.95}, ("train_ratio",), "0.9"),
        ({"name": "circle", "seed": -1}, ("seed",), "0"),
        ({"name": "circle", "features": []}, ("features",), "at least 1"),
        ({"name": "circle", "features": ["x1", "x3"]}, ("features", 1), "'sin_x1'"),
        ({"name": "circle", "features": ["x1", "x2", "x1"]}, ("features",), "repeated: x1"),
        ({"name": "circle", "nosie": 0.1}, ("nosie",), "Extra inputs"),
    ],
)
def test_bad_params_are_refused_naming_the_field(
    raw: dict[str, Any], location: tuple[Any, ...], fragment: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        PlanarParams.model_validate(raw)
    errors = caught.value.errors()
    assert [error["loc"] for error in errors] == [location]
    assert fragment in errors[0]["msg"]


def _test_accuracy(name: str, epochs: int) -> float:
    """Train a 2-16-16-2 tanh MLP with Adam (0.01, batch 16) on the train split; test accuracy."""
    data = generate(PlanarParams.model_validate({"name": name}))
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    inputs, targets = data.train.inputs, data.train.targets
    for _ in range(epochs):
        for batch in torch.randperm(len(targets)).split(16):
            loss = functional.cross_entropy(model(inputs[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        predicted = model(data.test.inputs).argmax(dim=1)
    return float((predicted == data.test.targets).float().mean())


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_a_small_mlp_learns_the_problem_in_a_hundred_epochs(name: str) -> None:
    assert _test_accuracy(name, epochs=100) >= 0.95
