"""The datasets a run can train on (a run's config names one in `dataset`)."""

from typing import Any

from fastapi import APIRouter

from app.api.deps import PlaygroundDep

router = APIRouter(prefix="/api", tags=["datasets"])


@router.get("/datasets")
def list_datasets(playground: PlaygroundDep) -> list[dict[str, Any]]:
    """Every dataset: `name` (what a run's config names), `kind` (classification or
    regression), `input_shape`, `classes` (names, in label order), `outputs` (what a model's
    last layer must give), `splits` sizes, `source` (built-in, generated or upload),
    `available` (with a `note` on how to add it when not) and, for the 2-D problems, the
    default `params` a run may change (`{"dataset": {"name": "spiral", "noise": 0.1}}`)."""
    return [info.to_dict() for info in playground.datasets()]
