"""Users: single-user and shared mode, cookies, bearer tokens, links to share, fair use."""

import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api import ws
from app.api.identity import COOKIE, SECRET_FILE
from app.main import create_app
from app.nn import load_preset
from app.settings import Settings

QUICK = {"epochs": 1, "train_subset": 512, "eval_limit": 128, "batch_size": 64}
SPEC = load_preset("mlp").model_dump(mode="json", exclude_unset=True)


def _shared_app(data_dir: Path, **overrides: Any) -> FastAPI:
    options: dict[str, Any] = {"shared_mode": True, "rate_limit_per_minute": 0, **overrides}
    return create_app(Settings(data_dir=data_dir, **options))


@pytest.fixture
def shared(app_data_dir: Path) -> Iterator[TestClient]:
    """A shared-mode app; the client runs its lifespan and has no identity yet."""
    with TestClient(_shared_app(app_data_dir)) as client:
        yield client


def _browser(client: TestClient) -> TestClient:
    """Another browser on the same app: its own cookie jar, identity from a first page visit."""
    other = TestClient(client.app)
    assert other.get("/").status_code == 200
    return other


def _bearer(client: TestClient, **body: Any) -> dict[str, str]:
    created = client.post("/api/tokens", json=body)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def _model(client: TestClient, headers: dict[str, str] | None = None) -> str:
    answer = client.post("/api/models", json={"name": "mine", "spec": SPEC}, headers=headers)
    assert answer.status_code == 201, answer.text
    model_id: str = answer.json()["id"]
    return model_id


def test_single_user_mode_needs_no_login(app_data_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=app_data_dir))) as client:
        assert client.get("/api/me").json() == {
            "user_id": "local",
            "shared_mode": False,
            "via": "local",
        }
        model_id = _model(client)
        assert [model["id"] for model in client.get("/api/models").json()] == [model_id]
        assert COOKIE not in client.get("/").cookies
        assert client.post("/api/tokens", json={}).status_code == 201  # scripts work either way


def test_shared_mode_is_on_by_default_off_loopback() -> None:
    assert not Settings(host="127.0.0.1").is_shared()
    assert not Settings(host="localhost").is_shared()
    assert Settings(host="0.0.0.0").is_shared()
    assert Settings(host="192.168.1.20").is_shared()
    assert not Settings(host="0.0.0.0", shared_mode=False).is_shared()


def test_shared_mode_api_needs_an_identity(shared: TestClient) -> None:
    for method, path in [("GET", "/api/models"), ("GET", "/api/runs"), ("POST", "/api/models")]:
        answer = shared.request(method, path, json={"name": "x", "spec": SPEC})
        assert answer.status_code == 401, (method, path)
        assert "POST /api/tokens" in answer.json()["detail"]
        assert answer.headers["www-authenticate"] == "Bearer"
    assert shared.get("/api/me").json()["user_id"] is None
    # the catalogue stays open: it holds nothing of anyone's
    assert shared.get("/api/layers").status_code == 200
    assert shared.post("/api/specs/summary", json={"spec": SPEC}).status_code == 200


def test_a_browser_gets_a_signed_cookie_on_its_first_page(shared: TestClient) -> None:
    page = shared.get("/build")
    assert page.status_code == 200
    header = page.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    me = shared.get("/api/me").json()
    assert me["via"] == "cookie"
    assert me["user_id"]
    assert "set-cookie" not in shared.get("/build").headers  # known from now on


def test_a_forged_cookie_is_nobody(shared: TestClient) -> None:
    user_id = _browser(shared).get("/api/me").json()["user_id"]
    forger = TestClient(shared.app)
    forger.cookies.set(COOKIE, user_id)  # the bare id, unsigned
    assert forger.get("/api/models").status_code == 401
    forger.cookies.set(COOKIE, user_id + ".bad.signature")
    assert forger.get("/api/models").status_code == 401


