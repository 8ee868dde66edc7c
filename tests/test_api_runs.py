"""REST: training runs end to end on real MNIST (small configs), their control and their errors."""

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import safetensors.torch
import torch
from fastapi.testclient import TestClient
from PIL import Image

from app.data import Mnist
from app.main import create_app
from app.nn import build_model, load_preset
from app.settings import Settings
from app.store import load_checkpoint

QUICK = {"epochs": 1, "train_subset": 1024, "eval_limit": 256, "batch_size": 64}
FINISHED = {"completed", "stopped", "failed"}


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def _model(client: TestClient, preset: str = "lenet5") -> str:
    spec = load_preset(preset).model_dump(mode="json", exclude_unset=True)
    model_id: str = client.post("/api/models", json={"name": preset, "spec": spec}).json()["id"]
    return model_id


def _wait(client: TestClient, run_id: str, statuses: set[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    pytest.fail(f"run {run_id} did not reach {statuses}: {run}")


def _digit_png(pixels: np.ndarray, size: int = 280) -> str:
    image = Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_run_trains_and_everything_about_it_can_be_read(client: TestClient, mnist: Mnist) -> None:
    model_id = _model(client)
    created = client.post("/api/runs", json={"model_id": model_id, "config": QUICK})
    assert created.status_code == 201
    run_id = created.json()["id"]
    assert created.json()["status"] in {"queued", "running"}
    run = _wait(client, run_id, FINISHED)
    assert run["status"] == "completed", run["error"]
    assert run["step"] == run["total_steps"] == 16
    assert run["progress"] == 1.0
    assert 0.0 < run["test_accuracy"] <= 1.0
    assert run["model_name"] == "lenet5"
    assert run_id in [r["id"] for r in client.get("/api/runs").json()]
    assert [r["id"] for r in client.get(f"/api/runs?model_id={model_id}").json()] == [run_id]

    metrics = client.get(f"/api/runs/{run_id}/metrics").json()
    assert metrics["steps"]
    assert [e["epoch"] for e in metrics["epochs"]] == [1]
    assert len(metrics["epochs"][0]["confusion"]) == 10
    assert metrics["done"]["test_accuracy"] == pytest.approx(run["test_accuracy"])
    seqs = [e["seq"] for e in metrics["steps"]]
    assert seqs == sorted(seqs)

    # A confusion cell's digits, by the latest weights: they add up to the matrix's row.
    row = [
        client.get(f"/api/runs/{run_id}/confusion?label=3&prediction={p}&limit=5").json()
        for p in range(10)
    ]
    assert sum(cell["count"] for cell in row) == int((mnist.validation.labels == 3).sum())
    threes = row[3]["examples"]
    assert 0 < len(threes) <= 5
    assert all(example["label"] == example["prediction"] == 3 for example in threes)
    confidences = [example["probabilities"][3] for example in threes]
    assert confidences == sorted(confidences, reverse=True)
    assert len(base64.b64decode(threes[0]["image"])) == 28 * 28
    assert client.get(f"/api/runs/{run_id}/confusion?label=10&prediction=0").status_code == 422

    # Predict from pixels and from an image: probabilities sum to 1, activations on request.
    pixels = np.zeros((28, 28), dtype=np.float32)
    pixels[4:24, 13:16] = 1.0  # a "1"
    answer = client.post(
        f"/api/runs/{run_id}/predict?activations=true", json={"pixels": pixels.tolist()}
    ).json()
    assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert answer["prediction"] == int(np.argmax(answer["probabilities"]))
    assert np.array(answer["input"]).shape == (28, 28)
    assert [layer["path"] for layer in answer["activations"]] == ["0", "3"]
    assert answer["activations"][0]["shown"] == 6
    from_image = client.post(
        f"/api/runs/{run_id}/predict",
        json={"image": _digit_png((pixels * 255).astype(np.uint8))},
    ).json()
    assert from_image["prediction"] == answer["prediction"]
    assert "activations" not in from_image


# TorchScript is deprecated in PyTorch 2.13 but still what many deployments load.
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_exports_reproduce_the_predictions(client: TestClient) -> None:
    model_id = _model(client, "lenet5")
    run_id = client.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()["id"]
    _wait(client, run_id, FINISHED)
    digits = torch.rand(4, 1, 28, 28)

    weights = client.get(f"/api/runs/{run_id}/export?format=safetensors")
    assert weights.status_code == 200
    assert "attachment" in weights.headers["content-disposition"]
    module = build_model(load_preset("lenet5")).module.eval()
    module.load_state_dict(safetensors.torch.load(weights.content))
    expected = module(digits).detach().numpy()

    onnx_file = client.get(f"/api/runs/{run_id}/export?format=onnx")
    session = onnxruntime.InferenceSession(onnx_file.content)
    (scores,) = session.run(None, {"digits": digits.numpy()})
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    assert (scores.argmax(1) == expected.argmax(1)).all()

    scripted = torch.jit.load(
        io.BytesIO(client.get(f"/api/runs/{run_id}/export?format=torchscript").content)
    )
    np.testing.assert_allclose(scripted(digits).detach().numpy(), expected, atol=1e-5)
    assert client.get(f"/api/runs/{run_id}/export?format=pickle").status_code == 422


def test_control_pause_resume_lr_and_stop(client: TestClient) -> None:
    model_id = _model(client, "mlp")
    config = {"epochs": 50, "batch_size": 32, "schedule": "none"}
    run_id = client.post("/api/runs", json={"model_id": model_id, "config": config}).json()["id"]
    _wait(client, run_id, {"running"})
    paused = client.post(f"/api/runs/{run_id}/pause")
    assert paused.status_code == 200
    run = _wait(client, run_id, {"paused"})
    time.sleep(0.3)
    held = client.get(f"/api/runs/{run_id}").json()["step"]
    time.sleep(0.5)
    assert client.get(f"/api/runs/{run_id}").json()["step"] == held
    assert client.patch(f"/api/runs/{run_id}", json={"lr": 0.0123}).status_code == 200
    assert client.patch(f"/api/runs/{run_id}", json={"lr": -1}).status_code == 422
    tuned = {"regularization": "l2", "regularization_rate": 0.002}
    assert client.patch(f"/api/runs/{run_id}", json=tuned).status_code == 200
    for bad, words in (
        ({}, "at least one of lr, regularization, regularization_rate"),
        ({"regularization": "l3"}, "'none', 'l1' or 'l2'"),
        ({"regularization_rate": -0.1}, "greater than or equal to 0"),
        ({"momentum": 0.5}, "Extra inputs"),
    ):
        refused = client.patch(f"/api/runs/{run_id}", json=bad)
        assert refused.status_code == 422 and words in refused.text, refused.text
    assert client.post(f"/api/runs/{run_id}/resume").status_code == 200
    _wait(client, run_id, {"running"})
    deadline = time.monotonic() + 30
    lrs: list[float] = []
    while time.monotonic() < deadline and 0.0123 not in lrs:
        steps = client.get(f"/api/runs/{run_id}/metrics").json()["steps"]
        lrs = [round(point["lr"], 6) for point in steps if point["step"] > held]
        time.sleep(0.2)
    assert 0.0123 in lrs
    assert client.post(f"/api/runs/{run_id}/stop").status_code == 200
    run = _wait(client, run_id, FINISHED)
    assert run["status"] == "stopped"
    # The regularisation changed in flight is what its last checkpoint trained with.
    stored = client.app.state.store.get_run(run_id)  # type: ignore[attr-defined]
    meta = load_checkpoint(stored.checkpoint).meta
    assert (meta["config"]["regularization"], meta["config"]["regularization_rate"]) == (
        "l2",
        0.002,
    )
    # A stopped run keeps its weights: it still predicts.
    answer = client.post(f"/api/runs/{run_id}/predict", json={"pixels": [0.0] * 784})
    assert answer.status_code == 200
    # Wrong state and unknown ids.
    assert client.post(f"/api/runs/{run_id}/pause").status_code == 409
    assert client.patch(f"/api/runs/{run_id}", json={"lr": 0.1}).status_code == 409
    for path in ("pause", "resume", "stop"):
        assert client.post(f"/api/runs/nope/{path}").status_code == 404
    assert client.get("/api/runs/nope").status_code == 404
    assert client.get("/api/runs/nope/metrics").status_code == 404
    assert client.post("/api/runs/nope/predict", json={"pixels": [0.0] * 784}).status_code == 404
    assert client.get("/api/runs/nope/export").status_code == 404


def test_queue_positions_and_a_run_without_weights(client: TestClient) -> None:
    model_id = _model(client, "mlp")
    long = {"epochs": 50, "batch_size": 32}
    first = client.post("/api/runs", json={"model_id": model_id, "config": long}).json()
    second = client.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()
    third = client.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()
    _wait(client, first["id"], {"running"})
    assert client.get(f"/api/runs/{second['id']}").json()["queue_position"] == 1
    waiting = client.get(f"/api/runs/{third['id']}").json()
    assert waiting["queue_position"] == 2
    assert (
        client.post(f"/api/runs/{third['id']}/predict", json={"pixels": [0.0] * 784}).status_code
        == 409
    )
    assert client.get(f"/api/runs/{third['id']}/export").status_code == 409
    assert client.delete(f"/api/models/{model_id}").status_code == 409
    assert client.delete(f"/api/runs/{first['id']}").status_code == 409
    for run in (first, second, third):
        client.post(f"/api/runs/{run['id']}/stop")
    for run in (first, second, third):
        assert _wait(client, run["id"], FINISHED)["status"] == "stopped"
    assert client.delete(f"/api/runs/{third['id']}").status_code == 204
    assert client.get(f"/api/runs/{third['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model_id": "nope"}, 404, "nope"),
        ({"model_id": "X", "config": {"epochs": 0}}, 422, "epochs"),
        ({"model_id": "X", "config": {"epochs": 51}}, 422, "trains at most 50, got 51"),
        ({"model_id": "X", "config": {"optimiser": "adam"}}, 422, "optimiser"),
        ({"model_id": "X", "config": {"lr": "fast"}}, 422, "lr"),
        ({"config": {}}, 422, "model_id"),
    ],
)
def test_bad_runs(client: TestClient, body: dict[str, Any], status: int, words: str) -> None:
    if body.get("model_id") == "X":
        body = {**body, "model_id": _model(client, "mlp")}
    answer = client.post("/api/runs", json=body)
    assert answer.status_code == status
    assert words in str(answer.json()["detail"])


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"pixels": [[0.0] * 28] * 27}, 422, "27"),
        ({"pixels": [0.0] * 783 + [float("nan")]}, 422, "nan"),
        ({"pixels": [0.0] * 783 + [2.0]}, 422, "0..1"),
        ({"image": "data:image/png;base64,AAAA"}, 422, "PNG"),
        ({"image": "hello"}, 422, "data URL"),
        ({}, 422, "exactly one"),
        ({"pixels": [0.0] * 784, "image": "data:image/png;base64,"}, 422, "exactly one"),
    ],
)
def test_bad_predict_input(
    client: TestClient, body: dict[str, Any], status: int, words: str
) -> None:
    model_id = _model(client, "mlp")
    run_id = client.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()["id"]
    _wait(client, run_id, FINISHED)
    answer = client.post(
        f"/api/runs/{run_id}/predict",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == status
    assert words.lower() in str(answer.json()["detail"]).lower()


def test_oversized_image_is_413(client: TestClient) -> None:
    model_id = _model(client, "mlp")
    run_id = client.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()["id"]
    _wait(client, run_id, FINISHED)
    big = Image.new("L", (2000, 300), 255)
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    answer = client.post(f"/api/runs/{run_id}/predict", json={"image": data_url})
    assert answer.status_code == 413
    assert "1024" in answer.json()["detail"]


def test_too_many_active_runs_from_one_client_is_429(app_data_dir: Path) -> None:
    settings = Settings(data_dir=app_data_dir, max_active_runs_per_user=2)
    with TestClient(create_app(settings)) as client:
        model_id = _model(client, "mlp")
        long = {"model_id": model_id, "config": {"epochs": 50}}
        first, second = (client.post("/api/runs", json=long).json() for _ in range(2))
        refused = client.post("/api/runs", json=long)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
        assert "2 runs queued or training" in refused.json()["detail"]
        client.post(f"/api/runs/{second['id']}/stop")
        _wait(client, second["id"], FINISHED)
        accepted = client.post("/api/runs", json=long)
        assert accepted.status_code == 201
        for run in (first, accepted.json()):
            client.post(f"/api/runs/{run['id']}/stop")
            _wait(client, run["id"], FINISHED)
