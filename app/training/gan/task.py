"""The `gan` task: which models and configs can train as a GAN, and the run that trains them."""

from __future__ import annotations

import torch

from app.data.dataset import Dataset
from app.data.registry import DatasetInfo
from app.nn import ModelSpec, ModelSummary, build_model
from app.training.config import ConfigError, TrainConfig
from app.training.control import RunControl
from app.training.events import SeqCounter
from app.training.gan.loop import GanTrainer
from app.training.gan.parts import gan_issues
from app.training.job import RunJob, RunSink
from app.training.outputs import TrainResult
from app.training.task_params import GanParams, gan_params

# Config fields for runs that are scored on held-out data: a gan run has none to score.
_SCORED_ONLY = ("eval_limit", "early_stopping_patience")
_LOSSES = ("cross_entropy", "bce")  # both stand for the GAN's binary cross-entropy


def _params(config: TrainConfig) -> GanParams:
    params = gan_params(config.task)
    if params is None:  # pragma: no cover (TASKS routes only gan configs here)
        raise ConfigError([("task", "not a gan task")])
    return params


def check_gan(
    spec: ModelSpec, summary: ModelSummary, config: TrainConfig, dataset: DatasetInfo | Dataset
) -> TrainConfig:
    """The config completed for a GAN (no lr schedule unless one is named), if the model is a
    generator of the dataset's images followed by a discriminator (ConfigError naming each
    field and what fits).

    A completed config passes again as it is stored."""
    _params(config)
    given = config.model_fields_set
    issues: list[tuple[str, str]] = []
    image_shape = tuple(dataset.input_shape)
    if len(image_shape) != 3:
        issues.append(
            (
                "dataset",
                f"a GAN learns to make images: '{dataset.name}' has samples of "
                f"{list(image_shape)}, not images; use mnist or fashion-mnist",
            )
        )
    else:
        issues += gan_issues(spec, summary, image_shape)
    if config.loss not in _LOSSES:
        issues.append(
            (
                "loss",
                f"a GAN trains with binary cross-entropy (leave loss out, or bce), not "
                f"{config.loss}",
            )
        )
    if config.label_smoothing > 0:
        issues.append(("label_smoothing", "for a GAN use task.label_smoothing (one-sided)"))
    issues += [
        (name, "applies to runs scored on held-out data, not to gan")
        for name in _SCORED_ONLY
        if getattr(config, name) is not None
    ]
    if config.regularization != "none" and config.regularization_rate > 0:
        issues.append(("regularization", "a GAN trains without a weight penalty: use none"))
    if config.precision != "fp32":
        issues.append(("precision", "gan trains in fp32"))
    if config.channels_last:
        issues.append(("channels_last", "gan trains in the default memory layout"))
    if issues:
        raise ConfigError(issues)
    if "schedule" not in given:
        return config.model_copy(update={"schedule": "none"})
    return config


def train_gan(job: RunJob, dataset: Dataset, control: RunControl, sink: RunSink) -> TrainResult:
    """Build the model, split it into generator and discriminator, and train them on the
    dataset's training images (labels unused) to the end; raises whatever stops the run."""
    built = build_model(job.spec, job.limits, seed=job.config.seed)
    config = check_gan(built.spec, built.summary, job.config, dataset)
    images = dataset.train.inputs  # (N, C, H, W) uint8
    if config.train_subset:
        images = images[: config.train_subset]
    trainer = GanTrainer(
        built,
        config,
        _params(config),
        images,
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
