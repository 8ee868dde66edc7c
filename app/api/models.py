"""Saved models: create (validated and summarised), list, read, delete."""

from typing import Any

from fastapi import APIRouter, Response, status

from app.api.access import owned_model, readable_model
from app.api.deps import IdentityDep, PlaygroundDep, SettingsDep, ShareQuery, UserDep
from app.api.schemas import ModelCreate, ModelPublic, SpecCheck
from app.nn import summarize
from app.store import ModelRecord

router = APIRouter(prefix="/api", tags=["models"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No model with this id"}}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "The spec is invalid; each entry names the layer and field"}
}


@router.post("/specs/summary", responses=_INVALID)
def check_spec(body: SpecCheck, settings: SettingsDep) -> dict[str, Any]:
    """Validate a spec and return its summary (shapes, parameters, MACs) without saving it."""
    return summarize(body.spec, settings.spec_limits()).to_dict()


@router.post("/models", status_code=status.HTTP_201_CREATED, responses=_INVALID)
def create_model(body: ModelCreate, playground: PlaygroundDep, user: UserDep) -> ModelPublic:
    """Save a named spec; answers with its id and summary."""
    return _public(playground.create_model(body.name, body.spec, owner=user.owner))


@router.get("/models")
def list_models(playground: PlaygroundDep, user: UserDep) -> list[ModelPublic]:
    """Every saved model (in shared mode: the caller's), oldest first."""
    owner = user.user_id if user.shared else None
    return [_public(record) for record in playground.models(owner)]


@router.get("/models/{model_id}", responses=_NOT_FOUND)
def read_model(
    model_id: str, playground: PlaygroundDep, identity: IdentityDep, share: ShareQuery = None
) -> ModelPublic:
    """One saved model (also the model of a run shared with `share`)."""
    return _public(readable_model(playground, model_id, identity, share))


@router.delete(
    "/models/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_NOT_FOUND, 409: {"description": "The model has a queued or running run"}},
)
def delete_model(model_id: str, playground: PlaygroundDep, user: UserDep) -> Response:
    """Delete a model and its finished runs; refused while one of its runs is active."""
    owned_model(playground, model_id, user)
    playground.delete_model(model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _public(record: ModelRecord) -> ModelPublic:
    return ModelPublic(
        id=record.id,
        name=record.name,
        spec=record.spec,
        summary=record.summary,
        created_at=record.created_at,
    )
