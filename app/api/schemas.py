"""Request and response bodies of the REST API."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.nn import load_preset

_EXAMPLE_SPEC = load_preset("mlp").model_dump(mode="json", exclude_unset=True)

SpecField = Field(
    description="A model spec (see GET /api/layers for its JSON Schema). It is validated by the "
    "server, and errors name the layer and field.",
    examples=[_EXAMPLE_SPEC],
)


class SpecCheck(BaseModel):
    """A spec to check without saving it."""

    spec: dict[str, Any] = SpecField


class ModelCreate(BaseModel):
    """A named spec to save."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "my first MLP", "spec": _EXAMPLE_SPEC}]}
    )

    name: str = Field(min_length=1, max_length=100)
    spec: dict[str, Any] = SpecField


class ModelPublic(BaseModel):
    """A saved model."""

    id: str
    name: str
    spec: dict[str, Any]
    summary: dict[str, Any]
    created_at: float
