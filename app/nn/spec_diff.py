"""The difference between two model specs: layers added, removed and changed, matched by their
place in the structure (residual blocks are compared layer by layer inside), with parameter and
multiply-accumulate deltas from the summaries. Pure functions of two specs."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from app.nn.builder import summarize
from app.nn.limits import DEFAULT_LIMITS, SpecLimits
from app.nn.parsing import parse_spec
from app.nn.summary import LayerSummary, depth_first

Change = Literal["added", "removed", "changed", "same"]


@dataclass(frozen=True)
class LayerDiff:
    """One layer of either spec: how it changed, where it sits in each, and its counts."""

    change: Change
    type: str  # the type in b (in a if it was removed)
    path_a: str | None
    path_b: str | None
    params: tuple[int, int]  # in a, in b (0 where the layer is not there)
    macs: tuple[int, int]
    fields: dict[str, tuple[Any, Any]]  # arguments that differ: name → (a, b)
    shapes: tuple[list[int] | None, list[int] | None]  # output shapes in a and b
    children: tuple[LayerDiff, ...] = ()  # a residual block's layers

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {"change", "type", "path_a", "path_b", "params", "params_delta", ...}."""
        row: dict[str, Any] = {
            "change": self.change,
            "type": self.type,
            "path_a": self.path_a,
            "path_b": self.path_b,
            "params": list(self.params),
            "params_delta": self.params[1] - self.params[0],
            "macs": list(self.macs),
            "macs_delta": self.macs[1] - self.macs[0],
            "output_shape": list(self.shapes),
            "fields": {name: list(pair) for name, pair in self.fields.items()},
        }
        if self.children:
            row["layers"] = [child.to_dict() for child in self.children]
        return row


@dataclass(frozen=True)
class SpecDiff:
    """Two specs compared: their layers side by side and the totals."""

    layers: tuple[LayerDiff, ...]
    params: tuple[int, int]
    macs: tuple[int, int]
    fields: dict[str, tuple[Any, Any]]  # model-level: input_shape, weight_init

    def walk(self) -> list[LayerDiff]:
        """Every layer diff, a residual block's right after it."""
        return depth_first(self.layers, lambda row: row.children)

    def counts(self) -> dict[str, int]:
        """How many layers were added, removed and changed (inner layers count too)."""
        rows = self.walk()
        return {
            kind: sum(r.change == kind for r in rows) for kind in ("added", "removed", "changed")
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the API."""
        return {
            "layers": [layer.to_dict() for layer in self.layers],
            "params": list(self.params),
            "params_delta": self.params[1] - self.params[0],
            "macs": list(self.macs),
            "macs_delta": self.macs[1] - self.macs[0],
            "fields": {name: list(pair) for name, pair in self.fields.items()},
            "counts": self.counts(),
        }


def diff_specs(a: object, b: object, limits: SpecLimits = DEFAULT_LIMITS) -> SpecDiff:
    """Compare spec `a` with spec `b` (dicts, JSON or ModelSpecs); SpecError if one is bad."""
    spec_a, spec_b = parse_spec(a, limits), parse_spec(b, limits)
    summary_a, summary_b = summarize(spec_a, limits), summarize(spec_b, limits)
    layers = _diff_block(spec_a.layers, summary_a.layers, spec_b.layers, summary_b.layers)
    model_fields = _fields(spec_a, spec_b, exclude=frozenset({"layers"}))
    return SpecDiff(
        layers,
        (summary_a.total_params, summary_b.total_params),
        (summary_a.total_macs, summary_b.total_macs),
        model_fields,
    )


_NOT_ARGUMENTS = frozenset({"type", "layers"})


def _key(layer: BaseModel) -> str:
    return str(getattr(layer, "type", ""))


def _inner(layer: BaseModel) -> list[BaseModel]:
    """A residual block's layers ([] for any other layer)."""
    return list(getattr(layer, "layers", None) or [])


def _fields(
    a: BaseModel, b: BaseModel, exclude: frozenset[str] = _NOT_ARGUMENTS
) -> dict[str, tuple[Any, Any]]:
    """The arguments that differ, defaults filled in (so `3` and a missing default agree)."""
    values_a = a.model_dump(mode="json", exclude=set(exclude))
    values_b = b.model_dump(mode="json", exclude=set(exclude))
    names = list(dict.fromkeys([*values_a, *values_b]))
    return {
        name: (values_a.get(name), values_b.get(name))
        for name in names
        if values_a.get(name) != values_b.get(name)
    }


def _diff_block(
    layers_a: Sequence[BaseModel],
    rows_a: Sequence[LayerSummary],
    layers_b: Sequence[BaseModel],
    rows_b: Sequence[LayerSummary],
) -> tuple[LayerDiff, ...]:
    """Align two blocks by layer type (longest matching runs first) and compare the pairs."""
    matcher = difflib.SequenceMatcher(
        None, [_key(layer) for layer in layers_a], [_key(layer) for layer in layers_b], False
    )
    diffs: list[LayerDiff] = []
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if operation == "equal":
            diffs += [
                _pair(layers_a[i], rows_a[i], layers_b[j], rows_b[j])
                for i, j in zip(range(a_start, a_end), range(b_start, b_end), strict=True)
            ]
            continue
        diffs += [_one_side("removed", layers_a[i], rows_a[i]) for i in range(a_start, a_end)]
        diffs += [_one_side("added", layers_b[j], rows_b[j]) for j in range(b_start, b_end)]
    return tuple(diffs)


def _pair(
    layer_a: BaseModel, row_a: LayerSummary, layer_b: BaseModel, row_b: LayerSummary
) -> LayerDiff:
    """The same type at matching places: changed if an argument, a count or a shape differs."""
    children: tuple[LayerDiff, ...] = ()
    if row_a.children or row_b.children:
        children = _diff_block(_inner(layer_a), row_a.children, _inner(layer_b), row_b.children)
    fields = _fields(layer_a, layer_b)
    differs = (
        fields
        or (row_a.params, row_a.macs, row_a.output_shape)
        != (row_b.params, row_b.macs, row_b.output_shape)
        or any(child.change != "same" for child in children)
    )
    return LayerDiff(
        "changed" if differs else "same",
        row_b.type,
        row_a.path,
        row_b.path,
        (row_a.params, row_b.params),
        (row_a.macs, row_b.macs),
        fields,
        (list(row_a.output_shape), list(row_b.output_shape)),
        children,
    )


def _one_side(change: Change, layer: BaseModel, row: LayerSummary) -> LayerDiff:
    """A layer only one spec has; a block's inner layers are listed as added or removed too."""
    inner = _inner(layer)
    children = tuple(
        _one_side(change, child, r) for child, r in zip(inner, row.children, strict=True)
    )
    there = (0, row.params) if change == "added" else (row.params, 0)
    macs = (0, row.macs) if change == "added" else (row.macs, 0)
    shape = list(row.output_shape)
    return LayerDiff(
        change,
        row.type,
        row.path if change == "removed" else None,
        row.path if change == "added" else None,
        there,
        macs,
        {},
        (None, shape) if change == "added" else (shape, None),
        children,
    )
