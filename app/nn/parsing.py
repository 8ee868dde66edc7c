"""Raw JSON → ModelSpec; every pydantic error is rewritten to name the layer, its type and field."""

import difflib
import json
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from app.nn.errors import SpecError, SpecIssue
from app.nn.limits import SpecLimits
from app.nn.specs import ModelSpec, layer_classes


def parse_spec(raw: object, limits: SpecLimits) -> ModelSpec:
    """Validate a spec given as a dict, JSON text or bytes; raise SpecError naming each problem."""
    if isinstance(raw, ModelSpec):
        return raw
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise SpecError([SpecIssue(f"the spec is not valid JSON: {error}")]) from None
    if not isinstance(raw, dict):
        raise SpecError(
            [SpecIssue('a spec is a JSON object: {"input_shape": [...], "layers": [...]}')]
        )
    _check_nesting(raw, limits)
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as error:
        raise SpecError(_issues(error, raw)) from None


def _check_nesting(raw: dict[str, Any], limits: SpecLimits) -> None:
    """Refuse residual blocks nested past the limit before pydantic recurses into them."""
    pending: list[tuple[object, str, int]] = [(raw.get("layers"), "", 0)]
    while pending:
        layers, prefix, depth = pending.pop()
        if not isinstance(layers, list):
            continue
        for index, layer in enumerate(layers):
            if isinstance(layer, dict) and "layers" in layer:
                path = f"{prefix}{index}"
                if depth + 1 > limits.max_nesting:
                    raise SpecError(
                        [
                            SpecIssue(
                                f"residual blocks are nested more than {limits.max_nesting} "
                                "deep; flatten the structure",
                                path,
                                str(layer.get("type")),
                                "layers",
                            )
                        ]
                    )
                pending.append((layer["layers"], f"{path}.", depth + 1))


def _issues(error: ValidationError, raw: dict[str, Any]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    seen: set[tuple[str | None, str | None]] = set()
    for detail in error.errors():
        issue = _issue(detail, raw)
        if (issue.layer, issue.field) not in seen:  # one message per field is enough
            seen.add((issue.layer, issue.field))
            issues.append(issue)
    return issues


def _issue(detail: ErrorDetails, raw: dict[str, Any]) -> SpecIssue:
    loc = list(detail["loc"])
    path: list[str] = []
    layer_type: str | None = None
    node: Any = raw
    # loc looks like ('layers', 3, 'conv2d', 'kernel_size') or, nested,
    # ('layers', 5, 'residual', 'layers', 1, 'linear', 'out_features').
    while len(loc) >= 2 and loc[0] == "layers" and isinstance(loc[1], int):
        index = loc[1]
        node = node["layers"][index] if _has_index(node, index) else None
        path.append(str(index))
        layer_type = node.get("type") if isinstance(node, dict) else None
        loc = loc[3:] if len(loc) > 2 and loc[2] == layer_type else loc[2:]
    layer = ".".join(path) or None
    field = ".".join(str(part) for part in loc) or None
    return SpecIssue(_message(detail, node, layer_type), layer, layer_type, field)


def _has_index(node: Any, index: int) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("layers"), list)
        and index < len(node["layers"])
    )


def _message(detail: ErrorDetails, node: Any, layer_type: str | None) -> str:
    kind = detail["type"]
    known = list(layer_classes())
    if kind == "union_tag_invalid":
        tag = str(detail.get("ctx", {}).get("tag"))
        return f"unknown layer type '{tag}'{_did_you_mean(tag, known)}; known types: " + ", ".join(
            known
        )
    if kind == "union_tag_not_found":
        return "each layer needs a 'type', one of: " + ", ".join(known)
    if not isinstance(node, dict):
        return 'each layer is a JSON object with a type, like {"type": "relu"}'
    field = str(detail["loc"][-1])
    bound = _BOUNDS.get(kind)
    if bound:
        symbol, key = bound
        return f"must be {symbol} {detail.get('ctx', {}).get(key)}, got {detail['input']!r}"
    if kind == "too_short" and field == "layers":
        return "needs at least one layer"
    if kind == "missing":
        return f"missing required field '{field}'"
    if kind == "extra_forbidden":
        fields = _fields_of(layer_type)
        return f"unknown field '{field}'{_did_you_mean(field, fields)}" + (
            f"; {layer_type} takes: {', '.join(fields)}" if fields else ""
        )
    return str(detail["msg"]).removeprefix("Value error, ")


_BOUNDS = {
    "greater_than_equal": ("≥", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("≤", "le"),
    "less_than": ("<", "lt"),
}


def _fields_of(layer_type: str | None) -> list[str]:
    spec_class: type[BaseModel] | None = layer_classes().get(layer_type or "")
    if spec_class is None:
        return list(ModelSpec.model_fields) if layer_type is None else []
    return [name for name in spec_class.model_fields if name != "type"]


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
