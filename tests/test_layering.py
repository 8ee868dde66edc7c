"""The core knows nothing of the web: only app.api (and app.main) import the web stack."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
CORE = ["data", "events", "imaging", "inference", "nn", "service", "store", "training"]
WEB = ("fastapi", "starlette", "uvicorn", "jinja2", "prometheus_fastapi_instrumentator", "app.api")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", CORE)
def test_core_packages_import_nothing_of_the_web(package: str) -> None:
    files = sorted((APP / package).rglob("*.py"))
    assert files, f"app/{package} has no modules"
    offending = {
        f"{path.relative_to(APP)}: {name}"
        for path in files
        for name in _imports(path)
        if name == WEB or any(name == web or name.startswith(web + ".") for web in WEB)
    }
    assert not offending, offending


def test_routes_reach_the_core_through_the_service_layer() -> None:
    """Routes may name the core's types and errors, never its doors (Playground is theirs)."""
    for path in sorted((APP / "api").glob("*.py")):
        if path.name in ("metrics.py", "identity.py"):  # observability; the middleware's tokens
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app."):
                doors = {alias.name for alias in node.names} & CORE_DOORS
                assert not doors, f"{path.name} imports {doors} from {node.module}"


CORE_DOORS = {
    "Store",
    "RunManager",
    "Predictor",
    "RunModels",
    "build_model",
    "export_model",
    "load_checkpoint",
    "save_checkpoint",
}
