"""Why a classifier said what it said: captum's attributions of one sample as heatmaps.

A heatmap lies in the sample's own frame: for a drawn digit the prepared 28×28 digit (the
"what the model saw" picture), for other image datasets their H×W. Saliency is |∂score/∂pixel|;
integrated gradients sum the gradients along the path from a black picture to the sample
(signed: red pushes towards the class, blue away); Grad-CAM weighs a conv layer's channels by
their mean gradient (positive evidence only), upsampled to the sample's frame. captum is
imported on first use (its import takes seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from app.data.registry import DatasetInfo
from app.inference.conv_paths import ExplainError, conv_layer
from app.inference.predictor import Predictor
from app.inference.run_models import RunModel
from app.inference.unitmath import Unit, conv_unit
from app.training import TrainConfig
from app.training.objectives import objective_for
from app.training.optim import probabilities
from app.training.task_params import task_name

MethodName = Literal["saliency", "integrated_gradients", "gradcam"]
IG_STEPS = 32  # points on the path from the black picture to the sample
PICTURE_READERS = ("classify", "autoencode")  # tasks whose model reads a picture


@dataclass(frozen=True)
class Attributing:
    """What one attribution needs: the model, its input (1, *input_shape) and the class."""

    module: nn.Module
    inputs: torch.Tensor  # (1, *input_shape), normalised as in training
    baseline: torch.Tensor  # the black picture, normalised the same way
    target: int
    layer: nn.Module | None  # Grad-CAM's conv layer
    frame: tuple[int, int]  # (H, W) of the sample


def _saliency(job: Attributing) -> torch.Tensor:
    from captum.attr import Saliency  # noqa: PLC0415 (slow import, on first use)

    grads: torch.Tensor = Saliency(job.module).attribute(job.inputs, target=job.target, abs=True)
    return grads  # (1, *input_shape)


def _integrated_gradients(job: Attributing) -> torch.Tensor:
    from captum.attr import IntegratedGradients  # noqa: PLC0415

    method = IntegratedGradients(job.module)
    summed: torch.Tensor = method.attribute(
        job.inputs, baselines=job.baseline, target=job.target, n_steps=IG_STEPS
    )
    return summed  # (1, *input_shape)


def _gradcam_at(job: Attributing, layer: nn.Module) -> torch.Tensor:
    """Grad-CAM at `layer` → (1, 1, h, w) at the layer's own resolution."""
    from captum.attr import LayerGradCam  # noqa: PLC0415

    cam: torch.Tensor = LayerGradCam(job.module, layer).attribute(
        job.inputs, target=job.target, relu_attributions=True
    )
    return cam.detach()


def _gradcam(job: Attributing) -> torch.Tensor:
    from captum.attr import LayerAttribution  # noqa: PLC0415

    assert job.layer is not None
    cam = _gradcam_at(job, job.layer)  # (1, 1, h, w)
    upsampled: torch.Tensor = LayerAttribution.interpolate(cam, job.frame, "bilinear")
    return upsampled  # (1, 1, H, W)


@dataclass(frozen=True)
class Method:
    """An attribution method: how it attributes, how its channels fold into one map."""

    attribute: Callable[[Attributing], torch.Tensor]  # → (1, …) in the input's or frame's shape
    fold: Literal["max", "sum"]  # over channels
    signed: bool  # whether negative values mean something (evidence against)
    needs_conv: bool = False


METHODS: dict[str, Method] = {
    "saliency": Method(_saliency, "max", signed=False),
    "integrated_gradients": Method(_integrated_gradients, "sum", signed=True),
    "gradcam": Method(_gradcam, "sum", signed=False, needs_conv=True),
}


@dataclass(frozen=True)
class LayerCam:
    """Grad-CAM at one conv layer: at its own resolution and upsampled to the sample's frame."""

    path: str
    cam: list[list[float]]  # (h, w), scaled to 0..1
    upsampled: list[list[float]]  # (H, W), scaled to 0..1
    peak: float  # the largest raw value (what became 1)


@dataclass(frozen=True)
class Explanation:
    """One heatmap with what it explains."""

    method: str
    target: int
    prediction: int
    probabilities: list[float]
    heatmap: list[list[float]]  # (H, W): -1..1 if signed, else 0..1 (raw value / peak)
    peak: float  # the largest |raw value|
    signed: bool
    step: int
    layer: str | None = None  # Grad-CAM's layer
    layers: list[LayerCam] = field(default_factory=list)  # Grad-CAM at every conv layer

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API answers with."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["layers"] = [vars(layer) for layer in self.layers]
        return data


def _scaled(values: npt.NDArray[np.float32]) -> tuple[list[list[float]], float]:
    """A map (H, W) divided by its largest |value| (all zeros stay zeros), and that value."""
    peak = float(np.abs(values).max()) if values.size else 0.0
    scaled = values / peak if peak > 0 else values
    return np.round(scaled, 4).tolist(), peak


def _fold(attribution: torch.Tensor, frame: tuple[int, int], fold: str) -> npt.NDArray[np.float32]:
    """Attributions (1, …) → one map (H, W): channels folded by max or sum."""
    maps = attribution.detach().reshape(-1, *frame)  # (C, H, W)
    folded = maps.amax(dim=0) if fold == "max" else maps.sum(dim=0)  # (H, W)
    heat: npt.NDArray[np.float32] = np.nan_to_num(folded.float().numpy())
    return heat


