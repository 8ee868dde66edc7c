"""REST: a run's kept epochs, branching from one, and a drawing scored through them."""

import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.data import Mnist, mean_std
from app.main import create_app
from app.nn import build_model, load_preset
from app.settings import Settings
from app.store import load_checkpoint
from app.training import Throttle
from app.training import manager as manager_module
from app.training.epoch_checkpoints import epoch_path

SPEC = load_preset("mlp").model_dump(mode="json", exclude_unset=True)
QUICK = {"epochs": 3, "train_subset": 256, "eval_limit": 64, "batch_size": 64}


@pytest.fixture(autouse=True)
def each_epoch_checkpointed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny epochs are throttled to one checkpoint a second: these tests want every one."""
    monkeypatch.setattr(manager_module, "Throttle", functools.partial(Throttle, checkpoint_s=0.0))


def _app(data_dir: Path, **overrides: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, **overrides)))


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with _app(app_data_dir) as c:
        yield c


def _train(client: TestClient, config: dict[str, Any] = QUICK, **kwargs: Any) -> str:
    model = client.post("/api/models", json={"name": "mlp", "spec": SPEC}, **kwargs)
    body = {"model_id": model.json()["id"], "config": config}
    run_id: str = client.post("/api/runs", json=body, **kwargs).json()["id"]
    finished: str = _wait(client, run_id, **kwargs)["id"]
    return finished


def _wait(client: TestClient, run_id: str, **kwargs: Any) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}", **kwargs).json()
        if run["status"] not in {"queued", "running"}:
            assert run["status"] == "completed", run
            return run
        time.sleep(0.05)
    pytest.fail(f"run {run_id} did not finish")


def test_branch_from_a_kept_epoch(client: TestClient) -> None:
    parent = _train(client)
    kept = client.get(f"/api/runs/{parent}/checkpoints").json()
    assert kept["cap"] == 20
    assert [row["epoch"] for row in kept["epochs"]] == [1, 2, 3]
    assert [row["step"] for row in kept["epochs"]] == [4, 8, 12]
    assert all(0 <= row["val_accuracy"] <= 1 for row in kept["epochs"])
    assert sum(row["best"] for row in kept["epochs"]) == 1

    body = {"epoch": 2, "config": {"lr": 0.001, "epochs": 4, "frozen": ["1"]}}
    created = client.post(f"/api/runs/{parent}/branch", json=body)
    assert created.status_code == 201, created.text
    branch = created.json()
    assert (branch["parent_run_id"], branch["branch_epoch"]) == (parent, 2)
    assert branch["branch_note"] == "adam state carried over; frozen layers: 1"
    assert branch["config"]["frozen"] == ["1"] and branch["config"]["lr"] == 0.001
    done = _wait(client, branch["id"])
    assert (done["epoch"], done["step"], done["parent_run_id"]) == (4, 16, parent)
    epochs = client.get(f"/api/runs/{branch['id']}/metrics").json()["epochs"]
    assert [event["epoch"] for event in epochs] == [3, 4]


def test_branch_refusals_name_the_field(client: TestClient) -> None:
    parent = _train(client, {**QUICK, "epochs": 2})
    missing = client.post(f"/api/runs/{parent}/branch", json={"epoch": 5, "config": {}})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "epoch"]
    assert "epochs kept: 1, 2" in missing.json()["detail"][0]["msg"]
    body = {"epoch": 1, "config": {"frozen": ["7"]}}
    bad_path = client.post(f"/api/runs/{parent}/branch", json=body).json()["detail"][0]
    assert bad_path["loc"] == ["body", "config", "frozen", "0"]
    assert "no layer '7'" in bad_path["msg"]
    body = {"epoch": 1, "config": {"optimizer": "lion"}}
    assert client.post(f"/api/runs/{parent}/branch", json=body).status_code == 422
    assert client.post("/api/runs/nope/branch", json={"epoch": 1}).status_code == 404
    assert client.get("/api/runs/nope/checkpoints").status_code == 404
    assert len(client.get("/api/runs").json()) == 1  # nothing was queued


def test_the_drawing_through_time_equals_each_epochs_prediction(
    client: TestClient, app_data_dir: Path, mnist: Mnist
) -> None:
    run_id = _train(client)
    digit = mnist.test.images[0].numpy().astype(np.float32) / 255.0  # (28, 28) in 0..1
    answer = client.post(f"/api/runs/{run_id}/through-time", json={"pixels": digit.tolist()})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["classes"] == [str(n) for n in range(10)]
    assert [row["epoch"] for row in body["epochs"]] == [1, 2, 3]
    last = client.post(f"/api/runs/{run_id}/predict", json={"pixels": digit.tolist()}).json()
    prepared = torch.tensor(last["input"], dtype=torch.float32)  # as prepared for the model
    module = build_model(SPEC).module.eval()
    mean, std = mean_std()
    for row in body["epochs"]:
        weights = load_checkpoint(epoch_path(app_data_dir, run_id, row["epoch"])).model_state
        module.load_state_dict(weights)
        with torch.inference_mode():
            logits = module(((prepared - mean) / std).reshape(1, 1, 28, 28))
        expected = logits.softmax(dim=1)[0].tolist()
        assert row["probabilities"] == pytest.approx(expected, abs=1e-5)
        assert row["prediction"] == int(np.argmax(expected))
    assert body["epochs"][-1]["probabilities"] == pytest.approx(last["probabilities"], abs=1e-5)
    bad = client.post(f"/api/runs/{run_id}/through-time", json={"pixels": [[2.0]]})
    assert bad.status_code == 422


def test_in_shared_mode_only_the_owner_branches(app_data_dir: Path) -> None:
    with _app(app_data_dir, shared_mode=True, rate_limit_per_minute=0) as app_client:
        alice, bob = TestClient(app_client.app), TestClient(app_client.app)
        assert alice.get("/").status_code == 200 and bob.get("/").status_code == 200
        run_id = _train(alice, {**QUICK, "epochs": 1})
        body = {"epoch": 1, "config": {"epochs": 2}}
        assert bob.post(f"/api/runs/{run_id}/branch", json=body).status_code == 404
        assert bob.get(f"/api/runs/{run_id}/checkpoints").status_code == 404
        token = alice.post(f"/api/runs/{run_id}/share").json()["share_token"]
        share = {"share": token}
        assert bob.get(f"/api/runs/{run_id}/checkpoints", params=share).status_code == 200
        pixels = {"pixels": [[0.0] * 28] * 28}
        scored = bob.post(f"/api/runs/{run_id}/through-time", params=share, json=pixels)
        assert scored.status_code == 200
        refused = bob.post(f"/api/runs/{run_id}/branch", params=share, json=body)
        assert refused.status_code == 404  # a link reads, it does not train
        mine = alice.post(f"/api/runs/{run_id}/branch", json=body)
        assert mine.status_code == 201
        _wait(alice, mine.json()["id"])
