"""Server-rendered pages: the home page, the builder, the runs, one run, and the drawing pad."""

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import StoreDep
from app.nn import LAYER_KINDS, PRESET_NAMES, load_preset, summarize
from app.nn.presets import preset_description

router = APIRouter(include_in_schema=False)


@cache
def _presets() -> tuple[dict[str, Any], ...]:
    """The presets with their summaries (they are files in the package: computed once)."""
    return tuple(
        {
            "name": name,
            "description": preset_description(name),
            "summary": summarize(load_preset(name)),
        }
        for name in PRESET_NAMES
    )


def _page(
    request: Request, template: str, page: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, {"page": page, **context}, status_code=status_code
    )
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The home page: what the playground does, and the preset networks with their sizes."""
    return _page(request, "index.html", "home", presets=_presets())


@router.get("/build", response_class=HTMLResponse)
def build(request: Request) -> HTMLResponse:
    """The builder: presets, layer palette, forms and JSON, training settings."""
    return _page(request, "build.html", "build", presets=_presets(), layer_types=list(LAYER_KINDS))


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request) -> HTMLResponse:
    """Every run with its status and best accuracy; pick some to compare their curves."""
    return _page(request, "runs.html", "runs")


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: str, store: StoreDep) -> HTMLResponse:
    """One run, live: controls, charts, feature maps, confusion matrix, a drawing pad."""
    record = store.get_run(run_id)
    if record is None:
        return _page(request, "missing.html", "runs", status_code=404, run_id=run_id)
    model = store.get_model(record.model_id)
    return _page(
        request,
        "run.html",
        "runs",
        run_id=record.id,
        model_name=model.name if model else "deleted model",
    )


@router.get("/draw", response_class=HTMLResponse)
def draw(request: Request) -> HTMLResponse:
    """Draw a digit and see what a trained (or training) run makes of it."""
    return _page(request, "draw.html", "draw")
