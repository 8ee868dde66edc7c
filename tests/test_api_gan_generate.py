"""POST /api/runs/{id}/generate: a gan run's generator on noise vectors the client picks (the
run page's interpolation sends them); noise of the wrong size and runs that are no GAN are
refused with a message that says why."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

FINISHED = {"completed", "stopped", "failed"}


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def _run(client: TestClient, preset: str, **fields: Any) -> str:
    found = client.get(f"/api/presets/{preset}").json()
    model = client.post("/api/models", json={"name": preset, "spec": found["spec"]}).json()
    config = {**found["config"], **fields}
    answer = client.post("/api/runs", json={"model_id": model["id"], "config": config})
    assert answer.status_code == 201, answer.text
    run_id = str(answer.json()["id"])
    deadline = time.monotonic() + 120
    while client.get(f"/api/runs/{run_id}").json()["status"] not in FINISHED:
        assert time.monotonic() < deadline, f"run {run_id} did not finish"
        time.sleep(0.1)
    return run_id


def test_the_generator_makes_an_image_of_each_noise_vector(client: TestClient) -> None:
    run_id = _run(client, "gan", epochs=1, train_subset=512)
    a, b = np.random.default_rng(0).standard_normal((2, 64))
    noise = [list(a), list((a + b) / 2), list(b)]
    answer = client.post(f"/api/runs/{run_id}/generate", json={"noise": noise})
    assert answer.status_code == 200, answer.text
    made = answer.json()
    images = np.array(made["images"])
    assert images.shape == (3, 1, 28, 28) and made["shape"] == [1, 28, 28]
    assert images.min() >= 0 and images.max() <= 1 and made["step"] > 0
    again = client.post(f"/api/runs/{run_id}/generate", json={"noise": noise[:1]}).json()
    assert np.allclose(again["images"][0], made["images"][0], atol=1e-3)  # same weights

    short = client.post(f"/api/runs/{run_id}/generate", json={"noise": [[0.0, 1.0]]})
    assert short.status_code == 422 and "noise has 64 numbers, got 2" in short.text
    many = client.post(f"/api/runs/{run_id}/generate", json={"noise": [[0.0] * 64] * 65})
    assert many.status_code == 422


def test_a_run_that_is_no_gan_generates_nothing(client: TestClient) -> None:
    run_id = _run(client, "mlp", epochs=1, train_subset=256, eval_limit=100)
    answer = client.post(f"/api/runs/{run_id}/generate", json={"noise": [[0.0] * 64]})
    assert answer.status_code == 422 and "no gan run" in answer.text
