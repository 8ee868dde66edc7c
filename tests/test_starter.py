"""The starter run: a LeNet-5 the server trains at its first start, readable by everyone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.data import Mnist
from app.main import create_app
from app.settings import Settings
from app.store import Store
from app.training.starter import STARTER_MODEL_NAME

FINISHED = {"completed", "failed", "stopped", "interrupted"}


def starter_app(data_dir: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, starter_run=True, **settings)))


def wait_finished(client: TestClient, run_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (run := client.get(f"/api/runs/{run_id}").json())["status"] not in FINISHED:
        assert time.monotonic() < deadline, f"the starter run did not finish: {run}"
        time.sleep(0.5)
    result: dict[str, Any] = run
    return result


@pytest.mark.slow
def test_a_new_server_trains_a_starter_that_recognises_digits(
    app_data_dir: Path, mnist: Mnist
) -> None:
    with starter_app(app_data_dir) as client:
        (run,) = client.get("/api/runs").json()
        assert run["starter"] is True and run["model_name"] == STARTER_MODEL_NAME
        assert run["status"] in {"queued", "running"}  # it trains in the background
        run = wait_finished(client, run["id"])
        assert run["status"] == "completed", run["error"]
        assert run["test_accuracy"] >= 0.985
        right = 0
        for index in range(20):
            pixels = (mnist.test.images[index].float() / 255).tolist()
            answer = client.post(
                f"/api/runs/{run['id']}/predict", json={"pixels": pixels, "prepare": False}
            ).json()
            right += answer["prediction"] == int(mnist.test.labels[index])
        assert right >= 19
        assert client.get(f"/api/runs/{run['id']}/export?format=safetensors").status_code == 200

        assert client.delete(f"/api/runs/{run['id']}").status_code == 204  # an ordinary run
    with starter_app(app_data_dir) as client:
        assert client.get("/api/runs").json() == []  # deleted for good: not made again


def test_the_starter_is_made_once_and_only_for_a_directory_without_runs(
    app_data_dir: Path, tmp_path: Path
) -> None:
    with starter_app(app_data_dir) as client:
        first = [run["id"] for run in client.get("/api/runs").json()]
        assert len(first) == 1
        client.post(f"/api/runs/{first[0]}/stop")
    with starter_app(app_data_dir) as client:
        assert [run["id"] for run in client.get("/api/runs").json()] == first

    used = tmp_path / "used"
    with TestClient(create_app(Settings(data_dir=used))) as client:  # starter off (tests)
        model = client.post(
            "/api/models",
            json={
                "name": "m",
                "spec": {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]},
            },
        ).json()
        body = {"model_id": model["id"], "config": {"max_steps": 1, "eval_limit": 10}}
        assert client.post("/api/runs", json=body).status_code == 201
    with starter_app(used) as client:
        assert not any(run["starter"] for run in client.get("/api/runs").json())

    off = tmp_path / "off"
    with TestClient(create_app(Settings(data_dir=off, starter_run=False))) as client:
        assert client.get("/api/runs").json() == []
    with Store(off) as store:
        assert store.happen_once("starter run made")  # a server with it off decided nothing


def test_in_shared_mode_everyone_reads_the_starter_and_nobody_controls_it(
    app_data_dir: Path,
) -> None:
    with starter_app(app_data_dir, shared_mode=True) as client:
        created = client.post("/api/tokens", json={})
        headers = {"Authorization": f"Bearer {created.json()['token']}"}
        (run,) = client.get("/api/runs", headers=headers).json()
        assert run["starter"] is True
        assert client.get(f"/api/runs/{run['id']}", headers=headers).status_code == 200
        assert client.get(f"/api/models/{run['model_id']}", headers=headers).status_code == 200
        assert client.post(f"/api/runs/{run['id']}/stop", headers=headers).status_code == 404
        assert client.delete(f"/api/runs/{run['id']}", headers=headers).status_code == 404

        mine = client.post(
            "/api/models",
            json={
                "name": "mine",
                "spec": {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]},
            },
            headers=headers,
        )
        assert mine.status_code == 201
        other = {"Authorization": f"Bearer {client.post('/api/tokens', json={}).json()['token']}"}
        visible = [m["id"] for m in client.get("/api/models", headers=other).json()]
        assert mine.json()["id"] not in visible  # people's own work stays private
