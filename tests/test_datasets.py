"""Datasets as a choice: the list, runs on the 2-D problems and Fashion-MNIST, fit checks, L1/L2."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from app.data import fashion
from app.data.registry import DatasetPlaces, Datasets
from app.main import create_app
from app.nn import SpecLimits
from app.settings import Settings
from app.training import RunControl, Throttle, parse_config
from app.training.job import RunJob
from app.training.tasks import train_job

TWO_D = {
    "input_shape": [2],
    "layers": [
        {"type": "linear", "out_features": 16},
        {"type": "tanh"},
        {"type": "linear", "out_features": 16},
        {"type": "tanh"},
        {"type": "linear", "out_features": 2},
    ],
}
TWO_D_VALUE = {**TWO_D, "layers": [*TWO_D["layers"][:-1], {"type": "linear", "out_features": 1}]}
MLP_10 = {
    "input_shape": [1, 28, 28],
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}],
}
FINISHED = {"completed", "stopped", "failed"}


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as c:
        yield c


def _run(client: TestClient, spec: dict[str, Any], config: dict[str, Any]) -> Any:
    model = client.post("/api/models", json={"name": "m", "spec": spec}).json()
    return client.post("/api/runs", json={"model_id": model["id"], "config": config})


def _wait(client: TestClient, run_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in FINISHED:
            return run
        time.sleep(0.05)
    pytest.fail(f"run {run_id} did not finish: {run}")


def test_the_list_names_every_dataset_with_what_a_model_needs(client: TestClient) -> None:
    answer = client.get("/api/datasets")
    assert answer.status_code == 200
    listed = {item["name"]: item for item in answer.json()}
    assert list(listed)[:2] == ["mnist", "fashion-mnist"]
    assert set(listed) >= {"circle", "xor", "gauss", "spiral", "plane", "multi-gauss"}
    mnist = listed["mnist"]
    assert (mnist["kind"], mnist["input_shape"], mnist["outputs"]) == (
        "classification",
        [1, 28, 28],
        10,
    )
    assert mnist["classes"] == [str(digit) for digit in range(10)]
    assert mnist["splits"] == {"train": 50_000, "validation": 10_000, "test": 10_000}
    clothes = listed["fashion-mnist"]
    assert clothes["classes"][0] == "T-shirt/top" and clothes["source"] == "built-in"
    installed = any(fashion.cache_path(d).is_file() for d in Settings().dataset_dirs())
    assert clothes["available"] is installed
    assert (clothes["note"] is None) is installed
    spiral = listed["spiral"]
    assert (spiral["kind"], spiral["input_shape"], spiral["outputs"]) == ("classification", [2], 2)
    assert spiral["source"] == "generated" and spiral["params"]["noise"] == 0.0
    assert spiral["splits"] == {"train": 250, "validation": 250, "test": 250}
    assert (listed["plane"]["kind"], listed["plane"]["classes"]) == ("regression", [])


def test_a_2d_problem_trains_through_the_api_with_its_own_classes(client: TestClient) -> None:
    config = {
        "dataset": {"name": "circle", "noise": 0.05, "points": 400},
        "epochs": 30,
        "batch_size": 16,
        "lr": 0.01,
        "schedule": "none",
    }
    created = _run(client, TWO_D, config)
    assert created.status_code == 201, created.text
    run = _wait(client, created.json()["id"])
    assert run["status"] == "completed", run["error"]
    assert run["total_steps"] == 30 * 13  # 200 training points in batches of 16
    assert run["config"]["dataset"]["name"] == "circle"
    assert run["test_accuracy"] >= 0.9
    metrics = client.get(f"/api/runs/{run['id']}/metrics").json()
    confusion = metrics["epochs"][-1]["confusion"]
    assert len(confusion) == 2 and sum(map(sum, confusion)) == 200  # the validation draw
    events = client.get(f"/api/runs/{run['id']}/metrics").json()
    assert events["done"]["test_accuracy"] == pytest.approx(run["test_accuracy"])


@pytest.mark.skipif(
    not any(fashion.cache_path(d).is_file() for d in Settings().dataset_dirs()),
    reason="Fashion-MNIST is not installed (set-up installs dataset-fashion-mnist where it can)",
)
def test_fashion_mnist_trains_like_mnist(client: TestClient) -> None:
    config = {"dataset": "fashion-mnist", "epochs": 1, "train_subset": 2048, "eval_limit": 500}
    run = _wait(client, _run(client, MLP_10, config).json()["id"])
    assert run["status"] == "completed", run["error"]
    assert 0.3 < run["test_accuracy"] < 0.95  # learns something; clothes are harder than digits


@pytest.mark.parametrize(
    ("spec", "dataset", "field", "words"),
    [
        (MLP_10, "spiral", "input_shape", "samples of 'spiral' are 2 (2 values)"),
        (MLP_10, {"name": "xor", "features": ["x1", "x2", "x1x2"]}, "input_shape", "use [3]"),
        (TWO_D | {"input_shape": [2]}, "mnist", "input_shape", "MNIST digits have 784"),
        (
            {**TWO_D, "layers": [*TWO_D["layers"][:-1], {"type": "linear", "out_features": 10}]},
            "gauss",
            "layers",
            "'gauss' needs 2 class scores",
        ),
        (TWO_D, "plane", "layers", "'plane' needs one value (a regression)"),
        (TWO_D, "cifar", "dataset", "unknown dataset 'cifar'; known: mnist, fashion-mnist"),
        (TWO_D, {"name": "spiral", "noise": 3}, "dataset.noise", "0.5"),
        (TWO_D, {"name": "mnist"}, "dataset", "2-D problems"),
    ],
)
def test_a_model_that_does_not_fit_its_dataset_is_refused_before_training(
    client: TestClient, spec: dict[str, Any], dataset: object, field: str, words: str
) -> None:
    answer = _run(client, spec, {"dataset": dataset})
    assert answer.status_code == 422, answer.text
    issues = answer.json()["detail"]
    assert any(issue["field"] == field and words in issue["msg"] for issue in issues), issues
    assert client.get("/api/runs").json() == []


@pytest.mark.parametrize("problem", ["plane", "multi-gauss"])
def test_the_regression_problems_train_to_values_with_mse(client: TestClient, problem: str) -> None:
    config = {"dataset": problem, "epochs": 50, "batch_size": 10, "lr": 0.01, "schedule": "none"}
    run = _wait(client, _run(client, TWO_D_VALUE, config).json()["id"])
    assert run["status"] == "completed", run["error"]
    assert run["config"]["loss"] == "mse"
    assert run["test_accuracy"] is None and run["best_val_accuracy"] is None
    metrics = client.get(f"/api/runs/{run['id']}/metrics").json()
    epochs, done = metrics["epochs"], metrics["done"]
    assert epochs[-1]["val_accuracy"] is None and epochs[-1]["confusion"] == []
    assert all(point["accuracy"] is None for point in metrics["steps"])
    # the mean squared error of always answering the mean value is the values' variance
    variance = float(Datasets(DatasetPlaces(Path("."))).load(problem).test.targets.var())
    assert done["test_loss"] < (0.05 if problem == "plane" else 0.5) * variance
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    answer = client.post(f"/api/runs/{run['id']}/predict", json={"features": [3.0, 3.0]})
    assert answer.status_code == 200, answer.text
    if problem == "plane":  # the value there is (x1 + x2) / 10
        assert answer.json()["value"] == pytest.approx(0.6, abs=0.1)
    cell = client.get(f"/api/runs/{run['id']}/confusion", params={"label": 0, "prediction": 0})
    assert cell.status_code == 422 and "no confusion matrix" in cell.text


def test_a_regression_refuses_a_classification_loss(client: TestClient) -> None:
    answer = _run(client, TWO_D_VALUE, {"dataset": "plane", "loss": "cross_entropy"})
    assert answer.status_code == 422
    issues = answer.json()["detail"]
    assert any(
        issue["field"] == "loss" and "train it with loss mse, not cross_entropy" in issue["msg"]
        for issue in issues
    ), issues


class _Sink:
    def emit(self, data: dict[str, Any]) -> None:
        pass

    def checkpoint(self, state: Any) -> None:
        pass

    def snapshot(self, snapshot: Any) -> None:
        self.weights = snapshot.state


def _weights_after(regularization: str, rate: float) -> list[torch.Tensor]:
    config = parse_config(
        {
            "dataset": "xor",
            "epochs": 15,
            "batch_size": 16,
            "lr": 0.01,
            "regularization": regularization,
            "regularization_rate": rate,
        }
    )
    job = RunJob("r", TWO_D, config, "cpu", 0, SpecLimits(), Throttle(), Path("."))
    dataset = Datasets(DatasetPlaces(Path("."))).load("xor")
    sink = _Sink()
    train_job(job, dataset, RunControl(), sink)
    result = train_job(job, dataset, RunControl(), sink)  # the same seed: the same run
    assert result.status == "completed"
    return [w for name, w in sink.weights.items() if name.endswith("weight")]


def test_l1_and_l2_shrink_the_weights_as_tensorflow_playground_does() -> None:
    plain = _weights_after("none", 0.0)
    l1 = _weights_after("l1", 0.01)
    l2 = _weights_after("l2", 0.03)
    assert sum(w.abs().sum() for w in l1) < 0.7 * sum(w.abs().sum() for w in plain)
    assert sum(w.square().sum() for w in l2) < 0.7 * sum(w.square().sum() for w in plain)
    near_zero = sum(int((w.abs() < 1e-2).sum()) for w in l1)
    assert near_zero > sum(int((w.abs() < 1e-2).sum()) for w in plain)  # l1 makes zeros
    assert _weights_after("none", 0.0)[0].equal(plain[0])  # deterministic, so the above is fair


def test_the_command_line_trains_a_2d_problem(tmp_path: Path) -> None:
    spec_file = tmp_path / "two_d.json"
    spec_file.write_text(json.dumps(TWO_D))
    result = subprocess.run(
        [
            *(sys.executable, "-m", "app", "train", str(spec_file)),
            *("--dataset", '{"name": "gauss", "noise": 0.1}'),
            *("--epochs", "5", "--batch-size", "16", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["status"] == "completed" and summary["test_accuracy"] > 0.9
    refused = subprocess.run(
        [sys.executable, "-m", "app", "train", str(spec_file), "--dataset", "mnist"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2
    assert "input_shape: MNIST digits have 784" in refused.stderr


class _CountingSink(_Sink):
    def __init__(self) -> None:
        self.epochs: list[tuple[int, bool]] = []

    def checkpoint(self, state: Any) -> None:
        self.epochs.append((state.meta["epoch"], state.meta["final"]))


@pytest.mark.parametrize(("every_s", "expected"), [(0.0, 10), (3600.0, 2)])
def test_tiny_epochs_are_checkpointed_at_most_every_checkpoint_s(
    every_s: float, expected: int
) -> None:
    config = parse_config({"dataset": "xor", "epochs": 10, "batch_size": 50})
    throttle = Throttle(checkpoint_s=every_s)
    job = RunJob("r", TWO_D, config, "cpu", 0, SpecLimits(), throttle, Path("."))
    sink = _CountingSink()
    train_job(job, Datasets(DatasetPlaces(Path("."))).load("xor"), RunControl(), sink)
    saved = [epoch for epoch, final in sink.epochs if not final]
    assert len(saved) == expected and saved[0] == 1 and saved[-1] == 10  # always saved
    assert sink.epochs[-1] == (10, True)
