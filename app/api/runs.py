"""Training runs: create (queued), list, read, metrics, control, predict and export."""

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field

from app.api.deps import ManagerDep, PredictorDep, SettingsDep, StoreDep
from app.api.predict_input import PredictRequest, prepared_digit
from app.api.run_views import RunCreated, RunPublic, run_view, run_views
from app.inference.export import MEDIA_TYPES, SUFFIXES, ExportFormat, export_model
from app.nn import build_model
from app.store import ACTIVE_STATUSES, RunRecord, Store
from app.training import DEFAULT_LR, TrainConfig

router = APIRouter(prefix="/api", tags=["runs"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No run with this id"}}
_STATE: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"description": "The run is not in a state that allows this"},
}


class RunCreate(BaseModel):
    """Train a saved model with a training config (every field has a default)."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"model_id": "3f2a9c0d1e4b", "config": {"epochs": 2, "batch_size": 64}},
            ]
        }
    }

    model_id: str = Field(min_length=1, max_length=64)
    config: dict[str, Any] = Field(
        default_factory=dict, description="see GET /api/training/config for fields and defaults"
    )


class RunUpdate(BaseModel):
    """A change to a running run."""

    lr: float = Field(gt=0.0, le=10.0, description="the new base learning rate, from the next step")


@router.get("/training/config")
def read_training_config() -> dict[str, Any]:
    """The training config's JSON Schema and its defaults, for forms."""
    return {
        "schema": TrainConfig.model_json_schema(),
        "defaults": TrainConfig().model_dump(),
        "default_lr": DEFAULT_LR,
    }


@router.post(
    "/runs",
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "No model with this id"},
        422: {"description": "Bad config"},
        429: {"description": "Too many queued or running runs from this client"},
    },
)
def create_run(
    body: RunCreate,
    request: Request,
    manager: ManagerDep,
    store: StoreDep,
    settings: SettingsDep,
) -> RunCreated:
    """Queue a training run of a saved model; it starts when the runs before it have."""
    owner = request.client.host if request.client else None
    active = store.list_runs(statuses=ACTIVE_STATUSES, owner=owner) if owner else []
    if len(active) >= settings.max_active_runs_per_client:
        raise HTTPException(
            429,
            f"you already have {len(active)} runs queued or training, the most allowed; "
            "wait for one to finish or stop one",
            headers={"Retry-After": "30"},
        )
    record = manager.submit(body.model_id, body.config, owner)
    view = run_view(store, record)
    return RunCreated(id=view.id, status=view.status, queue_position=view.queue_position)


@router.get("/runs")
def list_runs(store: StoreDep, model_id: str | None = None) -> list[RunPublic]:
    """Every run (optionally of one model), oldest first."""
    return run_views(store, store.list_runs(model_id))


@router.get("/runs/{run_id}", responses=_NOT_FOUND)
def read_run(run_id: str, store: StoreDep) -> RunPublic:
    """Status, progress, latest metrics and ETA of one run."""
    return run_view(store, _record(store, run_id))


@router.get("/runs/{run_id}/metrics", responses=_NOT_FOUND)
def read_metrics(run_id: str, store: StoreDep) -> dict[str, Any]:
    """The whole stored history: step points, epoch summaries, status changes, the final result."""
    _record(store, run_id)
    events = store.events_since(run_id, types=["step", "epoch", "status", "done"])
    done = [event for event in events if event["type"] == "done"]
    return {
        "steps": [event for event in events if event["type"] == "step"],
        "epochs": [event for event in events if event["type"] == "epoch"],
        "statuses": [event for event in events if event["type"] == "status"],
        "done": done[-1] if done else None,
    }


@router.post("/runs/{run_id}/pause", responses=_STATE)
def pause_run(run_id: str, manager: ManagerDep, store: StoreDep) -> RunPublic:
    """Hold the run at its next step."""
    manager.pause(run_id)
    return run_view(store, _record(store, run_id))


