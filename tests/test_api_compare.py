"""REST: GET /api/runs/{a}/diff/{b}, two runs' spec and config diffs, and its refusals."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import TINY_RUN, TINY_SPEC

from app.main import create_app
from app.settings import Settings

WIDER = {
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "out_features": 32},
        {"type": "relu"},
        {"type": "linear", "out_features": 10},
    ]
}


def _run(client: TestClient, spec: dict[str, Any], config: dict[str, Any]) -> str:
    model = client.post("/api/models", json={"name": "m", "spec": spec})
    assert model.status_code == 201, model.text
    run = client.post("/api/runs", json={"model_id": model.json()["id"], "config": config})
    assert run.status_code == 201, run.text
    run_id: str = run.json()["id"]
    return run_id


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def test_two_runs_differ_in_layers_and_settings(client: TestClient) -> None:
    a = _run(client, TINY_SPEC, TINY_RUN)
    b = _run(client, WIDER, {**TINY_RUN, "lr": 0.01})
    answer = client.get(f"/api/runs/{a}/diff/{b}")
    assert answer.status_code == 200, answer.text
    diff = answer.json()
    assert [run["id"] for run in diff["runs"]] == [a, b]
    spec = diff["spec"]
    assert [(row["change"], row["type"]) for row in spec["layers"]] == [
        ("same", "flatten"),
        ("changed", "linear"),
        ("added", "relu"),
        ("added", "linear"),
    ]
    assert spec["layers"][1]["fields"] == {"out_features": [10, 32]}
    assert spec["layers"][1]["params_delta"] == (784 * 32 + 32) - (784 * 10 + 10)
    assert spec["params"] == [7850, 784 * 32 + 32 + 32 * 10 + 10]
    assert spec["macs_delta"] == 784 * 32 + 32 * 10 - 7840
    assert spec["counts"] == {"added": 2, "removed": 0, "changed": 1}
    assert diff["config"] == [{"field": "lr", "a": 0.003, "b": 0.01}]
    back = client.get(f"/api/runs/{b}/diff/{a}").json()
    assert back["spec"]["params_delta"] == -spec["params_delta"]


def test_compare_refusals(client: TestClient) -> None:
    a = _run(client, TINY_SPEC, TINY_RUN)
    missing = client.get(f"/api/runs/{a}/diff/nope")
    assert missing.status_code == 404 and missing.json()["detail"] == "no run with id 'nope'"
    assert client.get(f"/api/runs/nope/diff/{a}").status_code == 404
    itself = client.get(f"/api/runs/{a}/diff/{a}")
    assert itself.status_code == 422
    assert itself.json()["detail"][0]["loc"] == ["path", "run_b"]
    assert "two different runs" in itself.json()["detail"][0]["msg"]
    too_long = client.get(f"/api/runs/{a}/diff/{'x' * 65}")
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["path", "run_b"]


def test_compare_sees_only_readable_runs(app_data_dir: Path) -> None:
    settings = Settings(data_dir=app_data_dir, shared_mode=True, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as shared:
        alice, bob = TestClient(shared.app), TestClient(shared.app)
        assert alice.get("/").status_code == bob.get("/").status_code == 200  # identities
        a = _run(alice, TINY_SPEC, TINY_RUN)
        b = _run(alice, WIDER, TINY_RUN)
        mine = _run(bob, TINY_SPEC, TINY_RUN)
        assert alice.get(f"/api/runs/{a}/diff/{b}").status_code == 200
        assert bob.get(f"/api/runs/{a}/diff/{b}").status_code == 404
        assert bob.get(f"/api/runs/{mine}/diff/{a}").status_code == 404
        token = alice.post(f"/api/runs/{a}/share").json()["share_token"]
        assert bob.get(f"/api/runs/{mine}/diff/{a}?share={token}").status_code == 200
        assert bob.get(f"/api/runs/{b}/diff/{a}?share={token}").status_code == 404
