"""Training runs: create (queued), list, read, metrics, control, predict, generate and export."""

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.access import DatasetShareQuery, owned_model, owned_run, readable_run, usable_dataset
from app.api.deps import IdentityDep, PlaygroundDep, ShareQuery, UserDep
from app.api.errors import invalid_input
from app.api.metrics import timed_prediction
from app.api.predict_input import PredictRequest, prepared_sample
from app.imaging.grid import grid_png
from app.inference import NoWeightsError
from app.inference.export import ExportFormat, UnknownPartError
from app.inference.generation import MAX_SAMPLES, NotAGanError
from app.inference.predictor import NotAnAutoencoderError
from app.jsontext import json_bytes
from app.service import RunCreated, RunPublic
from app.training import DEFAULT_LR, TrainConfig, Tuning
from app.training.config import RegularizationName

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


class ShareLink(BaseModel):
    """A read-only link to a run: whoever has it sees the run live, but cannot control it."""

    share_token: str
    url: str


class RunUpdate(BaseModel):
    """Changes to a queued, running or paused run, from its next step (at least one)."""

    model_config = ConfigDict(extra="forbid")

    lr: float | None = Field(
        default=None, gt=0.0, le=10.0, description="the new base learning rate"
    )
    regularization: RegularizationName | None = Field(
        default=None, description="the weight penalty added to the loss: none, l1 or l2"
    )
    regularization_rate: float | None = Field(
        default=None, ge=0.0, le=10.0, description="the penalty's rate"
    )

    @model_validator(mode="after")
    def _something(self) -> "RunUpdate":
        if self.lr is None and self.regularization is None and self.regularization_rate is None:
            raise ValueError("send at least one of lr, regularization, regularization_rate")
        return self

    def tuning(self) -> Tuning:
        """The changes asked for."""
        return Tuning(self.lr, self.regularization, self.regularization_rate)


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
        429: {"description": "Too many queued or running runs for this person"},
    },
)
def create_run(
    body: RunCreate,
    playground: PlaygroundDep,
    user: UserDep,
    dataset_share: DatasetShareQuery = None,
) -> RunCreated:
    """Queue a training run of a saved model; it starts when the runs before it have.

    To train on someone else's upload (`"dataset": "ds_…"` in the config), send its share
    token as `?dataset_share=`; it is checked now and not kept in the run."""
    owned_model(playground, body.model_id, user)
    usable_dataset(playground, body.config, user, dataset_share)
    view = playground.submit(body.model_id, body.config, user.owner)
    return RunCreated(id=view.id, status=view.status, queue_position=view.queue_position)


@router.get("/runs")
def list_runs(
    playground: PlaygroundDep, user: UserDep, model_id: str | None = None
) -> list[RunPublic]:
    """Every run (in shared mode: the caller's and the starter run; optionally of one model),
    oldest first."""
    if user.shared:
        records = playground.runs(model_id, owner=user.user_id, with_starters=True)
    else:
        records = playground.runs(model_id)
    return playground.views(records)


@router.get("/runs/{run_id}", responses=_NOT_FOUND)
def read_run(
    run_id: str, playground: PlaygroundDep, identity: IdentityDep, share: ShareQuery = None
) -> RunPublic:
    """Status, progress, latest metrics and ETA of one run."""
    return playground.view(readable_run(playground, run_id, identity, share))


@router.get("/runs/{run_id}/metrics", responses=_NOT_FOUND)
def read_metrics(
    run_id: str, playground: PlaygroundDep, identity: IdentityDep, share: ShareQuery = None
) -> dict[str, Any]:
    """The whole stored history: step points, epoch summaries, status changes, the final result."""
    readable_run(playground, run_id, identity, share)
    return playground.history(run_id)


@router.post("/runs/{run_id}/pause", responses=_STATE)
def pause_run(run_id: str, playground: PlaygroundDep, user: UserDep) -> RunPublic:
    """Hold the run at its next step."""
    owned_run(playground, run_id, user)
    return playground.pause(run_id)


@router.post("/runs/{run_id}/resume", responses=_STATE)
def resume_run(run_id: str, playground: PlaygroundDep, user: UserDep) -> RunPublic:
    """Go on after a pause, or queue an interrupted run again from its last checkpoint."""
    owned_run(playground, run_id, user)
    return playground.resume(run_id)


