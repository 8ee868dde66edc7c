"""Predict a digit with a run's latest published weights, while it trains or after it ended.

The run's model comes from `RunModels` (built once, newer weights loaded in place); the
prediction reads that copy, never the module being trained.
"""

import base64
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from app.data import mean_std
from app.inference.run_models import CACHED_MODELS, RunModel, RunModels
from app.training import RunManager, WeightSnapshot
from app.training.optim import probabilities
from app.training.probe import layer_maps

DRAWING_SIDE = 28  # feature maps of a drawing travel at up to full MNIST resolution


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


def _model_input(model: RunModel, digits: torch.Tensor) -> torch.Tensor:
    """Digits (B, 28, 28) in 0..1 → what the model takes (B, *input_shape), as in training."""
    inputs = digits.reshape(len(digits), *model.summary.input_shape)
    if bool(model.config.get("normalize", True)):
        mean, std = mean_std()
        inputs = (inputs - mean) / std
    return inputs


def _loss(model: RunModel) -> str:
    return str(model.config.get("loss", "cross_entropy"))


class Predictor:
    """Answers predictions for any run; safe to call from many threads at once."""

    def __init__(self, manager: RunManager, models: RunModels | None = None) -> None:
        self._manager = manager
        self.models = models or RunModels(manager)
        # Outputs (N, 10) on every validation digit, per run, for the weights they came from.
        self._validation: OrderedDict[str, tuple[WeightSnapshot, torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()

    def predict(
        self, run_id: str, digit: npt.NDArray[np.float32], activations: bool = False
    ) -> Prediction:
        """Classify a prepared 28×28 digit (white ink = 1 on black = 0)."""
        model = self.models.get(run_id)
        pixels = torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32))  # (28, 28)
        inputs = _model_input(model, pixels.unsqueeze(0))  # (1, *input_shape)
        outputs: dict[str, torch.Tensor] = {}
        with model.lock, torch.inference_mode():
            step = model.snapshot.step
            handles = (
                [conv.register_forward_hook(_keep(outputs, path)) for path, conv in model.convs]
                if activations
                else []
            )
            try:
                logits = model.module(inputs)  # (1, 10)
            finally:
                for handle in handles:
                    handle.remove()
        probs = [round(p, 6) for p in probabilities(logits, _loss(model))[0].tolist()]
        maps = None
        if activations:
            maps = [
                layer_maps(path, outputs[path][0], DRAWING_SIDE).to_dict()
                for path, _ in model.convs
            ]
        return Prediction(
            prediction=int(np.argmax(probs)),
            probabilities=probs,
            input=np.round(digit, 4).tolist(),
            step=step,
            activations=maps,
        )

    def validation_examples(
        self, run_id: str, label: int, prediction: int, limit: int = 24
    ) -> dict[str, Any]:
        """Validation digits of `label` that the run's latest weights read as `prediction`.

        Answers {"step", "count", "examples": [{"index", "label", "prediction",
        "probabilities", "image"}]}, most confident first; images are 28×28 uint8, base64.
        """
        model = self.models.get(run_id)
        step, outputs = self._validation_outputs(model)  # (N, 10)
        labels = self._manager.mnist().validation.labels  # (N,)
        predicted = outputs.argmax(dim=1)
        chosen = torch.nonzero((labels == label) & (predicted == prediction)).flatten()
        confidence = outputs[chosen, prediction]
        order = chosen[confidence.argsort(descending=True)][:limit]
        images = self._manager.mnist().validation.images
        return {
            "step": step,
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

    def _validation_outputs(self, model: RunModel) -> tuple[int, torch.Tensor]:
        """(step, class probabilities (N, 10) of every validation digit), cached per weights."""
        with self._lock:
            cached = self._validation.get(model.run_id)
        if cached is not None and cached[0] is model.snapshot:
            return cached[0].step, cached[1]
        images = self._manager.mnist().validation.images  # (N, 28, 28) uint8
        results = []
        with model.lock, torch.inference_mode():
            snapshot = model.snapshot
            for start in range(0, len(images), 1000):
                batch = images[start : start + 1000].float().div(255.0)  # (B, 28, 28)
                inputs = _model_input(model, batch)  # (B, *input_shape)
                results.append(probabilities(model.module(inputs), _loss(model)))
        outputs = torch.cat(results)
        with self._lock:
            self._validation[model.run_id] = (snapshot, outputs)
            self._validation.move_to_end(model.run_id)
            while len(self._validation) > CACHED_MODELS:
                self._validation.popitem(last=False)
        return snapshot.step, outputs

    def forget(self, run_id: str) -> None:
        """Drop what is cached of a run (after the run is deleted)."""
        self.models.forget(run_id)
        with self._lock:
            self._validation.pop(run_id, None)


def _keep(
    outputs: dict[str, torch.Tensor], path: str
) -> Any:  # a forward hook storing the layer's output under its spec path
    def hook(_: nn.Module, __: object, output: torch.Tensor) -> None:
        outputs[path] = output

    return hook
