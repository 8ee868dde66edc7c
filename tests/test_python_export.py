"""The Python export: every layer type's code writer against the builder (in process), and
each preset's script in a fresh interpreter that has torch and nothing of the playground."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from exported_script import run_exported, tiny_mnist
from torch import nn

from app.inference.codegen.layers import LAYER_WRITERS, writes
from app.inference.export import WHOLE, default_part, export_model, model_part
from app.inference.python_export import python_script
from app.nn import LAYER_KINDS, build_model, specs
from app.nn.presets import PRESET_DIR

# One small model per layer type, with arguments away from their defaults.
SAMPLES: dict[str, tuple[list[int], list[dict[str, Any]]]] = {
    "linear": (
        [1, 4, 4],
        [{"type": "flatten"}, {"type": "linear", "out_features": 7, "bias": False}],
    ),
    "conv2d": (
        [2, 9, 9],
        [
            {"type": "conv2d", "out_channels": 4, "kernel_size": [3, 2], "stride": 2, "padding": 1},
            {"type": "conv2d", "out_channels": 4, "padding": "same", "dilation": 2, "groups": 2},
            {"type": "conv2d", "out_channels": 3, "padding": "valid", "bias": False},
        ],
    ),
    "convtranspose2d": (
        [3, 5, 5],
        [
            {
                "type": "convtranspose2d",
                "out_channels": 2,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "output_padding": 1,
                "dilation": 1,
                "bias": False,
            },
        ],
    ),
    "maxpool2d": (
        [1, 9, 9],
        [
            {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            {"type": "maxpool2d", "kernel_size": 2, "dilation": [1, 2]},
        ],
    ),
    "avgpool2d": (
        [1, 8, 8],
        [
            {"type": "avgpool2d", "kernel_size": 2, "padding": 1, "count_include_pad": False},
        ],
    ),
    "adaptiveavgpool2d": ([2, 7, 7], [{"type": "adaptiveavgpool2d", "output_size": [2, 3]}]),
    "flatten": ([2, 3, 3], [{"type": "flatten"}]),
    "unflatten": ([12], [{"type": "unflatten", "dim": -1, "sizes": [3, 4]}]),
    "upsample": (
        [1, 4, 4],
        [
            {"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear", "align_corners": True},
            {"type": "upsample", "size": 5},
            {"type": "upsample"},
        ],
    ),
    "dropout": ([6], [{"type": "dropout", "p": 0.3}]),
    "dropout2d": ([2, 3, 3], [{"type": "dropout2d", "p": 0.2}]),
    "batchnorm1d": ([6], [{"type": "batchnorm1d", "eps": 0.001, "momentum": 0.2, "affine": False}]),
    "batchnorm2d": ([3, 4, 4], [{"type": "batchnorm2d", "momentum": 0.3}]),
    "layernorm": ([2, 3, 3], [{"type": "layernorm", "elementwise_affine": False, "eps": 0.01}]),
    "relu": ([5], [{"type": "relu"}]),
    "leaky_relu": ([5], [{"type": "leaky_relu", "negative_slope": 0.2}]),
    "prelu": ([3, 4, 4], [{"type": "prelu", "per_channel": True, "init": 0.1}, {"type": "prelu"}]),
    "elu": ([5], [{"type": "elu", "alpha": 0.5}]),
    "selu": ([5], [{"type": "selu"}]),
    "gelu": ([5], [{"type": "gelu", "approximate": "tanh"}, {"type": "gelu"}]),
    "silu": ([5], [{"type": "silu"}]),
    "sigmoid": ([5], [{"type": "sigmoid"}]),
    "tanh": ([5], [{"type": "tanh"}]),
    "softmax": ([5], [{"type": "softmax"}]),
    "log_softmax": ([5], [{"type": "log_softmax"}]),
    "identity": ([5], [{"type": "identity"}]),
    "step": ([5], [{"type": "step"}]),
    "lstm": (
        [1, 6, 5],
        [{"type": "lstm", "hidden_size": 4, "num_layers": 2, "bidirectional": True}],
    ),
    "gru": ([6, 5], [{"type": "gru", "hidden_size": 3}]),
    "residual": (
        [2, 8, 8],
        [
            {
                "type": "residual",
                "layers": [
                    {"type": "conv2d", "out_channels": 4, "stride": 2, "padding": 1},
                    {
                        "type": "residual",
                        "layers": [{"type": "conv2d", "out_channels": 4, "padding": 1}],
                    },
                ],
            },
            {"type": "flatten"},
            {"type": "residual", "layers": [{"type": "linear", "out_features": 5}]},
        ],
    ),
}


def _load(source: str) -> dict[str, Any]:
    """Run a generated script's definitions (not its main) in a namespace of its own."""
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(source, "exported.py", "exec"), namespace)
    return namespace


