"""The summary is exact: shapes, parameters and MACs against hand-computed values."""

import pytest

from app.nn import summarize
from app.nn.shapes import TransposedSide, WindowSide


def _only(input_shape: list[int], layer: dict[str, object]) -> tuple[tuple[int, ...], int, int]:
    row = summarize({"input_shape": input_shape, "layers": [layer]}).layers[0]
    return row.output_shape, row.params, row.macs


def test_three_3x3_filters_on_one_channel() -> None:
    shape, params, macs = _only([1, 6, 6], {"type": "conv2d", "out_channels": 3, "kernel_size": 3})
    assert shape == (3, 4, 4)  # 6×6 input, 3×3 kernel → 4×4
    assert params == 3 * (3 * 3) + 3  # = 30
    assert macs == 3 * 4 * 4 * 9


@pytest.mark.parametrize(
    ("n", "f", "p", "s", "expected"),
    [(28, 5, 2, 1, 28), (28, 5, 0, 1, 24), (28, 3, 1, 2, 14), (7, 3, 0, 2, 3), (32, 4, 1, 2, 16)],
)
def test_conv_output_size_formula(n: int, f: int, p: int, s: int, expected: int) -> None:
    layer = {"type": "conv2d", "out_channels": 1, "kernel_size": f, "padding": p, "stride": s}
    assert _only([1, n, n], layer)[0] == (1, expected, expected)
    assert WindowSide(n, f, s, p).output == expected == (n + 2 * p - f) // s + 1


