"""Predict with a run's latest published weights, while it trains or after it ended.

A sample is what the run's dataset holds: a 28×28 digit for MNIST, a (C, H, W) image in 0..1
for other image datasets, or the feature values of a 2-D problem or a CSV; images are
standardised as the run's training data was. A classifier answers class probabilities, a
regression its value.

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
from app.data.dataset import ArraySplit
from app.data.registry import DEFAULT_DATASET, DatasetInfo, DatasetRef, dataset_key
from app.imaging import ImageError
from app.inference.generation import Generation, NotAGanError
from app.inference.run_models import CACHED_MODELS, RunModel, RunModels
from app.training import RunManager, WeightSnapshot
from app.training.data import pixel_mean_std
from app.training.objectives import RECONSTRUCTION, objective_for
from app.training.optim import probabilities
from app.training.probe import layer_maps
from app.training.reconstruction import code_layer, split_model
from app.training.rl.environments import ENVIRONMENTS
from app.training.task_params import dqn_params

DRAWING_SIDE = 28  # feature maps of a drawing travel at up to full MNIST resolution
CODE = "code"  # where an autoencoder's code is kept on the way through


class NotAnAutoencoderError(ValueError):
    """Decoding asked of a run that does not autoencode, or a code of the wrong size."""


class NotAQNetworkError(ValueError):
    """Action values asked of a run that is no dqn run, or a state of the wrong size."""


@dataclass(frozen=True)
class Prediction:
    """What the model makes of one sample: a class with probabilities, or (regression) a value."""

    prediction: int | None
    probabilities: list[float] | None
    input: list[Any]  # the sample in 0..1, as the model saw it (before normalisation)
    step: int  # the training step the weights come from
    activations: list[dict[str, Any]] | None = None
    classes: list[str] | None = None  # the dataset's class names (index = class)
    value: float | None = None  # a regression's output
    reconstruction: list[Any] | None = None  # an autoencoder's (C, H, W) in 0..1
    code: list[float] | None = None  # … and the code it made of the sample

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API answers with."""
        data: dict[str, Any] = {"input": self.input, "step": self.step}
        if self.reconstruction is not None:
            data |= {"reconstruction": self.reconstruction, "code": self.code}
        elif self.value is not None:
            data["value"] = self.value
        else:
            data |= {"prediction": self.prediction, "probabilities": self.probabilities}
        if self.activations is not None:
            data["activations"] = self.activations
        if self.classes is not None:
            data["classes"] = self.classes
        return data


def _model_input(
    model: RunModel, samples: torch.Tensor, scaling: tuple[float, float] | None
) -> torch.Tensor:
    """Samples (B, …) → what the model takes (B, *input_shape), as in training: images in 0..1
    standardised by `scaling` (mean, std) if the run normalised; None: taken as they are."""
    inputs = samples.reshape(len(samples), *model.summary.input_shape)
    if scaling is not None and bool(model.config.get("normalize", True)):
        mean, std = scaling
        inputs = (inputs - mean) / std
    return inputs


def _loss(model: RunModel) -> str:
    return str(model.config.get("loss", "cross_entropy"))


