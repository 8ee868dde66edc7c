"""The autoencode task: a model rebuilds its input through a narrow code; frames of its
reconstructions and of the test digits in its code space; denoising; fit checks."""

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from app.data import Mnist
from app.nn import SpecLimits, build_model, load_preset, preset_config, summarize
from app.training import ConfigError, RunControl, Throttle, parse_config
from app.training.checks import check_trainable, fit_config
from app.training.job import RunJob
from app.training.reconstruction import code_layer, split_model
from app.training.tasks import train_job

DENSE_2D = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "out_features": 64},
        {"type": "relu"},
        {"type": "linear", "out_features": 2},
        {"type": "linear", "out_features": 64},
        {"type": "relu"},
        {"type": "linear", "out_features": 784},
        {"type": "sigmoid"},
        {"type": "unflatten", "sizes": [1, 28, 28]},
    ],
}
CODE_16 = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "out_features": 128},
        {"type": "relu"},
        {"type": "linear", "out_features": 16},
        {"type": "tanh"},
        {"type": "linear", "out_features": 784},
        {"type": "sigmoid"},
        {"type": "unflatten", "sizes": [1, 28, 28]},
    ],
}
SMALL = {"epochs": 2, "train_subset": 4000, "eval_limit": 1000, "batch_size": 64}


class _Sink:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, data: dict[str, Any]) -> None:
        self.events.append(json.loads(json.dumps(data)))  # as the server stores it

    def checkpoint(self, state: Any) -> None:
        pass

    def snapshot(self, snapshot: Any) -> None:
        pass

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]


def _train(mnist: Mnist, spec: dict[str, Any], config: dict[str, Any]) -> tuple[Any, _Sink]:
    dataset = mnist.to_dataset()
    fitted = fit_config(parse_config(config), dataset)
    job = RunJob("ae", spec, fitted, "cpu", 0, SpecLimits(), Throttle(), Path("."))
    sink = _Sink()
    return train_job(job, dataset, RunControl(), sink), sink


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.uint8)


def test_a_dense_autoencoder_learns_and_shows_its_2d_code(mnist: Mnist) -> None:
    result, sink = _train(mnist, DENSE_2D, {"task": "autoencode", **SMALL})
    assert result.status == "completed" and result.val_accuracy is None
    epochs = sink.of("epoch")
    assert epochs[-1]["val_loss"] < epochs[0]["train_loss"]  # it learns
    assert result.test_loss is not None and result.test_loss < 0.07  # all-grey: ~0.1
    assert all(point["accuracy"] is None for point in sink.of("step"))

    frame = sink.of("reconstructions")[-1]
    assert frame["shape"] == [1, 28, 28] and len(frame["indices"]) == 8
    originals, inputs = _bytes(frame["originals"]), _bytes(frame["inputs"])
    outputs = _bytes(frame["outputs"])
    assert originals.size == inputs.size == outputs.size == 8 * 784
    assert np.array_equal(originals, inputs)  # no noise asked for
    test = mnist.test.images[frame["indices"]].numpy().reshape(-1)
    assert np.abs(originals.astype(int) - test.astype(int)).max() <= 1
    error = np.mean((outputs / 255.0 - originals / 255.0) ** 2)
    assert error < 0.08  # rebuilt, roughly

    codes = sink.of("codes")
    assert [event["epoch"] for event in codes] == [1, 2]  # one scatter per epoch, stored
    scatter = codes[-1]
    assert (scatter["method"], scatter["code_size"], scatter["count"]) == ("code", 2, 1000)
    labels = _bytes(scatter["labels"])
    assert np.array_equal(labels, mnist.test.labels[:1000].numpy())
    xy = np.frombuffer(base64.b64decode(scatter["xy"]), "<i2").reshape(-1, 2) * scatter["scale"]
    # digits of one class sit nearer each other than digits of two classes (a learnt code)
    centres = np.stack([xy[labels == digit].mean(axis=0) for digit in range(10)])
    within = np.mean([np.linalg.norm(xy[labels == d] - centres[d], axis=1).mean() for d in (0, 1)])
    assert np.linalg.norm(centres[0] - centres[1]) > within


