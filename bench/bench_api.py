"""The API under load, measured from another process against a real server.

1. Predict latency: REST predictions of real MNIST test digits at a steady request rate (default
   100/s) while a run trains; p50/p99 in milliseconds, and the /ws/predict answer rate while a
   person "draws" (a burst of drawings coalesces to the newest).
2. Training throughput with 0, 1 and 20 websocket viewers of the run attached (steps/s from the
   run's step count, rounds alternating the viewer counts), and the fraction lost with 20.

    .venv/bin/python bench/bench_api.py [--seconds 20] [--rate 100] [--rounds 3] [--preset lenet5]

Prints one JSON document. The server is `python -m app serve` in a subprocess with a temporary
data directory sharing the MNIST cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
from websockets.sync.client import connect

from app.data import load_mnist
from app.nn import load_preset
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NNP_DATA_DIR": str(data_dir),
        "NNP_PORT": str(port),
        "NNP_STARTER_RUN": "false",  # the bench's own run is the one measured
        "NNP_MAX_EPOCHS": "200",  # the measured run must outlast the bench
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def _start_run(client: httpx.Client, preset: str) -> str:
    spec = load_preset(preset).model_dump(mode="json", exclude_unset=True)
    model = client.post("/api/models", json={"name": preset, "spec": spec}).json()
    config = {"epochs": 200, "eval_limit": 1000}
    run = client.post("/api/runs", json={"model_id": model["id"], "config": config}).json()
    while client.get(f"/api/runs/{run['id']}").json()["step"] < 20:
        time.sleep(0.2)
    run_id: str = run["id"]
    return run_id


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def predict_latency(base: str, run_id: str, rate: float, seconds: float) -> dict[str, Any]:
    """REST predictions at a steady rate (open loop: a late answer does not delay the next)."""
    digits = load_mnist(Settings().data_dir).test.images[:200].float().div(255).tolist()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(index: int) -> None:
        nonlocal errors
        body = {"pixels": digits[index % len(digits)], "prepare": False}
        started = time.perf_counter()
        try:
            answer = client.post(f"/api/runs/{run_id}/predict", json=body)
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        with lock:
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    with (
        httpx.Client(base_url=base, limits=limits, timeout=10) as client,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        start = time.perf_counter()
        for index in range(int(rate * seconds)):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, index)
    return {
        "rate_per_s": rate,
        "requests": len(latencies) + errors,
        "errors": errors,
        "p50_ms": round(_percentile(latencies, 0.5), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
    }


def drawing_rate(ws_base: str, run_id: str, seconds: float) -> dict[str, Any]:
    """Drawings sent as fast as a pointer moves (120/s); how many answers come back per second."""
    pixels = [[0.0] * 28 for _ in range(28)]
    answers = 0
    with connect(f"{ws_base}/ws/predict") as drawing:
        stop = time.monotonic() + seconds

        def send() -> None:
            index = 0
            while time.monotonic() < stop:
                pixels[4 + index % 20][14] = 1.0
                drawing.send(json.dumps({"run_id": run_id, "pixels": pixels, "id": index}))
                index += 1
                time.sleep(1 / 120)

        sender = threading.Thread(target=send)
        sender.start()
        while time.monotonic() < stop:
            try:
                if json.loads(drawing.recv(timeout=1)).get("type") == "prediction":
                    answers += 1
            except TimeoutError:
                continue
        sender.join()
    return {"answers_per_s": round(answers / seconds, 1)}


def steps_per_s(client: httpx.Client, run_id: str, seconds: float) -> float:
    """Training pace over `seconds`, from the run's step count."""
    first = client.get(f"/api/runs/{run_id}").json()["step"]
    started = time.monotonic()
    time.sleep(seconds)
    last = client.get(f"/api/runs/{run_id}").json()["step"]
    return (last - first) / (time.monotonic() - started)


def with_viewers(
    ws_base: str, client: httpx.Client, run_id: str, count: int, seconds: float
) -> float:
    """Training pace while `count` websocket viewers read the run's live events."""
    stop = threading.Event()

    def view() -> None:
        with connect(f"{ws_base}/ws/runs/{run_id}?since=1000000000") as viewer:
            while not stop.is_set():
                try:
                    viewer.recv(timeout=0.5)
                except TimeoutError:
                    continue

    viewers = [threading.Thread(target=view) for _ in range(count)]
    for viewer in viewers:
        viewer.start()
    time.sleep(2)  # connected and streaming
    pace = steps_per_s(client, run_id, seconds)
    stop.set()
    for viewer in viewers:
        viewer.join()
    return pace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--preset", default="lenet5")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 0, 1, 20 viewers")
    args = parser.parse_args()
    port = _free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        server = _start_server(data_dir, port)
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                run_id = _start_run(client, args.preset)
                # Rounds alternate 0, 1, 20 viewers so that epochs' evaluations and a drifting
                # load favour none; each count's median pace is reported.
                samples: dict[int, list[float]] = {0: [], 1: [], 20: []}
                for _ in range(args.rounds):
                    for count, paces_seen in samples.items():
                        paces_seen.append(
                            with_viewers(ws_base, client, run_id, count, args.seconds)
                        )
                paces = {count: statistics.median(values) for count, values in samples.items()}
                latency = predict_latency(base, run_id, args.rate, args.seconds)
                drawing = drawing_rate(ws_base, run_id, min(args.seconds, 10))
                client.post(f"/api/runs/{run_id}/stop")
        finally:
            server.terminate()
            server.wait(30)
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "preset": args.preset,
                "predict_while_training": latency,
                "ws_predict_while_training": drawing,
                "training_steps_per_s": {f"{k}_viewers": round(v, 2) for k, v in paces.items()},
                "throughput_lost_with_20_viewers": round(1 - paces[20] / paces[0], 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
