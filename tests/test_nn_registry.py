"""Every registered layer type and every preset: builds, runs, and its summary tells the truth."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from app.nn import LAYER_KINDS, PRESET_NAMES, ModelSpec, build_model, load_preset, summarize
from app.nn.specs import layer_classes

# For each layer type, a minimal spec that puts it in a valid place: (input_shape, layers).
IMAGE = [1, 28, 28]
EXAMPLES: dict[str, tuple[list[int], list[dict[str, object]]]] = {
    "linear": ([20], [{"type": "linear", "out_features": 7}]),
    "conv2d": (IMAGE, [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2}]),
    "convtranspose2d": (
        [4, 7, 7],
        [
            {
                "type": "convtranspose2d",
                "out_channels": 6,
                "kernel_size": 4,
                "stride": 2,
                "padding": 1,
            }
        ],
    ),
    "maxpool2d": (IMAGE, [{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1}]),
    "avgpool2d": (IMAGE, [{"type": "avgpool2d", "kernel_size": 2, "ceil_mode": True}]),
    "adaptiveavgpool2d": (IMAGE, [{"type": "adaptiveavgpool2d", "output_size": [3, 5]}]),
    "flatten": (IMAGE, [{"type": "flatten"}]),
    "unflatten": (IMAGE, [{"type": "flatten"}, {"type": "unflatten", "sizes": [4, 14, 14]}]),
    "upsample": ([3, 5, 7], [{"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear"}]),
    "dropout": ([30], [{"type": "dropout", "p": 0.3}]),
    "dropout2d": ([3, 8, 8], [{"type": "dropout2d", "p": 0.3}]),
    "batchnorm1d": ([30], [{"type": "batchnorm1d"}]),
    "batchnorm2d": ([3, 8, 8], [{"type": "batchnorm2d"}]),
    "layernorm": ([3, 8, 8], [{"type": "layernorm"}]),
    "relu": ([9], [{"type": "relu"}]),
    "leaky_relu": ([9], [{"type": "leaky_relu", "negative_slope": 0.2}]),
    "prelu": ([3, 8, 8], [{"type": "prelu", "per_channel": True}]),
    "elu": ([9], [{"type": "elu", "alpha": 0.5}]),
    "selu": ([9], [{"type": "selu"}]),
    "gelu": ([9], [{"type": "gelu", "approximate": "tanh"}]),
    "silu": ([9], [{"type": "silu"}]),
    "sigmoid": ([9], [{"type": "sigmoid"}]),
    "tanh": ([9], [{"type": "tanh"}]),
    "softmax": ([9], [{"type": "softmax"}]),
    "log_softmax": ([9], [{"type": "log_softmax"}]),
    "identity": ([9], [{"type": "identity"}]),
    "step": ([9], [{"type": "step"}]),
    "lstm": (IMAGE, [{"type": "lstm", "hidden_size": 12, "num_layers": 2, "bidirectional": True}]),
    "gru": ([2, 10, 6], [{"type": "gru", "hidden_size": 5}]),
    "residual": (
        [4, 10, 10],
        [{"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "stride": 2}]}],
    ),
}


def test_every_registered_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(LAYER_KINDS) == set(layer_classes())


def _check_built(spec: dict[str, object], batch: int = 3) -> None:
    built = build_model(spec, seed=0)
    summary = built.summary
    real_params = sum(p.numel() for p in built.module.parameters())
    assert summary.total_params == real_params
    built.module.train()
    x = torch.randn(batch, *summary.input_shape)  # (B, *input_shape)
    y = built.module(x)
    assert tuple(y.shape) == (batch, *summary.output_shape)
    assert torch.isfinite(y).all()
    # Every row's shape matches what its module really produces.
    shapes: list[tuple[int, ...]] = []
    hooks = [
        module.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
        for module in built.module
    ]
    built.module(x)
    for hook in hooks:
        hook.remove()
    assert shapes == [row.output_shape for row in summary.layers]


@pytest.mark.parametrize("layer_type", sorted(EXAMPLES))
def test_layer_builds_and_matches_its_summary(layer_type: str) -> None:
    input_shape, layers = EXAMPLES[layer_type]
    _check_built({"input_shape": input_shape, "layers": layers})


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_builds_and_matches_its_summary(name: str) -> None:
    _check_built(load_preset(name).model_dump())


def test_preset_sizes_are_the_known_ones() -> None:
    params = {name: summarize(load_preset(name)).total_params for name in PRESET_NAMES}
    # LeNet-5: 156 + 2,416 + 48,120 + 10,164 + 850.
    assert params["lenet5"] == 61_706
    # 784·128 + 128 + 128·10 + 10.
    assert params["mlp"] == 101_770
    # PyTorch's examples/mnist Net: 320 + 18,496 + 9216·128 + 128 + 1,290.
    assert params["cnn"] == 1_199_882
    assert summarize(load_preset("lstm-rows")).total_params == 4 * 128 * (28 + 128 + 2) + 1290


def test_step_activation_passes_no_gradient() -> None:
    spec = {"input_shape": [5], "layers": [{"type": "linear", "out_features": 5}, {"type": "step"}]}
    built = build_model(spec, seed=0)
    out = built.module(torch.randn(4, 5))
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    out.sum().backward()
    linear = built.module[0]
    assert linear.weight.grad is not None
    assert torch.count_nonzero(linear.weight.grad) == 0


def test_lstm_reads_rows_and_returns_the_last_step() -> None:
    spec = {"input_shape": [1, 28, 28], "layers": [{"type": "lstm", "hidden_size": 6}]}
    built = build_model(spec, seed=0)
    x = torch.randn(2, 1, 28, 28)
    rnn = built.module[0].rnn
    expected = rnn(x[:, 0])[0][:, -1]  # rows as 28 steps of 28 features
    torch.testing.assert_close(built.module(x), expected)


def test_residual_adds_its_input() -> None:
    spec = {
        "input_shape": [6],
        "layers": [
            {"type": "residual", "layers": [{"type": "linear", "out_features": 6}]},
        ],
    }
    built = build_model(spec, seed=0)
    x = torch.randn(3, 6)
    block = built.module[0]
    torch.testing.assert_close(built.module(x), block.body(x) + x)


def test_residual_projection_is_counted() -> None:
    spec = {
        "input_shape": [4, 10, 10],
        "layers": [
            {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "stride": 2}]}
        ],
    }
    row = summarize(spec).layers[0]
    # body conv 8·4·3·3 + 8 = 296; 1×1 projection 4·8 + 8 = 40.
    assert row.output_shape == (8, 4, 4)
    assert row.params == 296 + 40
    assert row.children[0].params == 296
    assert "stride 3×3" in (row.formula or "")


def test_same_seed_builds_the_same_weights() -> None:
    spec = load_preset("lenet5")
    first, second = build_model(spec, seed=7).module, build_model(spec, seed=7).module
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    third = build_model(spec, seed=8).module
    assert not torch.equal(next(first.parameters()), next(third.parameters()))


def test_json_schema_covers_every_layer_type() -> None:
    schema = ModelSpec.model_json_schema()
    mapping = schema["properties"]["layers"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(LAYER_KINDS)


# The layers that go back up from a code to an image: (input_shape, layer) in many settings.
GROWING: list[tuple[list[int], dict[str, object]]] = [
    (
        [32, 7, 7],
        {
            "type": "convtranspose2d",
            "out_channels": 16,
            "kernel_size": 4,
            "stride": 2,
            "padding": 1,
        },
    ),
    (
        [32, 7, 7],
        {
            "type": "convtranspose2d",
            "out_channels": 1,
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "output_padding": 1,
        },
    ),
    ([3, 5, 5], {"type": "convtranspose2d", "out_channels": 2}),
    ([4, 5, 5], {"type": "convtranspose2d", "out_channels": 6, "groups": 2, "bias": False}),
    (
        [2, 6, 6],
        {
            "type": "convtranspose2d",
            "out_channels": 3,
            "dilation": 3,
            "output_padding": 2,
            "padding": 1,
        },
    ),
    (
        [4, 5, 6],
        {
            "type": "convtranspose2d",
            "out_channels": 5,
            "kernel_size": [3, 5],
            "stride": [2, 3],
            "padding": [0, 2],
            "output_padding": [1, 2],
            "dilation": [1, 2],
        },
    ),
    ([3, 7, 7], {"type": "upsample"}),
    ([3, 7, 7], {"type": "upsample", "scale_factor": [1, 4]}),
    ([3, 7, 7], {"type": "upsample", "scale_factor": 3, "mode": "bilinear"}),
    ([3, 7, 7], {"type": "upsample", "size": [10, 15], "mode": "bilinear", "align_corners": True}),
    ([2, 9, 9], {"type": "upsample", "size": 4}),
    ([980], {"type": "unflatten", "sizes": [20, 7, 7]}),
    ([4, 36], {"type": "unflatten", "dim": -1, "sizes": [6, 6]}),
    ([3, 20], {"type": "unflatten", "dim": 2, "sizes": [4, 5]}),
    ([3, 4, 5], {"type": "unflatten", "dim": 1, "sizes": [3]}),
]


@pytest.mark.parametrize(("input_shape", "layer"), GROWING)
def test_growing_layer_summary_equals_pytorch(
    input_shape: list[int], layer: dict[str, object]
) -> None:
    """Output shape, parameters and MACs in the summary are what PyTorch's module gives."""
    built = build_model({"input_shape": input_shape, "layers": [layer]}, seed=0)
    row, module = built.summary.layers[0], built.module[0]
    x = torch.zeros(2, *input_shape)  # (B, *input_shape)
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    assert row.output_shape == tuple(y.shape[1:])
    assert row.params == sum(p.numel() for p in module.parameters())
    assert row.macs == counter.get_total_flops() // (2 * 2)  # two samples, two FLOPs per MAC


