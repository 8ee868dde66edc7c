"""The training configuration: every knob of a run, with defaults that train MNIST well and fast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.data.registry import DEFAULT_DATASET, DatasetRef, parse_ref
from app.training.task_params import DEFAULT_TASK, TaskRef, parse_task

OptimizerName = Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"]
ScheduleName = Literal["none", "step", "cosine", "onecycle"]
LossName = Literal["cross_entropy", "nll", "mse", "bce"]
Precision = Literal["fp32", "bf16"]
RegularizationName = Literal["none", "l1", "l2"]

OPTIMIZER_NAMES: tuple[OptimizerName, ...] = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULE_NAMES: tuple[ScheduleName, ...] = ("none", "step", "cosine", "onecycle")
LOSS_NAMES: tuple[LossName, ...] = ("cross_entropy", "nll", "mse", "bce")

# The learning rate each optimizer starts from when none is given (the peak for onecycle).
DEFAULT_LR: dict[str, float] = {
    "sgd": 0.02,
    "adam": 3e-3,
    "adamw": 3e-3,
    "rmsprop": 1e-3,
    "adagrad": 1e-2,
}


class ConfigError(ValueError):
    """A training config was rejected; `issues` holds (field, message) pairs, one per problem."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{field}: {message}" for field, message in issues))

    def to_list(self) -> list[dict[str, str]]:
        """The JSON form: [{"field", "message"}]."""
        return [{"field": field, "message": message} for field, message in self.issues]


