"""Spec → summary (pure shape arithmetic) → nn.Module; every limit is checked before any tensor."""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from pydantic import BaseModel
from torch import nn

from app.nn.errors import LayerError, SpecError, SpecIssue
from app.nn.init import initialise
from app.nn.layers import LAYER_KINDS, InferContext
from app.nn.limits import DEFAULT_LIMITS, SpecLimits
from app.nn.modules import Residual
from app.nn.parsing import parse_spec
from app.nn.shapes import Shape
from app.nn.specs import ModelSpec, WeightInit
from app.nn.summary import LayerSummary, ModelSummary


@dataclass(frozen=True)
class BuiltModel:
    """A ready nn.Module (input (B, *input_shape) → output (B, *output_shape)) and its summary."""

    spec: ModelSpec
    module: nn.Sequential
    summary: ModelSummary


def summarize(spec: object, limits: SpecLimits = DEFAULT_LIMITS) -> ModelSummary:
    """Check a spec against every rule and limit and return its summary; raise SpecError if bad."""
    model = parse_spec(spec, limits)
    shape = tuple(model.input_shape)
    _, rows = _infer_block(model.layers, shape, "", limits)
    summary = ModelSummary(shape, rows)
    _check_totals(summary, limits)
    return summary


def build_model(
    spec: object, limits: SpecLimits = DEFAULT_LIMITS, seed: int | None = None
) -> BuiltModel:
    """Validate `spec` (dict, JSON or ModelSpec), then build its module on the CPU."""
    model = parse_spec(spec, limits)
    summary = summarize(model, limits)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        module, _ = _build_block(model.layers, summary.layers, model.weight_init, generator)
    return BuiltModel(model, module, summary)


def _infer_block(
    layers: Sequence[BaseModel], shape: Shape, prefix: str, limits: SpecLimits
) -> tuple[Shape, tuple[LayerSummary, ...]]:
    rows: list[LayerSummary] = []

    def infer_nested(
        inner: Sequence[BaseModel], inner_shape: Shape, path: str
    ) -> tuple[Shape, tuple[LayerSummary, ...]]:
        return _infer_block(inner, inner_shape, f"{path}.", limits)

    for index, layer in enumerate(layers):
        layer_type: str = getattr(layer, "type")  # noqa: B009 (every spec class has one)
        path = f"{prefix}{index}"
        kind = LAYER_KINDS[layer_type]
        try:
            inferred = kind.infer(layer, shape, InferContext(limits, path, infer_nested))
        except LayerError as error:
            raise SpecError([SpecIssue(str(error), path, layer_type, error.field)]) from None
        rows.append(
            LayerSummary(
                index,
                path,
                layer_type,
                shape,
                inferred.shape,
                inferred.params,
                inferred.macs,
                inferred.formula,
                inferred.children,
            )
        )
        shape = inferred.shape
    return shape, tuple(rows)


def _check_totals(summary: ModelSummary, limits: SpecLimits) -> None:
    rows = summary.walk()
    if len(rows) > limits.max_layers:
        raise SpecError(
            [
                SpecIssue(
                    f"the model has {len(rows)} layers (counting those inside residual blocks), "
                    f"more than the limit of {limits.max_layers}; remove some",
                    field="layers",
                )
            ]
        )
    if summary.total_params > limits.max_params:
        largest = max(summary.layers, key=lambda row: row.params)
        raise SpecError(
            [
                SpecIssue(
                    f"the model has {summary.total_params:,} parameters, more than the limit of "
                    f"{limits.max_params:,}; layer {largest.path} ({largest.type}) alone has "
                    f"{largest.params:,}: use fewer features or channels, or pool before it",
                    largest.path,
                    largest.type,
                )
            ]
        )


def _build_block(
    layers: Sequence[BaseModel],
    rows: Sequence[LayerSummary],
    model_init: WeightInit | None,
    generator: torch.Generator | None,
) -> tuple[nn.Sequential, Shape]:
    """Build the layers whose shapes `rows` already hold; returns the block and its output shape."""
    modules: list[nn.Module] = []
    for layer, row in zip(layers, rows, strict=True):

        def build_nested(
            inner: Sequence[BaseModel], _: Shape, row: LayerSummary = row
        ) -> tuple[nn.Sequential, Shape]:
            return _build_block(inner, row.children, model_init, generator)

        kind = LAYER_KINDS[row.type]
        module = kind.build(layer, row.input_shape, build_nested)
        own_init: WeightInit | None = getattr(layer, "weight_init", None)
        if kind.has_weights and (own_init or model_init):
            initialise(module, own_init or model_init, generator)  # type: ignore[arg-type]
        elif isinstance(module, Residual) and model_init:
            initialise(module.projection, model_init, generator)
        modules.append(module)
    return nn.Sequential(*modules), rows[-1].output_shape
