"""POST /api/runs/{id}/explain and /explain/unit: drawings in, heatmaps and arithmetic out;
clear 422s for what cannot be explained; the same access rules and rate limit as predict."""

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings
from tests.support import TINY_RUN, TINY_SPEC

CNN = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10},
    ],
}
ONE = [
    [1.0 if 12 <= column <= 15 and 4 <= row <= 23 else 0.0 for column in range(28)]
    for row in range(28)
]


def _wait(client: TestClient, run_id: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 120
    while (status := client.get(f"/api/runs/{run_id}", headers=headers).json()["status"]) != (
        "completed"
    ):
        assert status in {"queued", "running"}, status
        assert time.monotonic() < deadline, "the run did not complete"
        time.sleep(0.1)


def _train(client: TestClient, spec: Any, config: Any, headers: Any = None) -> str:
    model = client.post("/api/models", json={"name": "m", "spec": spec}, headers=headers)
    assert model.status_code == 201, model.text
    body = {"model_id": model.json()["id"], "config": config}
    run = client.post("/api/runs", json=body, headers=headers)
    assert run.status_code == 201, run.text
    run_id: str = run.json()["id"]
    _wait(client, run_id, headers)
    return run_id


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, mnist_data_dir: Path) -> Iterator[Any]:
    """One app with a trained tiny CNN, a tiny MLP and an autoencoder run."""
    data_dir = tmp_path_factory.mktemp("explain") / "data"
    data_dir.mkdir()
    (data_dir / "mnist.safetensors").symlink_to(mnist_data_dir / "mnist.safetensors")
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        cnn = _train(client, CNN, TINY_RUN)
        mlp = _train(client, TINY_SPEC, TINY_RUN)
        preset = client.get("/api/presets/autoencoder").json()
        autoencoder = _train(client, preset["spec"], {**preset["config"], **TINY_RUN})
        yield client, {"cnn": cnn, "mlp": mlp, "autoencoder": autoencoder}


def _detail(answer: Any) -> tuple[list[str], str]:
    assert answer.status_code == 422, answer.text
    entry = answer.json()["detail"][0]
    return entry["loc"], entry["msg"]


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "gradcam"])
def test_explain_answers_a_heatmap_in_the_drawings_frame(served: Any, method: str) -> None:
    client, runs = served
    answer = client.post(f"/api/runs/{runs['cnn']}/explain", json={"pixels": ONE, "method": method})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    heat = np.asarray(body["heatmap"])
    assert heat.shape == (28, 28) and np.isfinite(heat).all()
    assert body["target"] == body["prediction"] and len(body["probabilities"]) == 10
    predicted = client.post(f"/api/runs/{runs['cnn']}/predict", json={"pixels": ONE}).json()
    assert body["probabilities"] == pytest.approx(predicted["probabilities"], abs=1e-5)
    if method == "gradcam":
        assert body["layer"] == "2"
        sizes = [np.asarray(layer["cam"]).shape for layer in body["layers"]]
        assert [layer["path"] for layer in body["layers"]] == ["0", "2"]
        assert sizes == [(28, 28), (13, 13)]
    other = (body["prediction"] + 1) % 10
    why_not = client.post(
        f"/api/runs/{runs['cnn']}/explain", json={"pixels": ONE, "method": method, "target": other}
    ).json()
    assert why_not["target"] == other and why_not["heatmap"] != body["heatmap"]


def test_an_image_is_prepared_as_for_predict(served: Any) -> None:
    client, runs = served
    ink = np.kron(np.asarray(ONE), np.ones((10, 10)))  # (280, 280) like the drawing pad
    buffer = io.BytesIO()
    Image.fromarray((ink * 255).astype(np.uint8)).save(buffer, format="PNG")
    image = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    answer = client.post(f"/api/runs/{runs['cnn']}/explain", json={"image": image})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["method"] == "saliency"
    # the ink's box in the drawing (rows 40..239, columns 120..159) became a 20×4 box of the digit
    placement = body["placement"]
    assert placement["size"] == [280, 280] and placement["source"] == [40, 120, 200, 40]
    top, left, height, width = placement["digit"]
    assert (height, width) == (20, 4)
    inked = np.argwhere(np.asarray(body["input"]) > 0)
    assert inked.min(axis=0).tolist() == [top, left]
    assert inked.max(axis=0).tolist() == [top + height - 1, left + width - 1]
    unprepared = {"pixels": ONE, "prepare": False}
    assert (
        client.post(f"/api/runs/{runs['cnn']}/explain", json=unprepared).json()["placement"] is None
    )


