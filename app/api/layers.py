"""The layer registry and the presets, for the builder."""

from typing import Any

from fastapi import APIRouter, HTTPException

from app.nn import LAYER_KINDS, PRESET_NAMES, ModelSpec, load_preset, summarize
from app.nn.presets import preset_description

router = APIRouter(prefix="/api", tags=["layers"])


@router.get("/layers")
def read_layers() -> dict[str, Any]:
    """Every layer type: its category, description and JSON Schema; plus the whole spec's schema."""
    return {
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


@router.get("/presets")
def read_presets() -> list[dict[str, Any]]:
    """The preset networks with their specs and summaries."""
    return [_preset(name) for name in PRESET_NAMES]


@router.get("/presets/{name}")
def read_preset(name: str) -> dict[str, Any]:
    """One preset network."""
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
    }
