"""Your own data through the API: upload a ZIP of class folders or a CSV, train, predict with
class names; every bad upload a clear 4xx that leaves nothing behind; uploads stay private."""

import base64
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings

SIDE = 16
SHAPES = ("row", "column", "cross")  # class folders, sorted: column, cross, row


def _picture(shape: str, rng: np.random.Generator) -> Image.Image:
    """A dark 16×16 picture with a light bar (row, column) or both, near the middle."""
    pixels = rng.integers(0, 40, size=(SIDE, SIDE)).astype(np.uint8)
    where = int(rng.integers(6, 10))
    if shape in ("row", "cross"):
        pixels[where, :] = 230
    if shape in ("column", "cross"):
        pixels[:, where] = 230
    return Image.fromarray(pixels, mode="L")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(per_class: int = 40, shapes: tuple[str, ...] = SHAPES) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for shape in shapes:
            for index in range(per_class):
                archive.writestr(f"bars/{shape}/{index:03d}.png", _png(_picture(shape, rng)))
    return buffer.getvalue()


def _upload(
    client: TestClient, content: bytes, name: str = "bars", filename: str = "bars.zip", **form: Any
) -> Any:
    return client.post(
        "/api/datasets",
        files={"file": (filename, content, "application/octet-stream")},
        data={"name": name, **form},
    )


@pytest.fixture
def client(app_data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=app_data_dir, max_upload_bytes=400_000))) as c:
        yield c


def _wait(client: TestClient, run_id: str) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in {"completed", "failed", "stopped"}:
            return run
        time.sleep(0.05)
    pytest.fail(f"run {run_id} did not finish")


def test_an_uploaded_zip_trains_and_predicts_with_class_names(
    client: TestClient, app_data_dir: Path
) -> None:
    created = _upload(client, _zip(), size=f"{SIDE}x{SIDE}")
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert dataset["name"].startswith("ds_") and dataset["title"] == "bars"
    assert dataset["classes"] == ["column", "cross", "row"]
    assert dataset["input_shape"] == [1, SIDE, SIDE] and dataset["source"] == "upload"
    assert dataset["splits"] == {"train": 96, "validation": 12, "test": 12}
    assert (app_data_dir / "datasets" / dataset["name"] / "dataset.json").is_file()
    listed = [item["name"] for item in client.get("/api/datasets").json()]
    assert listed[-1] == dataset["name"]
    assert client.get(f"/api/datasets/{dataset['name']}").json() == dataset

    spec = {
        "input_shape": [1, SIDE, SIDE],
        "layers": [
            {"type": "flatten"},
            {"type": "linear", "out_features": 32},
            {"type": "relu"},
            {"type": "linear", "out_features": 3},
        ],
    }
    model = client.post("/api/models", json={"name": "bars", "spec": spec}).json()
    config = {"dataset": dataset["name"], "epochs": 20, "batch_size": 16, "schedule": "none"}
    run = client.post("/api/runs", json={"model_id": model["id"], "config": config})
    assert run.status_code == 201, run.text
    finished = _wait(client, run.json()["id"])
    assert finished["status"] == "completed", finished["error"]
    assert finished["test_accuracy"] >= 0.9
    assert finished["total_steps"] == 20 * 6  # 96 training images in batches of 16

    rng = np.random.default_rng(7)
    for expected, shape in enumerate(["column", "cross", "row"]):
        image = _picture(shape, rng).resize((64, 64), Image.Resampling.NEAREST)  # back to 16×16
        data_url = "data:image/png;base64," + base64.b64encode(_png(image)).decode()
        answer = client.post(f"/api/runs/{finished['id']}/predict", json={"image": data_url})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["classes"] == ["column", "cross", "row"]
        assert body["prediction"] == expected, (shape, body["probabilities"])
        assert np.asarray(body["input"]).shape == (1, SIDE, SIDE)
    cell = client.get(f"/api/runs/{finished['id']}/confusion?label=2&prediction=2").json()
    assert cell["count"] >= 1 and cell["examples"][0]["label"] == 2
    assert cell["examples"][0]["image"] is None  # pictures travel for 28×28 grey data only
    assert len(cell["examples"][0]["probabilities"]) == 3
    beyond = client.get(f"/api/runs/{finished['id']}/confusion?label=3&prediction=0")
    assert beyond.status_code == 422 and "classes 0..2" in str(beyond.json()["detail"])
    pixels = client.post(f"/api/runs/{finished['id']}/predict", json={"pixels": [0.0] * 784})
    assert pixels.status_code == 422 and "send an 'image'" in pixels.json()["detail"]

    # A dataset in use cannot go; afterwards its record and files go together.
    assert client.delete(f"/api/datasets/{dataset['name']}").status_code == 204
    assert not (app_data_dir / "datasets" / dataset["name"]).exists()
    assert client.get(f"/api/datasets/{dataset['name']}").status_code == 404
    again = client.post("/api/runs", json={"model_id": model["id"], "config": config})
    assert again.status_code == 422 and "no dataset" in str(again.json()["detail"])


