"""Errors become JSON `{"detail": ...}` with the right status, never a 500 for bad input."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.imaging import ImageError
from app.inference import NoWeightsError
from app.nn import SpecError
from app.store import ConflictError, NotFoundError
from app.training import ConfigError


def spec_error_detail(error: SpecError, prefix: tuple[str, ...] = ("body", "spec")) -> list[Any]:
    """FastAPI-style error entries that also name the layer, its type and the field."""
    return [
        {
            "loc": [*prefix, *_loc(issue.layer, issue.field)],
            "msg": str(issue),
            "type": "spec_error",
            "layer": issue.layer,
            "layer_type": issue.layer_type,
            "field": issue.field,
        }
        for issue in error.issues
    ]


def _loc(layer: str | None, field: str | None) -> list[str | int]:
    loc: list[str | int] = []
    for index in (layer or "").split(".") if layer else []:
        loc += ["layers", int(index)]
    return loc + (field.split(".") if field else [])


def install_error_handlers(app: FastAPI) -> None:
    """Map the core's exceptions to HTTP answers."""

    @app.exception_handler(SpecError)
    async def spec_error(request: Request, error: SpecError) -> JSONResponse:
        return JSONResponse({"detail": spec_error_detail(error)}, status_code=422)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(ImageError)
    async def bad_image(request: Request, error: ImageError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=413 if error.too_large else 422)

    @app.exception_handler(ConfigError)
    async def bad_config(request: Request, error: ConfigError) -> JSONResponse:
        detail = [
            {
                "loc": ["body", "config", *field.split(".")],
                "msg": f"{field}: {message}",
                "type": "config_error",
                "field": field,
            }
            for field, message in error.issues
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(NoWeightsError)
    async def no_weights(request: Request, error: NoWeightsError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, error: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)
