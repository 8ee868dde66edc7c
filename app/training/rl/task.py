"""The `dqn` task: which models and configs can learn to act, and the run that trains them."""

from __future__ import annotations

import math

import torch

from app.data.dataset import Dataset
from app.data.registry import DEFAULT_DATASET, DatasetInfo
from app.nn import ModelSpec, ModelSummary, build_model
from app.training.config import ConfigError, TrainConfig
from app.training.control import RunControl
from app.training.events import SeqCounter
from app.training.job import RunJob, RunSink
from app.training.outputs import TrainResult
from app.training.rl.agent import TD_LOSS_OF_CONFIG
from app.training.rl.environments import ENVIRONMENTS
from app.training.rl.loop import DqnTrainer
from app.training.task_params import DqnParams, dqn_params

# Config fields that mean something only to runs that learn from a dataset: a dqn run refuses
# them when they are set (left at their defaults they are ignored, as `epochs`, `normalize`,
# `probe_index` and `restore_best` are).
_DATASET_ONLY = ("train_subset", "eval_limit", "early_stopping_patience")


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return "×".join(str(size) for size in shape)


def _params(config: TrainConfig) -> DqnParams:
    params = dqn_params(config.task)
    if params is None:  # pragma: no cover (TASKS routes only dqn configs here)
        raise ConfigError([("task", "not a dqn task")])
    return params


def check_dqn(
    spec: ModelSpec, summary: ModelSummary, config: TrainConfig, dataset: DatasetInfo | Dataset
) -> TrainConfig:
    """The config completed for deep Q-learning (no lr schedule unless one is named), if the
    model is a Q-network for the task's environment (ConfigError naming each field).

    A completed config passes again as it is stored (every field then reads as given): the
    checks look at values, and the default loss (cross_entropy) stands for Huber."""
    params = _params(config)
    env = ENVIRONMENTS[params.env]
    given = config.model_fields_set
    issues: list[tuple[str, str]] = []
    states, actions = env.state_size, env.actions
    what = f"{env.name}'s {states} state numbers ({', '.join(env.state_names)})"
    if math.prod(spec.input_shape) != states or len(spec.input_shape) != 1:
        issues.append(
            ("input_shape", f"the Q-network reads {what}: use [{states}], not {spec.input_shape}")
        )
    if tuple(summary.output_shape) != (actions,):
        issues.append(
            (
                "layers",
                f"the Q-network must map {what} to {actions} action values "
                f"({', '.join(env.action_names)}); it outputs {_shape(summary.output_shape)}: "
                f"end with a linear layer of {actions} out_features",
            )
        )
    if "dataset" in given and config.dataset != DEFAULT_DATASET:
        issues.append(
            ("dataset", f"a dqn run learns by playing {env.name} (task.env), not from a dataset")
        )
    if config.loss not in TD_LOSS_OF_CONFIG:
        issues.append(
            (
                "loss",
                f"a Q-network regresses action values: dqn trains with the Huber loss (leave "
                f"loss out) or mse, not {config.loss}",
            )
        )
    if config.label_smoothing > 0:
        issues.append(("label_smoothing", "applies to classifiers, not to dqn"))
    if config.schedule == "step":
        issues.append(
            (
                "schedule",
                "step decays the lr per epoch and a dqn run has none: use none, cosine "
                "or onecycle (over task.env_steps)",
            )
        )
    issues += [
        (name, "applies to runs that learn from a dataset, not to dqn")
        for name in _DATASET_ONLY
        if getattr(config, name) is not None
    ]
    if config.precision != "fp32":
        issues.append(("precision", "dqn trains in fp32: its Q-networks are small"))
    if config.channels_last:
        issues.append(("channels_last", "applies to conv nets of images, not to dqn"))
    if params.learn_starts > params.buffer_size:
        issues.append(
            (
                "task.learn_starts",
                f"must be ≤ task.buffer_size ({params.buffer_size}): the buffer must hold the "
                "transitions learning starts from",
            )
        )
    if issues:
        raise ConfigError(issues)
    if "schedule" not in given:
        return config.model_copy(update={"schedule": "none"})
    return config


def dqn_total_steps(config: TrainConfig, train_size: int) -> int:
    """A dqn run's budget counts environment steps (its dataset is not used)."""
    env_steps = _params(config).env_steps
    return min(env_steps, config.max_steps) if config.max_steps else env_steps


def train_dqn(job: RunJob, dataset: Dataset, control: RunControl, sink: RunSink) -> TrainResult:
    """Build the Q-network and train it in its environment to the end (the dataset is not
    used); raises whatever stops the run."""
    built = build_model(job.spec, job.limits, seed=job.config.seed)
    config = check_dqn(built.spec, built.summary, job.config, dataset)
    trainer = DqnTrainer(
        built,
        config,
        _params(config),
        device=torch.device(job.device),
        control=control,
        emit=lambda event: sink.emit(event.to_dict()),
        seq=SeqCounter(job.first_seq),
        checkpoint=sink.checkpoint,
        snapshot=sink.snapshot,
        resume=job.resume,
        throttle=job.throttle,
    )
    return trainer.run()
