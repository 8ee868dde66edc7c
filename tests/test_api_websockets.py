"""Websockets against a real uvicorn server with a real websocket client."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from support import serve_in_thread
from websockets.sync.client import ClientConnection, connect

from app.main import create_app
from app.nn import load_preset
from app.settings import Settings


@dataclass
class Server:
    base: str
    app: Any

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)


@pytest.fixture
def server(app_data_dir: Path) -> Iterator[Server]:
    app = create_app(Settings(data_dir=app_data_dir))
    with serve_in_thread(app) as base:
        yield Server(base, app)


def _start_run(server: Server, preset: str, config: dict[str, Any]) -> str:
    spec = load_preset(preset).model_dump(mode="json", exclude_unset=True)
    with httpx.Client(base_url=server.base, timeout=30) as client:
        model = client.post("/api/models", json={"name": preset, "spec": spec}).json()
        run = client.post("/api/runs", json={"model_id": model["id"], "config": config})
        assert run.status_code == 201, run.text
        run_id: str = run.json()["id"]
        return run_id


def _until_finished(
    connection: ClientConnection,
    timeout: float = 60,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Every message up to the run's end; each `seq` larger than the one before."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(connection.recv(timeout=deadline - time.monotonic()))
        if events:
            assert event["seq"] > events[-1]["seq"], f"{event['type']} after {events[-1]}"
        events.append(event)
        if event["type"] == "done" and on_done is not None:
            on_done(event)
        if event["type"] == "status" and event["status"] in {"completed", "stopped", "failed"}:
            return events
    pytest.fail("the run did not finish")


QUICK = {"epochs": 1, "train_subset": 2048, "eval_limit": 256}


def test_history_replay_then_since(server: Server) -> None:
    run_id = _start_run(server, "lenet5", QUICK)
    read_at_done: list[dict[str, Any]] = []
    with (
        httpx.Client(base_url=server.base, timeout=30) as client,
        connect(f"{server.ws}/ws/runs/{run_id}") as live,
    ):
        events = _until_finished(
            live, on_done=lambda _: read_at_done.append(client.get(f"/api/runs/{run_id}").json())
        )
    # the run reads finished as soon as its `done` event is heard: stored first, then published
    assert read_at_done[0]["status"] == "completed"
    assert read_at_done[0]["test_accuracy"] == events[-2]["test_accuracy"]
    kinds = {event["type"] for event in events}
    assert {"status", "step", "epoch", "feature_maps", "done"} <= kinds
    assert events[-1]["status"] == "completed"
    stored = [
        event for event in events if event["type"] != "feature_maps" or event.get("at_epoch_end")
    ]

    with connect(f"{server.ws}/ws/runs/{run_id}?since=-1") as replay:
        history = _until_finished(replay, timeout=10)
    replay_seqs = [event["seq"] for event in history if event["type"] != "feature_maps"]
    assert replay_seqs == sorted(replay_seqs)
    assert replay_seqs == [e["seq"] for e in stored if e["type"] != "feature_maps"]

    cut = replay_seqs[len(replay_seqs) // 2]
    with connect(f"{server.ws}/ws/runs/{run_id}?since={cut}") as tail:
        rest = _until_finished(tail, timeout=10)
    assert [e["seq"] for e in rest if e["type"] != "feature_maps"] == [
        seq for seq in replay_seqs if seq > cut
    ]


def test_two_viewers_and_a_stalled_one(server: Server) -> None:
    config = {"epochs": 2, "train_subset": 4096, "eval_limit": 512, "batch_size": 32}
    run_id = _start_run(server, "lenet5", config)
    with (
        connect(f"{server.ws}/ws/runs/{run_id}") as stalled,  # never reads a message
        connect(f"{server.ws}/ws/runs/{run_id}") as first,
        connect(f"{server.ws}/ws/runs/{run_id}") as second,
    ):
        results: dict[str, list[dict[str, Any]]] = {}
        reader = threading.Thread(target=lambda: results.update(second=_until_finished(second)))
        reader.start()
        results["first"] = _until_finished(first)
        reader.join(60)
        for events in results.values():
            assert events[-1]["status"] == "completed"
            assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
            assert sum(e["type"] == "done" for e in events) == 1
        bus = server.app.state.bus
        assert bus.viewers(run_id) == 3
        for subscription in bus._subscribers[run_id]:
            assert subscription.pending() <= 600 + 50  # bounded however slow the viewer
        assert stalled.protocol.state.name == "OPEN"


def test_malformed_messages_get_an_error_and_the_socket_stays(server: Server) -> None:
    run_id = _start_run(server, "mlp", QUICK)
    with connect(f"{server.ws}/ws/runs/{run_id}") as viewer:
        viewer.send("{not json")
        viewer.send(json.dumps({"type": "ping"}))
        seen: list[str] = []
        while "pong" not in seen:
            seen.append(json.loads(viewer.recv(timeout=30))["type"])
        assert "error" in seen
        events = _until_finished(viewer)
        assert events[-1]["status"] == "completed"
    with connect(f"{server.ws}/ws/runs/nope") as missing:
        assert json.loads(missing.recv(timeout=10))["type"] == "error"


def test_live_predictions_coalesce_to_the_newest_drawing(server: Server) -> None:
    run_id = _start_run(server, "lenet5", QUICK)
    with connect(f"{server.ws}/ws/runs/{run_id}") as viewer:
        _until_finished(viewer)
    with connect(f"{server.ws}/ws/predict") as drawing:
        drawing.send("[]")
        assert json.loads(drawing.recv(timeout=10))["type"] == "error"
        drawing.send(json.dumps({"run_id": run_id, "pixels": [[0.5] * 28] * 3}))
        assert "28" in json.loads(drawing.recv(timeout=10))["detail"]
        for index in range(200):
            pixels = [[0.0] * 28 for _ in range(28)]
            for row in range(4, 24):
                pixels[row][10 + index % 8] = 1.0
            drawing.send(json.dumps({"run_id": run_id, "pixels": pixels, "id": index}))
        answers = []
        while not answers or answers[-1].get("id") != 199:
            answers.append(json.loads(drawing.recv(timeout=30)))
        assert all(answer["type"] == "prediction" for answer in answers)
        assert len(answers) < 200  # a burst coalesces: stale drawings are skipped
        assert sum(answers[-1]["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        drawing.send(json.dumps({"run_id": run_id, "pixels": [0.0] * 784, "activations": True}))
        with_maps = json.loads(drawing.recv(timeout=10))
        assert [layer["path"] for layer in with_maps["activations"]] == ["0", "3"]


def test_a_viewer_joining_mid_run_gets_every_step_point(server: Server) -> None:
    config = {"epochs": 2, "train_subset": 4096, "eval_limit": 256, "batch_size": 32}
    run_id = _start_run(server, "lenet5", config)
    with httpx.Client(base_url=server.base, timeout=30) as client:
        deadline = time.monotonic() + 60
        while client.get(f"/api/runs/{run_id}").json()["step"] < 30:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with connect(f"{server.ws}/ws/runs/{run_id}?since=-1") as late:
            events = _until_finished(late)
        stored = client.get(f"/api/runs/{run_id}/metrics").json()["steps"]
    seen = [event["seq"] for event in events if event["type"] == "step"]
    assert seen == [point["seq"] for point in stored]
