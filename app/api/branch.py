"""Time travel: the epochs a run keeps, a new run branched from one, a drawing through them."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status
from pydantic import BaseModel, Field

from app.api.access import owned_run, readable_run
from app.api.deps import IdentityDep, PlaygroundDep, ShareQuery, UserDep
from app.api.errors import invalid_input
from app.api.predict_input import PredictRequest, prepared_sample
from app.inference.through_time import NotAClassifierError
from app.jsontext import json_bytes
from app.service import RunPublic
from app.training.branching import BranchError

router = APIRouter(prefix="/api", tags=["runs"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No run with this id"}}


class BranchCreate(BaseModel):
    """Start a new run from one of this run's kept epochs, with some settings changed."""

    model_config = {
        "json_schema_extra": {
            "examples": [{"epoch": 2, "config": {"lr": 0.001, "epochs": 5, "frozen": ["1"]}}]
        }
    }

    epoch: int = Field(ge=0, description="a kept epoch (GET /api/runs/{id}/checkpoints)")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="the settings to change (lr, optimizer, batch_size, schedule, epochs in "
        "all, frozen layer paths, …); the rest is the parent's; dataset and task stay",
    )


@router.get("/runs/{run_id}/checkpoints", responses=_NOT_FOUND)
def read_checkpoints(
    run_id: str, playground: PlaygroundDep, identity: IdentityDep, share: ShareQuery = None
) -> dict[str, Any]:
    """The epochs this run keeps checkpoints of: `{"epochs": [{"epoch", "step",
    "val_accuracy", "val_loss", "best"}], "cap"}`; the first, the best and the newest are
    always kept, the others thinned out evenly over the cap."""
    readable_run(playground, run_id, identity, share)
    return playground.checkpoints(run_id)


@router.post(
    "/runs/{run_id}/branch",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_NOT_FOUND,
        422: {"description": "No such kept epoch, a bad setting or layer path"},
        429: {"description": "Too many queued or running runs for this person"},
    },
)
def branch_run(
    run_id: str, body: BranchCreate, playground: PlaygroundDep, user: UserDep
) -> RunPublic:
    """Queue a new run that starts from epoch `epoch`'s weights and optimizer state with the
    changed settings; it records its parent and branch point, and its epochs and steps go on
    from there. A changed optimizer starts fresh (`branch_note` says what carried over)."""
    owned_run(playground, run_id, user)
    try:
        return playground.branch(run_id, body.epoch, body.config, user.owner)
    except BranchError as error:
        raise invalid_input(["body", error.field], f"{error.field}: {error}") from None


@router.post(
    "/runs/{run_id}/through-time",
    responses={
        **_NOT_FOUND,
        422: {"description": "Bad pixels or image, or a run that does not classify"},
    },
)
def score_through_time(
    run_id: str,
    body: Annotated[PredictRequest, Body()],
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> Response:
    """Classify one drawing (like predict) with every kept epoch's weights: `{"epochs":
    [{"epoch", "step", "prediction", "probabilities"}], "classes"}`, oldest epoch first."""
    readable_run(playground, run_id, identity, share)
    sample = prepared_sample(body, playground.run_dataset(run_id))
    try:
        answer = playground.through_time(run_id, sample)
    except NotAClassifierError as error:
        raise invalid_input(["path", "run_id"], str(error)) from None
    return Response(json_bytes(answer), media_type="application/json")
