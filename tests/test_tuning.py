"""Settings a run takes while it trains (learning rate, regularisation), as TensorFlow
Playground does: from the next step, without a restart, and kept by its checkpoints."""

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from app.data.registry import DatasetPlaces, Datasets
from app.nn import SpecLimits
from app.training import RunControl, Throttle, TrainingState, Tuning, parse_config
from app.training.job import RunJob
from app.training.tasks import train_job

TWO_D = {
    "input_shape": [2],
    "layers": [
        {"type": "linear", "out_features": 8},
        {"type": "tanh"},
        {"type": "linear", "out_features": 2},
    ],
}
XOR = Datasets(DatasetPlaces(Path("."))).load("xor")


class _Sink:
    def __init__(self) -> None:
        self.checkpoints: list[TrainingState] = []
        self.weights: dict[str, torch.Tensor] = {}

    def emit(self, data: dict[str, Any]) -> None:
        pass

    def checkpoint(self, state: TrainingState) -> None:
        self.checkpoints.append(copy.deepcopy(state))  # it holds the live weights

    def snapshot(self, snapshot: Any) -> None:
        self.weights = snapshot.state


def _train(
    config: dict[str, Any], tuning: Tuning | None = None, resume: TrainingState | None = None
) -> _Sink:
    job = RunJob(
        "r",
        TWO_D,
        parse_config({"dataset": "xor", "batch_size": 16, "lr": 0.01, "schedule": "none"} | config),
        "cpu",
        0,
        SpecLimits(),
        Throttle(checkpoint_s=0.0),
        Path("."),
        resume=resume,
    )
    control = RunControl()
    if tuning is not None:
        control.tune(tuning)  # taken at the first step
    sink = _Sink()
    assert train_job(job, XOR, control, sink).status == "completed"
    return sink


def test_regularisation_changed_at_the_first_step_trains_as_if_configured() -> None:
    l2 = {"regularization": "l2", "regularization_rate": 0.03}
    configured = _train({"epochs": 4} | l2)
    tuned = _train({"epochs": 4}, Tuning(regularization="l2", regularization_rate=0.03))
    plain = _train({"epochs": 4})
    for name, weight in configured.weights.items():
        assert torch.equal(tuned.weights[name], weight), name
    assert not torch.equal(plain.weights["0.weight"], configured.weights["0.weight"])


def test_later_changes_win_and_a_resumed_run_keeps_what_was_changed() -> None:
    control = RunControl()
    control.tune(Tuning(lr=0.02, regularization="l1", regularization_rate=0.5))
    control.tune(Tuning(regularization_rate=0.01))
    tuning = control.take().tuning
    assert tuning == Tuning(lr=0.02, regularization="l1", regularization_rate=0.01)
    assert control.take().tuning is None  # handed out once

    sink = _train({"epochs": 2}, tuning)
    meta = sink.checkpoints[0].meta
    assert (meta["config"]["regularization"], meta["config"]["regularization_rate"]) == (
        "l1",
        0.01,
    )
    resumed = _train({"epochs": 4}, resume=sink.checkpoints[0])  # configured without any
    again = _train({"epochs": 4}, tuning)
    for name, weight in again.weights.items():
        assert torch.allclose(resumed.weights[name], weight, atol=1e-6), name


@pytest.mark.parametrize(
    ("tuning", "words"),
    [
        ({"lr": 0.0}, "lr: must be > 0"),
        ({"regularization": "l3"}, "regularization: must be one of none, l1, l2"),
        ({"regularization_rate": -1.0}, "regularization_rate: must be ≥ 0"),
    ],
)
def test_bad_tuning_is_refused_with_the_field(tuning: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Tuning(**tuning)
