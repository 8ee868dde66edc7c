"""A sample through time: what each kept epoch checkpoint of a run made of it.

The run's model is built once per call and each epoch's weights are loaded into it in turn
(the cached model that answers predictions is never touched); the sample is prepared and
standardised exactly as for a prediction, so each epoch's answer equals a prediction made with
that epoch's weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from app.inference.predictor import Predictor
from app.nn import SpecLimits, build_model
from app.store import CheckpointError
from app.store.checkpoints import load_model_state
from app.training import parse_config
from app.training.epoch_checkpoints import epoch_path, kept_epochs
from app.training.objectives import objective_for
from app.training.optim import probabilities
from app.training.tasks import task_of


class NotAClassifierError(ValueError):
    """The run answers no class probabilities (a regression, an autoencoder, a GAN, a DQN)."""


def through_time(
    predictor: Predictor,
    run_id: str,
    sample: npt.NDArray[np.float32],
    data_dir: Path,
    limits: SpecLimits,
) -> dict[str, Any]:
    """{"epochs": [{"epoch", "step", "prediction", "probabilities"}], "classes"}: one entry per
    kept epoch, oldest first (NoWeightsError, NotAClassifierError)."""
    model = predictor.models.get(run_id)
    config = parse_config(model.config)
    info = predictor.dataset(run_id)
    task = task_of(config)
    if not task.branches or not objective_for(config, info.kind).counts_hits:
        raise NotAClassifierError(
            f"run {run_id} does not classify ({task.name}): the time strip shows class "
            "probabilities epoch by epoch"
        )
    inputs = predictor.model_input(model, sample)  # (1, *input_shape)
    module = build_model(model.spec, limits).module.eval()
    loss = config.loss
    answers: list[dict[str, Any]] = []
    for epoch in kept_epochs(data_dir, run_id):
        try:
            weights, meta = load_model_state(epoch_path(data_dir, run_id, epoch))
        except CheckpointError:
            continue  # thinned out meanwhile
        module.load_state_dict(weights)
        with torch.inference_mode():
            probs = probabilities(module(inputs), loss)[0].tolist()  # (C,)
        answers.append(
            {
                "epoch": epoch,
                "step": meta.get("step"),
                "prediction": int(np.argmax(probs)),
                "probabilities": [round(p, 6) for p in probs],
            }
        )
    return {"epochs": answers, "classes": list(info.classes)}
