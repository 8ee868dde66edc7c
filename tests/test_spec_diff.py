"""The spec diff (nested residual blocks, counts checked by hand) and the config diff."""

from typing import Any

import pytest

from app.nn import SpecError
from app.nn.spec_diff import diff_specs
from app.training.config_diff import diff_configs


def _conv(channels: int, kernel: int = 3) -> dict[str, Any]:
    return {
        "type": "conv2d",
        "out_channels": channels,
        "kernel_size": kernel,
        "padding": kernel // 2,
    }


A: dict[str, Any] = {
    "input_shape": [1, 8, 8],
    "layers": [
        _conv(4),  # 1·9·4 + 4 = 40 params; 4·8·8·9 = 2,304 MACs
        {
            "type": "residual",
            "layers": [
                _conv(4),  # 4·9·4 + 4 = 148; 4·64·36 = 9,216
                {"type": "relu"},
                {"type": "residual", "layers": [_conv(4, 1)]},  # 16 + 4 = 20; 4·64·4 = 1,024
            ],
        },
        {"type": "flatten"},  # 256
        {"type": "dropout", "p": 0.2},
        {"type": "linear", "out_features": 10},  # 2,570; 2,560
    ],
}
B: dict[str, Any] = {
    "input_shape": [1, 8, 8],
    "layers": [
        _conv(4),
        {
            "type": "residual",  # now 4 → 8 channels: a 1×1 projection, 4·8 + 8 = 40; 2,048
            "layers": [
                _conv(8),  # 4·9·8 + 8 = 296; 8·64·36 = 18,432
                {"type": "relu"},
                {
                    "type": "residual",
                    "layers": [_conv(8, 1), {"type": "batchnorm2d"}],  # 72, 4,096; 16, 0
                },
            ],
        },
        {"type": "flatten"},  # 512
        {"type": "linear", "out_features": 10},  # 5,130; 5,120
    ],
}


def test_nested_residual_blocks_are_compared_layer_by_layer() -> None:
    diff = diff_specs(A, B)
    rows = {(row.path_a, row.path_b): row for row in diff.walk()}
    assert diff.params == (40 + 168 + 2570, 40 + 424 + 5130)
    assert diff.macs == (2304 + 10240 + 2560, 2304 + 24576 + 5120)

    assert rows["0", "0"].change == "same"
    block = rows["1", "1"]
    assert block.change == "changed" and block.fields == {}
    assert block.params == (168, 296 + 72 + 16 + 40)
    assert block.macs == (9216 + 1024, 18432 + 4096 + 2048)
    inner_conv = rows["1.0", "1.0"]
    assert inner_conv.fields == {"out_channels": (4, 8)}
    assert inner_conv.params == (148, 296) and inner_conv.macs == (9216, 18432)
    assert rows["1.1", "1.1"].shapes == ([4, 8, 8], [8, 8, 8])  # a relu, changed by its input
    nested = rows["1.2", "1.2"]
    assert nested.params == (20, 88) and nested.macs == (1024, 4096)
    assert rows["1.2.0", "1.2.0"].change == "changed"
    assert rows["1.2.0", "1.2.0"].fields == {"out_channels": (4, 8)}
    added = rows[None, "1.2.1"]
    assert (added.change, added.type, added.params) == ("added", "batchnorm2d", (0, 16))
    removed = rows["3", None]
    assert (removed.change, removed.type) == ("removed", "dropout")
    linear = rows["4", "3"]
    assert linear.change == "changed" and linear.params == (2570, 5130)
    assert diff.counts() == {"added": 1, "removed": 1, "changed": 7}

    answer = diff.to_dict()
    assert answer["params_delta"] == 2816 and answer["macs_delta"] == 32000 - 15104
    assert answer["layers"][1]["layers"][2]["layers"][1]["change"] == "added"
    assert answer["layers"][1]["layers"][0]["fields"] == {"out_channels": [4, 8]}


def test_a_spec_against_itself_and_defaults_spelled_out() -> None:
    same = diff_specs(A, A)
    assert all(row.change == "same" for row in same.walk())
    assert same.counts() == {"added": 0, "removed": 0, "changed": 0}
    spelled = {**A, "layers": [{**A["layers"][0], "stride": 1, "dilation": 1}, *A["layers"][1:]]}
    assert diff_specs(A, spelled).counts()["changed"] == 0
    other_init = diff_specs(A, {**A, "weight_init": "kaiming_normal"})
    assert other_init.fields["weight_init"][0] is None


def test_a_whole_block_added_lists_its_layers() -> None:
    grown = {**A, "layers": [*A["layers"][:2], A["layers"][1], *A["layers"][2:]]}
    diff = diff_specs(A, grown)
    (added,) = [row for row in diff.layers if row.change == "added"]
    assert added.type == "residual" and added.params == (0, 168)
    assert [row.path_b for row in added.children] == [f"{added.path_b}.{i}" for i in range(3)]
    assert diff.counts() == {"added": 5, "removed": 0, "changed": 0}  # and the nested conv


def test_a_bad_spec_is_refused() -> None:
    with pytest.raises(SpecError):
        diff_specs(A, {"layers": [{"type": "linear"}]})


def test_config_diff_fills_in_defaults() -> None:
    assert diff_configs({"epochs": 3}, {}) == []
    changed = diff_configs({"lr": 0.01, "batch_size": 32}, {"optimizer": "sgd", "batch_size": 32})
    assert changed == [
        {"field": "optimizer", "a": "adam", "b": "sgd"},
        {"field": "lr", "a": 0.01, "b": 0.02},  # sgd's default lr
    ]
    assert diff_configs({"epochs": 2, "retired_field": 1}, {"epochs": 2}) == [
        {"field": "retired_field", "a": 1, "b": None}
    ]