@router.post("/runs/{run_id}/stop", responses=_STATE)
def stop_run(run_id: str, playground: PlaygroundDep, user: UserDep) -> RunPublic:
    """End the run at its next step (its weights so far are kept)."""
    owned_run(playground, run_id, user)
    return playground.stop(run_id)


@router.patch("/runs/{run_id}", responses=_STATE)
def update_run(run_id: str, body: RunUpdate, playground: PlaygroundDep, user: UserDep) -> RunPublic:
    """Change the learning rate or the regularisation of a queued, running or paused run, from
    its next step (as TensorFlow Playground does: no restart)."""
    owned_run(playground, run_id, user)
    return playground.tune(run_id, body.tuning())


@router.delete("/runs/{run_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_STATE)
def delete_run(run_id: str, playground: PlaygroundDep, user: UserDep) -> Response:
    """Delete a finished run, its history and its weights (stop it first if it is active)."""
    owned_run(playground, run_id, user)
    playground.delete_run(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/runs/{run_id}/share", responses=_NOT_FOUND)
def share_run(run_id: str, playground: PlaygroundDep, user: UserDep) -> ShareLink:
    """A new read-only link to the run (an older link stops working)."""
    owned_run(playground, run_id, user)
    token = playground.share(run_id, on=True).share_token or ""
    return ShareLink(share_token=token, url=f"/runs/{run_id}?share={token}")


@router.delete("/runs/{run_id}/share", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
def unshare_run(run_id: str, playground: PlaygroundDep, user: UserDep) -> Response:
    """Stop sharing the run: its link stops working."""
    owned_run(playground, run_id, user)
    playground.share(run_id, on=False)
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
    request: Request,
    run_id: str,
    body: Annotated[PredictRequest, Body()],
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
    activations: Annotated[bool, Query(description="add each conv layer's feature maps")] = False,
) -> Response:
    """Classify a digit (or an image of the run's dataset) with the run's latest weights, also
    while it trains. MNIST runs take a drawn digit, prepared as MNIST's are; runs on other image
    datasets take an `image` stretched to their size.

    Answers `{"prediction", "probabilities": [C], "classes": [C names], "input": the sample
    in 0..1, "step", "activations"?}`.
    """
    with timed_prediction(request.app, "rest"):
        readable_run(playground, run_id, identity, share)
        sample = prepared_sample(body, playground.run_dataset(run_id))
        answer = playground.predict(run_id, sample, activations).to_dict()
    # Plain numbers only: orjson is many times faster than FastAPI's generic encoder here.
    return Response(json_bytes(answer), media_type="application/json")


class DecodeRequest(BaseModel):
    """A point of an autoencoder's code space."""

    code: list[float] = Field(
        min_length=1,
        max_length=4096,
        description="as many numbers as the run's code has (the codes events say code_size)",
    )


@router.post(
    "/runs/{run_id}/decode",
    responses={
        **_STATE,
        422: {"description": "Not an autoencode run, or a code of the wrong size"},
    },
)
def decode(
    run_id: str,
    body: DecodeRequest,
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> Response:
    """An autoencode run's decoder on any code (a point picked in its code scatter) with its
    latest weights: `{"reconstruction": C×H×W in 0..1, "step"}`."""
    readable_run(playground, run_id, identity, share)
    try:
        answer = playground.decode(run_id, body.code)
    except NotAnAutoencoderError as error:
        raise invalid_input(["body", "code"], str(error)) from None
    return Response(json_bytes(answer), media_type="application/json")


@router.get(
    "/runs/{run_id}/samples",
    responses={
        **_STATE,
        200: {"content": {"image/png": {}, "application/json": {}}},
        422: {"description": "Not a gan run"},
    },
    response_class=Response,
)
def read_samples(
    run_id: str,
    playground: PlaygroundDep,
    identity: IdentityDep,
    n: Annotated[int, Query(ge=1, le=MAX_SAMPLES, description="how many images")] = 16,
    seed: Annotated[
        int | None,
        Query(ge=0, le=2**31 - 1, description="the noise's seed (left out: a random one)"),
    ] = None,
    sample_format: Annotated[Literal["png", "json"], Query(alias="format")] = "png",
    share: ShareQuery = None,
) -> Response:
    """Images a gan run's generator makes with its latest weights from `n` noise vectors
    drawn from `seed` (same seed, same images for the same weights): one PNG grid, or JSON
    `{"images": n×C×H×W in 0..1, "shape", "step", "seed"}`. The PNG's `X-Seed` and `X-Step`
    headers say the seed and the training step of the weights."""
    readable_run(playground, run_id, identity, share)
    chosen = secrets.randbelow(2**31) if seed is None else seed
    try:
        made = playground.samples(run_id, n, chosen)
    except NotAGanError as error:
        raise invalid_input(["path", "run_id"], str(error)) from None
    headers = {"X-Seed": str(chosen), "X-Step": str(made.step)}
    if sample_format == "json":
        return Response(json_bytes(made.to_dict()), media_type="application/json", headers=headers)
    return Response(grid_png(made.images), media_type="image/png", headers=headers)


MAX_NOISE = 64  # noise vectors in one generate request


class GenerateRequest(BaseModel):
    """Noise vectors for a GAN's generator."""

    noise: list[list[float]] = Field(
        min_length=1,
        max_length=MAX_NOISE,
        description="1 to 64 vectors of the generator's latent_dim numbers each",
    )


@router.post(
    "/runs/{run_id}/generate",
    responses={**_STATE, 422: {"description": "Not a gan run, or noise of the wrong size"}},
)
def generate_images(
    run_id: str,
    body: GenerateRequest,
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> Response:
    """A gan run's generator on the given noise vectors (an interpolation between two, say)
    with its latest weights: `{"images": N×C×H×W in 0..1, "shape", "step"}`."""
    readable_run(playground, run_id, identity, share)
    try:
        made = playground.generate(run_id, body.noise)
    except NotAGanError as error:
        raise invalid_input(["body", "noise"], str(error)) from None
    return Response(json_bytes(made.to_dict()), media_type="application/json")


@router.get("/runs/{run_id}/confusion", responses=_STATE)
def read_confusion_cell(
    run_id: str,
    playground: PlaygroundDep,
    identity: IdentityDep,
    label: Annotated[int, Query(ge=0, description="the true class (digit)")],
    prediction: Annotated[int, Query(ge=0, description="what the model said")],
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
    share: ShareQuery = None,
) -> dict[str, Any]:
    """The validation samples in one confusion-matrix cell, by the run's latest weights
    (pictures for 28×28 grey datasets)."""
    readable_run(playground, run_id, identity, share)
    dataset = playground.run_dataset(run_id)
    classes = len(dataset.classes)
    if classes == 0:
        raise invalid_input(
            ["path", "run_id"],
            f"this run learns '{dataset.name}', a regression problem: it has no classes, "
            "so no confusion matrix",
        )
    for name, value in (("label", label), ("prediction", prediction)):
        if value >= classes:
            raise invalid_input(
                ["query", name], f"this run's dataset has classes 0..{classes - 1}, not {value}"
            )
    return playground.confusion_examples(run_id, label, prediction, limit)


@router.get(
    "/runs/{run_id}/export",
    responses={
        **_STATE,
        200: {"content": {"application/octet-stream": {}, "text/x-python": {}}},
    },
    response_class=Response,
)
def export_run(
    run_id: str,
    playground: PlaygroundDep,
    identity: IdentityDep,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "safetensors",
    part: Annotated[
        str | None,
        Query(
            max_length=40,
            description="`model` (the whole), or a part that works alone: an autoencoder's "
            "`encoder` or `decoder`, a GAN's `generator` or `discriminator`; left out: the "
            "whole, except a GAN's generator",
        ),
    ] = None,
    share: ShareQuery = None,
) -> Response:
    """Download the trained model (or a part of it) as safetensors, TorchScript or ONNX; its
    input is a batch of samples of the model's (or the part's) input shape. `python`: one
    standalone .py file, the model in plain PyTorch and a `main` that trains it as the run did
    (on MNIST) or loads the safetensors weights."""
    record = readable_run(playground, run_id, identity, share)
    try:
        export = playground.export(run_id, export_format, part)
    except UnknownPartError as error:
        raise invalid_input(["query", "part"], str(error)) from None
    except NoWeightsError:
        raise HTTPException(
            409, f"run '{run_id}' has no weights yet (it is {record.status})"
        ) from None
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