@router.post("/runs/{run_id}/resume", responses=_STATE)
def resume_run(run_id: str, manager: ManagerDep, store: StoreDep) -> RunPublic:
    """Go on after a pause, or queue an interrupted run again from its last checkpoint."""
    return run_view(store, manager.resume(run_id))


@router.post("/runs/{run_id}/stop", responses=_STATE)
def stop_run(run_id: str, manager: ManagerDep, store: StoreDep) -> RunPublic:
    """End the run at its next step (its weights so far are kept)."""
    return run_view(store, manager.stop(run_id))


@router.patch("/runs/{run_id}", responses=_STATE)
def update_run(run_id: str, body: RunUpdate, manager: ManagerDep, store: StoreDep) -> RunPublic:
    """Change the learning rate of a queued, running or paused run."""
    manager.set_lr(run_id, body.lr)
    return run_view(store, _record(store, run_id))


@router.delete("/runs/{run_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_STATE)
def delete_run(run_id: str, store: StoreDep, predictor: PredictorDep) -> Response:
    """Delete a finished run, its history and its weights (stop it first if it is active)."""
    if not store.delete_run(run_id):
        raise HTTPException(404, f"no run with id '{run_id}'")
    predictor.forget(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/runs/{run_id}/predict",
    responses={
        **_STATE,
        200: {
            "description": "The prediction",
            "content": {
                "application/json": {
                    "example": {
                        "prediction": 7,
                        "probabilities": [0.0, 0.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.98, 0.0, 0.01],
                        "input": [[0.0] * 28] * 28,
                        "step": 1563,
                    }
                }
            },
        },
        413: {"description": "The image is too large"},
        422: {"description": "The pixels or the image are invalid"},
    },
)
def predict(
    run_id: str,
    body: Annotated[PredictRequest, Body()],
    predictor: PredictorDep,
    activations: Annotated[bool, Query(description="add each conv layer's feature maps")] = False,
) -> Response:
    """Classify a digit with the run's latest weights (also while it trains).

    Answers `{"prediction", "probabilities": [10], "input": 28×28, "step", "activations"?}`.
    """
    answer = predictor.predict(run_id, prepared_digit(body), activations).to_dict()
    # Plain numbers only: json.dumps is many times faster than FastAPI's generic encoder here.
    return Response(json.dumps(answer), media_type="application/json")


@router.get("/runs/{run_id}/confusion", responses=_STATE)
def read_confusion_cell(
    run_id: str,
    predictor: PredictorDep,
    label: Annotated[int, Query(ge=0, le=9, description="the true digit")],
    prediction: Annotated[int, Query(ge=0, le=9, description="what the model said")],
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
) -> dict[str, Any]:
    """The validation digits in one confusion-matrix cell, by the run's latest weights."""
    return predictor.validation_examples(run_id, label, prediction, limit)


@router.get(
    "/runs/{run_id}/export",
    responses={**_STATE, 200: {"content": {"application/octet-stream": {}}}},
    response_class=Response,
)
def export_run(
    run_id: str,
    manager: ManagerDep,
    store: StoreDep,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "safetensors",
) -> Response:
    """Download the trained model as safetensors, TorchScript or ONNX (input: (N, 1, 28, 28))."""
    record = _record(store, run_id)
    snapshot = manager.latest_weights(run_id)
    model = store.get_model(record.model_id)
    if snapshot is None or model is None:
        raise HTTPException(409, f"run '{run_id}' has no weights yet (it is {record.status})")
    built = build_model(model.spec, manager.settings.spec_limits())
    built.module.load_state_dict(snapshot.state)
    metadata = {"spec": model.spec, "config": record.config, "step": snapshot.step}
    content = export_model(built.module, built.summary.input_shape, export_format, metadata)
    filename = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model.name}-{run_id}").strip("-")
    return Response(
        content,
        media_type=MEDIA_TYPES[export_format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}{SUFFIXES[export_format]}"'
        },
    )


def _record(store: Store, run_id: str) -> RunRecord:
    record = store.get_run(run_id)
    if record is None:
        raise HTTPException(404, f"no run with id '{run_id}'")
    return record
