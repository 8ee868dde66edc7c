"""Export a run's trained model as safetensors, TorchScript or ONNX bytes."""

import io
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import torch
from torch import nn

ExportFormat = Literal["safetensors", "torchscript", "onnx"]

MEDIA_TYPES: dict[ExportFormat, str] = {
    "safetensors": "application/octet-stream",
    "torchscript": "application/octet-stream",
    "onnx": "application/octet-stream",
}
SUFFIXES: dict[ExportFormat, str] = {
    "safetensors": ".safetensors",
    "torchscript": ".pt",
    "onnx": ".onnx",
}


def export_model(
    module: nn.Sequential,
    input_shape: tuple[int, ...],
    export_format: ExportFormat,
    metadata: dict[str, Any],
) -> bytes:
    """The model in `export_format`; inputs are (batch, *input_shape) float32, outputs (batch, 10).

    `metadata` (spec, config, step) travels inside the safetensors header and the ONNX model.
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
        return _onnx(module, example, metadata)


def _torchscript(module: nn.Sequential, example: torch.Tensor) -> bytes:
    traced = torch.jit.trace(module, example)  # type: ignore[no-untyped-call]
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _onnx(module: nn.Sequential, example: torch.Tensor, metadata: dict[str, Any]) -> bytes:
    program = torch.onnx.export(
        module,
        (example,),
        dynamo=True,
        input_names=["digits"],
        output_names=["scores"],
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
