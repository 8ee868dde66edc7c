"""Whether a model spec can be trained on MNIST with a config, before any tensor is made."""

from __future__ import annotations

from app.nn import ModelSpec, ModelSummary
from app.training.config import ConfigError, TrainConfig
from app.training.data import NUM_CLASSES, check_input_shape


def check_trainable(spec: ModelSpec, summary: ModelSummary, config: TrainConfig) -> None:
    """Raise ConfigError (naming the field) if the model cannot learn MNIST with `config`."""
    issues: list[tuple[str, str]] = []
    try:
        check_input_shape(spec.input_shape)
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        issues.append((field, message))
    if tuple(summary.output_shape) != (NUM_CLASSES,):
        shown = "×".join(str(size) for size in summary.output_shape)
        issues.append(
            (
                "layers",
                f"the model outputs {shown} values per digit; MNIST needs 10 class scores: "
                "end with a linear layer of 10 out_features",
            )
        )
    last_type = spec.layers[-1].type
    if config.loss == "nll" and last_type != "log_softmax":
        issues.append(
            (
                "loss",
                f"nll expects log-probabilities: end the model with log_softmax, not {last_type}",
            )
        )
    if issues:
        raise ConfigError(issues)