def test_people_see_and_control_only_their_own_work(shared: TestClient) -> None:
    alice, bob = _browser(shared), _browser(shared)
    model_id = _model(alice)
    run = alice.post("/api/runs", json={"model_id": model_id, "config": QUICK})
    assert run.status_code == 201
    run_id = run.json()["id"]

    assert [model["id"] for model in alice.get("/api/models").json()] == [model_id]
    assert bob.get("/api/models").json() == []
    assert bob.get("/api/runs").json() == []
    for method, path in [
        ("GET", f"/api/models/{model_id}"),
        ("DELETE", f"/api/models/{model_id}"),
        ("GET", f"/api/runs/{run_id}"),
        ("GET", f"/api/runs/{run_id}/metrics"),
        ("POST", f"/api/runs/{run_id}/pause"),
        ("POST", f"/api/runs/{run_id}/stop"),
        ("POST", f"/api/runs/{run_id}/share"),
        ("DELETE", f"/api/runs/{run_id}"),
        ("GET", f"/api/runs/{run_id}/export"),
    ]:
        answer = bob.request(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
    assert bob.patch(f"/api/runs/{run_id}", json={"lr": 0.01}).status_code == 404
    predict = bob.post(f"/api/runs/{run_id}/predict", json={"pixels": [[0.0] * 28] * 28})
    assert predict.status_code == 404
    started = bob.post("/api/runs", json={"model_id": model_id, "config": QUICK})
    assert started.status_code == 404
    assert bob.get(f"/runs/{run_id}").status_code == 404
    assert alice.get(f"/runs/{run_id}").status_code == 200
    # and alice still has everything
    assert alice.get(f"/api/runs/{run_id}").json()["id"] == run_id
    assert alice.post(f"/api/runs/{run_id}/pause").status_code in (200, 409)  # 409: it ended
    assert alice.get(f"/api/runs/{run_id}/metrics").status_code == 200


def test_the_other_tasks_endpoints_are_private_and_shared_by_link(shared: TestClient) -> None:
    alice, bob = _browser(shared), _browser(shared)
    preset = alice.get("/api/presets/gan").json()
    model = alice.post("/api/models", json={"name": "g", "spec": preset["spec"]}).json()
    config = {**preset["config"], "epochs": 1, "max_steps": 3}
    run_id = alice.post("/api/runs", json={"model_id": model["id"], "config": config}).json()["id"]
    deadline = time.monotonic() + 120
    while alice.get(f"/api/runs/{run_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    noise = {"noise": [[0.0] * preset["spec"]["input_shape"][0]]}
    reads = [
        ("GET", f"/api/runs/{run_id}/samples?n=4&seed=1", None),
        ("GET", f"/api/runs/{run_id}/export?format=onnx&part=generator", None),
        ("POST", f"/api/runs/{run_id}/generate", noise),
    ]
    for method, path, body in reads:
        assert alice.request(method, path, json=body).status_code == 200, path
        assert bob.request(method, path, json=body).status_code == 404, path
    token = alice.post(f"/api/runs/{run_id}/share").json()["share_token"]
    samples = bob.get(f"/api/runs/{run_id}/samples?n=4&seed=1&share={token}")
    assert samples.status_code == 200 and samples.headers["content-type"] == "image/png"
    exported = bob.get(f"/api/runs/{run_id}/export?format=onnx&part=generator&share={token}")
    assert exported.status_code == 200
    assert bob.post(f"/api/runs/{run_id}/pause?share={token}").status_code == 404  # read only


def test_bearer_tokens_identify_api_clients(shared: TestClient) -> None:
    headers = _bearer(shared)
    model_id = _model(shared, headers)
    assert [model["id"] for model in shared.get("/api/models", headers=headers).json()] == [
        model_id
    ]
    other = _bearer(shared)
    assert shared.get(f"/api/models/{model_id}", headers=other).status_code == 404
    # a second token for the same person (asked for with the first) sees the same work
    second = shared.post("/api/tokens", json={}, headers=headers).json()
    assert second["user_id"] == shared.get("/api/me", headers=headers).json()["user_id"]
    again = {"Authorization": f"Bearer {second['token']}"}
    assert shared.get(f"/api/models/{model_id}", headers=again).status_code == 200

    bad = shared.get("/api/models", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert "unknown or revoked" in bad.json()["detail"]

    assert shared.delete("/api/tokens/current", headers=headers).status_code == 204
    assert shared.get("/api/models", headers=headers).status_code == 401
    assert shared.get(f"/api/models/{model_id}", headers=again).status_code == 200


def test_tokens_are_stored_only_as_digests(shared: TestClient, app_data_dir: Path) -> None:
    token = _bearer(shared)["Authorization"].split()[1]
    database = (app_data_dir / "playground.sqlite3").read_bytes()
    wal = app_data_dir / "playground.sqlite3-wal"
    stored = database + (wal.read_bytes() if wal.exists() else b"")
    assert token.encode() not in stored


def test_an_access_token_guards_the_door(app_data_dir: Path) -> None:
    app = _shared_app(app_data_dir, access_token="open sesame")
    with TestClient(app, follow_redirects=False) as client:
        assert client.post("/api/tokens", json={}).status_code == 401
        wrong = client.post("/api/tokens", json={"access_token": "guess"})
        assert wrong.status_code == 401
        assert "wrong access token" in wrong.json()["detail"]
        assert client.post("/api/tokens", json={"access_token": "open sesame"}).status_code == 201

        page = client.get("/runs?x=1")
        assert page.status_code == 303
        assert page.headers["location"] == "/join?next=%2Fruns%3Fx%3D1"
        form = client.get("/join?next=/runs")
        assert form.status_code == 200
        assert 'name="token"' in form.text
        refused = client.get("/join", params={"token": "guess", "next": "/runs"})
        assert refused.status_code == 403
        assert "not this server" in refused.text
        assert COOKIE not in client.cookies

        joined = client.post(
            "/join",
            content="token=open+sesame&next=%2F%2Fevil.example",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert joined.status_code == 303
        assert joined.headers["location"] == "/"  # never off-site
        assert COOKIE in client.cookies
        assert client.get("/runs").status_code == 200
        assert client.get("/api/me").json()["via"] == "cookie"


def test_a_shared_link_gives_read_only_access(shared: TestClient) -> None:
    alice, bob = _browser(shared), _browser(shared)
    model_id = _model(alice)
    run_id = alice.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()["id"]
    link = alice.post(f"/api/runs/{run_id}/share").json()
    token = link["share_token"]
    assert link["url"] == f"/runs/{run_id}?share={token}"

    share = {"share": token}
    assert bob.get(f"/api/runs/{run_id}", params=share).json()["id"] == run_id
    assert bob.get(f"/api/runs/{run_id}/metrics", params=share).status_code == 200
    assert bob.get(f"/api/models/{model_id}", params=share).json()["id"] == model_id
    page = bob.get(link["url"])
    assert page.status_code == 200
    assert f'data-share="{token}"' in page.text
    assert re.search(r'<div class="controls"[^>]*hidden', page.text)
    nobody = TestClient(shared.app)  # no cookie at all: a link still works
    assert nobody.get(f"/api/runs/{run_id}", params=share).status_code == 200
    with nobody.websocket_connect(f"/ws/runs/{run_id}?share={token}") as socket:
        assert socket.receive_json()["type"] == "status"

    # reading is all: no control, and no other run of the same person
    for method, path in [("POST", "pause"), ("POST", "stop"), ("POST", "share")]:
        assert bob.request(method, f"/api/runs/{run_id}/{path}", params=share).status_code == 404
    assert bob.delete(f"/api/runs/{run_id}", params=share).status_code == 404
    other_run = alice.post("/api/runs", json={"model_id": model_id, "config": QUICK}).json()
    assert bob.get(f"/api/runs/{other_run['id']}", params=share).status_code == 404
    with bob.websocket_connect(f"/ws/runs/{other_run['id']}?share={token}") as socket:
        assert socket.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4404

    # a new link replaces the old one; unsharing ends it
    newer = alice.post(f"/api/runs/{run_id}/share").json()["share_token"]
    assert bob.get(f"/api/runs/{run_id}", params=share).status_code == 404
    assert bob.get(f"/api/runs/{run_id}", params={"share": newer}).status_code == 200
    assert alice.delete(f"/api/runs/{run_id}/share").status_code == 204
    assert bob.get(f"/api/runs/{run_id}", params={"share": newer}).status_code == 404
    for run in (run_id, other_run["id"]):
        alice.post(f"/api/runs/{run}/stop")


def test_websockets_follow_ownership(shared: TestClient) -> None:
    alice, bob = _browser(shared), _browser(shared)
    run_id = alice.post("/api/runs", json={"model_id": _model(alice), "config": QUICK}).json()["id"]
    with bob.websocket_connect(f"/ws/runs/{run_id}") as socket:
        assert "no run" in socket.receive_json()["detail"]
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4404
    with bob.websocket_connect("/ws/predict") as socket:
        socket.send_json({"run_id": run_id, "pixels": [[0.0] * 28] * 28})
        answer = socket.receive_json()
    assert answer["type"] == "error"
    assert "no run" in answer["detail"]
    with alice.websocket_connect(f"/ws/runs/{run_id}") as socket:
        assert socket.receive_json()["type"] == "status"
    alice.post(f"/api/runs/{run_id}/stop")


def test_cross_site_writes_and_sockets_are_refused(shared: TestClient) -> None:
    alice = _browser(shared)
    evil = {"Origin": "https://evil.example"}
    answer = alice.post("/api/models", json={"name": "x", "spec": SPEC}, headers=evil)
    assert answer.status_code == 403
    assert "cross-site" in answer.json()["detail"]
    assert alice.get("/api/models").json() == []  # nothing was saved
    same = alice.post(
        "/api/models", json={"name": "x", "spec": SPEC}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 201
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        alice.websocket_connect("/ws/predict", headers=evil),
    ):
        pass
    assert closed.value.code == 4403


def test_requests_beyond_the_rate_get_429_with_retry_after(app_data_dir: Path) -> None:
    app = _shared_app(app_data_dir, rate_limit_per_minute=5)
    with TestClient(app) as client:
        headers = _bearer(client)  # one request of the address, not of the user
        answers = [client.get("/api/models", headers=headers) for _ in range(6)]
        assert [answer.status_code for answer in answers] == [200] * 5 + [429]
        refused = answers[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "at most 5 a minute" in refused.json()["detail"]
        assert client.get("/static/css/app.css").status_code == 200  # assets do not count
        other = _bearer(client)
        assert client.get("/api/models", headers=other).status_code == 200


def test_each_person_has_their_own_active_run_limit(app_data_dir: Path) -> None:
    app = _shared_app(app_data_dir, max_active_runs_per_user=1, max_epochs=2)
    with TestClient(app) as client:
        alice, bob = _bearer(client), _bearer(client)
        alice_model, bob_model = _model(client, alice), _model(client, bob)
        first = client.post(
            "/api/runs", json={"model_id": alice_model, "config": QUICK}, headers=alice
        )
        assert first.status_code == 201
        second = client.post(
            "/api/runs", json={"model_id": alice_model, "config": QUICK}, headers=alice
        )
        assert second.status_code == 429
        assert second.headers["retry-after"]
        assert "at most 1" in second.json()["detail"]
        theirs = client.post(
            "/api/runs", json={"model_id": bob_model, "config": QUICK}, headers=bob
        )
        assert theirs.status_code == 201
        too_long = client.post(
            "/api/runs",
            json={"model_id": bob_model, "config": {**QUICK, "epochs": 3}},
            headers=bob,
        )
        assert too_long.status_code == 422
        assert too_long.json()["detail"][0]["field"] == "epochs"
        for run, headers in ((first, alice), (theirs, bob)):
            client.post(f"/api/runs/{run.json()['id']}/stop", headers=headers)


def test_the_cookie_key_is_generated_once_and_kept_private(app_data_dir: Path) -> None:
    with TestClient(_shared_app(app_data_dir)) as first:
        first.get("/")
        user_id = first.get("/api/me").json()["user_id"]
        cookie = first.cookies[COOKIE]
    key_file = app_data_dir / SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with TestClient(_shared_app(app_data_dir)) as second:  # a restart
        second.cookies.set(COOKIE, cookie)
        assert second.get("/api/me").json()["user_id"] == user_id
    other_key = _shared_app(app_data_dir, secret_key="another key")
    with TestClient(other_key) as third:
        third.cookies.set(COOKIE, cookie)
        assert third.get("/api/me").json()["user_id"] is None


def test_blank_secrets_count_as_unset() -> None:
    assert Settings(access_token="", secret_key="  ").access_token is None
    assert Settings(secret_key="  ").secret_key is None
    token = Settings(access_token="class 7b").access_token
    assert token is not None
    assert token.get_secret_value() == "class 7b"
    assert "class 7b" not in repr(Settings(access_token="class 7b"))  # never printed


def test_new_tokens_are_limited_per_address(
    app_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.api.ratelimit.NEW_TOKENS_PER_MINUTE", 2)
    with TestClient(_shared_app(app_data_dir, rate_limit_per_minute=100)) as client:
        headers = _bearer(client)
        _bearer(client)
        refused = client.post("/api/tokens", json={})
        assert refused.status_code == 429
        assert "per address for new tokens" in refused.json()["detail"]
        assert client.get("/api/models", headers=headers).status_code == 200


def test_the_queue_takes_people_in_turn(app_data_dir: Path) -> None:
    app = _shared_app(app_data_dir, device_concurrency=1)
    long = {**QUICK, "train_subset": 50_000}
    with TestClient(app) as client:
        alice, bob = _bearer(client), _bearer(client)
        alice_model, bob_model = _model(client, alice), _model(client, bob)

        def start(model_id: str, headers: dict[str, str]) -> str:
            created = client.post(
                "/api/runs", json={"model_id": model_id, "config": long}, headers=headers
            )
            assert created.status_code == 201, created.text
            run_id: str = created.json()["id"]
            return run_id

        first = start(alice_model, alice)
        deadline = time.monotonic() + 60
        while client.get(f"/api/runs/{first}", headers=alice).json()["status"] != "running":
            assert time.monotonic() < deadline, "the first run never started"
            time.sleep(0.05)
        alice_queued = [start(alice_model, alice) for _ in range(3)]
        bobs = start(bob_model, bob)
        positions = {
            run_id: client.get(f"/api/runs/{run_id}", headers=headers).json()["queue_position"]
            for run_id, headers in [*[(run, alice) for run in alice_queued], (bobs, bob)]
        }
        # bob's one run goes next, before alice's second, third and fourth
        assert positions == {bobs: 1, alice_queued[0]: 2, alice_queued[1]: 3, alice_queued[2]: 4}
        for run_id in [*alice_queued, first]:
            client.post(f"/api/runs/{run_id}/stop", headers=alice)
        client.post(f"/api/runs/{bobs}/stop", headers=bob)


def test_a_drawing_socket_rereads_a_share_link_within_a_second(
    shared: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/ws/predict reads who may ask a run at most once per ACCESS_RECHECK_S, not per frame."""
    alice, nobody = _browser(shared), TestClient(shared.app)
    run_id = alice.post("/api/runs", json={"model_id": _model(alice), "config": QUICK}).json()["id"]
    deadline = time.monotonic() + 120
    while alice.get(f"/api/runs/{run_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
    token = alice.post(f"/api/runs/{run_id}/share").json()["share_token"]
    drawing = {"run_id": run_id, "pixels": [[0.0] * 28] * 28, "share": token}
    monkeypatch.setattr(ws, "ACCESS_RECHECK_S", 3600.0)
    with nobody.websocket_connect("/ws/predict") as socket:
        socket.send_json(drawing)
        assert socket.receive_json()["type"] == "prediction"
        assert alice.delete(f"/api/runs/{run_id}/share").status_code == 204
        socket.send_json(drawing)  # checked a moment ago: not read again
        assert socket.receive_json()["type"] == "prediction"
        monkeypatch.setattr(ws, "ACCESS_RECHECK_S", 0.0)
        socket.send_json(drawing)  # due again: the link has ended
        answer = socket.receive_json()
    assert answer["type"] == "error"
    assert "no run" in answer["detail"]
    with nobody.websocket_connect("/ws/predict") as socket:  # a new socket reads it at once
        monkeypatch.setattr(ws, "ACCESS_RECHECK_S", 3600.0)
        socket.send_json(drawing)
        assert socket.receive_json()["type"] == "error"
