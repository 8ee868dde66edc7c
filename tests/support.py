"""Helpers several test modules share: a live server in a thread, and a tiny trained run."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

TINY_SPEC = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
TINY_RUN = {"epochs": 1, "train_subset": 256, "eval_limit": 64, "max_steps": 4}


@contextmanager
def serve_in_thread(app: FastAPI, log_level: str = "warning") -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn exited while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def train_tiny_run(client: Any, headers: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Save a one-layer model, train it for a few steps; the run's id once it has completed.

    `client` is an httpx client or a TestClient (with the app's lifespan running).
    """
    model = client.post("/api/models", json={"name": "tiny", "spec": TINY_SPEC}, headers=headers)
    assert model.status_code == 201, model.text
    body = {"model_id": model.json()["id"], "config": TINY_RUN}
    run = client.post("/api/runs", json=body, headers=headers)
    assert run.status_code == 201, run.text
    run_id: str = run.json()["id"]
    deadline = time.monotonic() + timeout
    while (status := client.get(f"/api/runs/{run_id}", headers=headers).json()["status"]) != (
        "completed"
    ):
        assert status in {"queued", "running"}, status
        assert time.monotonic() < deadline, "the tiny run did not complete"
        time.sleep(0.1)
    return run_id
