"""The difference between two runs' training configs, defaults filled in, field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.training.config import ConfigError, TrainConfig, parse_config


def _complete(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every field with its value (defaults included). Fields this version does not know (an
    older or newer config's) are kept as stored; a config that still does not parse is
    compared as it was stored."""
    unknown = {name: value for name, value in raw.items() if name not in TrainConfig.model_fields}
    known = {name: value for name, value in raw.items() if name not in unknown}
    try:
        return parse_config(known).model_dump(mode="json") | unknown
    except ConfigError:
        return dict(raw)


def diff_configs(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{"field", "a", "b"}] for each field whose value differs, in the config's field order."""
    full_a, full_b = _complete(a), _complete(b)
    names = list(dict.fromkeys([*full_a, *full_b]))
    return [
        {"field": name, "a": full_a.get(name), "b": full_b.get(name)}
        for name in names
        if full_a.get(name) != full_b.get(name)
    ]
