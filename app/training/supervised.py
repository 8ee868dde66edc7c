"""Runs that learn from a dataset with the Trainer: `classify` (the dataset's classes, or values
for a regression dataset) and `autoencode` (the input itself); the objective and the frames
follow from the config (app.training.objectives, app.training.frame_sources)."""

from __future__ import annotations

from dataclasses import replace

import torch

from app.data.dataset import Dataset
from app.data.registry import DatasetInfo
from app.nn import ModelSpec, ModelSummary, build_model
from app.training.checks import check_trainable, fit_config
from app.training.config import TrainConfig
from app.training.control import RunControl
from app.training.data import prepare_data
from app.training.events import SeqCounter
from app.training.frame_sources import frame_source
from app.training.job import RunJob, RunSink
from app.training.objectives import objective_for
from app.training.outputs import TrainResult
from app.training.trainer import Trainer


def check_supervised(
    spec: ModelSpec, summary: ModelSummary, config: TrainConfig, dataset: DatasetInfo | Dataset
) -> TrainConfig:
    """The config completed for its goal, if the model can learn it (ConfigError)."""
    config = fit_config(config, dataset)
    check_trainable(spec, summary, config, dataset)
    return config


def train_supervised(
    job: RunJob, dataset: Dataset, control: RunControl, sink: RunSink
) -> TrainResult:
    """Build, prepare the data (the job's dataset, loaded) and train to the end; raises
    whatever stops the run."""
    built = build_model(job.spec, job.limits, seed=job.config.seed)
    check_trainable(built.spec, built.summary, job.config, dataset)
    device = torch.device(job.device)
    data = prepare_data(
        dataset,
        device,
        built.spec.input_shape,
        normalize=job.config.normalize,
        train_subset=job.config.train_subset,
        eval_limit=job.config.eval_limit,
    )
    trainer = Trainer(
        built,
        job.config,
        data,
        control=control,
        emit=lambda event: sink.emit(event.to_dict()),
        seq=SeqCounter(job.first_seq),
        checkpoint=sink.checkpoint,
        snapshot=sink.snapshot,
        resume=job.resume,
        throttle=job.throttle,
        frames=frame_source(built, job.config, data),
    )
    result = trainer.run()
    named = objective_for(job.config, dataset.kind).test_loss_name
    return replace(result, figures={named: result.test_loss}) if named else result