class Predictor:
    """Answers predictions for any run; safe to call from many threads at once."""

    def __init__(self, manager: RunManager, models: RunModels | None = None) -> None:
        self._manager = manager
        self.models = models or RunModels(manager)
        self.generation = Generation(self.models)  # a GAN's generator
        # Outputs (N, 10) on every validation digit, per run, for the weights they came from.
        self._validation: OrderedDict[str, tuple[WeightSnapshot, torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()
        self._scalings: dict[str, tuple[float, float]] = {}  # image datasets' (mean, std)

    def dataset(self, run_id: str) -> DatasetInfo:
        """What the run trains on (its samples' shape, its classes)."""
        return self._info(self.models.get(run_id).train_config.dataset)

    def _info(self, dataset: DatasetRef) -> DatasetInfo:
        return self._manager.datasets.info(dataset)

    def predict(
        self, run_id: str, sample: npt.NDArray[np.float32], activations: bool = False
    ) -> Prediction:
        """Classify a prepared sample: a 28×28 digit in 0..1 (white ink = 1 on black = 0) for
        MNIST, an image of the run's dataset's (C, H, W) in 0..1, or its feature values."""
        model = self.models.get(run_id)
        if self.generation.layout(model) is not None:
            raise ImageError(
                "this run is a GAN: its generator makes images (GET /api/runs/{id}/samples), "
                "it does not read them"
            )
        pixels = torch.from_numpy(np.ascontiguousarray(sample, dtype=np.float32))  # (28, 28)…
        config = model.train_config
        inputs = _model_input(model, pixels.unsqueeze(0), self._scaling(config.dataset))
        outputs: dict[str, torch.Tensor] = {}
        info = self._info(config.dataset)
        objective = objective_for(config, info.kind)
        rebuilds = objective is RECONSTRUCTION
        with model.lock, torch.inference_mode():
            step = model.snapshot.step
            hooked: list[tuple[str, nn.Module]] = list(model.convs) if activations else []
            if rebuilds:  # the code, on the way through
                hooked = [*hooked, (CODE, model.module[code_layer(model.summary)])]
            handles = [layer.register_forward_hook(_keep(outputs, path)) for path, layer in hooked]
            try:
                logits = model.module(inputs)  # (1, 10)
            finally:
                for handle in handles:
                    handle.remove()
        maps = None
        if activations:
            maps = [
                layer_maps(path, outputs[path][0], DRAWING_SIDE).to_dict()
                for path, _ in model.convs
            ]
        shown = np.round(sample, 4).tolist()
        if rebuilds:
            rebuilt = logits[0].clamp(0.0, 1.0).numpy().round(4).tolist()
            code = [round(value, 5) for value in outputs[CODE][0].flatten().tolist()]
            return Prediction(None, None, shown, step, maps, reconstruction=rebuilt, code=code)
        if not objective.counts_hits:  # a regression: its one output
            return Prediction(None, None, shown, step, maps, value=float(logits[0, 0]))
        probs = [round(p, 6) for p in probabilities(logits, _loss(model))[0].tolist()]
        return Prediction(
            prediction=int(np.argmax(probs)),
            probabilities=probs,
            input=shown,
            step=step,
            activations=maps,
            classes=list(info.classes),
        )

    def decode(self, run_id: str, code: list[float]) -> dict[str, Any]:
        """An autoencode run's decoder on `code` (as many numbers as its code has), or a gan
        run's generator on noise → {"reconstruction": (C, H, W) in 0..1, "step"};
        NotAnAutoencoderError otherwise."""
        model = self.models.get(run_id)
        if self.generation.layout(model) is not None:
            try:
                made = self.generation.generate(run_id, [code])
            except NotAGanError as error:
                raise NotAnAutoencoderError(str(error)) from None
            return {"reconstruction": made.images[0].round(4).tolist(), "step": made.step}
        config = model.train_config
        if objective_for(config, self.dataset(run_id).kind) is not RECONSTRUCTION:
            raise NotAnAutoencoderError(
                "this run does not autoencode: only an autoencode run has a decoder (and a gan "
                "run a generator)"
            )
        shape = model.summary.layers[code_layer(model.summary)].output_shape
        if len(code) != int(np.prod(shape)):
            raise NotAnAutoencoderError(
                f"this autoencoder's code has {int(np.prod(shape))} numbers, got {len(code)}"
            )
        codes = torch.tensor(code, dtype=torch.float32).reshape(1, *shape)  # (1, *code shape)
        with model.lock, torch.inference_mode():
            step = model.snapshot.step
            _, decoder = split_model(model.module, model.summary)
            rebuilt = decoder(codes)[0].clamp(0.0, 1.0)  # (C, H, W)
        return {"reconstruction": rebuilt.numpy().round(4).tolist(), "step": step}

    def q_values(self, run_id: str, state: list[float]) -> dict[str, Any]:
        """A dqn run's Q-network on one state of its environment (CartPole: cart position,
        cart velocity, pole angle, pole angular velocity) → {"q_values": one per action,
        "action": the greedy one, "actions": their names, "step"}; NotAQNetworkError for
        other runs or a state of the wrong size."""
        model = self.models.get(run_id)
        params = dqn_params(model.train_config.task)
        if params is None:
            raise NotAQNetworkError("this run is no dqn run: only a Q-network answers actions")
        env = ENVIRONMENTS[params.env]
        if len(state) != env.state_size:
            raise NotAQNetworkError(
                f"features: a {env.name} state is {env.state_size} numbers "
                f"({', '.join(env.state_names)}), got {len(state)}"
            )
        inputs = torch.tensor(state, dtype=torch.float32).reshape(1, env.state_size)  # (1, S)
        with model.lock, torch.inference_mode():
            step = model.snapshot.step
            values = model.module(inputs)[0]  # (A,)
        return {
            "q_values": [round(value, 6) for value in values.tolist()],
            "action": int(values.argmax()),
            "actions": list(env.action_names),
            "step": step,
        }

    def model_input(self, model: RunModel, sample: npt.NDArray[np.float32]) -> torch.Tensor:
        """A prepared sample → what the run's model takes (1, *input_shape), standardised as
        its training data was."""
        pixels = torch.from_numpy(np.ascontiguousarray(sample, dtype=np.float32))  # (28, 28)…
        scaling = self._scaling(model.train_config.dataset)
        return _model_input(model, pixels.unsqueeze(0), scaling)

    def _scaling(self, dataset: DatasetRef) -> tuple[float, float] | None:
        """(mean, std) the run's images were standardised with (MNIST's constants for MNIST);
        None for data that is not images."""
        if dataset == DEFAULT_DATASET:
            return mean_std()
        if len(self._info(dataset).input_shape) != 3:
            return None
        key = dataset_key(dataset)
        with self._lock:
            found = self._scalings.get(key)
        if found is None:
            found = pixel_mean_std(self._manager.datasets.load(dataset))
            with self._lock:
                self._scalings[key] = found
        return found

    def validation_examples(
        self, run_id: str, label: int, prediction: int, limit: int = 24
    ) -> dict[str, Any]:
        """Validation samples of `label` that the run's latest weights read as `prediction`.

        Answers {"step", "count", "examples": [{"index", "label", "prediction",
        "probabilities", "image"}]}, most confident first; images are 28×28 uint8, base64
        (None for datasets of other samples).
        """
        model = self.models.get(run_id)
        step, outputs = self._validation_outputs(model)  # (N, C)
        validation = self._validation_split(model)
        labels = validation.targets  # (N,)
        predicted = outputs.argmax(dim=1)
        chosen = torch.nonzero((labels == label) & (predicted == prediction)).flatten()
        confidence = outputs[chosen, prediction]
        order = chosen[confidence.argsort(descending=True)][:limit]
        pictures = validation.inputs if tuple(validation.inputs.shape[1:]) == (1, 28, 28) else None
        return {
            "step": step,
            "count": len(chosen),
            "examples": [
                {
                    "index": int(index),
                    "label": label,
                    "prediction": prediction,
                    "probabilities": [round(p, 5) for p in outputs[index].tolist()],
                    "image": None
                    if pictures is None
                    else base64.b64encode(pictures[index].numpy().tobytes()).decode(),
                }
                for index in order.tolist()
            ],
        }

    def _validation_outputs(self, model: RunModel) -> tuple[int, torch.Tensor]:
        """(step, class probabilities (N, C) of every validation sample), cached per weights."""
        with self._lock:
            cached = self._validation.get(model.run_id)
        if cached is not None and cached[0] is model.snapshot:
            return cached[0].step, cached[1]
        dataset = model.train_config.dataset
        samples = self._validation_split(model).inputs  # (N, …) uint8 images or features
        scaling = self._scaling(dataset)
        results = []
        with model.lock, torch.inference_mode():
            snapshot = model.snapshot
            for start in range(0, len(samples), 1000):
                batch = samples[start : start + 1000].float()  # (B, …)
                if samples.dtype == torch.uint8:
                    batch = batch.div(255.0)
                inputs = _model_input(model, batch, scaling)  # (B, *input_shape)
                results.append(probabilities(model.module(inputs), _loss(model)))
        outputs = torch.cat(results)
        with self._lock:
            self._validation[model.run_id] = (snapshot, outputs)
            self._validation.move_to_end(model.run_id)
            while len(self._validation) > CACHED_MODELS:
                self._validation.popitem(last=False)
        return snapshot.step, outputs

    def _validation_split(self, model: RunModel) -> ArraySplit:
        """The validation split of the run's dataset."""
        return self._manager.datasets.load(model.train_config.dataset).validation

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
