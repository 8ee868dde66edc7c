"""What a run's model is trained to output, one `Objective` per kind of goal.

Classes (a dataset of classes), values (a regression dataset) and the input itself (the
`autoencode` task) differ in what the model must output, which losses fit, what the loss
compares the outputs with, whether "accuracy" means anything and whether inputs are corrupted
first (a denoising autoencoder). The trainer, the evaluation, the checks and predictions ask the
run's objective rather than testing the task or the dataset themselves; a new goal is a new
entry in `OBJECTIVES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from app.data.dataset import TaskKind
from app.nn import ModelSummary
from app.training.config import LossName, TrainConfig
from app.training.task_params import autoencode_params, task_name

# (config, inputs (N, …), labels (N,), outputs per class) -> what the loss compares outputs with
TargetMaker = Callable[[TrainConfig, torch.Tensor, torch.Tensor, int], torch.Tensor]
# (summary, input shape, classes) -> what is wrong with the model's output shape, or None
OutputCheck = Callable[[ModelSummary, tuple[int, ...], int], str | None]
# (inputs (B, …), config) -> the inputs the model sees while training (a denoiser's noisy copy)
Corruption = Callable[[torch.Tensor, TrainConfig], torch.Tensor]


def _class_targets(
    config: TrainConfig, inputs: torch.Tensor, labels: torch.Tensor, classes: int
) -> torch.Tensor:
    """Class indices (N,), or one-hot rows (N, C) for mse."""
    return F.one_hot(labels, classes).float() if config.loss == "mse" else labels


def _value_targets(
    config: TrainConfig, inputs: torch.Tensor, labels: torch.Tensor, classes: int
) -> torch.Tensor:
    """The values as a column (N, 1), like the model's single output."""
    return labels.float().unsqueeze(1)


def _input_targets(
    config: TrainConfig, inputs: torch.Tensor, labels: torch.Tensor, classes: int
) -> torch.Tensor:
    """The inputs themselves (N, C, H, W) in 0..1: an autoencoder rebuilds them."""
    return inputs


def _shape_text(shape: tuple[int, ...] | list[int]) -> str:
    return "×".join(str(size) for size in shape)


def _check_scores(summary: ModelSummary, input_shape: tuple[int, ...], classes: int) -> str | None:
    if tuple(summary.output_shape) == (classes,):
        return None
    return (
        f"the model outputs {_shape_text(summary.output_shape)} values per sample; it needs "
        f"{classes} class scores: end with a linear layer of {classes} out_features"
    )


def _check_value(summary: ModelSummary, input_shape: tuple[int, ...], classes: int) -> str | None:
    if tuple(summary.output_shape) == (1,):
        return None
    return (
        f"the model outputs {_shape_text(summary.output_shape)} values per sample; it needs "
        "one value (a regression): end with a linear layer of 1 out_features"
    )


def _check_rebuilt(summary: ModelSummary, input_shape: tuple[int, ...], classes: int) -> str | None:
    wanted, given = tuple(input_shape), tuple(summary.output_shape)
    if given == wanted:
        return None
    fix = f"a linear layer of {math.prod(wanted)} out_features then unflatten to {list(wanted)}"
    return (
        f"an autoencoder rebuilds its input: the model must output {_shape_text(wanted)}, it "
        f"outputs {_shape_text(given)}; end with {fix} (or transposed convolutions)"
    )


