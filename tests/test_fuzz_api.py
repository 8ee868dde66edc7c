"""Schemathesis against the app's own OpenAPI schema, in-process: no operation answers a 5xx.

The app runs with its lifespan (a TestClient context); schemathesis generates valid and invalid
requests for every operation (examples, coverage and fuzzing phases), and each request goes
through that client.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import load_all_checks
from support import train_tiny_run

from app.main import create_app
from app.settings import Settings

load_all_checks()
STATUS_CONFORMANCE = schemathesis.checks.status_code_conformance
# No 5xx; every status, content type, body and header as the schema declares them; invalid
# data refused with a 4xx. Left out, as noise these files cannot fix: positive_data_acceptance
# (the schema types a spec as any object, so `{"spec": {}}` is "valid" yet rightly 422s),
# allow_header_conformance and unsupported_method (Starlette's 405 lists in `Allow` only the
# methods of the first route on a path, e.g. `Allow: POST` for /api/models); use_after_free
# and ensure_resource_availability need the stateful phase; the schema declares no security
# schemes for ignored_auth or missing_required_header.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    STATUS_CONFORMANCE,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)


@dataclass(frozen=True)
class Trained:
    """A data directory holding one completed tiny run (and, in shared mode, its owner's token)."""

    data_dir: Path
    shared: bool
    run_id: str
    token: str | None


@pytest.fixture(scope="module", params=["single-user", "shared"])
def trained(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mnist_data_dir: Path
) -> Trained:
    """Train one tiny run once per mode; each test starts an app on a copy of its data."""
    shared = request.param == "shared"
    data_dir = tmp_path_factory.mktemp(request.param)
    (data_dir / "mnist.safetensors").symlink_to(mnist_data_dir / "mnist.safetensors")
    with TestClient(create_app(_settings(data_dir, shared))) as client:
        token = _authorize(client) if shared else None
        run_id = train_tiny_run(client)
    return Trained(data_dir, shared, run_id, token)


def _settings(data_dir: Path, shared: bool) -> Settings:
    return Settings(data_dir=data_dir, shared_mode=shared, rate_limit_per_minute=0)


@pytest.fixture
def client(trained: Trained, tmp_path: Path) -> Iterator[TestClient]:
    """The app with its lifespan running on a copy of `trained`; with its token in shared mode."""
    data_dir = shutil.copytree(trained.data_dir, tmp_path / "data", symlinks=True)
    with TestClient(create_app(_settings(data_dir, trained.shared))) as client:
        if trained.token:
            client.headers["Authorization"] = f"Bearer {trained.token}"
        yield client


def _authorize(client: TestClient) -> str:
    """Give the client a new user's bearer token; returns it."""
    client.headers.pop("Authorization", None)  # a revoked token would get a 401 here
    answer = client.post("/api/tokens", json={})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return token


# The schema is the app's own; building the app object reads no data and starts nothing.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(data_dir=Path("unused"))).openapi(), config=CONFIG
)


def _send(client: TestClient, case: schemathesis.Case) -> Any:
    """Send a generated case through the TestClient (requests-style kwargs → httpx)."""
    sent = case.as_transport_kwargs(base_url=str(client.base_url))
    headers = dict(sent.get("headers") or {})
    cookies = sent.get("cookies") or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif sent.get("data") is not None:
        data = sent["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    return client.request(
        sent["method"], sent["url"], params=sent.get("params"), headers=headers, **body
    )


@schema.parametrize()
@settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, client: TestClient, trained: Trained) -> None:
    """Random and hostile requests to every operation never get a 5xx."""
    run_id = (case.path_parameters or {}).get("run_id")
    if isinstance(run_id, str) and len(run_id) % 2 == 0:
        # Half the generated ids (by length, so a replayed example is the same) name the real
        # trained run, so predict, export, confusion... get past their 404.
        case.path_parameters = {**case.path_parameters, "run_id": trained.run_id}
    response = _send(client, case)
    case.validate_response(response, checks=CHECKS)
    revoked = (case.method.upper(), case.path, response.status_code) == (
        "DELETE",
        "/api/tokens/current",
        204,
    )
    if revoked and "Authorization" in client.headers:
        _authorize(client)  # the next example needs a token that still works