def refusal(config: TrainConfig, dataset: DatasetInfo) -> str | None:
    """Why a run's model cannot be explained (it is no classifier of pictures), or None."""
    task = task_name(config.task)
    if task != "classify":
        return (
            f"this is a '{task}' run: explain is for classifiers (a 'classify' run on "
            "pictures), which say a class that a heatmap can explain"
        )
    if not objective_for(config, dataset.kind).counts_hits:
        return (
            f"this run learns '{dataset.name}', a regression: explain is for classifiers, "
            "whose class a heatmap can explain"
        )
    if len(dataset.input_shape) != 3:
        size = int(np.prod(dataset.input_shape))
        return (
            f"this run learns '{dataset.name}', whose samples are {size} numbers, not "
            "pictures: explain draws heatmaps over pictures, for classifiers of pictures"
        )
    return None


def explain(
    model: RunModel,
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    frame: tuple[int, int],
    to_probabilities: Callable[[torch.Tensor], torch.Tensor],
    method: str,
    target: int | None = None,
    layer: str | None = None,
) -> Explanation:
    """Attribute the model's score for `target` (None: the predicted class) on `inputs`
    (1, *input_shape) by `method`; `to_probabilities` turns outputs (1, C) into probabilities."""
    chosen = METHODS.get(method)
    if chosen is None:
        raise ExplainError("method", f"'{method}' is no method; use one of {', '.join(METHODS)}")
    if layer is not None and not chosen.needs_conv:
        raise ExplainError("layer", f"only gradcam takes a layer, not {method}")
    path, conv = conv_layer(model, layer) if chosen.needs_conv else (None, None)
    with model.lock:
        step = model.snapshot.step
        with torch.no_grad():
            probs = to_probabilities(model.module(inputs))[0]  # (C,)
        classes = len(probs)
        if target is not None and not 0 <= target < classes:
            raise ExplainError(
                "target", f"target must be a class index 0..{classes - 1}, not {target}"
            )
        prediction = int(probs.argmax())
        job = Attributing(
            model.module,
            inputs.detach().clone().requires_grad_(True),  # captum warns unless it already does
            baseline,
            prediction if target is None else target,
            conv,
            frame,
        )
        with torch.enable_grad():
            heat = _fold(chosen.attribute(job), frame, chosen.fold)
            cams = _layer_cams(model, job) if chosen.needs_conv else []
    heatmap, peak = _scaled(heat)
    return Explanation(
        method=method,
        target=job.target,
        prediction=prediction,
        probabilities=[round(p, 6) for p in probs.tolist()],
        heatmap=heatmap,
        peak=peak,
        signed=chosen.signed,
        step=step,
        layer=path,
        layers=cams,
    )


def _layer_cams(model: RunModel, job: Attributing) -> list[LayerCam]:
    """Grad-CAM at every conv layer of the model, shallow to deep."""
    from captum.attr import LayerAttribution  # noqa: PLC0415

    cams = []
    for path, conv in model.convs:
        cam = _gradcam_at(job, conv)  # (1, 1, h, w)
        up = LayerAttribution.interpolate(cam, job.frame, "bilinear")  # (1, 1, H, W)
        own, peak = _scaled(np.nan_to_num(cam[0, 0].float().numpy()))
        upsampled, _ = _scaled(np.nan_to_num(up[0, 0].float().numpy()))
        cams.append(LayerCam(path, own, upsampled, peak))
    return cams


class Explainer:
    """Explains runs' predictions with the predictor's models and sample preparation."""

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor

    def explain(
        self,
        run_id: str,
        sample: npt.NDArray[np.float32],
        method: str,
        target: int | None = None,
        layer: str | None = None,
    ) -> Explanation:
        """A heatmap of why the run's newest weights give `target` (None: their answer) for a
        prepared sample; ExplainError for runs that are no classifiers of pictures."""
        model = self.classifier(run_id)
        inputs = self._predictor.model_input(model, sample)  # (1, *input_shape)
        baseline = self._predictor.model_input(model, np.zeros_like(sample))
        loss = str(model.config.get("loss", "cross_entropy"))
        frame = (int(sample.shape[-2]), int(sample.shape[-1]))
        return explain(
            model,
            inputs,
            baseline,
            frame,
            lambda outputs: probabilities(outputs, loss),
            method,
            target,
            layer,
        )

    def classifier(self, run_id: str) -> RunModel:
        """The run's model if it classifies pictures, else ExplainError saying why not."""
        model = self._predictor.models.get(run_id)
        reason = refusal(model.train_config, self._predictor.dataset(run_id))
        if reason is not None:
            raise ExplainError("run_id", reason)
        return model

    def model_input(self, model: RunModel, sample: npt.NDArray[np.float32]) -> torch.Tensor:
        """What the model takes for a prepared sample (1, *input_shape)."""
        return self._predictor.model_input(model, sample)

    def unit(
        self,
        run_id: str,
        sample: npt.NDArray[np.float32],
        layer: str,
        channel: int,
        y: int,
        x: int,
        shown: tuple[int, int] | None = None,
    ) -> Unit:
        """The arithmetic of one feature-map unit of the run's conv layer `layer` for a prepared
        sample (any run that reads pictures, not only classifiers)."""
        model = self._predictor.models.get(run_id)
        task = task_name(model.train_config.task)
        if task not in PICTURE_READERS or len(self._predictor.dataset(run_id).input_shape) != 3:
            raise ExplainError(
                "run_id", f"this '{task}' run does not read pictures: it has no feature maps of one"
            )
        inputs = self._predictor.model_input(model, sample)  # (1, *input_shape)
        return conv_unit(model, inputs, layer, channel, y, x, shown)
