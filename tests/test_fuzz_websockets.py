"""Hostile websocket frames against a real uvicorn server, and a bound on memory under fuzzing.

`/ws/predict` and `/ws/runs/{id}` get random text, JSON of every type, hostile drawings, binary
and huge frames and floods: each message gets an error answer on an open socket (or a clean
close), the app keeps serving, the worker still trains, and the process's memory stays bounded.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from support import serve_in_thread, train_tiny_run
from test_fuzz_inputs import HOSTILE_IMAGES, JSON_LIKE, PIXEL_VALUES, SCALARS
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from app.main import create_app
from app.settings import Settings

BLANK = [[0.0] * 28 for _ in range(28)]
FUZZ = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Server:
    base: str
    run_id: str  # a completed run with weights

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mnist_data_dir: Path) -> Iterator[Server]:
    """A real uvicorn server on a free loopback port, with one completed tiny run."""
    data_dir = tmp_path_factory.mktemp("fuzz-ws")
    (data_dir / "mnist.safetensors").symlink_to(mnist_data_dir / "mnist.safetensors")
    app = create_app(Settings(data_dir=data_dir, rate_limit_per_minute=0))
    with serve_in_thread(app, log_level="critical") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            run_id = train_tiny_run(client)
        yield Server(base, run_id)


def _frames(connection: ClientConnection, until: Any, timeout: float = 15) -> list[dict[str, Any]]:
    """JSON frames received until one satisfies `until` (included); each must be an object."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no answer in {timeout} s; got {frames[-3:]}"
        frame = json.loads(connection.recv(timeout=remaining))
        assert isinstance(frame, dict), frame
        frames.append(frame)
        if until(frame):
            return frames


def _assert_serving(server: Server) -> None:
    """A fresh socket predicts a digit and the REST API answers."""
    with connect(f"{server.ws}/ws/predict") as live:
        live.send(json.dumps({"run_id": server.run_id, "pixels": BLANK, "id": "alive"}))
        answer = _frames(live, lambda frame: frame.get("id") == "alive")[-1]
    assert answer["type"] == "prediction", answer
    assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200


def _data_url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode()}"


IMAGES = st.sampled_from([_data_url(*image) for image in HOSTILE_IMAGES.values()])