def test_a_denoiser_sees_noise_and_rebuilds_the_clean_digit(mnist: Mnist) -> None:
    config = {"task": {"name": "autoencode", "noise": 0.4}, **SMALL, "epochs": 3}
    config["train_subset"] = 8000
    result, sink = _train(mnist, CODE_16, config)
    assert result.status == "completed"
    frame = sink.of("reconstructions")[-1]
    originals, inputs = _bytes(frame["originals"]) / 255.0, _bytes(frame["inputs"]) / 255.0
    outputs = _bytes(frame["outputs"]) / 255.0
    assert np.mean((inputs - originals) ** 2) > 0.05  # the model saw noisy digits …
    assert np.mean((outputs - originals) ** 2) < np.mean((inputs - originals) ** 2)  # … cleaner
    scatter = sink.of("codes")[-1]
    assert (scatter["method"], scatter["code_size"]) == ("pca", 16)
    basis = np.array(scatter["basis"])
    assert basis.shape == (2, 16) and len(scatter["mean"]) == 16
    assert np.allclose(basis @ basis.T, np.eye(2), atol=1e-3)  # orthonormal components
    assert 0.0 < scatter["explained"] <= 1.0


def test_the_code_is_the_narrowest_layer_and_splits_the_model() -> None:
    summary = summarize(build_model(DENSE_2D).spec)
    assert code_layer(summary) == 3  # linear 2
    summary16 = summarize(build_model(CODE_16).spec)
    assert code_layer(summary16) == 4  # linear 16 → tanh: the tanh's output
    built = build_model(CODE_16, seed=0)
    encoder, decoder = split_model(built.module, built.summary)
    digits = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert encoder(digits).shape == (3, 16)
        assert torch.equal(decoder(encoder(digits)), built.module(digits))


@pytest.mark.parametrize(
    ("spec", "config", "field", "words"),
    [
        (
            {**DENSE_2D, "layers": DENSE_2D["layers"][:-3]},
            {"task": "autoencode"},
            "layers",
            "must output 1×28×28, it outputs 64",
        ),
        (DENSE_2D, {"task": "autoencode", "normalize": True}, "normalize", "0..1"),
        (DENSE_2D, {"task": "autoencode", "loss": "cross_entropy"}, "loss", "mse or bce"),
        (
            {**DENSE_2D, "layers": [*DENSE_2D["layers"][:-2], DENSE_2D["layers"][-1]]},
            {"task": "autoencode", "loss": "bce"},
            "loss",
            "end the model with sigmoid",
        ),
    ],
)
def test_a_model_that_cannot_autoencode_is_refused_with_the_field(
    mnist: Mnist, spec: dict[str, Any], config: dict[str, Any], field: str, words: str
) -> None:
    built = build_model(spec)
    dataset = mnist.to_dataset()
    fitted = fit_config(parse_config(config), dataset)
    with pytest.raises(ConfigError) as caught:
        check_trainable(built.spec, built.summary, fitted, dataset)
    assert any(where == field and words in message for where, message in caught.value.issues), (
        caught.value.issues
    )


@pytest.mark.parametrize(
    ("task", "words"),
    [
        ("denoise", "task: unknown task 'denoise'; known: classify, autoencode"),
        ({"name": "autoencode", "noise": 2}, "task.noise"),
        ({"name": "classify", "noise": 0.1}, "parameters are for autoencode"),
    ],
)
def test_bad_tasks_name_the_field(task: object, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        parse_config({"task": task})


def test_autoencode_needs_images() -> None:
    spec = {"input_shape": [2], "layers": [{"type": "linear", "out_features": 2}]}
    built = build_model(spec)
    from app.data.registry import DatasetPlaces, Datasets  # noqa: PLC0415

    dataset = Datasets(DatasetPlaces(Path("."))).load("spiral")
    fitted = fit_config(parse_config({"task": "autoencode", "dataset": "spiral"}), dataset)
    with pytest.raises(ConfigError, match="holds numbers, not images"):
        check_trainable(built.spec, built.summary, fitted, dataset)


AUTOENCODERS = ["autoencoder", "conv-autoencoder", "denoising-autoencoder"]


@pytest.mark.parametrize("preset", AUTOENCODERS)
def test_every_autoencoder_preset_trains_three_batches_with_its_config(
    mnist: Mnist, preset: str
) -> None:
    config = {**preset_config(preset), "max_steps": 3, "train_subset": 384, "eval_limit": 200}
    spec = load_preset(preset).model_dump(mode="json", exclude_unset=True)
    result, sink = _train(mnist, spec, config)
    assert result.status == "completed" and result.steps == 3
    assert result.test_loss is not None and 0.0 < result.test_loss < 0.5
    assert sink.of("reconstructions") and sink.of("codes")
    code_size = sink.of("codes")[-1]["code_size"]
    assert code_size == (2 if preset == "autoencoder" else 32)
    assert [event["seq"] for event in sink.events] == list(range(len(sink.events)))
    assert sink.events[-1]["type"] == "done"
