"""Simulated NN Playground users for locust: builders, trainers, drawers and run viewers.

`bench/bench_load.py` prepares the server and writes a plan (JSON) that this file reads:

    {"identity": "tokens" | "none", "access_token": str | null,
     "mix": {"builder": 8, "trainer": 6, "drawer": 10, "viewer": 6},
     "predict_run": id, "predict_share": token | null,   # a trained run the drawers ask
     "watch_run": id, "watch_share": token | null,       # the run the viewers watch train
     "run_slots": int | null,     # active trainer runs allowed in all (single-user mode)
     "digits": [{"label", "pixels": 28×28, "frames": [PNG data URLs, last = whole digit]}],
     "summary_out": path}         # where the final figures are written (JSON)

    locust -f bench/locustfile.py --plan plan.json --headless -u 30 -r 10 --host http://...

With identity "tokens" (shared mode) every simulated user first gets its own identity from
POST /api/tokens and sends it as a bearer token, on websockets too; with "none" (single-user
mode) nobody does. Requests are named per endpoint ("/api/runs/[id]") so stats group by route;
websocket answers are reported as requests of type WS. Any 4xx/5xx the user did not ask for
counts as a failure, 429 included.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
import gevent.queue
import websocket
from gevent.lock import BoundedSemaphore
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import StopUser

ACTIVE = {"queued", "running", "paused"}
FRAME_S = 1 / 60  # the draw page asks at most once per animation frame


class Bench:
    """The plan and what the users did, per user type (one per locust process)."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.requests: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        slots = plan.get("run_slots")
        self.run_slots = BoundedSemaphore(slots) if slots else None

    def tally(self, user_type: str, what: str, amount: int = 1) -> None:
        """Count something a user type did that is not a request (runs, messages, bytes)."""
        self.counts[user_type][what] += amount

    def summary(self) -> dict[str, Any]:
        """The per-user-type tally as JSON."""
        types = sorted(set(self.plan["mix"]) | set(self.requests))
        return {
            kind: {
                "users": self.plan["mix"].get(kind, 0),
                "requests": self.requests[kind],
                "failures": self.failures[kind],
                **dict(self.counts[kind]),
            }
            for kind in types
        }


BENCH: dict[str, Bench] = {}  # filled once by the init hook: {"bench": Bench}


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--plan", default="", help="the JSON plan written by bench_load.py")


