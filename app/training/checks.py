"""Whether a model spec can be trained on a dataset with a config, before any tensor is made."""

from __future__ import annotations

from app.data.dataset import Dataset
from app.data.registry import DatasetError, DatasetInfo, DatasetRef, Datasets
from app.nn import ModelSpec, ModelSummary
from app.training.config import ConfigError, TrainConfig
from app.training.data import check_sample_size
from app.training.objectives import objective_for


def dataset_info(datasets: Datasets, ref: DatasetRef) -> DatasetInfo:
    """What `ref` is, if it can be trained on here (ConfigError naming the field otherwise)."""
    try:
        info = datasets.info(ref)
    except DatasetError as error:
        field, _, message = str(error).partition(": ")
        raise ConfigError([(field, message)]) from None
    if not info.available:
        raise ConfigError([("dataset", info.note or f"{info.name} is not available here")])
    return info


def check_trainable(
    spec: ModelSpec, summary: ModelSummary, config: TrainConfig, dataset: DatasetInfo | Dataset
) -> None:
    """Raise ConfigError (naming the field) if the model cannot learn `dataset` with `config`:
    its input must hold one sample, its output one score per class (or one value), and the
    loss must fit the targets."""
    issues: list[tuple[str, str]] = []
    try:
        check_sample_size(spec.input_shape, dataset.input_shape, dataset.name)
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        issues.append((field, message))
    name = "MNIST" if dataset.name == "mnist" else f"'{dataset.name}'"
    objective = objective_for(config, dataset.kind)
    issues += objective.issues(
        summary, config, tuple(dataset.input_shape), len(dataset.classes), name
    )
    last_type = spec.layers[-1].type
    if config.loss == "bce" and last_type != "sigmoid":
        issues.append(
            ("loss", f"bce expects outputs in 0..1: end the model with sigmoid, not {last_type}")
        )
    if config.loss == "nll" and last_type != "log_softmax":
        issues.append(
            (
                "loss",
                f"nll expects log-probabilities: end the model with log_softmax, not {last_type}",
            )
        )
    if issues:
        raise ConfigError(issues)


def fit_config(config: TrainConfig, dataset: DatasetInfo | Dataset) -> TrainConfig:
    """`config` completed for its goal on `dataset` (see `Objective.fit`): e.g. a regression
    trains with mse unless a loss was named."""
    return objective_for(config, dataset.kind).fit(config)