def test_what_cannot_be_explained_is_a_422_naming_why(served: Any) -> None:
    client, runs = served
    url = f"/api/runs/{runs['cnn']}/explain"
    loc, msg = _detail(client.post(url, json={"pixels": ONE, "method": "gradcam", "layer": "1"}))
    assert loc == ["body", "layer"] and "its conv layers: '0', '2'" in msg
    loc, msg = _detail(client.post(url, json={"pixels": ONE, "target": 10}))
    assert loc == ["body", "target"] and "0..9" in msg
    loc, _ = _detail(client.post(url, json={"pixels": ONE, "method": "lime"}))
    assert loc == ["body", "method"]
    mlp = f"/api/runs/{runs['mlp']}/explain"
    loc, msg = _detail(client.post(mlp, json={"pixels": ONE, "method": "gradcam"}))
    assert loc == ["body", "method"] and "needs a conv layer" in msg
    assert client.post(mlp, json={"pixels": ONE, "method": "saliency"}).status_code == 200
    auto = f"/api/runs/{runs['autoencoder']}/explain"
    loc, msg = _detail(client.post(auto, json={"pixels": ONE}))
    assert loc == ["path", "run_id"] and "'autoencode' run" in msg and "classifiers" in msg
    assert client.post("/api/runs/nope/explain", json={"pixels": ONE}).status_code == 404
    assert client.post(url, json={"pixels": [[2.0] * 28] * 28}).status_code == 422


def test_a_unit_is_patch_times_kernel_plus_bias(served: Any) -> None:
    client, runs = served
    url = f"/api/runs/{runs['cnn']}/explain/unit"
    predicted = client.post(
        f"/api/runs/{runs['cnn']}/predict?activations=true", json={"pixels": ONE}
    ).json()
    maps = {layer["path"]: layer for layer in predicted["activations"]}
    for layer, y, x in [("0", 0, 27), ("2", 6, 6)]:
        answer = client.post(
            url, json={"pixels": ONE, "layer": layer, "channel": 1, "y": y, "x": x}
        )
        assert answer.status_code == 200, answer.text
        unit = answer.json()
        assert unit["pre_activation"] and unit["total"] == pytest.approx(unit["value"], abs=1e-4)
        shown = maps[layer]  # the draw page's map: 0..255 between low and high per channel
        low, high = shown["low"][1], shown["high"][1]
        assert low - 1e-4 <= unit["value"] <= high + 1e-4
    assert unit["stride"] == [2, 2] and unit["padding"] == [0, 0]
    loc, msg = _detail(
        client.post(url, json={"pixels": ONE, "layer": "2", "channel": 6, "y": 0, "x": 0})
    )
    assert loc == ["body", "channel"] and "0..5" in msg
    loc, _ = _detail(
        client.post(url, json={"pixels": ONE, "layer": "3", "channel": 0, "y": 0, "x": 0})
    )
    assert loc == ["body", "layer"]
    auto = f"/api/runs/{runs['autoencoder']}/explain/unit"
    loc, _ = _detail(
        client.post(auto, json={"pixels": ONE, "layer": "0", "channel": 0, "y": 0, "x": 0})
    )
    assert loc == ["body", "layer"]  # it reads pictures, but has no conv layer


def test_shared_mode_guards_explain_like_predict(app_data_dir: Path) -> None:
    settings = Settings(data_dir=app_data_dir, shared_mode=True, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as client:
        alice, bob = (
            {"Authorization": f"Bearer {client.post('/api/tokens', json={}).json()['token']}"}
            for _ in range(2)
        )
        run_id = _train(client, CNN, TINY_RUN, alice)
        body = {"pixels": ONE, "method": "gradcam"}
        unit = {"pixels": ONE, "layer": "0", "channel": 0, "y": 3, "x": 3}
        for path, sent in [("explain", body), ("explain/unit", unit)]:
            url = f"/api/runs/{run_id}/{path}"
            assert client.post(url, json=sent, headers=alice).status_code == 200
            assert client.post(url, json=sent, headers=bob).status_code == 404
            assert client.post(url, json=sent).status_code == 401
        token = client.post(f"/api/runs/{run_id}/share", headers=alice).json()["share_token"]
        shared = client.post(f"/api/runs/{run_id}/explain", json=body, params={"share": token})
        assert shared.status_code == 200


def test_explain_counts_against_the_rate_limit(app_data_dir: Path) -> None:
    settings = Settings(data_dir=app_data_dir, shared_mode=True, rate_limit_per_minute=3)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {client.post('/api/tokens', json={}).json()['token']}"}
        answers = [
            client.post("/api/runs/nope/explain", json={"pixels": ONE}, headers=headers)
            for _ in range(4)
        ]
        assert [answer.status_code for answer in answers] == [404] * 3 + [429]
