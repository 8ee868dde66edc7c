"""Saved models: create (validated and summarised), list, read, delete."""

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from app.api.deps import SettingsDep, StoreDep
from app.api.schemas import ModelCreate, ModelPublic, SpecCheck
from app.nn import parse_spec, summarize
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
def create_model(body: ModelCreate, store: StoreDep, settings: SettingsDep) -> ModelPublic:
    """Save a named spec; answers with its id and summary."""
    limits = settings.spec_limits()
    spec = parse_spec(body.spec, limits)
    summary = summarize(spec, limits)
    record = store.create_model(
        body.name, spec.model_dump(mode="json", exclude_unset=True), summary.to_dict()
    )
    return _public(record)


@router.get("/models")
def list_models(store: StoreDep) -> list[ModelPublic]:
    """Every saved model, oldest first."""
    return [_public(record) for record in store.list_models()]


@router.get("/models/{model_id}", responses=_NOT_FOUND)
def read_model(model_id: str, store: StoreDep) -> ModelPublic:
    """One saved model."""
    record = store.get_model(model_id)
    if record is None:
        raise HTTPException(404, f"no model with id '{model_id}'")
    return _public(record)


@router.delete(
    "/models/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_NOT_FOUND, 409: {"description": "The model has a queued or running run"}},
)
def delete_model(model_id: str, store: StoreDep) -> Response:
    """Delete a model and its finished runs; refused while one of its runs is active."""
    if not store.delete_model(model_id):
        raise HTTPException(404, f"no model with id '{model_id}'")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _public(record: ModelRecord) -> ModelPublic:
    return ModelPublic(
        id=record.id,
        name=record.name,
        spec=record.spec,
        summary=record.summary,
        created_at=record.created_at,
    )
