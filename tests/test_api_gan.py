"""A GAN through the API: a preset's spec and config train as they are; the generator makes
images (a PNG grid or JSON) from a seed's noise and decodes any noise vector; the health
verdicts are in the run's history; the generator exports to ONNX; other runs are refused."""

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings

FINISHED = {"completed", "stopped", "failed"}


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def _wait(client: TestClient, run_id: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in FINISHED:
            return run
        time.sleep(0.1)
    pytest.fail(f"run {run_id} did not finish: {run}")


def _start(client: TestClient, preset: str, **fields: Any) -> str:
    found = client.get(f"/api/presets/{preset}").json()
    model = client.post("/api/models", json={"name": preset, "spec": found["spec"]}).json()
    config = {**found["config"], **fields}
    answer = client.post("/api/runs", json={"model_id": model["id"], "config": config})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_a_gan_run_trains_and_its_generator_makes_images(client: TestClient) -> None:
    preset = client.get("/api/presets/gan").json()
    assert preset["config"]["task"]["name"] == "gan"
    run_id = _start(client, "gan", epochs=2, train_subset=1024)
    run = _wait(client, run_id)
    assert run["status"] == "completed", run["error"]
    assert run["config"]["schedule"] == "none" and run["test_accuracy"] is None

    picture = client.get(f"/api/runs/{run_id}/samples?n=16&seed=3")
    assert picture.status_code == 200, picture.text
    assert picture.headers["content-type"] == "image/png"
    assert picture.headers["x-seed"] == "3" and int(picture.headers["x-step"]) == 16
    grid = Image.open(io.BytesIO(picture.content))
    assert grid.size == (4 * 28 + 3 * 2, 4 * 28 + 3 * 2) and grid.mode == "L"
    assert client.get(f"/api/runs/{run_id}/samples?n=16&seed=3").content == picture.content

    answer = client.get(f"/api/runs/{run_id}/samples?n=3&seed=3&format=json")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    images = np.array(body["images"])  # (3, 1, 28, 28) in 0..1
    assert images.shape == (3, 1, 28, 28) and body["shape"] == [1, 28, 28]
    assert body["seed"] == 3 and images.min() >= 0.0 and images.max() <= 1.0
    assert np.abs(images - np.array(grid)[None, None, :28, :28][:1] / 255.0)[0].max() < 0.01
    assert client.get(f"/api/runs/{run_id}/samples?format=json").json()["seed"] >= 0

    too_many = client.get(f"/api/runs/{run_id}/samples?n=257")
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["query", "n"]

    noise = [0.1] * 64
    decoded = client.post(f"/api/runs/{run_id}/decode", json={"code": noise})
    assert decoded.status_code == 200, decoded.text
    made = np.array(decoded.json()["reconstruction"])
    assert made.shape == (1, 28, 28)
    wrong = client.post(f"/api/runs/{run_id}/decode", json={"code": [0.0, 0.0]})
    assert wrong.status_code == 422 and "noise has 64 numbers, got 2" in wrong.text

    exported = client.get(f"/api/runs/{run_id}/export?format=onnx&part=generator")
    assert exported.status_code == 200, exported.text
    session = onnxruntime.InferenceSession(exported.content, providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "noise"
    (onnx_images,) = session.run(None, {"noise": np.array([noise], dtype=np.float32)})
    assert np.abs((onnx_images[0] + 1.0) / 2.0 - made).max() < 1e-3  # tanh's -1..1 → 0..1
    plain = client.get(f"/api/runs/{run_id}/export?format=onnx")  # a GAN's default: G
    assert "-generator-" in plain.headers["content-disposition"]
    assert onnxruntime.InferenceSession(plain.content).get_inputs()[0].name == "noise"
    whole = client.get(f"/api/runs/{run_id}/export?format=onnx&part=model")
    assert onnxruntime.InferenceSession(whole.content).get_inputs()[0].name == "digits"

    drawing = client.post(f"/api/runs/{run_id}/predict", json={"pixels": [[0.0] * 28] * 28})
    assert drawing.status_code == 422 and "this run is a GAN" in drawing.text

    history = client.get(f"/api/runs/{run_id}/metrics").json()
    assert [event["epoch"] for event in history["gan_health"]] == [1, 2]
    assert all(
        event["state"] in ("ok", "collapsed", "oscillating") for event in history["gan_health"]
    )
    assert [epoch["val_accuracy"] for epoch in history["epochs"]] == [None, None]
    assert history["done"]["health"] == history["gan_health"][-1]["state"]
    assert all("d_loss" in step for step in history["steps"])


def test_samples_of_a_run_that_is_no_gan_are_refused(client: TestClient) -> None:
    run_id = _start(client, "mlp", epochs=1, max_steps=5, eval_limit=100)
    assert _wait(client, run_id)["status"] == "completed"
    answer = client.get(f"/api/runs/{run_id}/samples")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["msg"] == (
        "this run is no gan run: only a GAN's generator makes images"
    )
    decoded = client.post(f"/api/runs/{run_id}/decode", json={"code": [0.0] * 64})
    assert decoded.status_code == 422 and "a gan run a generator" in decoded.text
