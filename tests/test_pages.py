"""The app factory, the health endpoint and the home page."""

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.nn import PRESET_NAMES
from app.settings import Settings


def test_healthz_and_home_page(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        page = client.get("/")
        assert page.status_code == 200
        for name in PRESET_NAMES:
            assert f'data-preset="{name}"' in page.text
        assert "61,706" in page.text  # LeNet-5's parameter count, worked out from its spec
        assert client.get("/static/css/app.css").status_code == 200
    assert (tmp_path / "data").is_dir()
