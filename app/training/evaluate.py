"""Evaluation on a held-out split: loss, and for classes accuracy, the confusion matrix and the
confidently wrong digits."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from app.training.config import TrainConfig
from app.training.data import NUM_CLASSES, DeviceSplit
from app.training.events import WrongExample
from app.training.objectives import CLASSIFICATION, Objective
from app.training.optim import make_loss, probabilities

EVAL_BATCH = 1000
WRONG_EXAMPLES = 8


@dataclass(frozen=True)
class Evaluation:
    """What a model scores on one split."""

    loss: float
    accuracy: float | None  # None for regression
    count: int
    confusion: tuple[tuple[int, ...], ...]  # [label][prediction]; () for regression
    wrong: tuple[WrongExample, ...]  # most confident mistakes first

    @property
    def score(self) -> float:
        """Higher is better: the accuracy, or (regression) the negated loss."""
        return self.accuracy if self.accuracy is not None else -self.loss


def autocast(device: torch.device, precision: str) -> AbstractContextManager[object]:
    """bf16 autocast on `device` for precision "bf16", else nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def evaluate(
    module: nn.Module,
    split: DeviceSplit,
    config: TrainConfig,
    device: torch.device,
    num_classes: int = NUM_CLASSES,
    objective: Objective = CLASSIFICATION,
) -> Evaluation:
    """Score `module` (in eval mode, batched, no gradients) on `split`; its mode is restored."""
    was_training = module.training
    module.eval()
    loss_function = make_loss(config, training=False)
    loss_sum = torch.zeros((), device=device)
    predictions: list[torch.Tensor] = []
    confidences: list[torch.Tensor] = []
    try:
        for start in range(0, len(split), EVAL_BATCH):
            inputs = split.inputs[start : start + EVAL_BATCH]  # (B, *input_shape)
            labels = split.labels[start : start + EVAL_BATCH]  # (B,)
            with autocast(device, config.precision):
                outputs = module(inputs).float()  # (B, C)
            targets = objective.targets(config, inputs, labels, num_classes)
            loss_sum += loss_function(outputs, targets) * len(labels)
            if objective.counts_hits:
                confidence, prediction = probabilities(outputs, config.loss).max(dim=1)  # (B,)
                predictions.append(prediction)
                confidences.append(confidence)
    finally:
        module.train(was_training)
    count = len(split)
    loss = loss_sum.item() / count
    if not objective.counts_hits:
        return Evaluation(loss=loss, accuracy=None, count=count, confusion=(), wrong=())
    prediction = torch.cat(predictions)  # (N,)
    confidence = torch.cat(confidences)  # (N,)
    labels = split.labels
    confusion = torch.bincount(labels * num_classes + prediction, minlength=num_classes**2)
    return Evaluation(
        loss=loss,
        accuracy=(prediction == labels).sum().item() / count,
        count=count,
        confusion=tuple(tuple(row) for row in confusion.view(num_classes, num_classes).tolist()),
        wrong=_most_confident_wrong(split, prediction, confidence),
    )


def _most_confident_wrong(
    split: DeviceSplit, prediction: torch.Tensor, confidence: torch.Tensor
) -> tuple[WrongExample, ...]:
    """The mistakes the model was surest of, most confident first (with pictures only)."""
    images = split.images
    if images is None:
        return ()
    is_wrong = prediction != split.labels  # (N,)
    wrong_count = int(is_wrong.sum().item())
    if wrong_count == 0:
        return ()
    scores = confidence.masked_fill(~is_wrong, -1.0)  # (N,): right answers sort last
    top = scores.topk(min(WRONG_EXAMPLES, wrong_count)).indices  # (K,)
    rows = zip(
        top.tolist(),
        split.labels[top].tolist(),
        prediction[top].tolist(),
        confidence[top].tolist(),
        strict=True,
    )
    return tuple(
        WrongExample(
            index=index,
            label=label,
            prediction=guess,
            probability=round(probability, 4),
            image=images[index].numpy().tobytes(),
        )
        for index, label, guess, probability in rows
    )
