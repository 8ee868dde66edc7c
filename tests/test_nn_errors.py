"""Bad specs are rejected before any tensor is made, with messages naming layer, type and field."""

from typing import Any

import pytest
import torch

from app.nn import SpecError, SpecLimits, build_model, summarize


def _issue(spec: object, limits: SpecLimits | None = None) -> tuple[str | None, str | None, str]:
    with pytest.raises(SpecError) as caught:
        summarize(spec, limits or SpecLimits())
    first = caught.value.issues[0]
    return first.layer, first.field, str(first)


def _layers(*layers: Any, input_shape: list[int] | None = None) -> dict[str, Any]:
    return {"input_shape": input_shape or [1, 28, 28], "layers": list(layers)}


def test_unknown_type_suggests_the_closest() -> None:
    layer, _, text = _issue(_layers({"type": "relu"}, {"type": "conv3d", "out_channels": 3}))
    assert layer == "1"
    assert "unknown layer type 'conv3d'" in text
    assert "did you mean 'conv2d'" in text


def test_missing_and_out_of_range_arguments_name_the_field() -> None:
    assert _issue(_layers({"type": "conv2d"}))[:2] == ("0", "out_channels")
    layer, field, text = _issue(_layers({"type": "conv2d", "out_channels": 0}))
    assert (layer, field) == ("0", "out_channels")
    assert text == "layer 0 (conv2d), field 'out_channels': must be ≥ 1, got 0"
    layer, field, text = _issue(_layers({"type": "flatten"}, {"type": "dropout", "p": 1.5}))
    assert (layer, field) == ("1", "p")
    layer, field, text = _issue(_layers({"type": "conv2d", "out_channels": 2, "kernel_size": "x"}))
    assert field == "kernel_size"
    assert "whole number or a pair" in text


def test_misspelt_field_is_named() -> None:
    _, field, text = _issue(_layers({"type": "conv2d", "out_channels": 2, "kernal_size": 3}))
    assert field == "kernal_size"
    assert "did you mean 'kernel_size'" in text


def test_linear_fed_an_image_says_to_flatten() -> None:
    layer, _, text = _issue(
        _layers(
            {"type": "conv2d", "out_channels": 16, "kernel_size": 5},
            {"type": "maxpool2d", "kernel_size": 4},
            {"type": "linear", "out_features": 10},
        )
    )
    assert layer == "2"
    assert "16×6×6" in text
    assert "put a flatten layer before it" in text


def test_lstm_after_flatten() -> None:
    layer, _, text = _issue(_layers({"type": "flatten"}, {"type": "lstm", "hidden_size": 8}))
    assert layer == "1"
    assert "remove the flatten layer" in text


def test_conv_after_flatten() -> None:
    _, _, text = _issue(_layers({"type": "flatten"}, {"type": "conv2d", "out_channels": 2}))
    assert "put it before the flatten layer" in text


def test_shape_that_collapses_to_zero() -> None:
    layer, field, text = _issue(_layers(*[{"type": "maxpool2d", "kernel_size": 2}] * 5))
    assert (layer, field) == ("4", "kernel_size")
    assert "collapses" in text


def test_conv_kernel_larger_than_input() -> None:
    layer, field, text = _issue(
        _layers({"type": "conv2d", "out_channels": 1, "kernel_size": 5}, input_shape=[1, 4, 4])
    )
    assert (layer, field) == ("0", "kernel_size")
    assert "does not fit the 4×4 input" in text


def test_padding_same_with_stride_and_groups_mismatch() -> None:
    same = {"type": "conv2d", "out_channels": 2, "padding": "same", "stride": 2}
    assert _issue(_layers(same))[1] == "padding"
    groups = {"type": "conv2d", "out_channels": 3, "groups": 2}
    assert _issue(_layers(groups, input_shape=[4, 8, 8]))[1] == "groups"


def test_residual_whose_shape_cannot_be_added_back() -> None:
    layer, field, text = _issue(_layers({"type": "residual", "layers": [{"type": "flatten"}]}))
    assert (layer, field) == ("0", "layers")
    assert "cannot be added back" in text


def test_errors_inside_residual_blocks_name_the_nested_path() -> None:
    spec = _layers(
        {"type": "relu"},
        {"type": "residual", "layers": [{"type": "relu"}, {"type": "linear", "out_features": 0}]},
    )
    layer, field, text = _issue(spec)
    assert (layer, field) == ("1.1", "out_features")
    assert text.startswith("layer 1.1 (linear)")


def test_nesting_too_deep() -> None:
    inner: dict[str, Any] = {"type": "relu"}
    for _ in range(6):
        inner = {"type": "residual", "layers": [inner]}
    layer, field, text = _issue(_layers(inner), SpecLimits(max_nesting=3))
    assert layer == "0.0.0.0"  # the fourth block, one past the limit
    assert field == "layers"
    assert "nested more than 3 deep" in text


def test_absurd_nesting_is_refused_without_recursion() -> None:
    inner: dict[str, Any] = {"type": "relu"}
    for _ in range(5000):
        inner = {"type": "residual", "layers": [inner]}
    assert "nested" in _issue(_layers(inner))[2]


def test_limits_are_configurable() -> None:
    big = _layers({"type": "flatten"}, {"type": "linear", "out_features": 30_000})
    _, _, text = _issue(big)
    assert "23,550,000 parameters, more than the limit of 20,000,000" in text
    assert summarize(big, SpecLimits(max_params=30_000_000)).total_params == 23_550_000
    many = _layers(*[{"type": "relu"}] * 65)
    assert "more than the limit of 64" in _issue(many)[2]
    assert len(summarize(many, SpecLimits(max_layers=65)).layers) == 65
    kernel = _layers({"type": "conv2d", "out_channels": 1, "kernel_size": 13})
    assert "larger than the limit of 11" in _issue(kernel)[2]
    assert summarize(kernel, SpecLimits(max_kernel_size=13)).layers[0].output_shape == (1, 16, 16)


def test_several_problems_are_all_reported() -> None:
    with pytest.raises(SpecError) as caught:
        summarize(_layers({"type": "conv2d"}, {"type": "nope"}, {"type": "dropout", "p": -1}))
    assert [issue.layer for issue in caught.value.issues] == ["0", "1", "2"]


def test_non_objects_and_bad_json() -> None:
    assert "JSON object" in _issue([1, 2])[2]
    assert "not valid JSON" in _issue("{oops")[2]
    assert "JSON object with a type" in _issue(_layers(5))[2]
    assert "needs at least one layer" in _issue(_layers())[2]
    assert _issue({"input_shape": [1, 0, 28], "layers": [{"type": "relu"}]})[1] == "input_shape.1"


def test_pytorch_spellings_are_accepted() -> None:
    spec = _layers(
        {"type": "Conv2d", "out_channels": 2}, {"type": "LeakyReLU"}, {"type": "Flatten"}
    )
    assert [row.type for row in summarize(spec).layers] == ["conv2d", "leaky_relu", "flatten"]


def test_a_spec_is_data_never_code(tmp_path: Any) -> None:
    marker = tmp_path / "owned"
    hostile = {"type": f"__import__('os').system('touch {marker}')", "out_channels": 1}
    _issue(_layers(hostile))
    _issue(_layers({"type": "os.system", "command": f"touch {marker}"}))
    assert not marker.exists()


def test_rejected_before_any_tensor_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_tensors(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a module was built for a bad spec")

    monkeypatch.setattr(torch.nn.Linear, "__init__", no_tensors)
    with pytest.raises(SpecError):
        build_model(_layers({"type": "flatten"}, {"type": "linear", "out_features": 10**8}))
