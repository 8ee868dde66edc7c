"""The model summary: per layer its output shape, parameters and multiply-accumulates; totals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from app.nn.shapes import Shape, show

Row = TypeVar("Row")


def depth_first(roots: Sequence[Row], children: Callable[[Row], Sequence[Row]]) -> list[Row]:
    """Every row in order, each one's children (a residual block's layers) right after it."""
    rows: list[Row] = []
    pending = list(reversed(roots))
    while pending:
        row = pending.pop()
        rows.append(row)
        pending.extend(reversed(children(row)))
    return rows


@dataclass(frozen=True)
class LayerSummary:
    """One layer of the summary; a residual block lists its inner layers as children."""

    index: int
    path: str  # "3", or "5.1" inside residual block 5
    type: str
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    formula: str | None = None  # conv/pool output-size formula with the numbers filled in
    children: tuple[LayerSummary, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {"index", "path", "type", "output_shape", "params", "macs", ...}."""
        row: dict[str, Any] = {
            "index": self.index,
            "path": self.path,
            "type": self.type,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "macs": self.macs,
        }
        if self.formula:
            row["formula"] = self.formula
        if self.children:
            row["layers"] = [child.to_dict() for child in self.children]
        return row


@dataclass(frozen=True)
class ModelSummary:
    """The whole model: its layers and totals, computed without making a tensor."""

    input_shape: Shape
    layers: tuple[LayerSummary, ...]

    @property
    def output_shape(self) -> Shape:
        """What one sample comes out as."""
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def total_params(self) -> int:
        """Learnable parameters of the whole model."""
        return sum(layer.params for layer in self.layers)

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates for one sample's forward pass."""
        return sum(layer.macs for layer in self.layers)

    def walk(self) -> list[LayerSummary]:
        """Every row, inner layers of residual blocks right after their block."""
        return depth_first(self.layers, lambda row: row.children)

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the CLI's --json and the API."""
        return {
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "layers": [layer.to_dict() for layer in self.layers],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
        }

    def table(self) -> str:
        """A plain-text table, one row per layer, for the terminal."""
        header = ("layer", "type", "output shape", "params", "MACs")
        rows = [
            (
                row.path,
                "  " * row.path.count(".") + row.type,
                show(row.output_shape),
                f"{row.params:,}",
                f"{row.macs:,}",
            )
            for row in self.walk()
        ]
        rows.append(
            ("", "total", show(self.output_shape), f"{self.total_params:,}", f"{self.total_macs:,}")
        )
        rows.insert(0, ("", "input", show(self.input_shape), "", ""))
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        right = {3, 4}

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(cells)
            ).rstrip()

        rule = "  ".join("-" * width for width in widths)
        return "\n".join([line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])])