def test_a_csv_upload_trains(client: TestClient) -> None:
    rng = np.random.default_rng(1)
    rows = ["a,b,kind"]
    for _ in range(200):
        a, b = rng.normal(size=2)
        rows.append(f"{a:.3f},{b:.3f},{'high' if a + b > 0 else 'low'}")
    created = _upload(client, "\n".join(rows).encode(), name="sums", filename="sums.csv")
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert dataset["classes"] == ["high", "low"] and dataset["input_shape"] == [2]
    spec = {"input_shape": [2], "layers": [{"type": "linear", "out_features": 2}]}
    model = client.post("/api/models", json={"name": "sums", "spec": spec}).json()
    config = {"dataset": dataset["name"], "epochs": 30, "batch_size": 16, "lr": 0.05}
    run = client.post("/api/runs", json={"model_id": model["id"], "config": config})
    assert run.status_code == 201, run.text
    finished = _wait(client, run.json()["id"])
    assert finished["status"] == "completed" and finished["test_accuracy"] >= 0.85


def test_a_csv_regression_upload_trains_and_predicts_values(client: TestClient) -> None:
    rng = np.random.default_rng(2)
    rows = ["a,b,y"]
    for _ in range(300):
        a, b = rng.uniform(-1, 1, size=2)
        rows.append(f"{a:.4f},{b:.4f},{0.5 * a - 0.25 * b:.5f}")  # many distinct numbers
    created = _upload(client, "\n".join(rows).encode(), name="linear", filename="linear.csv")
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert (dataset["kind"], dataset["classes"], dataset["outputs"]) == ("regression", [], 1)
    spec = {"input_shape": [2], "layers": [{"type": "linear", "out_features": 1}]}
    model = client.post("/api/models", json={"name": "linear", "spec": spec}).json()
    config = {"dataset": dataset["id"], "epochs": 40, "batch_size": 16, "lr": 0.05}
    run = client.post("/api/runs", json={"model_id": model["id"], "config": config})
    assert run.status_code == 201, run.text
    finished = _wait(client, run.json()["id"])
    assert finished["status"] == "completed", finished["error"]
    assert finished["config"]["loss"] == "mse"  # filled in for a regression
    assert finished["test_accuracy"] is None
    done = client.get(f"/api/runs/{finished['id']}/metrics").json()["done"]
    assert done["test_loss"] < 1e-3
    answer = client.post(f"/api/runs/{finished['id']}/predict", json={"features": [0.8, -0.4]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["value"] == pytest.approx(0.5, abs=0.05)
    short = client.post(f"/api/runs/{finished['id']}/predict", json={"features": [0.8]})
    assert short.status_code == 422 and "2 values, got 1" in short.text


def _traversal_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil/001.png", _png(_picture("row", np.random.default_rng(0))))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "form", "status", "words"),
    [
        (b"\x89PNG\r\n\x1a\nnot really", {}, 422, "PNG"),
        (_traversal_zip(), {}, 422, ".."),
        (_zip(shapes=("row",)), {}, 422, "class"),
        (_zip(per_class=2), {}, 422, "at least 5 images"),
        (b"a,b,label\n1,2,x\n3,,y\n", {}, 422, "line 3"),
        (b"x" * 500_000, {}, 413, "400,000 bytes"),
        (_zip(), {"size": "huge"}, 422, "size"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    client: TestClient,
    app_data_dir: Path,
    content: bytes,
    form: dict[str, Any],
    status: int,
    words: str,
) -> None:
    answer = _upload(client, content, **form)
    assert answer.status_code == status, answer.text
    assert words in str(answer.json()["detail"])
    folder = app_data_dir / "datasets"
    assert not folder.exists() or not any(folder.iterdir())
    assert [item["source"] for item in client.get("/api/datasets").json()].count("upload") == 0


def test_uploads_are_private_in_shared_mode(app_data_dir: Path) -> None:
    settings = Settings(data_dir=app_data_dir, shared_mode=True, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as owner:
        assert owner.get("/").status_code == 200  # an identity (cookie) for this browser
        dataset = _upload(owner, _zip(per_class=10)).json()["name"]
        other = TestClient(owner.app)
        assert other.get("/").status_code == 200
        assert dataset not in [item["name"] for item in other.get("/api/datasets").json()]
        assert other.get(f"/api/datasets/{dataset}").status_code == 404
        assert other.delete(f"/api/datasets/{dataset}").status_code == 404
        spec = {
            "input_shape": [1, 28, 28],
            "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 3}],
        }
        model = other.post("/api/models", json={"name": "m", "spec": spec}).json()
        run = other.post(
            "/api/runs", json={"model_id": model["id"], "config": {"dataset": dataset}}
        )
        assert run.status_code == 422 and f"no dataset '{dataset}'" in str(run.json()["detail"])
        assert dataset in [item["name"] for item in owner.get("/api/datasets").json()]


@pytest.fixture
def two_people(app_data_dir: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """A shared-mode app and two browsers on it, each with its own identity (cookie)."""
    settings = Settings(data_dir=app_data_dir, shared_mode=True, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as owner:
        other = TestClient(owner.app)
        assert owner.get("/").status_code == 200 and other.get("/").status_code == 200
        yield owner, other


def _shared_upload(owner: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The owner uploads the bars at 16×16 and shares them: the dataset and its link."""
    dataset = _upload(owner, _zip(per_class=10), size=f"{SIDE}x{SIDE}").json()
    link = owner.post(f"/api/datasets/{dataset['name']}/share")
    assert link.status_code == 200, link.text
    return dataset, link.json()


def _run_body(client: TestClient, dataset: str, **config: Any) -> dict[str, Any]:
    spec = {
        "input_shape": [1, SIDE, SIDE],
        "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 3}],
    }
    model = client.post("/api/models", json={"name": "m", "spec": spec}).json()
    return {"model_id": model["id"], "config": {"dataset": dataset, **config}}


def test_a_shared_upload_is_read_with_its_token_and_listed_to_its_owner_only(
    two_people: tuple[TestClient, TestClient],
) -> None:
    owner, other = two_people
    dataset, link = _shared_upload(owner)
    name, token = dataset["name"], link["share_token"]
    assert dataset["share"] is None  # as uploaded
    assert link["url"] == f"/datasets?dataset={name}&share={token}"
    assert owner.get(f"/api/datasets/{name}").json()["share"] == link
    listed = {item["name"]: item for item in owner.get("/api/datasets").json()}
    assert listed[name]["share"] == link and "share" not in listed["mnist"]

    assert other.get(f"/api/datasets/{name}").status_code == 404
    assert other.get(f"/api/datasets/{name}?share=wrong").status_code == 404
    seen = other.get(f"/api/datasets/{name}?share={token}")
    assert seen.status_code == 200, seen.text
    assert seen.json() == {key: value for key, value in dataset.items() if key != "share"}
    assert name not in [item["name"] for item in other.get("/api/datasets").json()]
    for method in ("POST", "DELETE"):  # only its owner shares, unshares and deletes it
        assert other.request(method, f"/api/datasets/{name}/share").status_code == 404
    assert other.delete(f"/api/datasets/{name}?share={token}").status_code == 404

    renewed = owner.post(f"/api/datasets/{name}/share").json()["share_token"]
    assert other.get(f"/api/datasets/{name}?share={token}").status_code == 404  # the old link
    assert other.get(f"/api/datasets/{name}?share={renewed}").status_code == 200


def test_a_shared_upload_trains_with_its_token_until_unshared(
    two_people: tuple[TestClient, TestClient],
) -> None:
    owner, other = two_people
    dataset, link = _shared_upload(owner)
    name, token = dataset["name"], link["share_token"]
    body = _run_body(other, name, epochs=2)
    for refused in ("/api/runs", "/api/runs?dataset_share=wrong", f"/api/runs?share={token}"):
        answer = other.post(refused, json=body)
        assert answer.status_code == 422, (refused, answer.text)
        assert f"no dataset '{name}'" in str(answer.json()["detail"])
    created = other.post(f"/api/runs?dataset_share={token}", json=body)
    assert created.status_code == 201, created.text
    run = _wait(other, created.json()["id"])
    assert run["status"] == "completed", run["error"]
    assert token not in str(run["config"])  # the token opened the door; the run keeps none
    assert owner.get(f"/api/runs/{run['id']}").status_code == 404  # the run is the other's

    assert owner.delete(f"/api/datasets/{name}/share").status_code == 204
    assert owner.get(f"/api/datasets/{name}").json()["share"] is None
    assert other.get(f"/api/datasets/{name}?share={token}").status_code == 404
    again = other.post(f"/api/runs?dataset_share={token}", json=body)
    assert again.status_code == 422 and f"no dataset '{name}'" in str(again.json()["detail"])
    # The run trained keeps its weights and predicts (predictions do not ask who owns data).
    picture = _png(_picture("row", np.random.default_rng(3)))
    image = "data:image/png;base64," + base64.b64encode(picture).decode()
    answer = other.post(f"/api/runs/{run['id']}/predict", json={"image": image})
    assert answer.status_code == 200, answer.text
    assert answer.json()["classes"] == ["column", "cross", "row"]


def test_a_shared_upload_deleted_by_its_owner_is_gone_for_everyone(
    two_people: tuple[TestClient, TestClient],
) -> None:
    owner, other = two_people
    dataset, link = _shared_upload(owner)
    name, token = dataset["name"], link["share_token"]
    body = _run_body(other, name, epochs=50, batch_size=1)  # 1,200 steps: time to pause it
    run_id = other.post(f"/api/runs?dataset_share={token}", json=body).json()["id"]
    assert other.post(f"/api/runs/{run_id}/pause").status_code == 200
    busy = owner.delete(f"/api/datasets/{name}")  # someone else's active run holds it
    assert busy.status_code == 409 and run_id in busy.json()["detail"]
    assert other.post(f"/api/runs/{run_id}/stop").status_code == 200
    assert _wait(other, run_id)["status"] == "stopped"

    assert owner.delete(f"/api/datasets/{name}").status_code == 204
    assert other.get(f"/api/datasets/{name}?share={token}").status_code == 404
    gone = other.post(f"/api/runs?dataset_share={token}", json=body)
    assert gone.status_code == 422 and f"no dataset '{name}'" in str(gone.json()["detail"])
