"""Server-rendered pages: the home page, the builder, the runs, one run, the drawing pad, the
2-D playground, and the datasets."""

from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.access import readable_run
from app.api.deps import IdentityDep, PlaygroundDep, SettingsDep, ShareQuery
from app.api.identity import access_token_matches, local_next, set_cookie_header
from app.data.dataset import TaskKind
from app.data.planar import PLANAR_PROBLEMS
from app.nn import LAYER_KINDS, PRESET_NAMES, load_preset, summarize
from app.nn.presets import preset_description
from app.store import new_id

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
    shared = request.state.identity.shared
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, {"page": page, "shared": shared, **context}, status_code=status_code
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
def run(
    request: Request,
    run_id: str,
    playground: PlaygroundDep,
    identity: IdentityDep,
    share: ShareQuery = None,
) -> HTMLResponse:
    """One run, live: controls, charts, feature maps, confusion matrix, a drawing pad.

    With `?share=` (someone else's run shared by link) the page is read-only.
    """
    try:
        record = readable_run(playground, run_id, identity, share)
    except HTTPException:
        return _page(request, "missing.html", "runs", status_code=404, run_id=run_id)
    model = playground.model(record.model_id)
    return _page(
        request,
        "run.html",
        "runs",
        run_id=record.id,
        model_name=model.name if model else "deleted model",
        owner=identity.owns(record.owner),
        share=share if not identity.owns(record.owner) else None,
    )


@router.get("/draw", response_class=HTMLResponse)
def draw(request: Request) -> HTMLResponse:
    """Draw a digit and see what a trained (or training) run makes of it."""
    return _page(request, "draw.html", "draw")


@router.get("/datasets", response_class=HTMLResponse)
def datasets(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Every dataset a run can train on, and a form to upload your own."""
    return _page(
        request,
        "datasets.html",
        "datasets",
        max_upload_bytes=settings.max_upload_bytes,
        max_upload_classes=settings.max_upload_classes,
    )


@router.get("/plane", response_class=HTMLResponse)
def plane(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The 2-D playground: TensorFlow Playground's problems, the boundary as the network learns."""
    # [(kind, [(name, description)])]: the classification problems, then the regression ones
    problem_groups = []
    for kind in TaskKind:
        names = [(name, p.description) for name, p in PLANAR_PROBLEMS.items() if p.kind is kind]
        problem_groups.append((kind.value, names))
    return _page(
        request,
        "plane.html",
        "plane",
        problem_groups=problem_groups,
        max_epochs=settings.max_epochs,
    )


@router.get("/join", response_class=HTMLResponse)
async def join(
    request: Request,
    settings: SettingsDep,
    identity: IdentityDep,
    token: Annotated[str | None, Query(max_length=256)] = None,
    next_page: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
) -> Response:
    """Join a shared server: the access-token form, or a link that carries the token."""
    return await _join(request, settings, identity, token, next_page)


@router.post("/join", response_class=HTMLResponse)
async def join_form(request: Request, settings: SettingsDep, identity: IdentityDep) -> Response:
    """The access-token form's answer (application/x-www-form-urlencoded)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = fields.get("token", [""])[0]
    return await _join(request, settings, identity, token, fields.get("next", ["/"])[0])


async def _join(
    request: Request,
    settings: SettingsDep,
    identity: IdentityDep,
    token: str | None,
    next_page: str | None,
) -> Response:
    target = local_next(next_page)
    if identity.user_id is not None:
        return RedirectResponse(target, status_code=303)
    if token is None:
        return _page(request, "join.html", "join", next_page=target)
    if not access_token_matches(settings, token):
        return _page(
            request,
            "join.html",
            "join",
            status_code=403,
            next_page=target,
            error="That is not this server's access token; ask whoever runs it.",
        )
    user_id = new_id()  # written only when the person saves something
    response = RedirectResponse(target, status_code=303)
    name, value = set_cookie_header(
        request.app.state.signer, user_id, request.url.scheme == "https"
    )
    response.headers.append(name.decode(), value.decode("latin-1"))
    return response
