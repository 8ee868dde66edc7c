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


# ------------------------------------------------------------------ layers that enlarge images


def test_unflatten_sizes_whose_product_is_not_the_input() -> None:
    spec = _layers(
        {"type": "linear", "out_features": 1600},
        {"type": "unflatten", "sizes": [32, 7, 7]},
        input_shape=[10],
    )
    assert _issue(spec)[2] == (
        "layer 1 (unflatten), field 'sizes': sizes 32×7×7 = 1568, but the input has 1,600 values "
        "per sample: use sizes whose product is 1600"
    )
    layer, field, text = _issue(_layers({"type": "unflatten", "dim": 2, "sizes": [4, 8]}))
    assert (layer, field) == ("0", "sizes")
    assert "dimension 2 of the 1×28×28 input has size 28" in text
    assert "product is 28" in text


@pytest.mark.parametrize(
    ("layer", "field", "words"),
    [
        ({"type": "unflatten"}, "sizes", "missing required field 'sizes'"),
        ({"type": "unflatten", "sizes": []}, "sizes", "at least 1 item"),
        ({"type": "unflatten", "sizes": [0, 784]}, "sizes.0", "must be ≥ 1"),
        ({"type": "unflatten", "sizes": [784], "dim": 0}, "dim", "dim 0 is the batch"),
        (
            {"type": "unflatten", "sizes": [784], "dim": 2},
            "dim",
            "784 input has 1 dimension per sample, so dim can be 1",
        ),
        ({"type": "unflatten", "sizes": [784], "dim": 7}, "dim", "must be ≤ 3"),
        ({"type": "unflatten", "sizes": [4, 4, 7, 7]}, "sizes", "at most 3 items"),
    ],
)
def test_bad_unflatten_fields(layer: dict[str, Any], field: str, words: str) -> None:
    spec = _layers({"type": "flatten"}, layer)
    assert _issue(spec)[:2] == ("1", field)
    assert words in _issue(spec)[2]


def test_unflatten_to_more_than_three_dimensions() -> None:
    layer, field, text = _issue(_layers({"type": "unflatten", "sizes": [1, 1]}))
    assert (layer, field) == ("0", "sizes")
    assert "into 1×1×28×28, 4 dimensions per sample" in text


@pytest.mark.parametrize(
    ("layer", "input_shape", "field", "words"),
    [
        (
            {"stride": 2, "output_padding": 2},
            [1, 7, 7],
            "output_padding",
            "smaller than the stride",
        ),
        ({"stride": [2, 1], "output_padding": [1, 1]}, [1, 7, 7], "output_padding", "at most 1×0"),
        ({"padding": 2}, [1, 1, 1], "padding", "(1 − 1)·1 − 2·2 + 3 + 0 = −1"),
        ({"kernel_size": 13}, [1, 7, 7], "kernel_size", "larger than the limit of 11"),
        ({"groups": 2}, [3, 7, 7], "groups", "input channels (3) must be divisible by groups"),
        ({"stride": 40, "kernel_size": 1}, [1, 28, 28], "stride", "1081×1081, larger than"),
        ({"out_channels": 0}, [1, 7, 7], "out_channels", "must be ≥ 1"),
        ({"output_padding": -1}, [1, 7, 7], "output_padding", "must be ≥ 0"),
        ({}, [49], None, "put it before the flatten layer"),
    ],
)
def test_bad_convtranspose2d_fields(
    layer: dict[str, Any], input_shape: list[int], field: str | None, words: str
) -> None:
    spec = _layers({"type": "convtranspose2d", "out_channels": 1, **layer}, input_shape=input_shape)
    layer_index, field_name, text = _issue(spec)
    assert (layer_index, field_name) == ("0", field)
    assert text.startswith("layer 0 (convtranspose2d)")
    assert words in text


@pytest.mark.parametrize(
    ("layer", "input_shape", "field", "words"),
    [
        ({"scale_factor": 2, "size": 14}, [1, 7, 7], "size", "not both"),
        ({"align_corners": True}, [1, 7, 7], "align_corners", "only to mode 'bilinear'"),
        ({"scale_factor": 50}, [1, 28, 28], "scale_factor", "1400×1400, larger than"),
        ({"size": [2000, 4]}, [1, 28, 28], "size", "larger than the limit of 1024"),
        ({"scale_factor": 0}, [1, 7, 7], "scale_factor", "must be ≥ 1"),
        ({"scale_factor": 1.5}, [1, 7, 7], "scale_factor", "whole number or a pair"),
        ({"mode": "bicubic"}, [1, 7, 7], "mode", "'nearest' or 'bilinear'"),
        ({}, [49], None, "upsample needs a channels×height×width image"),
    ],
)
def test_bad_upsample_fields(
    layer: dict[str, Any], input_shape: list[int], field: str | None, words: str
) -> None:
    spec = _layers({"type": "relu"}, {"type": "upsample", **layer}, input_shape=input_shape)
    layer_index, field_name, text = _issue(spec)
    assert (layer_index, field_name) == ("1", field)
    assert text.startswith("layer 1 (upsample)")
    assert words in text


def test_the_side_limit_is_configurable() -> None:
    spec = _layers({"type": "upsample", "scale_factor": 50})
    assert summarize(spec, SpecLimits(max_side=1400)).output_shape == (1, 1400, 1400)
