"""Model specs → PyTorch modules, with shapes, parameter and MAC counts inferred. No web imports."""

from app.nn.builder import BuiltModel, build_model, summarize
from app.nn.errors import SpecError, SpecIssue
from app.nn.layers import LAYER_KINDS, LayerKind
from app.nn.limits import DEFAULT_LIMITS, SpecLimits
from app.nn.parsing import parse_spec
from app.nn.presets import PRESET_NAMES, load_preset, preset_config, preset_path
from app.nn.specs import ModelSpec, WeightInit
from app.nn.summary import LayerSummary, ModelSummary

__all__ = [
    "DEFAULT_LIMITS",
    "LAYER_KINDS",
    "PRESET_NAMES",
    "BuiltModel",
    "LayerKind",
    "LayerSummary",
    "ModelSpec",
    "ModelSummary",
    "SpecError",
    "SpecIssue",
    "SpecLimits",
    "WeightInit",
    "build_model",
    "load_preset",
    "parse_spec",
    "preset_config",
    "preset_path",
    "summarize",
]
