"""Export a run's trained model, or a part of it that works alone (an autoencoder's decoder), as
safetensors, TorchScript or ONNX bytes (or as Python source: app.inference.python_export)."""

import io
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import torch
from torch import nn

from app.nn import ModelSummary
from app.training import parse_config
from app.training.outputs import ModelPart
from app.training.tasks import task_of

BinaryFormat = Literal["safetensors", "torchscript", "onnx"]
ExportFormat = BinaryFormat | Literal["python"]

MEDIA_TYPES: dict[ExportFormat, str] = {
    "safetensors": "application/octet-stream",
    "torchscript": "application/octet-stream",
    "onnx": "application/octet-stream",
    "python": "text/x-python; charset=utf-8",
}
SUFFIXES: dict[ExportFormat, str] = {
    "safetensors": ".safetensors",
    "torchscript": ".pt",
    "onnx": ".onnx",
    "python": ".py",
}


WHOLE = "model"  # the part that names the whole model


class UnknownPartError(ValueError):
    """The run's model has no part of that name; the message lists those it has."""


def default_part(config: dict[str, Any]) -> str:
    """What a run's export gives unless a part is asked for: the whole model, or what its task
    names (a GAN's generator: the network people want to take away)."""
    return task_of(parse_config(config)).export_default


def model_part(
    module: nn.Sequential, summary: ModelSummary, config: dict[str, Any], part: str
) -> ModelPart:
    """The whole model (`WHOLE`) or one of the parts its run's task says work alone."""
    if part == WHOLE:
        return ModelPart(module, tuple(summary.input_shape), "digits", "scores")
    parts = task_of(parse_config(config)).parts(module, summary)
    if part not in parts:
        raise UnknownPartError(
            f"this run's model has no part '{part}'; it exports: {', '.join([WHOLE, *parts])}"
        )
    return parts[part]


def export_model(
    module: nn.Module,
    input_shape: tuple[int, ...],
    export_format: BinaryFormat,
    metadata: dict[str, Any],
    names: tuple[str, str] = ("digits", "scores"),
) -> bytes:
    """The model in `export_format`; inputs are (batch, *input_shape) float32.

    `metadata` (spec, config, step) travels inside the safetensors header and the ONNX model;
    `names` are the ONNX graph's input and output names.
    """
    module = module.eval()
    example = torch.zeros(2, *input_shape)  # (2, *input_shape): a batch of 1 would be fixed at 1
    if export_format == "safetensors":
        state = {name: tensor.detach().contiguous() for name, tensor in module.state_dict().items()}
        text = {key: json.dumps(value) for key, value in metadata.items()}
        return safetensors.torch.save(state, metadata=text)
    with warnings.catch_warnings():
        # PyTorch's exporters warn about their own internals (deprecations); not the user's concern.
        warnings.simplefilter("ignore")
        if export_format == "torchscript":
            return _torchscript(module, example)
        return _onnx(module, example, metadata, names)


def _torchscript(module: nn.Module, example: torch.Tensor) -> bytes:
    traced = torch.jit.trace(module, example)  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _onnx(
    module: nn.Module, example: torch.Tensor, metadata: dict[str, Any], names: tuple[str, str]
) -> bytes:
    program = torch.onnx.export(
        module,
        (example,),
        dynamo=True,
        input_names=[names[0]],
        output_names=[names[1]],
        dynamic_shapes=({0: torch.export.Dim("batch", max=65_536)},),
        verbose=False,
    )
    if program is None:
        raise RuntimeError("the ONNX exporter returned nothing")
    program.model.metadata_props.update({key: json.dumps(v) for key, v in metadata.items()})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        program.save(path)
        return path.read_bytes()
