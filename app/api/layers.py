"""The layer registry and the presets, for the builder (fixed: built once, served as is)."""

import json
from functools import cache
from typing import Any

from fastapi import APIRouter, HTTPException, Response

from app.nn import LAYER_KINDS, PRESET_NAMES, ModelSpec, load_preset, summarize
from app.nn.presets import preset_config, preset_description

router = APIRouter(prefix="/api", tags=["layers"])


@router.get("/layers", response_class=Response)
def read_layers() -> Response:
    """Every layer type: its category, description and JSON Schema; plus the whole spec's schema."""
    return Response(_layers_json(), media_type="application/json")


@cache
def _layers_json() -> bytes:
    return _json(
        {
            "layers": [
                {
                    "type": kind.name,
                    "category": kind.category,
                    "description": kind.description,
                    "schema": kind.spec_class.model_json_schema(),
                }
                for kind in LAYER_KINDS.values()
            ],
            "spec_schema": ModelSpec.model_json_schema(),
        }
    )


@router.get("/presets", response_class=Response)
def read_presets() -> Response:
    """The preset networks with their specs, summaries and default training configs."""
    return Response(_presets_json(), media_type="application/json")


@cache
def _presets_json() -> bytes:
    return _json([_preset(name) for name in PRESET_NAMES])


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@router.get("/presets/{name}", responses={404: {"description": "No preset with this name"}})
def read_preset(name: str) -> dict[str, Any]:
    """One preset network: spec, summary and default training config ({}: the defaults)."""
    if name not in PRESET_NAMES:
        raise HTTPException(404, f"no preset '{name}'; presets: {', '.join(PRESET_NAMES)}")
    return _preset(name)


def _preset(name: str) -> dict[str, Any]:
    spec = load_preset(name)
    return {
        "name": name,
        "description": preset_description(name),
        "spec": spec.model_dump(mode="json", exclude_unset=True),
        "summary": summarize(spec).to_dict(),
        "config": preset_config(name),
    }
