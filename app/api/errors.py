"""Errors become JSON `{"detail": ...}` with the right status, never a 500 for bad input."""

import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi import HTTPException as FastAPIHTTPException
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from app.data.registry import DatasetError
from app.data.upload_checks import UploadError
from app.imaging import ImageError
from app.inference import NoWeightsError
from app.nn import SpecError
from app.store import ConflictError, LimitError, NotFoundError, StoreFullError
from app.training import ConfigError


def invalid_input(where: Sequence[str | int], message: str) -> HTTPException:
    """A 422 in the form FastAPI gives its own validation errors (and the API schema says):
    `{"detail": [{"loc", "msg", "type"}]}`."""
    detail = [{"loc": list(where), "msg": message, "type": "value_error"}]
    return FastAPIHTTPException(422, detail)


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


def json_safe(value: Any) -> Any:
    """`value` with NaN and ±inf (which JSON cannot hold) replaced by their names."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def install_error_handlers(app: FastAPI) -> None:
    """Map the core's exceptions to HTTP answers."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input, and a NaN in it made the answer a 500.
        detail = json_safe(jsonable_encoder(error.errors()))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        # FastAPI answers a body that is not UTF-8 with a bare 400; say what is wrong, as a
        # 422 like every other undecodable JSON body.
        if error.status_code == 400 and isinstance(error.__cause__, UnicodeDecodeError):
            detail = [
                {
                    "loc": ["body"],
                    "msg": f"the request body is not UTF-8 JSON: {error.__cause__.reason}",
                    "type": "json_invalid",
                }
            ]
            return JSONResponse({"detail": detail}, status_code=422)
        return await http_exception_handler(request, error)

    @app.exception_handler(SpecError)
    async def spec_error(request: Request, error: SpecError) -> JSONResponse:
        return JSONResponse({"detail": spec_error_detail(error)}, status_code=422)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(ImageError)
    async def bad_image(request: Request, error: ImageError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=413 if error.too_large else 422)

    @app.exception_handler(UploadError)
    async def bad_upload(request: Request, error: UploadError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=413 if error.too_large else 422)

    @app.exception_handler(DatasetError)
    async def no_dataset(request: Request, error: DatasetError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

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

    @app.exception_handler(LimitError)
    async def too_many_runs(request: Request, error: LimitError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"Retry-After": "30"})

    @app.exception_handler(StoreFullError)
    async def disk_full(request: Request, error: StoreFullError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=507)

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, error: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)
