"""The preset networks, each a JSON file {name, description, spec, config?} shipped in the package.

`config`, where present, is the preset's default training config: raw TrainConfig fields, left
unvalidated here (app.nn does not import app.training).
"""

import json
from pathlib import Path
from typing import Any

from app.nn.specs import ModelSpec

PRESET_DIR = Path(__file__).with_name("presets")
PRESET_NAMES = (
    "mlp",
    "mlp-deep",
    "deep-sigmoid",
    "deep-relu",
    "deep-residual",
    "lenet5",
    "cnn",
    "vgg-tiny",
    "resnet-tiny",
    "lstm-rows",
    "speedrun",
    "autoencoder",
    "conv-autoencoder",
    "denoising-autoencoder",
    "dqn-cartpole",
    "gan",
    "dcgan",
)


def preset_path(name: str) -> Path:
    """The spec file of a preset; only names from PRESET_NAMES are ever turned into a path."""
    if name not in PRESET_NAMES:
        raise KeyError(f"unknown preset '{name}'; presets: {', '.join(PRESET_NAMES)}")
    return PRESET_DIR / f"{name}.json"


def _preset_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(preset_path(name).read_text())
    return data


def load_preset(name: str) -> ModelSpec:
    """The validated spec of a preset."""
    return ModelSpec.model_validate(_preset_file(name)["spec"])


def preset_description(name: str) -> str:
    """The one-line description stored beside the spec in its file."""
    description: str = _preset_file(name).get("description", "")
    return description


def preset_config(name: str) -> dict[str, Any]:
    """The preset's default training config as raw fields ({} when it has none)."""
    config: dict[str, Any] = _preset_file(name).get("config") or {}
    return dict(config)
