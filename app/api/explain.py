"""Why a run said what it said of a drawing: attribution heatmaps, and the arithmetic of one
feature-map unit (CNN Explainer's lesson on the person's own model)."""

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Response
from pydantic import Field, field_validator
from starlette.exceptions import HTTPException

from app.api.access import readable_run
from app.api.deps import IdentityDep, PlaygroundDep, ShareQuery
from app.api.errors import invalid_input
from app.api.predict_input import PredictRequest, placed_sample, prepared_sample
from app.inference.conv_paths import ExplainError
from app.inference.explain import MethodName
from app.jsontext import json_bytes

router = APIRouter(prefix="/api", tags=["explain"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No run with this id"},
    409: {"description": "The run has no weights yet"},
    413: {"description": "The image is too large"},
    422: {"description": "Bad input, or a run whose model cannot be explained this way"},
}
_MAX_INDEX = 100_000


class ExplainRequest(PredictRequest):
    """A drawing (as for predict) and how to explain what the run makes of it."""

    method: MethodName = Field(
        default="saliency",
        description="saliency (|gradient|), integrated_gradients (signed, from a black "
        "picture) or gradcam (a conv layer's class evidence; needs a conv layer)",
    )
    target: int | None = Field(
        default=None, ge=0, le=_MAX_INDEX, description="the class to explain; default: the answer"
    )
    layer: str | None = Field(
        default=None,
        max_length=40,
        description="gradcam only: the conv layer's spec path ('3', '5.0'); default: the last",
    )


class UnitRequest(PredictRequest):
    """A drawing (as for predict) and one unit of a conv layer's feature map."""

    layer: str = Field(min_length=1, max_length=40, description="the conv layer's spec path")
    channel: int = Field(ge=0, le=_MAX_INDEX, description="the output channel")
    y: int = Field(ge=0, le=_MAX_INDEX, description="the unit's row in the feature map")
    x: int = Field(ge=0, le=_MAX_INDEX, description="the unit's column in the feature map")
    shown: tuple[int, int] | None = Field(
        default=None,
        description="[height, width] of the copy of the map y and x were picked on, if it was "
        "shown smaller than the layer's own (predict's activations are at most 28×28)",
    )

    @field_validator("shown")
    @classmethod
    def _positive(cls, shown: tuple[int, int] | None) -> tuple[int, int] | None:
        if shown is not None and not (0 < shown[0] <= _MAX_INDEX and 0 < shown[1] <= _MAX_INDEX):
            raise ValueError("shown: both sides must be positive")
        return shown


def _refused(error: ExplainError) -> HTTPException:
    where = ["path", "run_id"] if error.field == "run_id" else ["body", error.field]
    return invalid_input(where, str(error))


@router.post("/runs/{run_id}/explain", responses=_RESPONSES)
def explain(
    run_id: str,
    body: Annotated[ExplainRequest, Body()],
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> Response:
    """A heatmap of why the run's newest weights give a class for a drawing, in the frame of
    the picture the model saw (the prepared 28×28 digit for MNIST).

    Answers `{"method", "target", "prediction", "probabilities", "heatmap": H×W (0..1, or
    -1..1 when "signed"), "peak": the raw value that became 1, "signed", "step", "layer",
    "layers": Grad-CAM at every conv layer [{"path", "cam": h×w, "upsampled": H×W, "peak"}],
    "input": the picture explained, as predict answers it, "placement": where a drawing's ink
    went in the prepared digit {"size": the drawing's [H, W], "source": the ink's box [top,
    left, height, width] in it, "digit": that box in the 28×28 digit}, or null}`.
    Classifiers of pictures only.
    """
    readable_run(playground, run_id, identity, share)
    sample, placement = placed_sample(body, playground.run_dataset(run_id))
    try:
        answer = playground.explain(run_id, sample, body.method, body.target, body.layer)
    except ExplainError as error:
        raise _refused(error) from None
    shown = {
        **answer.to_dict(),
        "input": np.round(sample, 4).tolist(),  # the picture explained
        "placement": placement.to_dict() if placement is not None else None,
    }
    return Response(json_bytes(shown), media_type="application/json")


@router.post("/runs/{run_id}/explain/unit", responses=_RESPONSES)
def explain_unit(
    run_id: str,
    body: Annotated[UnitRequest, Body()],
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> Response:
    """How one unit of a conv layer's feature map is made for a drawing: the input patch (every
    input channel the unit reads; padded positions are zeros, marked in "padded"), the kernel,
    the bias, stride and padding, Σ patch × kernel, and sum + bias = "value", the feature map's
    value before any activation that follows the layer ("pre_activation": true)."""
    readable_run(playground, run_id, identity, share)
    sample = prepared_sample(body, playground.run_dataset(run_id))
    try:
        unit = playground.explain_unit(
            run_id, sample, body.layer, body.channel, body.y, body.x, body.shown
        )
    except ExplainError as error:
        raise _refused(error) from None
    return Response(json_bytes(unit.to_dict()), media_type="application/json")
