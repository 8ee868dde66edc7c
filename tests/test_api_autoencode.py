"""An autoencoder through the API: a preset's spec and config train as they are; predictions
answer the reconstruction and the code; any code decodes; the code scatter reaches a viewer."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from fastapi.testclient import TestClient

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


def test_an_autoencoder_run_rebuilds_drawings_and_decodes_any_code(client: TestClient) -> None:
    preset = client.get("/api/presets/autoencoder").json()
    assert preset["config"]["task"] == "autoencode"
    run_id = _start(client, "autoencoder", epochs=2, train_subset=3000, eval_limit=500)
    run = _wait(client, run_id)
    assert run["status"] == "completed", run["error"]
    assert run["config"]["normalize"] is False and run["test_accuracy"] is None

    one = [
        [1.0 if 8 <= column <= 11 and 4 <= row <= 23 else 0.0 for column in range(28)]
        for row in range(28)
    ]
    answer = client.post(f"/api/runs/{run_id}/predict", json={"pixels": one})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["code"]) == 2 and "probabilities" not in body
    rebuilt = body["reconstruction"]
    assert (len(rebuilt), len(rebuilt[0]), len(rebuilt[0][0])) == (1, 28, 28)
    assert all(0.0 <= value <= 1.0 for row in rebuilt[0] for value in row)

    decoded = client.post(f"/api/runs/{run_id}/decode", json={"code": body["code"]})
    assert decoded.status_code == 200, decoded.text
    again = decoded.json()["reconstruction"]
    assert (
        max(
            abs(a - b)
            for ra, rb in zip(again[0], rebuilt[0], strict=True)
            for a, b in zip(ra, rb, strict=True)
        )
        < 1e-3
    )  # decoding the drawing's code gives its reconstruction
    wrong = client.post(f"/api/runs/{run_id}/decode", json={"code": [0.0, 0.0, 0.0]})
    assert wrong.status_code == 422 and "code has 2 numbers, got 3" in wrong.text

    # the decoder alone, as ONNX: a code in, the same picture out as the server's decoding
    exported = client.get(f"/api/runs/{run_id}/export?format=onnx&part=decoder")
    assert exported.status_code == 200, exported.text
    assert "-decoder-" in exported.headers["content-disposition"]
    session = onnxruntime.InferenceSession(exported.content, providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.name == "code"
    codes = np.array([body["code"], [0.0, 0.0]], dtype=np.float32)  # (2, 2)
    (images,) = session.run(None, {"code": codes})
    assert images.shape == (2, 1, 28, 28)
    assert np.abs(images[0].clip(0.0, 1.0) - np.array(rebuilt)).max() < 1e-3
    encoder = client.get(f"/api/runs/{run_id}/export?format=onnx&part=encoder")
    session = onnxruntime.InferenceSession(encoder.content, providers=["CPUExecutionProvider"])
    seen = np.array([body["input"]], dtype=np.float32).reshape(1, 1, 28, 28)  # as prepared
    (code,) = session.run(None, {"images": seen})
    assert np.abs(code[0] - np.array(body["code"])).max() < 1e-3

    socket_events = client.get(f"/api/runs/{run_id}/metrics").json()
    assert [epoch["val_accuracy"] for epoch in socket_events["epochs"]] == [None, None]
    with client.websocket_connect(f"/ws/runs/{run_id}") as socket:
        seen: list[dict[str, Any]] = []
        while not any(event["type"] == "done" for event in seen):
            seen.append(socket.receive_json())
    codes = [event for event in seen if event["type"] == "codes"]
    assert [event["epoch"] for event in codes] == [1, 2] and codes[0]["count"] == 500
    assert any(event["type"] == "reconstructions" for event in seen)


def test_decoding_a_classifier_is_refused(client: TestClient) -> None:
    run_id = _start(client, "mlp", epochs=1, max_steps=5, eval_limit=100)
    assert _wait(client, run_id)["status"] == "completed"
    answer = client.post(f"/api/runs/{run_id}/decode", json={"code": [0.0, 0.0]})
    assert answer.status_code == 422 and "only an autoencode run has a decoder" in answer.text
    part = client.get(f"/api/runs/{run_id}/export?format=onnx&part=decoder")
    assert part.status_code == 422
    assert part.json()["detail"][0]["loc"] == ["query", "part"]
    assert "no part 'decoder'; it exports: model" in part.text
