"""The server-rendered pages, their test hooks, and the offline assets they load."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import VENDOR, create_app
from app.nn import LAYER_KINDS, PRESET_NAMES, load_preset
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STATIC_JS = ROOT / "static" / "js"

HOOKS = {
    "/build": ["preset-select", "train-start", "spec-json", "total-params", "layer-list"],
    "/runs": ["runs-table", "compare", "compare-panel"],
    "/draw": ["draw-canvas", "draw-clear", "prediction", "feature-maps", "run-select"],
    "/plane": ["plane-play", "plane-reset", "plane-step", "plane-epoch", "plane-lr"],
    "/datasets": ["upload-form", "upload-file", "upload-name", "upload-submit"],
}
RUN_HOOKS = [
    "run-status",
    "train-pause",
    "train-stop",
    "loss-chart",
    "feature-maps",
    "draw-canvas",
    "draw-clear",
    "prediction",
    "confusion",
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as test_client:
        yield test_client


def test_healthz_and_home_page(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200
    for name in PRESET_NAMES:
        assert f'data-preset="{name}"' in page.text
        assert f'href="/build?preset={name}"' in page.text
    assert "61,706" in page.text  # LeNet-5's parameter count, worked out from its spec
    assert client.get("/static/css/app.css").status_code == 200
    assert (tmp_path / "data").is_dir()


@pytest.mark.parametrize("path", list(HOOKS))
def test_pages_render_with_their_test_hooks(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for hook in HOOKS[path]:
        assert page.text.count(f'data-testid="{hook}"') == 1, hook
    assert f'<a href="{path}" aria-current="page">' in page.text


def test_run_page_has_every_hook_once(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    spec = load_preset("mlp").model_dump(mode="json", exclude_unset=True)
    model = store.create_model("page test", spec, {})
    run = store.create_run(model.id, {"epochs": 1})
    page = client.get(f"/runs/{run.id}")
    assert page.status_code == 200
    assert "page test" in page.text
    assert f'data-run-id="{run.id}"' in page.text
    for hook in RUN_HOOKS:
        assert page.text.count(f'data-testid="{hook}"') == 1, hook
    for digit in range(10):  # the bars are built by the page's script, once per digit
        assert f"prob-{digit}" not in page.text


def test_unknown_run_is_a_404_page(client: TestClient) -> None:
    page = client.get("/runs/no-such-run")
    assert page.status_code == 404
    assert "No such run" in page.text


def test_builder_offers_every_preset_and_explains_every_layer_type(client: TestClient) -> None:
    page = client.get("/build").text
    for name in PRESET_NAMES:
        assert f'<option value="{name}">' in page
    for kind in LAYER_KINDS:
        assert f'id="explain-{kind}"' in page, kind
    for activation in ("relu", "sigmoid", "tanh", "step", "gelu"):
        assert f'data-curve="{activation}"' in page


def test_vendor_libraries_are_served_offline(client: TestClient) -> None:
    assert VENDOR["uplot"].is_dir(), "node_modules is missing: run `npm ci` (make run does)"
    script = client.get("/vendor/uplot/uPlot.esm.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "export" in script.text
    assert client.get("/vendor/uplot/uPlot.min.css").status_code == 200


def test_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    for path in ["/", *HOOKS]:
        html = client.get(path).text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), path
        assert '"uplot": "/vendor/uplot/uPlot.esm.js"' in html


def test_every_module_import_resolves() -> None:
    """Relative imports between the ES modules name files that exist (no build step checks it)."""
    modules = sorted(STATIC_JS.rglob("*.js"))
    assert modules
    imports = re.compile(r"""^import .*? from ["']([^"']+)["'];""", re.M)
    for module in modules:
        for target in imports.findall(module.read_text()):
            if target == "uplot":  # the import map in base.html points it at /vendor/uplot
                continue
            assert target.startswith("."), f"{module.name} imports {target} from elsewhere"
            assert (module.parent / target).resolve().is_file(), f"{module.name}: {target}"


def test_only_api_and_socket_modules_touch_the_network() -> None:
    for module in STATIC_JS.rglob("*.js"):
        if module.name in {"api.js", "socket.js"}:
            continue
        text = module.read_text()
        for call in ("fetch(", "new WebSocket(", "XMLHttpRequest", "EventSource("):
            assert call not in text, f"{module.relative_to(STATIC_JS)} uses {call}"
