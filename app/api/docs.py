"""The interactive API reference at /docs: Swagger UI from npm, served offline, under the CSP."""

from functools import cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.api.security import content_security_policy, html_script_hashes

router = APIRouter(include_in_schema=False)

SWAGGER_UI = "/vendor/swagger-ui"


@cache
def _page(title: str) -> tuple[bytes, tuple[str, ...]]:
    """The page and the hashes of its one inline script (the same for every request)."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{title} · API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url="/static/img/favicon.svg",
    )
    body = bytes(page.body)
    return body, tuple(html_script_hashes(body.decode()))


@router.get("/docs", response_class=HTMLResponse)
def api_reference(request: Request) -> HTMLResponse:
    """Swagger UI for this server's OpenAPI schema; its start-up script is allowed by hash."""
    body, hashes = _page(request.app.title)
    policy = content_security_policy(hashes, request.headers.get("host", "").lower())
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})