def _add_noise(inputs: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """Gaussian noise of the task's standard deviation, the pixels kept in 0..1."""
    params = autoencode_params(config.task)
    level = params.noise if params is not None else 0.0
    if level == 0.0:
        return inputs
    return (inputs + level * torch.randn_like(inputs)).clamp_(0.0, 1.0)


@dataclass(frozen=True)
class Objective:
    """How runs learn one kind of goal."""

    name: str
    description: str  # for messages: "'spiral' is …" / "this run is …"
    losses: tuple[LossName, ...]  # the losses that fit, the default first
    counts_hits: bool  # whether right answers can be counted (accuracy)
    make_targets: TargetMaker
    check_output: OutputCheck
    corrupt: Corruption | None = None  # applied to each training batch's inputs
    pixels_in_0_1: bool = False  # inputs must not be standardised (the targets are pixels)
    test_loss_name: str | None = None  # the test loss's own name in a run's summary, if any

    @property
    def default_loss(self) -> LossName:
        """The loss a run uses when its config names none."""
        return self.losses[0]

    def fit(self, config: TrainConfig) -> TrainConfig:
        """`config` with what this objective needs where the person left it unsaid: its default
        loss when the default (cross_entropy) does not fit, pixels left in 0..1 for an
        autoencoder. An explicit misfit is left for `issues` to name."""
        update: dict[str, object] = {}
        if "loss" not in config.model_fields_set and config.loss not in self.losses:
            update["loss"] = self.default_loss
        if self.pixels_in_0_1 and "normalize" not in config.model_fields_set:
            update["normalize"] = False
        return config.model_copy(update=update) if update else config

    def targets(
        self, config: TrainConfig, inputs: torch.Tensor, labels: torch.Tensor, classes: int
    ) -> torch.Tensor:
        """What the loss compares the outputs with, for these inputs and labels."""
        return self.make_targets(config, inputs, labels, classes)

    def hits(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """() how many of the batch's samples the outputs (B, C) classify right."""
        return (outputs.argmax(dim=1) == labels).sum()

    def issues(
        self,
        summary: ModelSummary,
        config: TrainConfig,
        input_shape: tuple[int, ...],
        classes: int,
        what: str,
    ) -> list[tuple[str, str]]:
        """(field, message) for each way the model or config does not fit; `what` names the
        data for messages ("'spiral'")."""
        found: list[tuple[str, str]] = []
        problem = self.check_output(summary, input_shape, classes)
        if problem is not None:
            found.append(("layers", problem.replace("it needs", f"{what} needs", 1)))
        if config.loss not in self.losses:
            found.append(
                (
                    "loss",
                    f"{what} is {self.description}: train it with loss "
                    f"{' or '.join(self.losses)}, not {config.loss}",
                )
            )
        if self.pixels_in_0_1 and len(input_shape) != 3:
            found.append(
                (
                    "dataset",
                    f"{what} holds numbers, not images: an autoencoder here rebuilds images "
                    "(mnist, fashion-mnist or an upload of pictures)",
                )
            )
        if self.pixels_in_0_1 and config.normalize:
            found.append(
                (
                    "normalize",
                    "an autoencoder rebuilds pixels in 0..1: set normalize to false",
                )
            )
        return found


CLASSIFICATION = Objective(
    name="classification",
    description="a classification problem (a class per sample)",
    losses=("cross_entropy", "nll", "mse"),
    counts_hits=True,
    make_targets=_class_targets,
    check_output=_check_scores,
)
REGRESSION = Objective(
    name="regression",
    description="a regression problem (one value per sample)",
    losses=("mse",),
    counts_hits=False,
    make_targets=_value_targets,
    check_output=_check_value,
)
RECONSTRUCTION = Objective(
    name="reconstruction",
    description="an autoencoder (it rebuilds its input)",
    losses=("mse", "bce"),
    counts_hits=False,
    make_targets=_input_targets,
    check_output=_check_rebuilt,
    corrupt=_add_noise,
    pixels_in_0_1=True,
    test_loss_name="reconstruction_loss",
)

# The dataset's own targets by their kind; a task other than classify by its name.
BY_KIND: dict[TaskKind, Objective] = {
    TaskKind.CLASSIFICATION: CLASSIFICATION,
    TaskKind.REGRESSION: REGRESSION,
}
BY_TASK: dict[str, Objective] = {"autoencode": RECONSTRUCTION}


def objective_for(config: TrainConfig, kind: TaskKind) -> Objective:
    """What a run with `config` on data whose targets are of `kind` is trained to output."""
    return BY_TASK.get(task_name(config.task)) or BY_KIND[kind]
