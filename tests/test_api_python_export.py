"""REST: GET /api/runs/{id}/export?format=python gives a file that reproduces the server's
predictions with the run's weights, trains on MNIST's pickle, and is private like any export."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from exported_script import run_exported, tiny_mnist
from fastapi.testclient import TestClient
from support import train_tiny_run

from app.main import create_app
from app.nn import build_model
from app.settings import Settings

CONV_SPEC = {
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10},
    ]
}
RUN = {"epochs": 1, "train_subset": 256, "eval_limit": 64, "max_steps": 4, "schedule": "cosine"}


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def _trained(client: TestClient) -> str:
    model = client.post("/api/models", json={"name": "small conv", "spec": CONV_SPEC}).json()
    body = {"model_id": model["id"], "config": RUN}
    run_id: str = client.post("/api/runs", json=body).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/runs/{run_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "the run did not complete"
        time.sleep(0.1)
    return run_id


def test_the_python_file_reproduces_the_servers_predictions(
    client: TestClient, tmp_path: Path
) -> None:
    run_id = _trained(client)
    answer = client.get(f"/api/runs/{run_id}/export?format=python")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/x-python")
    assert f'filename="small-conv-{run_id}.py"' in answer.headers["content-disposition"]
    source = answer.text
    assert "nn.Conv2d(1, 4, kernel_size=3, padding=1),  # (B, 4, 28, 28)" in source
    assert "nn.Linear(784, 10),  # (B, 10)" in source
    assert "schedule cosine" in source
    (tmp_path / "exported.py").write_text(source)
    weights = client.get(f"/api/runs/{run_id}/export?format=safetensors").content
    (tmp_path / "weights.safetensors").write_bytes(weights)

    pixels = torch.zeros(28, 28)
    pixels[6:22, 12:16] = 1.0  # a stroke, like a drawn 1
    served = client.post(f"/api/runs/{run_id}/predict", json={"pixels": pixels.tolist()}).json()
    seen = torch.tensor(served["input"])  # the digit as the server prepared it (centred), 0..1
    torch.save(seen.unsqueeze(0), tmp_path / "inputs.pt")
    argv = ["--data", str(tiny_mnist(tmp_path / "tiny.pkl.gz")), "--max-steps", "3"]
    report, printed = run_exported(tmp_path, argv)

    probabilities = torch.load(tmp_path / "outputs.pt").softmax(1)[0]
    torch.testing.assert_close(probabilities, torch.tensor(served["probabilities"]))
    assert int(probabilities.argmax()) == served["prediction"]
    assert report["params"] == build_model(CONV_SPEC).summary.total_params
    assert "epoch 1: loss" in printed


def test_python_export_refusals(client: TestClient) -> None:
    run_id = train_tiny_run(client)
    assert client.get("/api/runs/nope/export?format=python").status_code == 404
    wrong_part = client.get(f"/api/runs/{run_id}/export?format=python&part=decoder")
    assert wrong_part.status_code == 422
    assert "no part 'decoder'" in json.dumps(wrong_part.json())
    assert client.get(f"/api/runs/{run_id}/export?format=py").status_code == 422


def test_python_export_is_private_and_shared_by_link(app_data_dir: Path) -> None:
    settings = Settings(data_dir=app_data_dir, shared_mode=True, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as shared:
        alice, bob = TestClient(shared.app), TestClient(shared.app)
        assert alice.get("/").status_code == bob.get("/").status_code == 200  # identities
        run_id = train_tiny_run(alice)
        path = f"/api/runs/{run_id}/export?format=python"
        assert alice.get(path).status_code == 200
        assert bob.get(path).status_code == 404
        token = alice.post(f"/api/runs/{run_id}/share").json()["share_token"]
        assert bob.get(f"{path}&share={token}").status_code == 200