DECODER = [
    {"type": "linear", "out_features": 1568},
    {"type": "relu"},
    {"type": "unflatten", "sizes": [32, 7, 7]},
]
AUTOENCODER = [
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "relu"},
    {"type": "conv2d", "out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 32},
    *DECODER,
    {"type": "convtranspose2d", "out_channels": 16, "kernel_size": 4, "stride": 2, "padding": 1},
    {"type": "relu"},
    {
        "type": "convtranspose2d",
        "out_channels": 1,
        "kernel_size": 3,
        "stride": 2,
        "padding": 1,
        "output_padding": 1,
    },
    {"type": "sigmoid"},
]
GENERATOR = [
    *DECODER,
    {"type": "upsample"},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d"},
    {"type": "leaky_relu", "negative_slope": 0.2},
    {"type": "upsample", "scale_factor": 2, "mode": "bilinear"},
    {"type": "conv2d", "out_channels": 1, "kernel_size": 3, "padding": 1},
    {"type": "tanh"},
]


@pytest.mark.parametrize(
    ("input_shape", "layers"), [(IMAGE, AUTOENCODER), ([16], GENERATOR)], ids=["ae", "gan"]
)
def test_decoders_go_back_up_to_a_28x28_image(
    input_shape: list[int], layers: list[dict[str, object]]
) -> None:
    spec = {"input_shape": input_shape, "layers": layers}
    _check_built(spec)
    summary = summarize(spec)
    assert summary.output_shape == (1, 28, 28)
    assert [row.output_shape for row in summary.layers if row.type == "unflatten"] == [(32, 7, 7)]
    built = build_model(spec, seed=0)
    built.module.eval()
    y = built.module(torch.randn(4, *input_shape))
    low, high = (0, 1) if layers[-1]["type"] == "sigmoid" else (-1, 1)
    assert y.shape == (4, 1, 28, 28)
    assert ((low <= y) & (y <= high)).all()


def test_new_layers_are_listed_with_a_category_and_described_fields() -> None:
    categories = {"convtranspose2d": "weights", "unflatten": "shape", "upsample": "shape"}
    for name, category in categories.items():
        kind = LAYER_KINDS[name]
        assert kind.category == category
        assert kind.description and "\n" not in kind.description
        fields = kind.spec_class.model_json_schema()["properties"]
        described = {key for key, field in fields.items() if field.get("description")}
        assert described == set(fields) - {"type"}
    assert LAYER_KINDS["convtranspose2d"].has_weights
    assert {"sigmoid", "tanh", "batchnorm1d", "batchnorm2d"} <= set(LAYER_KINDS)
