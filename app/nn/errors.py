"""Errors raised for specs that cannot become a model, each naming the layer and the field."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    """One thing wrong with a spec: where (layer path, type, field) and what to do about it."""

    message: str
    layer: str | None = None  # "3", or "5.1" for the second layer inside residual block 5
    layer_type: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.layer is not None:
            where.append(
                f"layer {self.layer}" + (f" ({self.layer_type})" if self.layer_type else "")
            )
        if self.field:
            where.append(f"field '{self.field}'")
        return (", ".join(where) + ": " if where else "") + self.message

    def to_dict(self) -> dict[str, str | None]:
        """The JSON form the API and the CLI print."""
        return {
            "layer": self.layer,
            "type": self.layer_type,
            "field": self.field,
            "message": self.message,
            "text": str(self),
        }


class SpecError(ValueError):
    """A spec was rejected before any tensor was made; `issues` lists every error found."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


class LayerError(Exception):
    """Raised inside shape inference; the builder adds the layer's index and type."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)