def test_conv_formula_text_has_the_numbers_in() -> None:
    row = summarize(
        {"layers": [{"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2}]}
    ).layers[0]
    assert row.formula == "⌊(28 + 2·2 − 5)/1⌋ + 1 = 28"


def test_rectangular_kernel_stride_dilation_and_groups() -> None:
    layer = {
        "type": "conv2d",
        "out_channels": 8,
        "kernel_size": [3, 5],
        "stride": [1, 2],
        "padding": [1, 0],
        "dilation": [2, 1],
        "groups": 2,
        "bias": False,
    }
    shape, params, macs = _only([4, 20, 20], layer)
    # height: (20 + 2 − 2·2 − 1)/1 + 1 = 18; width: (20 − 5)/2 + 1 = 8
    assert shape == (8, 18, 8)
    assert params == 8 * (4 // 2) * 3 * 5
    assert macs == 8 * 18 * 8 * 2 * 15


def test_same_and_valid_padding() -> None:
    same = {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "padding": "same"}
    valid = {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "padding": "valid"}
    assert _only([1, 9, 9], same)[0] == (2, 9, 9)
    assert _only([1, 9, 9], valid)[0] == (2, 6, 6)


def test_pooling_shapes() -> None:
    assert _only([3, 28, 28], {"type": "maxpool2d", "kernel_size": 2}) == ((3, 14, 14), 0, 0)
    assert _only([3, 7, 7], {"type": "maxpool2d", "kernel_size": 2})[0] == (3, 3, 3)
    assert _only([3, 7, 7], {"type": "maxpool2d", "kernel_size": 2, "ceil_mode": True})[0] == (
        3,
        4,
        4,
    )
    assert _only([3, 10, 10], {"type": "avgpool2d", "kernel_size": 3, "stride": 1})[0] == (
        3,
        8,
        8,
    )
    assert _only([5, 9, 9], {"type": "adaptiveavgpool2d", "output_size": 1})[0] == (5, 1, 1)


@pytest.mark.parametrize(
    ("n", "f", "p", "s", "op", "expected"),
    [
        (7, 4, 1, 2, 0, 14),
        (7, 3, 1, 2, 1, 14),
        (14, 3, 1, 1, 0, 14),
        (1, 7, 0, 1, 0, 7),
        (5, 2, 0, 2, 1, 11),
    ],
)
def test_convtranspose_output_size_formula(
    n: int, f: int, p: int, s: int, op: int, expected: int
) -> None:
    layer = {
        "type": "convtranspose2d",
        "out_channels": 1,
        "kernel_size": f,
        "padding": p,
        "stride": s,
        "output_padding": op,
    }
    assert _only([1, n, n], layer)[0] == (1, expected, expected)
    assert TransposedSide(n, f, s, p, op).output == expected == (n - 1) * s - 2 * p + f + op


def test_convtranspose_counts_and_formula_text() -> None:
    layer = {
        "type": "convtranspose2d",
        "out_channels": 16,
        "kernel_size": 4,
        "stride": 2,
        "padding": 1,
    }
    row = summarize({"input_shape": [32, 7, 7], "layers": [layer]}).layers[0]
    assert row.output_shape == (16, 14, 14)
    assert row.params == 32 * 16 * 4 * 4 + 16  # weight (in, out, kH, kW), one bias per output
    assert row.macs == 32 * 7 * 7 * 16 * 4 * 4  # every input value meets every output's kernel
    assert row.formula == "(7 − 1)·2 − 2·1 + 4 + 0 = 14"
    dilated = {**layer, "kernel_size": 3, "dilation": 2, "stride": [2, 1], "output_padding": 1}
    row = summarize({"input_shape": [32, 7, 7], "layers": [dilated]}).layers[0]
    assert row.output_shape == (16, 16, 10)
    assert row.formula == (
        "height (7 − 1)·2 − 2·1 + 2·(3 − 1) + 1 + 1 = 16; "
        "width (7 − 1)·1 − 2·1 + 2·(3 − 1) + 1 + 1 = 10"
    )
    grouped = {"type": "convtranspose2d", "out_channels": 6, "groups": 2, "bias": False}
    assert _only([4, 5, 5], grouped) == ((6, 7, 7), 4 * 3 * 9, 4 * 5 * 5 * 3 * 9)


def test_upsample_and_unflatten_shapes() -> None:
    assert _only([3, 7, 7], {"type": "upsample"}) == ((3, 14, 14), 0, 0)  # scale 2 by default
    row = summarize({"input_shape": [3, 7, 7], "layers": [{"type": "upsample"}]}).layers[0]
    assert row.formula == "7·2 = 14"
    pair: dict[str, object] = {"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear"}
    assert _only([3, 7, 5], pair)[0] == (3, 14, 15)
    assert _only([3, 7, 5], {"type": "upsample", "size": [9, 4]})[0] == (3, 9, 4)
    assert _only([10], {"type": "unflatten", "sizes": [1, 2, 5]}) == ((1, 2, 5), 0, 0)
    assert _only([6, 12], {"type": "unflatten", "dim": -1, "sizes": [3, 4]})[0] == (6, 3, 4)
    assert _only([6, 12], {"type": "unflatten", "dim": 1, "sizes": [2, 3]})[0] == (2, 3, 12)


def test_linear_lstm_gru_and_norm_counts() -> None:
    assert _only([400], {"type": "linear", "out_features": 120}) == ((120,), 48_120, 48_000)
    assert _only([400], {"type": "linear", "out_features": 120, "bias": False})[1] == 48_000
    # LSTM: 4 gates · (28 inputs + 16 hidden + 2 biases) · 16 hidden; 28 steps.
    assert _only([1, 28, 28], {"type": "lstm", "hidden_size": 16}) == (
        (16,),
        4 * 16 * (28 + 16 + 2),
        28 * 4 * 16 * (28 + 16),
    )
    gru = _only([1, 28, 28], {"type": "gru", "hidden_size": 8, "bidirectional": True})
    assert gru[0] == (16,)
    assert gru[1] == 2 * 3 * 8 * (28 + 8 + 2)
    assert _only([6, 4, 4], {"type": "batchnorm2d"})[1] == 12
    assert _only([6, 4, 4], {"type": "layernorm"})[1] == 2 * 96
    assert _only([6, 4, 4], {"type": "prelu"})[1] == 1


def test_totals_add_up_and_table_lists_every_layer() -> None:
    summary = summarize(
        {
            "layers": [
                {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                {
                    "type": "residual",
                    "layers": [{"type": "conv2d", "out_channels": 4, "padding": 1}],
                },
                {"type": "flatten"},
                {"type": "linear", "out_features": 10},
            ]
        }
    )
    assert summary.total_params == 40 + 148 + (4 * 28 * 28 * 10 + 10)
    assert summary.total_macs == sum(row.macs for row in summary.layers)
    table = summary.table()
    assert "1.0" in table  # the conv inside the residual block has its own row
    assert "31,558" in table
    data = summary.to_dict()
    assert data["total_params"] == summary.total_params
    assert data["layers"][1]["layers"][0]["params"] == 148
