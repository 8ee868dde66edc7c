"""The training half of an exported script, from the run's config: optimizer, schedule, loss,
and what the model learns (classes, or to rebuild its input), each a name → code map."""

from __future__ import annotations

from collections.abc import Callable
from string import Template

from app.inference.codegen.source import arguments, call
from app.training.config import TrainConfig
from app.training.task_params import autoencode_params

# optimizer name → its class and the config's settings it takes (besides the lr)
OPTIMIZERS: dict[str, Callable[[TrainConfig], tuple[str, dict[str, object]]]] = {
    "sgd": lambda c: (
        "SGD",
        {"momentum": c.momentum, "nesterov": c.nesterov, "weight_decay": c.weight_decay},
    ),
    "adam": lambda c: ("Adam", {"weight_decay": c.weight_decay}),
    "adamw": lambda c: ("AdamW", {"weight_decay": c.weight_decay}),
    "rmsprop": lambda c: ("RMSprop", {"momentum": c.momentum, "weight_decay": c.weight_decay}),
    "adagrad": lambda c: ("Adagrad", {"weight_decay": c.weight_decay}),
}

# schedule name → the body of lr_factor(step, total_steps, steps_per_epoch)
SCHEDULES: dict[str, Callable[[TrainConfig], str]] = {
    "none": lambda c: "    return 1.0",
    "step": lambda c: (
        f"    return {c.gamma!r} ** ((step // max(steps_per_epoch, 1)) // {c.step_size})"
    ),
    "cosine": lambda c: (
        "    progress = min(step / max(total_steps, 1), 1.0)\n"
        "    return 0.5 * (1.0 + math.cos(math.pi * progress))"
    ),
    "onecycle": lambda c: (
        "    progress = min(step / max(total_steps, 1), 1.0)\n"
        "    if progress < 0.25:  # a cosine warm-up from LR / 25 to LR over the first quarter\n"
        "        rise = 0.5 * (1.0 - math.cos(math.pi * progress / 0.25))\n"
        "        return 1 / 25 + (1.0 - 1 / 25) * rise\n"
        "    fall = (progress - 0.25) / 0.75  # then a cosine decay to 0\n"
        "    return 0.5 * (1.0 + math.cos(math.pi * fall))"
    ),
}

# loss name → a classifier's loss of a batch's outputs against its class labels
LOSSES: dict[str, Callable[[TrainConfig], str]] = {
    "cross_entropy": lambda c: (
        "F.cross_entropy(outputs, labels"
        + (f", label_smoothing={c.label_smoothing!r})" if c.label_smoothing else ")")
    ),
    "nll": lambda c: "F.nll_loss(outputs, labels)",
    "mse": lambda c: "F.mse_loss(outputs, F.one_hot(labels, outputs.shape[1]).float())",
    "bce": lambda c: "F.binary_cross_entropy(outputs, F.one_hot(labels, outputs.shape[1]).float())",
}
# loss name → an autoencoder's loss function (outputs against the clean images)
REBUILD_LOSSES = {"mse": "F.mse_loss", "bce": "F.binary_cross_entropy"}

CLASSIFY = Template('''
METRIC = "accuracy"


def batch_loss(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    outputs = model(prepare(images))  # $output_shape
    return $loss$penalty


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of images whose class the model gets right."""
    model.eval()
    hits = 0
    for start in range(0, len(images), 1000):
        outputs = model(prepare(images[start : start + 1000]))
        hits += (outputs.argmax(1) == labels[start : start + 1000]).sum().item()
    return hits / max(len(images), 1)
''')

AUTOENCODE = Template('''
METRIC = "loss"
NOISE = $noise  # a denoiser sees its inputs with this much Gaussian noise


def batch_loss(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """The model rebuilds each image (from a noisy copy, for a denoiser)."""
    noisy = (images + NOISE * torch.randn_like(images)).clamp(0.0, 1.0)
    outputs = model(prepare(noisy))  # $output_shape
    return $loss(outputs, images.reshape(outputs.shape))$penalty


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean loss of rebuilding the (clean) images: lower is better."""
    model.eval()
    total = 0.0
    for start in range(0, len(images), 1000):
        chunk = images[start : start + 1000]
        outputs = model(prepare(chunk))
        target = chunk.reshape(outputs.shape)
        total += $loss(outputs, target, reduction="sum").item()
    return total / max(images.numel(), 1)
''')


PENALTIES = {
    "l1": "RATE * sum(w.abs().sum() for w in model.parameters() if w.dim() > 1)",
    "l2": "RATE * 0.5 * sum(w.square().sum() for w in model.parameters() if w.dim() > 1)",
}

TRAINING = Template('''
def make_optimizer(parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
$optimizer


def lr_factor(step: int, total_steps: int, steps_per_epoch: int) -> float:
    """The schedule ($schedule): the multiplier of LR before 0-based `step`."""
$schedule_body


$objective


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    validation: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    max_steps: int | None,
) -> None:
    """Mini-batch training: a fresh permutation each epoch, the lr set before every step."""
    images, labels = images[:TRAIN_SUBSET], labels[:TRAIN_SUBSET]
    optimizer = make_optimizer(list(model.parameters()))
    steps_per_epoch = math.ceil(len(images) / BATCH_SIZE)
    total_steps = min(epochs * steps_per_epoch, max_steps or epochs * steps_per_epoch)
    step = 0
    for epoch in range(epochs):
        model.train()
        batches = torch.randperm(len(images)).split(BATCH_SIZE)
        for batch in batches[: total_steps - step]:
            for group in optimizer.param_groups:
                group["lr"] = LR * lr_factor(step, total_steps, steps_per_epoch)
            loss = batch_loss(model, images[batch], labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        score = evaluate(model, *validation)
        seen = f"epoch {epoch + 1}: loss {loss.item():.4f}"
        print(f"{seen}, validation {METRIC} {score:.4f}")
        if step >= total_steps:
            break
''')


def _objective(config: TrainConfig, task: str, penalty: str, output_shape: str) -> str:
    """batch_loss and evaluate for what the run learns (classify or autoencode)."""
    if task == "autoencode":
        params = autoencode_params(config.task)
        noise = params.noise if params is not None else 0.0
        loss = REBUILD_LOSSES.get(config.loss, "F.mse_loss")  # mse: the objective's default
        return AUTOENCODE.substitute(
            noise=repr(noise), loss=loss, penalty=penalty, output_shape=output_shape
        )
    loss = LOSSES[config.loss](config)
    return CLASSIFY.substitute(loss=loss, penalty=penalty, output_shape=output_shape)


def training_source(config: TrainConfig, task: str, output_shape: str) -> str:
    """make_optimizer, lr_factor, batch_loss, evaluate and train for the config and task."""
    name, settings = OPTIMIZERS[config.optimizer](config)
    args = ["parameters", "lr=LR", *arguments(**settings)]
    penalty = ""
    if config.regularization != "none" and config.regularization_rate:
        penalty = f" + {PENALTIES[config.regularization]}"
    return TRAINING.substitute(
        optimizer="\n".join(call(f"return torch.optim.{name}", args, 1)),
        schedule=config.schedule,
        schedule_body=SCHEDULES[config.schedule](config),
        objective=_objective(config, task, penalty, output_shape).strip(),
    )
