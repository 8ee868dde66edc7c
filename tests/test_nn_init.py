"""Weight initialisation per layer and per model."""

import pytest
import torch

from app.nn import SpecError, build_model


def _linear_weights(spec_init: object = None, model_init: object = None) -> torch.nn.Linear:
    layer: dict[str, object] = {"type": "linear", "out_features": 256}
    if spec_init is not None:
        layer["weight_init"] = spec_init
    spec: dict[str, object] = {"input_shape": [512], "layers": [layer]}
    if model_init is not None:
        spec["weight_init"] = model_init
    linear = build_model(spec, seed=0).module[0]
    assert isinstance(linear, torch.nn.Linear)
    return linear


def test_zeros() -> None:
    linear = _linear_weights("zeros")
    assert torch.count_nonzero(linear.weight) == 0
    assert linear.bias is not None
    assert torch.count_nonzero(linear.bias) == 0


def test_normal_std() -> None:
    linear = _linear_weights({"scheme": "normal", "std": 0.2})
    assert linear.weight.std().item() == pytest.approx(0.2, rel=0.05)


@pytest.mark.parametrize(
    ("scheme", "expected_std"),
    [
        # kaiming (relu gain √2): std = √2/√fan_in; xavier (gain 1 for linear): √(2/(in+out)).
        ({"scheme": "kaiming_normal"}, (2 / 512) ** 0.5),
        ({"scheme": "kaiming_uniform"}, (2 / 512) ** 0.5),
        ({"scheme": "xavier_normal", "nonlinearity": "linear"}, (2 / (512 + 256)) ** 0.5),
        ({"scheme": "xavier_uniform", "nonlinearity": "linear"}, (2 / (512 + 256)) ** 0.5),
    ],
)
def test_variance_scaling_schemes(scheme: dict[str, str], expected_std: float) -> None:
    assert _linear_weights(scheme).weight.std().item() == pytest.approx(expected_std, rel=0.05)


def test_default_is_pytorchs() -> None:
    # PyTorch's Linear default: kaiming_uniform(a=√5) → uniform(±1/√fan_in), std = 1/√(3·fan_in).
    weight = _linear_weights().weight
    assert weight.abs().max().item() <= 1 / 512**0.5
    assert weight.std().item() == pytest.approx((1 / (3 * 512)) ** 0.5, rel=0.05)


def test_model_init_applies_unless_a_layer_has_its_own() -> None:
    assert torch.count_nonzero(_linear_weights(model_init="zeros").weight) == 0
    own = _linear_weights({"scheme": "normal", "std": 0.5}, model_init="zeros")
    assert own.weight.std().item() == pytest.approx(0.5, rel=0.05)


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match=r"layer 0 \(linear\), field 'weight_init.scheme'"):
        _linear_weights("orthogonal")


@pytest.mark.parametrize("scheme", ["kaiming_normal", "kaiming_uniform", "xavier_normal"])
def test_convtranspose2d_is_initialised_like_conv2d(scheme: str) -> None:
    """Same in_channels, out_channels and kernel: the same spread of weights, zero biases."""

    def weights(layer_type: str) -> torch.nn.Conv2d | torch.nn.ConvTranspose2d:
        layer = {"type": layer_type, "out_channels": 32, "kernel_size": 3, "weight_init": scheme}
        module = build_model({"input_shape": [64, 8, 8], "layers": [layer]}, seed=0).module[0]
        assert isinstance(module, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
        return module

    conv, transposed = weights("conv2d"), weights("convtranspose2d")
    assert isinstance(transposed, torch.nn.ConvTranspose2d)
    assert transposed.weight.shape == (64, 32, 3, 3)  # (in, out, kH, kW): a conv's the other way
    assert transposed.bias is not None
    assert torch.count_nonzero(transposed.bias) == 0
    expected = conv.weight.std().item()
    if scheme.startswith("kaiming"):  # relu gain √2 over the 64·3·3 inputs of each output
        assert expected == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
    assert transposed.weight.std().item() == pytest.approx(expected, rel=0.05)


def test_model_init_reaches_convtranspose2d() -> None:
    spec = {
        "input_shape": [4, 5, 5],
        "weight_init": "zeros",
        "layers": [{"type": "convtranspose2d", "out_channels": 2, "stride": 2}],
    }
    layer = build_model(spec, seed=0).module[0]
    assert isinstance(layer, torch.nn.ConvTranspose2d)
    assert torch.count_nonzero(layer.weight) == 0
