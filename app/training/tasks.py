"""The kinds of training run, by the config's `task`: how a run's config is completed and
checked against its model before it is queued, and what trains it. A new kind of run (a GAN, a
reinforcement learner) is a new entry in `TASKS`; nothing else branches on the task's name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from app.data.dataset import Dataset
from app.data.registry import DatasetInfo
from app.nn import ModelSpec, ModelSummary
from app.training.config import ConfigError, TrainConfig
from app.training.control import RunControl
from app.training.freezing import frozen_issues
from app.training.gan.parts import gan_parts
from app.training.gan.task import check_gan, train_gan
from app.training.job import RunJob, RunSink
from app.training.outputs import ModelPart, TrainResult
from app.training.reconstruction import autoencoder_parts
from app.training.rl.task import check_dqn, dqn_total_steps, train_dqn
from app.training.supervised import check_supervised, train_supervised
from app.training.task_params import task_name

# (spec, summary, config, dataset) -> the config completed (ConfigError if it cannot train)
Check = Callable[[ModelSpec, ModelSummary, TrainConfig, DatasetInfo | Dataset], TrainConfig]
# (job, dataset, control, sink) -> how the run ended
Train = Callable[[RunJob, Dataset, RunControl, RunSink], TrainResult]
# (config, the dataset's training samples) -> the steps the whole run takes
TotalSteps = Callable[[TrainConfig, int], int]
# (model, summary) -> the parts of the model that work alone, by name (besides the whole)
Parts = Callable[[nn.Sequential, ModelSummary], dict[str, ModelPart]]


def dataset_steps(config: TrainConfig, train_size: int) -> int:
    """Every epoch's batches of the dataset (capped by max_steps)."""
    return config.total_steps(train_size)


def whole_model_only(module: nn.Sequential, summary: ModelSummary) -> dict[str, ModelPart]:
    """No part of the model works alone: only the whole is exported."""
    return {}


@dataclass(frozen=True)
class Task:
    """One kind of training run."""

    name: str
    check: Check
    train: Train
    parts: Parts = whole_model_only
    export_default: str = "model"  # what an export gives unless a part is asked for
    total_steps: TotalSteps = dataset_steps
    branches: bool = False  # trained by the Trainer: can freeze layers and branch from an epoch


TASKS: dict[str, Task] = {
    "classify": Task("classify", check_supervised, train_supervised, branches=True),
    "autoencode": Task(
        "autoencode", check_supervised, train_supervised, autoencoder_parts, branches=True
    ),
    "dqn": Task("dqn", check_dqn, train_dqn, total_steps=dqn_total_steps),
    "gan": Task("gan", check_gan, train_gan, gan_parts, export_default="generator"),
}


def task_of(config: TrainConfig) -> Task:
    """The task a config asks for (its name was checked when the config was parsed)."""
    return TASKS[task_name(config.task)]


def check_frozen(summary: ModelSummary, config: TrainConfig) -> None:
    """ConfigError naming each `frozen` path that is no layer with weights (or when the task
    cannot freeze layers at all)."""
    if not config.frozen:
        return
    task = task_of(config)
    if not task.branches:
        raise ConfigError([("frozen", f"a {task.name} run cannot freeze layers")])
    issues = frozen_issues(summary, config.frozen)
    if issues:
        raise ConfigError(issues)


def train_job(job: RunJob, dataset: Dataset, control: RunControl, sink: RunSink) -> TrainResult:
    """Train the job to the end with its task's trainer; raises whatever stops the run."""
    return task_of(job.config).train(job, dataset, control, sink)
