"""What a run learns, its config's `task`: the dataset's own targets (`classify`, the default:
classes or, for a regression dataset, values) or to rebuild its input (`autoencode`).

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


TaskRef = str | AutoencodeParams  # a new task's parameter model joins the union …
# … and this table, by the task's name (None: a task without parameters).
TASK_PARAMS: dict[str, type[BaseModel] | None] = {
    "classify": None,
    "autoencode": AutoencodeParams,
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