def _same_outputs(exported: nn.Module, built: nn.Module, input_shape: list[int]) -> None:
    exported.load_state_dict(built.state_dict(), strict=True)
    exported.eval(), built.eval()
    inputs = torch.randn(3, *input_shape)
    torch.testing.assert_close(exported(inputs), built(inputs))


def assert_lint_clean(source: str) -> None:
    """ruff check passes with its default rules, and ruff format leaves the file as it is."""
    for command in (["check", "--isolated", "-"], ["format", "--isolated", "-"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            input=source,
            text=True,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == source, "ruff format would change the file"


def test_every_layer_type_has_a_writer_and_a_sample() -> None:
    assert set(LAYER_WRITERS) == set(LAYER_KINDS) == set(SAMPLES)
    with pytest.raises(ValueError, match="two code writers"):
        writes(specs.ReLU)(lambda spec, row, ctx: [])


@pytest.mark.parametrize("layer_type", sorted(SAMPLES))
def test_each_writer_builds_what_the_builder_builds(layer_type: str) -> None:
    input_shape, layers = SAMPLES[layer_type]
    spec = {"input_shape": input_shape, "layers": layers, "weight_init": "xavier_uniform"}
    built = build_model(spec, seed=1)
    config = {"optimizer": "sgd", "schedule": "step", "regularization": "l2"}
    source = python_script(spec, {**config, "regularization_rate": 0.01}, title=layer_type)
    assert_lint_clean(source)
    model = _load(source)["Model"]()
    assert sum(p.numel() for p in model.parameters()) == built.summary.total_params
    _same_outputs(model, built.module, input_shape)


@pytest.mark.parametrize(
    ("preset", "part"), [("conv-autoencoder", "decoder"), ("dcgan", "discriminator"), ("gan", None)]
)
def test_parts_keep_the_layer_names_their_weights_have(preset: str, part: str | None) -> None:
    raw = json.loads((PRESET_DIR / f"{preset}.json").read_text())
    part = part or default_part(raw["config"])
    built = build_model(raw["spec"])
    piece = model_part(built.module, built.summary, raw["config"], part)
    source = python_script(raw["spec"], raw["config"], title=preset, part=part)
    assert f"the {part} (part of the model)" in source
    model = _load(source)["Model"]()
    _same_outputs(model, piece.module, list(piece.input_shape))


def test_an_unknown_part_names_those_there_are() -> None:
    raw = json.loads((PRESET_DIR / "gan.json").read_text())
    with pytest.raises(ValueError, match="generator, discriminator"):
        python_script(raw["spec"], raw["config"], title="gan", part="encoder")


PRESETS = sorted(path.stem for path in PRESET_DIR.glob("*.json"))


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_runs_alone_with_torch_only(preset: str, tmp_path: Path) -> None:
    raw = json.loads((PRESET_DIR / f"{preset}.json").read_text())
    config = raw.get("config") or {}
    source = python_script(raw["spec"], config, title=preset, part=WHOLE)
    assert_lint_clean(source)
    (tmp_path / "exported.py").write_text(source)
    built = build_model(raw["spec"], seed=3)
    weights = export_model(built.module, tuple(built.summary.input_shape), "safetensors", {})
    (tmp_path / "weights.safetensors").write_bytes(weights)
    trains = "def train(" in source
    samples = torch.rand(5, 28, 28) if trains else torch.randn(5, *built.summary.input_shape)
    torch.save(samples, tmp_path / "inputs.pt")
    if trains:
        argv = ["--data", str(tiny_mnist(tmp_path / "tiny.pkl.gz")), "--max-steps", "2"]
    else:
        argv = ["--weights", "weights.safetensors"]
    report, printed = run_exported(tmp_path, argv)

    assert report["params"] == built.summary.total_params
    inputs = samples.reshape(5, *built.summary.input_shape)
    if "MEAN, STD = " in source:  # the run standardised its inputs
        inputs = (inputs - 0.1307) / 0.3081
    expected = built.module.eval()(inputs).detach()
    torch.testing.assert_close(torch.load(tmp_path / "outputs.pt"), expected)
    if trains:
        metric = "loss" if "autoencoder" in preset else "accuracy"
        assert "epoch 1: loss" in printed and f"test {metric}" in printed
    else:
        assert "is not written out" in printed or "reads MNIST" in printed
