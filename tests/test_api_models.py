"""REST: layers, presets, spec summaries and saved models, with every error status."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.nn import LAYER_KINDS, PRESET_NAMES, load_preset, preset_config
from app.settings import Settings


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir, max_body_bytes=100_000))) as c:
        yield c


def _spec(name: str = "mlp") -> dict[str, Any]:
    return load_preset(name).model_dump(mode="json", exclude_unset=True)


def test_layers_lists_every_type_with_its_schema(client: TestClient) -> None:
    body = client.get("/api/layers").json()
    types = {layer["type"]: layer for layer in body["layers"]}
    assert set(types) == set(LAYER_KINDS)
    conv = types["conv2d"]
    assert conv["category"] == "weights"
    assert "out_channels" in conv["schema"]["required"]
    assert conv["schema"]["properties"]["kernel_size"]["anyOf"][0]["minimum"] == 1
    assert "layers" in body["spec_schema"]["properties"]


def test_presets(client: TestClient) -> None:
    presets = client.get("/api/presets").json()
    assert [preset["name"] for preset in presets] == list(PRESET_NAMES)
    lenet = client.get("/api/presets/lenet5").json()
    assert lenet["summary"]["total_params"] == 61_706
    assert lenet["spec"]["layers"][0]["type"] == "conv2d"
    assert client.get("/api/presets/alexnet").status_code == 404
    assert lenet["config"] == {}  # trains with the defaults
    speedrun = client.get("/api/presets/speedrun").json()
    assert speedrun["config"] == preset_config("speedrun")
    assert speedrun["config"]["channels_last"] is True
    assert next(p for p in presets if p["name"] == "speedrun")["config"] == speedrun["config"]


def test_spec_summary_and_its_errors(client: TestClient) -> None:
    summary = client.post("/api/specs/summary", json={"spec": _spec("lenet5")}).json()
    assert summary["layers"][0]["formula"] == "⌊(28 + 2·2 − 5)/1⌋ + 1 = 28"
    bad = {"layers": [{"type": "flatten"}, {"type": "residual", "layers": [{"type": "conv2d"}]}]}
    answer = client.post("/api/specs/summary", json={"spec": bad})
    assert answer.status_code == 422
    (detail,) = answer.json()["detail"]
    assert detail["layer"] == "1.0"
    assert detail["field"] == "out_channels"
    assert detail["loc"] == ["body", "spec", "layers", 1, "layers", 0, "out_channels"]
    assert detail["msg"].startswith("layer 1.0 (conv2d), field 'out_channels'")


def test_model_crud(client: TestClient) -> None:
    created = client.post("/api/models", json={"name": "first", "spec": _spec()})
    assert created.status_code == 201
    model = created.json()
    assert model["summary"]["total_params"] == 101_770
    assert client.get(f"/api/models/{model['id']}").json() == model
    assert [m["id"] for m in client.get("/api/models").json()] == [model["id"]]
    assert client.delete(f"/api/models/{model['id']}").status_code == 204
    assert client.get(f"/api/models/{model['id']}").status_code == 404
    assert client.delete(f"/api/models/{model['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "x", "spec": {"layers": [{"type": "linear", "out_features": 10}]}}, "flatten"),
        ({"name": "x", "spec": {"layers": [{"type": "conv9d"}]}}, "unknown layer type"),
        ({"name": "", "spec": {"layers": [{"type": "relu"}]}}, "name"),
        ({"spec": {"layers": [{"type": "relu"}]}}, "name"),
        ({"name": "x", "spec": "not an object"}, "spec"),
        ([1, 2, 3], "body"),
    ],
)
def test_bad_models_are_422_naming_the_problem(client: TestClient, body: Any, where: str) -> None:
    answer = client.post("/api/models", json=body)
    assert answer.status_code == 422
    assert where in str(answer.json()["detail"])


def test_malformed_json_is_422_and_oversized_body_is_413(client: TestClient) -> None:
    broken = client.post(
        "/api/models", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    huge = {"name": "x", "spec": {"layers": [{"type": "relu"}] * 20_000}}
    assert client.post("/api/models", json=huge).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "x", "spec": {"layers": ['
        for _ in range(20_000):
            yield b'{"type": "relu"},'
        yield b'{"type": "relu"}]}}'

    streamed = client.post(
        "/api/models", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert "larger than 100,000 bytes" in streamed.json()["detail"]


def test_openapi_describes_every_endpoint_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/models",
        "/api/runs",
        "/api/runs/{run_id}/predict",
        "/api/runs/{run_id}/export",
        "/api/training/config",
        "/healthz",
    ):
        assert path in paths
    model_create = schema["components"]["schemas"]["ModelCreate"]
    assert model_create["examples"][0]["spec"]["layers"]
    assert client.get("/docs").status_code == 200
