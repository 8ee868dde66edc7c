"""Digits drawn at other sizes, positions and polarity are read as well as MNIST's own 28×28."""

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.data import Mnist
from app.main import create_app
from app.nn import load_preset
from app.settings import Settings

DIGITS = 600


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _scaled(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR)


def _off_centre(digit: np.ndarray, index: int) -> Image.Image:
    canvas = Image.new("L", (400, 300), 0)
    size = 120 + (index * 37) % 140
    left, top = (index * 53) % (400 - size), (index * 29) % (300 - size)
    canvas.paste(
        Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR), (left, top)
    )
    return canvas


def _inverted(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR)


@pytest.mark.slow
def test_drawn_variants_keep_the_accuracy(app_data_dir: Path, mnist: Mnist) -> None:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as client:
        spec = load_preset("mlp").model_dump(mode="json", exclude_unset=True)
        model_id = client.post("/api/models", json={"name": "mlp", "spec": spec}).json()["id"]
        config = {"epochs": 1, "eval_limit": 1000}
        run_id = client.post("/api/runs", json={"model_id": model_id, "config": config}).json()[
            "id"
        ]
        deadline = time.monotonic() + 240
        while client.get(f"/api/runs/{run_id}").json()["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.2)

        def accuracy(bodies: list[dict[str, object]]) -> float:
            labels = mnist.test.labels[:DIGITS].tolist()
            hits = 0
            for body, label in zip(bodies, labels, strict=True):
                answer = client.post(f"/api/runs/{run_id}/predict", json=body)
                assert answer.status_code == 200, answer.text
                hits += answer.json()["prediction"] == label
            return hits / DIGITS

        digits = [image.numpy() for image in mnist.test.images[:DIGITS]]
        original = accuracy(
            [{"pixels": (digit / 255.0).tolist(), "prepare": False} for digit in digits]
        )
        assert original > 0.9
        variants = {
            "280×280": [_scaled(digit) for digit in digits],
            "off centre": [_off_centre(digit, i) for i, digit in enumerate(digits)],
            "inverted": [_inverted(digit) for digit in digits],
        }
        for name, images in variants.items():
            drawn = accuracy([{"image": _data_url(image)} for image in images])
            assert drawn >= original - 0.01, f"{name}: {drawn:.3f} vs {original:.3f} at 28×28"
