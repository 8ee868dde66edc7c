"""What a run learns, its config's `task`: the dataset's own targets (`classify`, the default:
classes or, for a regression dataset, values), to rebuild its input (`autoencode`), to act
in an environment from its rewards (`dqn`: deep Q-learning on CartPole), or to make new images
like the dataset's (`gan`: a generator and a discriminator trained against each other).

A plain name takes the task's defaults; an object sets its parameters, as the 2-D datasets do:
`{"name": "autoencode", "noise": 0.3}` trains a denoising autoencoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_TASK = "classify"
Params = TypeVar("Params", bound=BaseModel)


class AutoencodeParams(BaseModel):
    """An autoencoder: the model rebuilds its input through a narrow code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["autoencode"] = "autoencode"
    noise: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="denoising: the standard deviation of Gaussian noise added to each training "
        "input (pixels 0..1, clipped); the target stays the clean image",
    )


class DqnParams(BaseModel):
    """Deep Q-learning: the model is a Q-network that maps an environment's state to one value
    per action and learns them from rewards (replay buffer, target network, ε-greedy play).

    The config's batch_size (replayed transitions per update), optimizer, lr and seed train
    it; its dataset is not used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["dqn"] = "dqn"
    env: Literal["CartPole-v1"] = Field(
        default="CartPole-v1",
        description="the gymnasium environment: CartPole-v1 (4 state numbers, 2 actions)",
    )
    env_steps: int = Field(
        default=100_000, ge=1, le=10_000_000, description="the run's budget of environment steps"
    )
    gamma: float = Field(default=0.99, gt=0.0, le=1.0, description="discount of future rewards")
    buffer_size: int = Field(
        default=50_000, ge=1, le=1_000_000, description="transitions the replay buffer keeps"
    )
    learn_starts: int = Field(
        default=1_000,
        ge=0,
        le=1_000_000,
        description="transitions played into the replay buffer before the first update",
    )
    train_every: int = Field(default=1, ge=1, le=1_000, description="env steps per update")
    target_sync: int = Field(
        default=500, ge=1, le=1_000_000, description="env steps between target-network copies"
    )
    epsilon_start: float = Field(default=1.0, ge=0.0, le=1.0, description="ε at the first step")
    epsilon_end: float = Field(default=0.02, ge=0.0, le=1.0, description="ε after the decay")
    epsilon_steps: int = Field(
        default=10_000, ge=1, le=10_000_000, description="env steps of the linear ε decay"
    )
    double: bool = Field(
        default=False,
        description="Double DQN: the online network picks the next action, the target values it",
    )
    solved_return: float = Field(
        default=195.0,
        ge=0.0,
        description="the mean return over 100 consecutive episodes that counts as solved",
    )
    stop_when_solved: bool = Field(
        default=False, description="end the run once the mean return reaches solved_return"
    )
    eval_episodes: int = Field(
        default=10, ge=1, le=100, description="greedy episodes played after training"
    )


class GanParams(BaseModel):
    """A generative adversarial network: the model spec is a generator (noise → an image of
    the dataset's shape) followed by a discriminator (that image → one score); they train
    against each other with the standard non-saturating loss.

    The config's optimizer, lr, batch_size, epochs and seed train it (the optimizer and lr
    are the generator's; the discriminator uses the same kind of optimizer); the dataset's
    labels are not used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["gan"] = "gan"
    d_lr: float | None = Field(
        default=None,
        gt=0.0,
        le=10.0,
        description="the discriminator's learning rate (left out: the config's lr); a change "
        "of the run's lr while it trains scales both",
    )
    beta1: float = Field(
        default=0.5,
        ge=0.0,
        lt=1.0,
        description="Adam's β₁ for both networks (DCGAN's 0.5 rather than PyTorch's 0.9)",
    )
    label_smoothing: float = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        description="one-sided: the discriminator's target for real images is 1 − this",
    )
    d_steps: int = Field(
        default=1, ge=1, le=10, description="discriminator updates per generator update"
    )
    samples_every_s: float = Field(
        default=1.0,
        ge=0.05,
        le=60.0,
        description="seconds between two live frames of samples from the fixed noise",
    )


TaskRef = str | AutoencodeParams | DqnParams | GanParams  # a new task's parameter model joins …
# … and this table, by the task's name (None: a task without parameters).
TASK_PARAMS: dict[str, type[BaseModel] | None] = {
    "classify": None,
    "autoencode": AutoencodeParams,
    "dqn": DqnParams,
    "gan": GanParams,
}
TASK_NAMES = tuple(TASK_PARAMS)


class TaskError(ValueError):
    """A config's `task` is unknown or its parameters are bad; "field: message"."""


def parse_task(raw: object) -> TaskRef:
    """A config's `task` value as a reference (TaskError naming what is wrong)."""
    if isinstance(raw, str):
        if raw not in TASK_PARAMS:
            raise TaskError(f"task: unknown task '{raw}'; known: {', '.join(TASK_NAMES)}")
        return raw
    if isinstance(raw, BaseModel) and type(raw) in TASK_PARAMS.values():
        return raw  # type: ignore[return-value]  # one of TaskRef's models
    if isinstance(raw, Mapping):
        model = TASK_PARAMS.get(str(raw.get("name")))
        if model is None:
            with_params = ", ".join(name for name, kind in TASK_PARAMS.items() if kind)
            raise TaskError(f"task: parameters are for {with_params} only; other tasks take a name")
        try:
            return model.model_validate(dict(raw))  # type: ignore[return-value]
        except ValidationError as error:
            detail = error.errors()[0]
            where = ".".join(str(part) for part in detail["loc"])
            raise TaskError(f"task.{where}: {detail['msg']}") from None
    raise TaskError(f"task: a task name ({', '.join(TASK_NAMES)}) or an object with its `name`")


def task_name(ref: TaskRef) -> str:
    """The task's name, whatever form the reference has."""
    return ref if isinstance(ref, str) else ref.name


def task_params(ref: TaskRef, model: type[Params]) -> Params | None:
    """The task's parameters if it is the task of `model` (its defaults for the plain name),
    else None."""
    if isinstance(ref, model):
        return ref
    if isinstance(ref, str) and TASK_PARAMS.get(ref) is model:
        return model()
    return None


def autoencode_params(ref: TaskRef) -> AutoencodeParams | None:
    """The autoencoder's parameters (defaults for the plain name); None for other tasks."""
    return task_params(ref, AutoencodeParams)


def dqn_params(ref: TaskRef) -> DqnParams | None:
    """A deep Q-learning run's parameters (defaults for the plain name); None for other tasks."""
    return task_params(ref, DqnParams)


def gan_params(ref: TaskRef) -> GanParams | None:
    """A GAN run's parameters (defaults for the plain name); None for other tasks."""
    return task_params(ref, GanParams)


def fixed_steps(ref: TaskRef) -> int | None:
    """The steps a run of this task takes whatever its dataset (a DQN's environment steps), or
    None where the dataset's size and the epochs decide."""
    params = dqn_params(ref)
    return None if params is None else params.env_steps
