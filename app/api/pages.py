"""Server-rendered pages."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.nn import PRESET_NAMES, load_preset, summarize
from app.nn.presets import preset_description

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The home page: the preset networks with their sizes."""
    presets = [
        {
            "name": name,
            "description": preset_description(name),
            "summary": summarize(load_preset(name)),
        }
        for name in PRESET_NAMES
    ]
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "index.html", {"presets": presets}
    )
    return response
