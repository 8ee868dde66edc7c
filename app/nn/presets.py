"""The preset networks, each a JSON file {name, description, spec} shipped in the package."""

import json
from pathlib import Path

from app.nn.specs import ModelSpec

PRESET_DIR = Path(__file__).with_name("presets")
PRESET_NAMES = ("mlp", "mlp-deep", "lenet5", "cnn", "vgg-tiny", "resnet-tiny", "lstm-rows")


def preset_path(name: str) -> Path:
    """The spec file of a preset; only names from PRESET_NAMES are ever turned into a path."""
    if name not in PRESET_NAMES:
        raise KeyError(f"unknown preset '{name}'; presets: {', '.join(PRESET_NAMES)}")
    return PRESET_DIR / f"{name}.json"


def load_preset(name: str) -> ModelSpec:
    """The validated spec of a preset."""
    return ModelSpec.model_validate(json.loads(preset_path(name).read_text())["spec"])


def preset_description(name: str) -> str:
    """The one-line description stored beside the spec in its file."""
    description: str = json.loads(preset_path(name).read_text()).get("description", "")
    return description