@events.init.add_listener
def _load_plan(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.plan:
        raise SystemExit("bench/locustfile.py needs --plan FILE (see bench/bench_load.py)")
    plan = json.loads(Path(options.plan).read_text())
    BENCH["bench"] = Bench(plan)
    for user_class in (BuilderUser, TrainerUser, DrawerUser, ViewerUser):
        user_class.fixed_count = int(plan["mix"].get(user_class.kind, 0))


@events.request.add_listener
def _count_request(context: dict[str, Any], exception: Exception | None, **_: Any) -> None:
    bench = BENCH.get("bench")
    kind = context.get("user_type")
    if bench is not None and kind:
        bench.requests[kind] += 1
        if exception is not None:
            bench.failures[kind] += 1


@events.quitting.add_listener
def _write_summary(environment: Environment, **_: Any) -> None:
    bench = BENCH.get("bench")
    if bench is None or not bench.plan.get("summary_out") or environment.runner is None:
        return
    stats = environment.runner.stats
    errors = sorted(stats.errors.values(), key=lambda error: error.first_seen or 0)
    summary = {
        "endpoints": [_entry(entry) for entry in stats.entries.values()],
        "totals": _entry(stats.total),
        "errors": [
            {"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
            for e in errors
        ],
        "user_types": bench.summary(),
    }
    Path(bench.plan["summary_out"]).write_text(json.dumps(summary, indent=2))


def _entry(entry: Any) -> dict[str, Any]:
    """One endpoint's figures; requests/s over the whole run, not the endpoint's own span."""
    return {
        "method": entry.method or "",
        "name": entry.name,
        "requests": entry.num_requests,
        "requests_per_s": round(entry.total_rps, 2),
        "p50_ms": entry.get_response_time_percentile(0.5),
        "p99_ms": entry.get_response_time_percentile(0.99),
        "max_ms": round(entry.max_response_time or 0, 1),
        "failures": entry.num_failures,
    }


class PlaygroundUser(FastHttpUser):
    """A person with their own identity (in shared mode) and a think time between actions."""

    abstract = True
    kind = "user"
    network_timeout = 30.0
    connection_timeout = 10.0
    # Like a browser, send a request again once when a reused keep-alive connection turns out
    # closed: uvicorn closes idle ones after 5 s, and people pause about that long.
    max_retries = 1

    def context(self) -> dict[str, Any]:
        """Tags every request with the user type, for the per-type tally."""
        return {"user_type": self.kind}

    @property
    def bench(self) -> Bench:
        """The plan and tally of this locust process."""
        return BENCH["bench"]

    def on_start(self) -> None:
        """Get an identity when the server hands them out (shared mode)."""
        self.token: str | None = None
        if self.bench.plan["identity"] != "tokens":
            return
        body = {}
        if self.bench.plan.get("access_token"):
            body["access_token"] = self.bench.plan["access_token"]
        with self.client.post(
            "/api/tokens", json=body, name="/api/tokens", catch_response=True
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"POST /api/tokens answered {answer.status_code}: {answer.text}")
                raise StopUser  # without an identity every other request would be a 401
            self.token = answer.json()["token"]
        self.client.auth_header = f"Bearer {self.token}"

    def think(self, low: float, high: float) -> None:
        """Pause like a person reading or deciding."""
        gevent.sleep(random.uniform(low, high))

    def expect(self, method: str, path: str, name: str, status: int = 200, **kwargs: Any) -> Any:
        """A request that must answer `status`; returns its JSON (None on failure or no body)."""
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as answer:
            if answer.status_code != status:
                text = (answer.text or repr(getattr(answer, "error", None)))[:200]
                answer.failure(f"{method} {name}: {answer.status_code} (wanted {status}): {text}")
                return None
            answer.success()
            return answer.json() if answer.text else None

    def report(self, name: str, started: float, size: int, error: str | None = None) -> None:
        """Record one websocket exchange as a request of type WS."""
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=size,
            response=None,
            context=self.context(),
            exception=RuntimeError(error) if error else None,
        )

    def ws_url(self, path: str, **query: Any) -> str:
        """The websocket URL of `path` on the server under test."""
        base = str(self.host).replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        params = {key: value for key, value in query.items() if value is not None}
        return f"{base}{path}" + (f"?{urlencode(params)}" if params else "")

    def ws_headers(self) -> list[str]:
        """The identity header for websockets (browsers send the cookie instead)."""
        return [f"Authorization: Bearer {self.token}"] if self.token else []


def _unflattened(layers: list[dict[str, Any]], index: int) -> bool:
    """Whether layer `index`'s output is unflattened before the next weight layer (a decoder's
    width is fixed by the shape it unflattens to)."""
    for layer in layers[index + 1 :]:
        if layer["type"] == "unflatten":
            return True
        if layer["type"] in ("linear", "conv2d", "convtranspose2d"):
            return False
    return False


def _variant(spec: dict[str, Any]) -> dict[str, Any]:
    """A preset spec as a person edits it: other widths and channels, sometimes a dropout."""
    spec = copy.deepcopy(spec)
    layers = spec["layers"]
    for index, layer in enumerate(layers):
        resizable = layer is not layers[-1] and not _unflattened(layers, index)
        if layer["type"] == "linear" and resizable:
            layer["out_features"] = random.choice([32, 64, 96, 128, 256])
        elif layer["type"] == "conv2d":
            layer["out_channels"] = random.choice([4, 6, 8, 12, 16])
    if random.random() < 0.3:
        flatten = next((i for i, layer in enumerate(layers) if layer["type"] == "flatten"), None)
        if flatten is not None:
            layers.insert(flatten + 1, {"type": "dropout", "p": 0.2})
    return spec


class BuilderUser(PlaygroundUser):
    """Designs networks: reads the layer catalogue, edits presets (a summary per edit), saves."""

    kind = "builder"

    def on_start(self) -> None:
        """Open the builder page: its catalogue and presets, and the check of the preset it
        shows first (the page validates the spec it opens with)."""
        super().on_start()
        self.expect("GET", "/api/layers", "/api/layers")
        presets = self.expect("GET", "/api/presets", "/api/presets") or []
        self.specs = [preset["spec"] for preset in presets] or [None]
        self.saved: list[str] = []
        if self.specs[0] is not None:
            body = {"spec": self.specs[0]}
            self.expect("POST", "/api/specs/summary", "/api/specs/summary", json=body)

    @task(6)
    def edit(self) -> None:
        """A few edits of one preset, each checked by the server as the person types."""
        base = random.choice(self.specs)
        if base is None:
            return
        for _ in range(random.randint(2, 5)):
            self.expect(
                "POST", "/api/specs/summary", "/api/specs/summary", json={"spec": _variant(base)}
            )
            self.think(1.0, 3.0)

    @task(1)
    def mistake(self) -> None:
        """A spec with a mistake: the server names the layer and field (422, as it should)."""
        spec = {"input_shape": [1, 28, 28], "layers": [{"type": "linear", "out_features": 10}]}
        if random.random() < 0.5:
            spec["layers"] = [{"type": "conv2d", "out_channels": 8, "kernel_size": 0}]
        self.expect(
            "POST", "/api/specs/summary", "/api/specs/summary", status=422, json={"spec": spec}
        )
        self.think(1.0, 3.0)

    @task(2)
    def save(self) -> None:
        """Save a variant, then open the model list and the saved model."""
        base = random.choice(self.specs)
        if base is None:
            return
        body = {"name": f"{self.kind}-{random.randint(0, 9999)}", "spec": _variant(base)}
        model = self.expect("POST", "/api/models", "/api/models", status=201, json=body)
        if model is None:
            return
        self.saved.append(model["id"])
        self.think(1.0, 3.0)
        self.expect("GET", "/api/models", "/api/models")
        self.expect("GET", f"/api/models/{model['id']}", "/api/models/[id]")
        if len(self.saved) > 3:  # tidy up older attempts
            old = self.saved.pop(0)
            self.expect("DELETE", f"/api/models/{old}", "/api/models/[id]", status=204)
        self.think(2.0, 5.0)


class TrainerUser(PlaygroundUser):
    """Trains small models: queues a run, watches its status, pauses, resumes, changes lr, stops."""

    kind = "trainer"

    def on_start(self) -> None:
        """Save the model this person will train."""
        super().on_start()
        self.expect("GET", "/api/training/config", "/api/training/config")
        spec = {
            "input_shape": [1, 28, 28],
            "layers": [
                {"type": "flatten"},
                {"type": "linear", "out_features": random.choice([32, 64])},
                {"type": "relu"},
                {"type": "linear", "out_features": 10},
            ],
        }
        body = {"name": f"{self.kind}-mlp", "spec": spec}
        model = self.expect("POST", "/api/models", "/api/models", status=201, json=body)
        self.model_id = model["id"] if model else None
        self.run_id: str | None = None

    def on_stop(self) -> None:
        """Leave no run behind."""
        if self.run_id is not None:
            self.expect("POST", f"/api/runs/{self.run_id}/stop", "/api/runs/[id]/stop")

    @task
    def train(self) -> None:
        """One run from creation to stop, with a person's pauses in between."""
        if self.model_id is None:
            self.think(5.0, 10.0)
            return
        slots = self.bench.run_slots
        if slots is not None:
            slots.acquire()  # single-user mode: all trainers share one active-run limit
        try:
            self._one_run()
        finally:
            if slots is not None:
                slots.release()
        self.think(3.0, 8.0)

    def _one_run(self) -> None:
        config = {"epochs": 1, "max_steps": 300, "eval_limit": 500, "lr": 3e-3}
        body = {"model_id": self.model_id, "config": config}
        run = self.expect("POST", "/api/runs", "/api/runs", status=201, json=body)
        if run is None:
            return
        self.run_id = run_id = run["id"]
        self.bench.tally(self.kind, "runs_created")
        started = False
        for _ in range(random.randint(2, 4)):  # the run page polls its status
            self.think(1.0, 2.5)
            view = self.expect("GET", f"/api/runs/{run_id}", "/api/runs/[id]")
            started = started or bool(view and view["status"] in ("running", "paused"))
        self.expect("GET", f"/api/runs/{run_id}/metrics", "/api/runs/[id]/metrics")
        self.expect("POST", f"/api/runs/{run_id}/pause", "/api/runs/[id]/pause")
        self.think(1.0, 3.0)
        self.expect("POST", f"/api/runs/{run_id}/resume", "/api/runs/[id]/resume")
        self.think(1.0, 2.0)
        lr = {"lr": random.choice([1e-3, 2e-3, 5e-3])}
        self.expect("PATCH", f"/api/runs/{run_id}", "/api/runs/[id]", json=lr)
        self.think(1.0, 3.0)
        self.expect("GET", "/api/runs", "/api/runs")
        view = self.expect("POST", f"/api/runs/{run_id}/stop", "/api/runs/[id]/stop")
        if view is not None:
            self.run_id = None  # stopped: on_stop must not stop it again (a 409)
        for _ in range(20):  # a running run stops at its next step
            if view is None or view["status"] not in ACTIVE:
                break
            started = started or view["status"] in ("running", "paused")
            self.think(0.3, 0.6)
            view = self.expect("GET", f"/api/runs/{run_id}", "/api/runs/[id]")
        self.run_id = None
        if started:
            self.bench.tally(self.kind, "runs_trained")
        if view is not None and view["status"] not in ACTIVE:
            self.expect("DELETE", f"/api/runs/{run_id}", "/api/runs/[id]", status=204)


def open_socket(url: str, headers: list[str]) -> websocket.WebSocket:
    """A websocket as a browser opens it.

    websocket-client checks every text frame's UTF-8 twice: once in pure Python (about 6 ms of
    CPU for a drawing's 25 kB answer, as much as the server spends making it) and again when
    it decodes the frame (`bytes.decode`, in C, which raises on bad UTF-8 all the same). A
    browser does the check natively; the first one is skipped so that the load generator,
    which shares the server's cores, does not take their CPU for it.
    """
    return websocket.create_connection(url, header=headers, timeout=30, skip_utf8_validation=True)


class PageSocket:
    """A websocket read in the background, as a browser does: pings get their pong while the
    person is busy elsewhere (else the server drops the connection after its ping timeout)."""

    def __init__(self, url: str, headers: list[str]) -> None:
        self.socket = open_socket(url, headers)
        self.socket.settimeout(None)  # the reader waits as long as the page stays open
        self.inbox: gevent.queue.Queue[str | BaseException] = gevent.queue.Queue()
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        try:
            while True:
                self.inbox.put(self.socket.recv())
        except BaseException as error:  # closed: the next ask reports it
            self.inbox.put(error)

    def ask(self, text: str, timeout: float = 30.0) -> str:
        """Send one message and wait for the next answer."""
        self.socket.send(text)
        try:
            answer = self.inbox.get(timeout=timeout)
        except gevent.queue.Empty:
            raise websocket.WebSocketTimeoutException(f"no answer in {timeout:.0f} s") from None
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        self.reader.kill()
        self.socket.close()


class DrawerUser(PlaygroundUser):
    """Draws digits for a trained run: live answers over /ws/predict, sometimes a REST predict."""

    kind = "drawer"

    def on_start(self) -> None:
        """Open the draw page: its socket for live predictions."""
        super().on_start()
        plan = self.bench.plan
        self.run_id = plan["predict_run"]
        self.share = plan.get("predict_share")
        self.socket: PageSocket | None = None

    def on_stop(self) -> None:
        """Close the page."""
        if self.socket is not None:
            self.socket.close()

    def _connect(self) -> PageSocket:
        if self.socket is None:
            self.socket = PageSocket(self.ws_url("/ws/predict"), self.ws_headers())
        return self.socket

    @task(3)
    def draw(self) -> None:
        """One digit drawn stroke by stroke; like the page, one drawing in flight at a time and
        at most one per animation frame, the whole digit last."""
        digit = random.choice(self.bench.plan["digits"])
        frames = digit["frames"]
        drawing_for = random.uniform(1.0, 2.5)
        began = time.monotonic()
        index = 0
        while True:
            sent = time.monotonic()
            done = sent - began >= drawing_for
            stroke = frames[
                min(int((sent - began) / drawing_for * (len(frames) - 1)), len(frames) - 2)
            ]
            if not self._ask(frames[-1] if done else stroke, index) or done:
                break
            index += 1
            gevent.sleep(max(0.0, sent + FRAME_S - time.monotonic()))  # one per animation frame
        self.think(2.0, 6.0)  # looks at the answer and the feature maps

    def _ask(self, image: str, index: int) -> bool:
        message = {"run_id": self.run_id, "image": image, "activations": True, "id": index}
        if self.share:
            message["share"] = self.share
        started = time.perf_counter()
        try:
            text = self._connect().ask(json.dumps(message))
        except (OSError, websocket.WebSocketException) as error:
            if self.socket is not None:
                self.socket.close()
            self.socket = None
            self.report("/ws/predict", started, 0, f"socket: {error!r}")
            self.think(1.0, 2.0)
            return False
        answer = json.loads(text)
        error = None
        if answer.get("type") != "prediction":
            error = f"/ws/predict answered {text[:200]}"
        elif answer.get("id") != index:
            error = f"/ws/predict answered drawing {answer.get('id')}, not {index}"
        self.report("/ws/predict", started, len(text), error)
        return error is None

    @task(1)
    def predict_rest(self) -> None:
        """An API client's prediction: 28×28 pixels or a canvas PNG."""
        digit = random.choice(self.bench.plan["digits"])
        query = {"share": self.share} if self.share else {}
        if random.random() < 0.5:
            body: dict[str, Any] = {"pixels": digit["pixels"]}
        else:
            body = {"image": digit["frames"][-1]}
        path = f"/api/runs/{self.run_id}/predict" + (f"?{urlencode(query)}" if query else "")
        answer = self.expect("POST", path, "/api/runs/[id]/predict", json=body)
        if answer is not None:
            self.bench.tally(self.kind, "rest_correct", int(answer["prediction"] == digit["label"]))
        self.think(2.0, 6.0)


class ViewerUser(PlaygroundUser):
    """Watches a run train: its page (run, metrics), its live socket, reconnecting with ?since=."""

    kind = "viewer"

    def on_start(self) -> None:
        """Open the run page."""
        super().on_start()
        plan = self.bench.plan
        self.run_id = plan["watch_run"]
        self.share = plan.get("watch_share")
        self.since: int | None = None
        query = f"?{urlencode({'share': self.share})}" if self.share else ""
        self.expect("GET", f"/api/runs/{self.run_id}{query}", "/api/runs/[id]")
        self.expect("GET", f"/api/runs/{self.run_id}/metrics{query}", "/api/runs/[id]/metrics")

    @task
    def watch(self) -> None:
        """Watch for a while, then leave (a tab switch, a dropped connection) and come back."""
        name = "/ws/runs/[id]" if self.since is None else "/ws/runs/[id]?since="
        url = self.ws_url(f"/ws/runs/{self.run_id}", since=self.since, share=self.share)
        started = time.perf_counter()
        last = self.since if self.since is not None else -1
        received = size = 0
        error = None
        try:
            socket = open_socket(url, self.ws_headers())
        except (OSError, websocket.WebSocketException) as failure:
            self.report(name, started, 0, f"connect: {failure!r}")
            self.think(2.0, 5.0)
            return
        try:
            stop = time.monotonic() + random.uniform(15.0, 45.0)
            socket.settimeout(5.0)
            while time.monotonic() < stop and error is None:
                try:
                    text = socket.recv()
                except websocket.WebSocketTimeoutException:
                    continue  # a quiet moment (an evaluation, or the run has ended)
                if received == 0:  # connected and the first event in: the page is live
                    self.report(name, started, len(text))
                received += 1
                size += len(text)
                event = json.loads(text)
                if event.get("type") == "error":
                    error = f"{name} sent {text[:200]}"
                elif event.get("type") != "feature_maps":  # only the newest frame is kept
                    if event["seq"] <= last:
                        error = f"{name}: seq {event['seq']} after {last}"
                    last = event["seq"]
        except (OSError, websocket.WebSocketException) as failure:
            error = f"{name}: {failure!r} after {received} messages"
        finally:
            socket.close()
        if error is not None:
            self.report(name, started, size, error)
        self.since = last if last >= 0 else None
        self.bench.tally(self.kind, "ws_messages", received)
        self.bench.tally(self.kind, "ws_bytes", size)
        self.think(2.0, 6.0)
