"""GET /metrics: Prometheus text with the server's figures, and who may read it."""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.data import Mnist
from app.main import create_app
from app.nn import load_preset
from app.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
LONG = {"epochs": 50, "batch_size": 16, "schedule": "none", "eval_limit": 200}


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def samples(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, float]:
    """Every sample of /metrics as {'name{label="value",...}': value}."""
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def _model(client: TestClient) -> str:
    spec = load_preset("mlp").model_dump(mode="json", exclude_unset=True)
    model_id: str = client.post("/api/models", json={"name": "mlp", "spec": spec}).json()["id"]
    return model_id


def test_requests_runs_and_predictions_are_counted(client: TestClient, mnist: Mnist) -> None:
    model_id = _model(client)
    client.get(f"/api/models/{model_id}")
    client.get("/api/models/nope")
    run = client.post("/api/runs", json={"model_id": model_id, "config": LONG}).json()
    deadline = time.monotonic() + 60
    while True:  # training: its pace shows per run and per device
        found = samples(client)
        pace = found.get(f'nnp_training_samples_per_second{{device="cpu",run_id="{run["id"]}"}}')
        if pace is not None and pace > 0:
            break
        assert time.monotonic() < deadline, "no training pace in /metrics"
        time.sleep(0.1)
    assert found['nnp_device_samples_per_second{device="cpu"}'] >= pace
    assert found['nnp_runs{status="running"}'] == 1
    digit = (mnist.test.images[0].float() / 255).tolist()
    answer = client.post(f"/api/runs/{run['id']}/predict", json={"pixels": digit})
    assert answer.status_code == 200
    client.post(f"/api/runs/{run['id']}/stop")

    found = samples(client)
    handler = 'handler="/api/models/{model_id}",method="GET"'
    assert found[f'nnp_http_requests_total{{{handler},status="200"}}'] == 1
    assert found[f'nnp_http_requests_total{{{handler},status="404"}}'] == 1  # by route template
    assert found[f"nnp_http_request_duration_seconds_count{{{handler}}}"] == 2
    assert found['nnp_prediction_seconds_count{via="rest"}'] == 1
    for name in ("nnp_websocket_viewers{}", "nnp_events_dropped_total{}", "nnp_queue_length"):
        assert any(key.startswith(name.rstrip("{}")) for key in found), name
    assert found["nnp_executor_errors_total{}"] == 0
    assert not any("/metrics" in key for key in found)  # scrapes are not counted

    dashboard = json.loads((REPO_ROOT / "docker" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bnnp_\w+", target["expr"])
    }
    assert len(queried) >= 10
    missing = [name for name in queried if not any(key.startswith(name) for key in found)]
    assert not missing, f"the dashboard queries metrics the server does not have: {missing}"


def test_shared_mode_hides_metrics_unless_a_token_is_set(app_data_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=app_data_dir, shared_mode=True))) as client:
        assert client.get("/metrics").status_code == 404

    settings = Settings(data_dir=app_data_dir, shared_mode=True, metrics_token="scrape-me")
    with TestClient(create_app(settings)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and "NNP_METRICS_TOKEN" in refused.text
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        found = samples(client, {"Authorization": "Bearer scrape-me"})
        assert "nnp_websocket_viewers{}" in found


def test_each_app_has_its_own_registry(app_data_dir: Path, tmp_path: Path) -> None:
    first = create_app(Settings(data_dir=app_data_dir))
    second = create_app(Settings(data_dir=app_data_dir))
    assert first.state.metrics.registry is not second.state.metrics.registry