def _drawings(run_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """Predict messages with hostile fields (and now and then the right run id)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "run_id": st.just(run_id) | SCALARS | st.sampled_from(["../..", "x" * 5000, "é\x00"]),
            "pixels": st.lists(
                st.lists(PIXEL_VALUES, min_size=28, max_size=28), min_size=28, max_size=28
            )
            | JSON_LIKE,
            "image": IMAGES | SCALARS,
            "prepare": SCALARS,
            "activations": SCALARS,
            "id": JSON_LIKE,
        },
    )


def _messages(run_id: str) -> st.SearchStrategy[str]:
    """Text frames: random text, JSON of every type (NaN included), hostile drawings."""
    return (
        st.text(max_size=200)
        | JSON_LIKE.map(json.dumps)
        | _drawings(run_id).map(json.dumps)
        | st.sampled_from(["", "{", "null", "[]", '{"type": "ping"', "NaN", "\x00", "\ud7ff"])
    )


@pytest.fixture
def predict_socket(server: Server) -> Iterator[ClientConnection]:
    with connect(f"{server.ws}/ws/predict", max_size=None) as connection:
        yield connection


@FUZZ
@given(data=st.data())
def test_predict_socket_answers_every_hostile_message(
    server: Server, predict_socket: ClientConnection, data: st.DataObject
) -> None:
    """Each hostile message gets an error or a prediction; the socket stays open for the next."""
    message = data.draw(_messages(server.run_id))
    predict_socket.send(message)
    sentinel = {"run_id": server.run_id, "pixels": BLANK, "id": f"sentinel-{time.monotonic_ns()}"}
    predict_socket.send(json.dumps(sentinel))
    frames = _frames(predict_socket, lambda frame: frame.get("id") == sentinel["id"])
    for frame in frames:
        assert frame["type"] in {"error", "prediction"}, frame
        if frame["type"] == "error":
            assert isinstance(frame["detail"], str) and frame["detail"]
    assert frames[-1]["type"] == "prediction"


# The completed run's socket past all its events: no history, only answers to what is sent.
QUIET_RUN = "/ws/runs/{run_id}?since=1000000"


@pytest.fixture
def run_socket(server: Server) -> Iterator[ClientConnection]:
    with connect(server.ws + QUIET_RUN.format(run_id=server.run_id), max_size=None) as connection:
        yield connection


def _is_ping(message: str) -> bool:
    try:
        data = json.loads(message)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "ping"


@FUZZ
@given(data=st.data())
def test_run_socket_answers_each_junk_message_with_one_error(
    server: Server, run_socket: ClientConnection, data: st.DataObject
) -> None:
    """Each message that is not a ping gets exactly one error; pings get pongs."""
    messages = data.draw(st.lists(_messages(server.run_id), min_size=1, max_size=5))
    for message in messages:
        run_socket.send(message)
    run_socket.send(json.dumps({"type": "ping"}))
    pongs_due = sum(_is_ping(message) for message in messages) + 1
    frames = _count_until_pongs(run_socket, pongs_due)
    errors = [frame for frame in frames if frame["type"] == "error"]
    assert len(errors) == len(messages) - (pongs_due - 1), frames
    assert all(error["detail"] for error in errors)


def _count_until_pongs(connection: ClientConnection, pongs: int) -> list[dict[str, Any]]:
    """Frames received until the `pongs`-th pong."""
    seen: list[dict[str, Any]] = []

    def enough(frame: dict[str, Any]) -> bool:
        seen.append(frame)
        return sum(item["type"] == "pong" for item in seen) == pongs

    return _frames(connection, enough)


@pytest.mark.parametrize("path", ["/ws/runs/nope", "/ws/runs/" + "x" * 3000, "/ws/runs/%C3%A9%00"])
def test_unknown_run_gets_an_error_and_a_clean_close(server: Server, path: str) -> None:
    """A run id that does not exist: one error frame, then close code 4404."""
    with connect(f"{server.ws}{path}") as connection:
        frame = json.loads(connection.recv(timeout=10))
        assert frame["type"] == "error" and "no run" in frame["detail"]
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    _assert_serving(server)


def test_bad_since_is_refused_at_the_handshake(server: Server) -> None:
    """`?since=` that is not a number: the upgrade is refused with a 4xx."""
    with pytest.raises(Exception, match=r"HTTP 4\d\d"):
        connect(f"{server.ws}/ws/runs/{server.run_id}?since=abc").close()
    _assert_serving(server)


@pytest.mark.parametrize("since", [10**30, -(10**30)])
def test_out_of_range_since_is_answered_cleanly(server: Server, since: int) -> None:
    """A `since` beyond 64 bits is refused at the handshake or answered; never a crash."""
    try:
        with connect(f"{server.ws}/ws/runs/{server.run_id}?since={since}") as connection:
            connection.send(json.dumps({"type": "ping"}))
            _count_until_pongs(connection, 1)
    except ConnectionClosed as closed:
        pytest.fail(f"the socket was dropped: {closed}")
    except Exception as error:  # a refused handshake is fine
        assert "HTTP 4" in str(error), error


def _clean_close_or_error(connection: ClientConnection) -> None:
    """After a bad frame: an error frame on an open socket, or a close frame from the server."""
    try:
        frame = json.loads(connection.recv(timeout=10))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, f"no close frame: {closed}"
        assert closed.rcvd.code in {1000, 1003, 1007, 1008, 1009}, closed
    else:
        assert frame["type"] == "error" and frame["detail"], frame


@pytest.mark.parametrize("path", ["/ws/predict", QUIET_RUN])
def test_binary_frames_get_an_error_or_a_clean_close(server: Server, path: str) -> None:
    """A binary frame where text is expected: an error answer or a close frame, never a drop."""
    with connect(server.ws + path.format(run_id=server.run_id)) as connection:
        connection.send(b"\x89PNG\r\n\x1a\n\x00\xff")
        _clean_close_or_error(connection)
    _assert_serving(server)


@pytest.mark.parametrize("path", ["/ws/predict", QUIET_RUN])
def test_deeply_nested_json_gets_an_error(server: Server, path: str) -> None:
    """100 000 nested arrays: an error answer, not a crashed handler."""
    with connect(server.ws + path.format(run_id=server.run_id)) as connection:
        connection.send("[" * 100_000)
        _clean_close_or_error(connection)
    _assert_serving(server)


def test_huge_frames_get_an_error_or_the_size_close(server: Server) -> None:
    """A 5 MB drawing gets an error on an open socket; 20 MB is closed with 1009 (too big)."""
    with connect(f"{server.ws}/ws/predict", max_size=None) as connection:
        huge_image = "data:image/png;base64," + "A" * 5_000_000
        connection.send(json.dumps({"run_id": server.run_id, "image": huge_image, "id": 1}))
        frame = _frames(connection, lambda frame: frame.get("id") == 1)[-1]
        assert frame["type"] == "error" and "image" in frame["detail"]
        connection.send("x" * 20_000_000)
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    _assert_serving(server)


def test_floods_coalesce_and_the_socket_stays_responsive(server: Server) -> None:
    """500 drawings sent at once coalesce to far fewer answers, the last one for the newest."""
    with connect(f"{server.ws}/ws/predict") as connection:
        started = time.monotonic()
        for index in range(500):
            connection.send(json.dumps({"run_id": server.run_id, "pixels": BLANK, "id": index}))
        frames = _frames(connection, lambda frame: frame.get("id") == 499, timeout=60)
        assert all(frame["type"] == "prediction" for frame in frames)
        assert len(frames) < 500  # a burst of drawings coalesces to the newest
        assert time.monotonic() - started < 60
    with connect(server.ws + QUIET_RUN.format(run_id=server.run_id)) as connection:
        for _ in range(500):
            connection.send('{"type": "ping"}')
        frames = _count_until_pongs(connection, 500)
        assert len(frames) == 500
    _assert_serving(server)


# --------------------------------------------------------------------------------- memory


def _rss_bytes() -> int:
    """This process's resident memory (the server runs in it), from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def _largest_drawing() -> str:
    """A 1024×1024 PNG (the largest allowed) with a stroke: 4 MB of float32 once decoded."""
    canvas = Image.new("L", (1024, 1024), 255)
    ImageDraw.Draw(canvas).line([(300, 200), (700, 800)], fill=0, width=60)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return _data_url("image/png", buffer.getvalue())


def _hostile_round(server: Server, client: httpx.Client, specs: list[Any]) -> int:
    """One pass of hostile REST requests and websocket frames; the number of requests made."""
    requests = 0
    predict = f"/api/runs/{server.run_id}/predict"
    largest = {"image": _largest_drawing(), "run_id": server.run_id}
    for _ in range(4):
        response = client.post(predict, json=largest)
        assert response.status_code == 200, response.text
        requests += 1
    for image in HOSTILE_IMAGES.values():
        response = client.post(predict, json={"image": _data_url(*image)})
        assert response.status_code < 500, response.text
        requests += 1
    for spec in specs:
        for path, body in (
            ("/api/specs/summary", {"spec": spec}),
            ("/api/models", {"name": "x", "spec": spec}),
        ):
            response = client.post(
                path, content=json.dumps(body), headers={"content-type": "application/json"}
            )
            assert response.status_code < 500, response.text
            requests += 1
    for config in ({"epochs": "many"}, {"lr": -1}, {"optimizer": ["adam"]}, {"bogus": 1}):
        response = client.post("/api/runs", json={"model_id": "nope", "config": config})
        assert response.status_code < 500, response.text
        requests += 1
    with connect(f"{server.ws}/ws/predict", max_size=None) as connection:
        for index in range(4):
            connection.send(json.dumps({**largest, "id": f"large-{index}"}))
            frame = _frames(
                connection, lambda frame, index=index: frame.get("id") == f"large-{index}"
            )
            assert frame[-1]["type"] == "prediction", frame[-1]
            requests += 1
        for index, image in enumerate(HOSTILE_IMAGES.values()):
            connection.send(
                json.dumps({"run_id": server.run_id, "image": _data_url(*image), "id": index})
            )
            _frames(connection, lambda frame, index=index: frame.get("id") == index)
            requests += 1
    return requests


def test_memory_stays_bounded_and_the_worker_still_trains(server: Server) -> None:
    """Hundreds of hostile requests grow the RSS by less than 32 MB; then a new run trains.

    One round first warms every cache and allocator pool (measured growth after it: under 1 MB).
    Keeping each decoded 1024×1024 drawing (4 MB of float32) would add 160 MB over the rounds.
    """
    specs: list[Any] = [  # the same every round, so a round's cost does not drift
        {"layers": [{"type": "conv2d", "out_channels": 4096, "kernel_size": 11}] * 3},
        {"layers": [{"type": "linear", "out_features": 65536}] * 4},
        {"input_shape": [1024, 1024, 1024], "layers": [{"type": "flatten"}]},
        {"layers": [{"type": "residual", "layers": [{"type": "residual", "layers": []}]}]},
        {"layers": "not a list"},
        {"layers": [{"type": "nope"}] * 1000},
        {"layers": [{"type": "linear", "out_features": float("nan")}]},
    ]
    with httpx.Client(base_url=server.base, timeout=60) as client:
        _hostile_round(server, client, specs)
        before = _rss_bytes()
        made = sum(_hostile_round(server, client, specs) for _ in range(5))
        growth = _rss_bytes() - before
        assert made >= 300
        assert growth < 32 * 2**20, f"RSS grew {growth / 2**20:.0f} MB over {made} requests"
        run_id = train_tiny_run(client)
    with connect(f"{server.ws}/ws/runs/{run_id}") as connection:
        frames = _frames(connection, lambda frame: frame.get("status") == "completed")
    assert any(frame["type"] == "done" for frame in frames)