class TrainConfig(BaseModel):
    """One run's training configuration; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: DatasetRef = Field(
        default=DEFAULT_DATASET,
        description="what to train on: a name from GET /api/datasets, or a 2-D problem with "
        'parameters, e.g. {"name": "spiral", "noise": 0.1}',
    )
    task: TaskRef = Field(
        default=DEFAULT_TASK,
        description="what the model learns: classify (the dataset's classes, or values for a "
        'regression dataset) or autoencode (rebuild the input; {"name": "autoencode", '
        '"noise": 0.3} denoises)',
    )
    epochs: int = Field(default=3, ge=1, le=200, description="passes over the training digits")
    batch_size: int = Field(default=64, ge=1, le=8192, description="digits per step")
    optimizer: OptimizerName = "adam"
    lr: float = Field(
        default=3e-3,
        gt=0.0,
        le=10.0,
        description="learning rate (peak lr for onecycle); left out: the optimizer's default",
    )
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0, description="sgd and rmsprop")
    nesterov: bool = Field(default=False, description="Nesterov momentum, sgd only")
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0)
    regularization: RegularizationName = Field(
        default="none",
        description="adds rate × (Σ|w| for l1, Σw² for l2) over the weights (not biases) to the "
        "loss, as TensorFlow Playground does",
    )
    regularization_rate: float = Field(default=0.0, ge=0.0, le=10.0, description="see above")
    schedule: ScheduleName = Field(
        default="onecycle", description="how the lr changes over the run, updated every step"
    )
    step_size: int = Field(default=1, ge=1, le=200, description="epochs between decays (step)")
    gamma: float = Field(default=0.5, gt=0.0, le=1.0, description="decay factor (step)")
    loss: LossName = Field(
        default="cross_entropy",
        description="nll expects a model ending in log_softmax, bce (binary cross-entropy on "
        "outputs in 0..1, e.g. an autoencoder's pixels) one ending in sigmoid",
    )
    label_smoothing: float = Field(default=0.0, ge=0.0, le=0.5, description="cross_entropy only")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="same seed, same numbers (CPU)")
    train_subset: int | None = Field(
        default=None, ge=1, le=50_000, description="train on the first N digits only (demos)"
    )
    eval_limit: int | None = Field(
        default=None, ge=1, le=10_000, description="evaluate on the first N validation/test digits"
    )
    early_stopping_patience: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="stop after this many epochs without a better validation accuracy (loss, for "
        "a regression)",
    )
    restore_best: bool = Field(default=True, description="with early stopping: keep the best epoch")
    max_steps: int | None = Field(default=None, ge=1, le=10_000_000, description="cap on steps")
    precision: Precision = Field(
        default="fp32", description="bf16 autocast: faster only with bf16 hardware (AVX-512/AMX)"
    )
    channels_last: bool = Field(
        default=False,
        description="conv activations in NHWC memory order: faster conv nets on CPU",
    )
    normalize: bool = Field(default=True, description="standardise pixels with MNIST's mean/std")
    probe_index: int = Field(
        default=0, ge=0, le=9_999, description="the validation digit shown in feature maps"
    )
    frozen: tuple[str, ...] = Field(
        default=(),
        max_length=64,
        description="paths of layers (as in the model summary: '0', or '5.1' inside residual "
        "block 5) whose weights do not train",
    )

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset(cls, value: Any) -> DatasetRef:
        """A dataset name or a 2-D problem's parameters, checked by the dataset registry."""
        return parse_ref(value)

    @field_validator("task", mode="before")
    @classmethod
    def _task(cls, value: Any) -> TaskRef:
        """A task name or an autoencoder's parameters."""
        return parse_task(value)

    @model_validator(mode="before")
    @classmethod
    def _default_lr(cls, data: Any) -> Any:
        """A missing (or null) lr becomes the chosen optimizer's default."""
        if isinstance(data, Mapping) and data.get("lr") is None:
            optimizer = data.get("optimizer", "adam")  # any JSON value: a list is not hashable
            lr = DEFAULT_LR.get(optimizer) if isinstance(optimizer, str) else None
            return {**data, "lr": lr or DEFAULT_LR["adam"]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.label_smoothing > 0 and self.loss != "cross_entropy":
            raise ValueError(
                f"label_smoothing: applies to loss cross_entropy only, not {self.loss}"
            )
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0.0):
            raise ValueError("nesterov: needs optimizer sgd with momentum > 0")
        return self

    def total_steps(self, train_size: int) -> int:
        """Steps the whole run takes: every epoch's batches (the last may be short), capped."""
        size = min(train_size, self.train_subset or train_size)
        steps = self.epochs * -(-size // self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps


def parse_config(raw: Mapping[str, Any] | TrainConfig | None = None) -> TrainConfig:
    """Validate a raw config; raise ConfigError naming each bad field (never a pydantic trace)."""
    if isinstance(raw, TrainConfig):
        return raw
    if raw is not None and not isinstance(raw, Mapping):
        kind = "an array" if isinstance(raw, list) else type(raw).__name__
        raise ConfigError([("config", f"must be a JSON object of fields, not {kind}")])
    try:
        return TrainConfig.model_validate(dict(raw or {}))
    except ValidationError as error:
        raise ConfigError([_issue(detail) for detail in error.errors()]) from None


def _issue(detail: Mapping[str, Any]) -> tuple[str, str]:
    """(field, message) for one pydantic error, e.g. ("epochs", "must be ≤ 200, got 1000")."""
    location = ".".join(str(part) or "''" for part in detail.get("loc", ())) or "config"
    message = str(detail.get("msg", "invalid"))
    kind = detail.get("type", "")
    context = detail.get("ctx") or {}
    given = detail.get("input")
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        field, _, rest = message.partition(": ")
        if rest and field.split(".")[0] in TrainConfig.model_fields:
            return field, rest
    if kind == "extra_forbidden":
        known = ", ".join(TrainConfig.model_fields)
        return location, f"unknown field; known fields: {known}"
    bounds = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤"}
    bounds |= {"less_than": "<"}
    if kind in bounds:
        limit = next(iter(context.values()), "?")
        return location, f"must be {bounds[kind]} {limit}, got {given!r}"
    if kind == "literal_error":
        return location, f"must be one of {context.get('expected', '?')}, got {given!r}"
    return location, f"{message} (got {given!r})"
