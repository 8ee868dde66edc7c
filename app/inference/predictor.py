"""Predict a digit with a run's latest published weights, while it trains or after it ended.

Each run's model is built once and reloaded only when the worker publishes new weights; the
prediction reads that snapshot, never the module being trained.
"""

import base64
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from app.data import mean_std
from app.nn import build_model
from app.store import NotFoundError
from app.training import RunManager, WeightSnapshot
from app.training.optim import probabilities
from app.training.probe import conv_layers, layer_maps

CACHED_MODELS = 8
DRAWING_SIDE = 28  # feature maps of a drawing travel at up to full MNIST resolution


class NoWeightsError(LookupError):
    """The run has not published any weights yet (still queued, or failed before step one)."""


@dataclass(frozen=True)
class Prediction:
    """What the model makes of one digit."""

    prediction: int
    probabilities: list[float]
    input: list[list[float]]  # 28×28 in 0..1, as the model saw it (before normalisation)
    step: int  # the training step the weights come from
    activations: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API answers with."""
        data: dict[str, Any] = {
            "prediction": self.prediction,
            "probabilities": self.probabilities,
            "input": self.input,
            "step": self.step,
        }
        if self.activations is not None:
            data["activations"] = self.activations
        return data


@dataclass
class _Loaded:
    snapshot: WeightSnapshot
    module: nn.Sequential
    convs: list[tuple[str, nn.Conv2d]]
    input_shape: tuple[int, ...]
    normalize: bool
    loss: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    validation: tuple[WeightSnapshot, torch.Tensor] | None = None  # outputs on every val digit

    def model_input(self, digits: torch.Tensor) -> torch.Tensor:
        """Digits (B, 28, 28) in 0..1 → what the model takes (B, *input_shape), as in training."""
        inputs = digits.reshape(len(digits), *self.input_shape)
        if self.normalize:
            mean, std = mean_std()
            inputs = (inputs - mean) / std
        return inputs


class Predictor:
    """Answers predictions for any run; safe to call from many threads at once."""

    def __init__(self, manager: RunManager) -> None:
        self._manager = manager
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def predict(
        self, run_id: str, digit: npt.NDArray[np.float32], activations: bool = False
    ) -> Prediction:
        """Classify a prepared 28×28 digit (white ink = 1 on black = 0)."""
        loaded = self._load(run_id)
        pixels = torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32))  # (28, 28)
        inputs = loaded.model_input(pixels.unsqueeze(0))  # (1, *input_shape)
        outputs: dict[str, torch.Tensor] = {}
        with loaded.lock, torch.inference_mode():
            handles = (
                [conv.register_forward_hook(_keep(outputs, path)) for path, conv in loaded.convs]
                if activations
                else []
            )
            try:
                logits = loaded.module(inputs)  # (1, 10)
            finally:
                for handle in handles:
                    handle.remove()
        probs = [round(p, 6) for p in probabilities(logits, loaded.loss)[0].tolist()]
        maps = None
        if activations:
            maps = [
                layer_maps(path, outputs[path][0], DRAWING_SIDE).to_dict()
                for path, _ in loaded.convs
            ]
        return Prediction(
            prediction=int(np.argmax(probs)),
            probabilities=probs,
            input=np.round(digit, 4).tolist(),
            step=loaded.snapshot.step,
            activations=maps,
        )

    def validation_examples(
        self, run_id: str, label: int, prediction: int, limit: int = 24
    ) -> dict[str, Any]:
        """Validation digits of `label` that the run's latest weights read as `prediction`.

        Answers {"step", "count", "examples": [{"index", "label", "prediction",
        "probabilities", "image"}]}, most confident first; images are 28×28 uint8, base64.
        """
        loaded = self._load(run_id)
        outputs = self._validation_outputs(loaded)  # (N, 10)
        labels = self._manager.mnist().validation.labels  # (N,)
        predicted = outputs.argmax(dim=1)
        chosen = torch.nonzero((labels == label) & (predicted == prediction)).flatten()
        confidence = outputs[chosen, prediction]
        order = chosen[confidence.argsort(descending=True)][:limit]
        images = self._manager.mnist().validation.images
        return {
            "step": loaded.snapshot.step,
            "count": len(chosen),
            "examples": [
                {
                    "index": int(index),
                    "label": label,
                    "prediction": prediction,
                    "probabilities": [round(p, 5) for p in outputs[index].tolist()],
                    "image": base64.b64encode(images[index].numpy().tobytes()).decode(),
                }
                for index in order.tolist()
            ],
        }

    def _validation_outputs(self, loaded: _Loaded) -> torch.Tensor:
        """Class probabilities (N, 10) of every validation digit, cached per weight snapshot."""
        if loaded.validation is not None and loaded.validation[0] is loaded.snapshot:
            return loaded.validation[1]
        images = self._manager.mnist().validation.images  # (N, 28, 28) uint8
        results = []
        with loaded.lock, torch.inference_mode():
            for start in range(0, len(images), 1000):
                batch = images[start : start + 1000].float().div(255.0)  # (B, 28, 28)
                inputs = loaded.model_input(batch)  # (B, *input_shape)
                results.append(probabilities(loaded.module(inputs), loaded.loss))
        outputs = torch.cat(results)
        loaded.validation = (loaded.snapshot, outputs)
        return outputs

    def forget(self, run_id: str) -> None:
        """Drop a run's cached model (after the run is deleted)."""
        with self._lock:
            self._loaded.pop(run_id, None)

    def _load(self, run_id: str) -> _Loaded:
        snapshot = self._manager.latest_weights(run_id)
        with self._lock:
            cached = self._loaded.get(run_id)
            if cached is not None and cached.snapshot is snapshot:
                self._loaded.move_to_end(run_id)
                return cached
        record = self._manager.store.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run with id '{run_id}'")
        if snapshot is None:
            raise NoWeightsError(
                f"run '{run_id}' has no weights yet (it is {record.status}); "
                "predictions work once it has trained its first steps"
            )
        model = self._manager.store.get_model(record.model_id)
        if model is None:
            raise NotFoundError(f"the model of run '{run_id}' was deleted")
        loaded = self._reuse_or_build(cached, snapshot, model.spec, record.config)
        with self._lock:
            self._loaded[run_id] = loaded
            self._loaded.move_to_end(run_id)
            while len(self._loaded) > CACHED_MODELS:
                self._loaded.popitem(last=False)
        return loaded

    def _reuse_or_build(
        self,
        cached: _Loaded | None,
        snapshot: WeightSnapshot,
        spec: dict[str, Any],
        config: dict[str, Any],
    ) -> _Loaded:
        if cached is not None:  # same run, newer weights: reload them into the built module
            with cached.lock:
                cached.module.load_state_dict(snapshot.state)
            cached.snapshot = snapshot
            return cached
        built = build_model(spec, self._manager.settings.spec_limits())
        built.module.load_state_dict(snapshot.state)
        built.module.eval()
        return _Loaded(
            snapshot=snapshot,
            module=built.module,
            convs=conv_layers(built.module, built.summary),
            input_shape=built.summary.input_shape,
            normalize=bool(config.get("normalize", True)),
            loss=str(config.get("loss", "cross_entropy")),
        )


def _keep(
    outputs: dict[str, torch.Tensor], path: str
) -> Any:  # a forward hook storing the layer's output under its spec path
    def hook(_: nn.Module, __: object, output: torch.Tensor) -> None:
        outputs[path] = output

    return hook
