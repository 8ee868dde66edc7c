"""The server under a crowd: 30 simulated people (locust, in another process) for a few minutes.

    .venv/bin/python bench/bench_load.py [--users 30] [--seconds 180] [--out load.json]
    .venv/bin/python bench/bench_load.py --host-only http://127.0.0.1:8000   # a running server

1. Starts `python -m app serve` on a free port with a temporary data directory (sharing the MNIST
   cache), in shared mode with the default per-person limits.
2. Prepares what the people need: a trained LeNet-5 run the drawers ask, and a reference LeNet-5
   run that trains through the whole bench and that the viewers watch (both shared by link when
   the server has identities).
3. Measures the reference run's training pace alone, then under load (locust, headless, users of
   bench/locustfile.py), then alone again.
4. Prints one JSON document: per endpoint requests/s, p50 and p99 (ms) and failures; totals;
   errors (locust's failures and the server's 5xx); training throughput retained; the server's
   peak memory; the runs the trainers queued and trained; per user type, what they did.

The mix of 30 (8 builders, 6 trainers, 10 drawers, 6 viewers) follows what a class does with
the playground: drawing digits is what most people do most of the time, building comes next,
and with one device only a few people train at once while others watch a run.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
MIX = {"builder": 8, "trainer": 6, "drawer": 10, "viewer": 6}  # of 30
MAX_ACTIVE_RUNS = 5  # the server's default max_active_runs_per_user
SAMPLE_EVERY_S = 2.0
LOCUST_GRACE_S = 60.0  # past its run time, locust is told to quit (it hung once at its end)
DIGITS = 40
FRAMES = 6  # partial drawings of each digit, the last one whole
CANVAS = 280  # the draw page's canvas side


def mix_for(users: int) -> dict[str, int]:
    """MIX scaled to `users` people (largest remainders), each type at least once."""
    if users < len(MIX):
        raise SystemExit(f"--users: at least {len(MIX)}, one of each type ({', '.join(MIX)})")
    total = sum(MIX.values())
    shares = {kind: max(1.0, users * count / total) for kind, count in MIX.items()}
    counts = {kind: int(share) for kind, share in shares.items()}
    by_remainder = sorted(MIX, key=lambda kind: shares[kind] - counts[kind], reverse=True)
    for kind in by_remainder[: users - sum(counts.values())]:
        counts[kind] += 1
    return counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`python -m app serve` in shared mode on 127.0.0.1:`port`; waits until it answers."""
    env = {
        **os.environ,
        "NNP_DATA_DIR": str(data_dir),
        "NNP_HOST": "127.0.0.1",
        "NNP_PORT": str(port),
        "NNP_SHARED_MODE": "1",
        "NNP_STARTER_RUN": "false",  # the bench's own runs are the ones measured
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the server did not start; its log:\n{log.read_text()[-3000:]}")


def identify(client: httpx.Client, access_token: str | None) -> str:
    """ "tokens" (shared mode: this client now has a bearer token) or "none" (single-user)."""
    me = client.get("/api/me")
    if me.status_code == 404 or (me.status_code == 200 and not me.json()["shared_mode"]):
        return "none"  # an older server without identities, or single-user mode
    body = {"access_token": access_token} if access_token else {}
    token = _checked(client.post("/api/tokens", json=body), 201)["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return "tokens"


def _checked(answer: httpx.Response, wanted: int = 200) -> Any:
    if answer.status_code != wanted:
        method, url = answer.request.method, answer.request.url
        raise SystemExit(f"{method} {url}: {answer.status_code} {answer.text[:500]}")
    return answer.json()


def start_run(client: httpx.Client, preset: str, config: dict[str, Any]) -> str:
    """Save `preset` as a model and queue a run of it; returns the run id."""
    spec = _checked(client.get(f"/api/presets/{preset}"))["spec"]
    model = _checked(client.post("/api/models", json={"name": preset, "spec": spec}), 201)
    body = {"model_id": model["id"], "config": config}
    run_id: str = _checked(client.post("/api/runs", json=body), 201)["id"]
    return run_id


def wait_run(client: httpx.Client, run_id: str, until: str, timeout: float = 300) -> Any:
    """Poll the run until it has trained `until` ("completed", or "steps") or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = _checked(client.get(f"/api/runs/{run_id}"))
        if view["status"] in ("failed", "stopped", "interrupted"):
            raise SystemExit(f"run {run_id} ended {view['status']}: {view['error']}")
        if (until == "completed" and view["status"] == "completed") or (
            until == "steps" and view["step"] >= 20
        ):
            return view
        time.sleep(0.3)
    raise SystemExit(f"run {run_id} did not reach '{until}' within {timeout:.0f} s")


def share(client: httpx.Client, run_id: str, identity: str) -> str | None:
    """A share token for the run (None without identities: everyone sees everything)."""
    if identity == "none":
        return None
    token: str = _checked(client.post(f"/api/runs/{run_id}/share"))["share_token"]
    return token


def _data_url(ink: Image.Image, dark_ink: bool) -> str:
    """A canvas-sized PNG of a white-on-black digit, in either polarity, as a data URL."""
    image = ink.resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)
    if dark_ink:
        image = image.point(lambda value: 255 - value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def make_digits(count: int) -> list[dict[str, Any]]:
    """Real MNIST test digits as the drawers send them: 28×28 pixels, and PNG frames of a
    canvas drawn row by row (the last frame is the whole digit)."""
    from app.data import load_mnist  # noqa: PLC0415 (torch loads only when digits are made)
    from app.settings import Settings  # noqa: PLC0415

    data_dir = Settings().data_dir
    test = load_mnist(data_dir if data_dir.is_absolute() else ROOT / data_dir).test
    digits = []
    for index in range(count):
        pixels = test.images[index].numpy()
        rows = [row for row in range(28) if pixels[row].any()]
        top, bottom = rows[0], rows[-1] + 1
        frames = []
        for frame in range(1, FRAMES + 1):
            partial = pixels.copy()
            partial[top + (bottom - top) * frame // FRAMES :] = 0
            frames.append(_data_url(Image.fromarray(partial), dark_ink=index % 2 == 0))
        digits.append(
            {
                "label": int(test.labels[index]),
                "pixels": [[round(value / 255, 3) for value in row] for row in pixels.tolist()],
                "frames": frames,
            }
        )
    return digits


def memory_kb(pid: int | None, field: str) -> int | None:
    """A `Vm*` field of /proc/<pid>/status in kB (None where unavailable)."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else None


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) the process has used so far, from /proc/<pid>/stat."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pace(client: httpx.Client, run_id: str, seconds: float) -> float:
    """The run's training steps per second over `seconds`."""
    first, started = _checked(client.get(f"/api/runs/{run_id}"))["step"], time.monotonic()
    time.sleep(seconds)
    last = _checked(client.get(f"/api/runs/{run_id}"))["step"]
    return (last - first) / (time.monotonic() - started)


def run_locust(
    base: str, plan: Path, mix: dict[str, int], seconds: float, log: Path
) -> subprocess.Popen[bytes]:
    """Start locust headless with the plan's users; returns its process."""
    users = sum(mix.values())
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--plan",
        str(plan),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 3)),
        "--run-time",
        f"{seconds:.0f}s",
        "--host",
        base,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)


def server_errors(log: Path) -> tuple[Counter[int], list[str]]:
    """Status codes ≥ 500 in the server's access log, and its first error lines."""
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    if not log.exists():
        return statuses, errors
    for line in log.read_text(errors="replace").splitlines():
        found = re.search(r'" (\d{3}) ', line)
        if found and int(found.group(1)) >= 500:
            statuses[int(found.group(1))] += 1
        if re.match(r"(ERROR|CRITICAL|Traceback)", line) and len(errors) < 10:
            errors.append(line[:300])
    return statuses, errors


def _fail_if_overdue(locust: subprocess.Popen[bytes], past_run_time: float) -> None:
    """Stop a locust still running LOCUST_GRACE_S after its run time (it hung once at its
    end, every user stopped) and fail rather than wait for ever."""
    if past_run_time > LOCUST_GRACE_S:
        locust.terminate()
        locust.wait(30)
        raise SystemExit(f"locust did not stop {LOCUST_GRACE_S:.0f} s after its run time")


def bench(
    args: argparse.Namespace, base: str, work: Path, server_pid: int | None
) -> dict[str, Any]:
    """Prepare, measure alone, measure under load, measure alone again; the report."""
    mix = mix_for(args.users)
    with httpx.Client(base_url=base, timeout=60) as client:
        identity = identify(client, args.access_token)
        digits = make_digits(DIGITS)
        predict_run = start_run(
            client, "lenet5", {"epochs": 1, "max_steps": 300, "eval_limit": 1000}
        )
        wait_run(client, predict_run, "completed")
        reference = start_run(client, "lenet5", {"epochs": args.epochs, "eval_limit": 1000})
        wait_run(client, reference, "steps")
        plan = {
            "identity": identity,
            "access_token": args.access_token,
            "mix": mix,
            "predict_run": predict_run,
            "predict_share": share(client, predict_run, identity),
            "watch_run": reference,
            "watch_share": share(client, reference, identity),
            # Without identities everyone is one person: the trainers share its run limit with
            # the reference run, one slot kept free.
            "run_slots": MAX_ACTIVE_RUNS - 2 if identity == "none" else None,
            "digits": digits,
            "summary_out": str(work / "locust.json"),
        }
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan))

        before = pace(client, reference, args.baseline_seconds)
        rss_before = memory_kb(server_pid, "VmRSS")
        server_cpu = cpu_seconds(server_pid)
        children_cpu = _children_cpu()
        load_before = os.getloadavg()[0]
        locust = run_locust(base, plan_file, mix, args.seconds, work / "locust.log")
        started = time.monotonic()
        settle = min(10.0, args.seconds / 4)  # every user spawned and past its first steps
        samples: list[tuple[float, int]] = []
        rss_peak = rss_before or 0
        while locust.poll() is None:
            time.sleep(SAMPLE_EVERY_S)
            elapsed = time.monotonic() - started
            _fail_if_overdue(locust, elapsed - args.seconds)
            if settle <= elapsed <= args.seconds:
                samples.append((elapsed, _checked(client.get(f"/api/runs/{reference}"))["step"]))
            rss_peak = max(rss_peak, memory_kb(server_pid, "VmRSS") or 0)
        elapsed = time.monotonic() - started
        server_cpu_used = _per_s(cpu_seconds(server_pid), server_cpu, elapsed)
        locust_cpu_used = _children_cpu() - children_cpu
        load_after = os.getloadavg()[0]
        if locust.returncode != 0:
            log = (work / "locust.log").read_text()[-3000:]
            raise SystemExit(f"locust exited with {locust.returncode}:\n{log}")
        after = pace(client, reference, args.baseline_seconds)
        final = _checked(client.get(f"/api/runs/{reference}"))
        if final["status"] != "running":
            raise SystemExit(f"the reference run ended early ({final['status']}): raise --epochs")
        _checked(client.post(f"/api/runs/{reference}/stop"))
    if len(samples) < 2:
        raise SystemExit("too few samples of the training pace under load: raise --seconds")
    under_load = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])
    alone = (before + after) / 2
    figures = json.loads((work / "locust.json").read_text())
    users = figures["user_types"]
    trainers = users.get("trainer", {})
    errors = figures["errors"]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "mode": "shared (bearer token per user)" if identity == "tokens" else "single-user",
        "users": mix,
        "seconds": args.seconds,
        "endpoints": sorted(figures["endpoints"], key=lambda entry: -entry["requests"]),
        "totals": figures["totals"],
        "errors": {
            "count": sum(error["count"] for error in errors),
            "first": [
                f"{e['count']}× {e['method']} {e['name']}: {e['error']}" for e in errors[:10]
            ],
        },
        "user_types": users,
        "cpu": {
            "server_cores_used": server_cpu_used,
            "locust_cores_used": round(locust_cpu_used / elapsed, 2),
            "loadavg_1m_before_and_after": [round(load_before, 2), round(load_after, 2)],
        },
        "training": {
            "reference": "lenet5, batch 64, fp32",
            "steps_per_s_alone_before": round(before, 2),
            "steps_per_s_alone_after": round(after, 2),
            "steps_per_s_under_load": round(under_load, 2),
            "retained": round(under_load / alone, 3) if alone else None,
        },
        "runs": {
            "trained": 2 + int(trainers.get("runs_trained", 0)),  # + predict and reference runs
            "queued_by_trainers": int(trainers.get("runs_created", 0)),
            "trained_by_trainers": int(trainers.get("runs_trained", 0)),
            "reference_steps": final["step"],
        },
        "memory": {
            "server_rss_before_load_mb": _mb(rss_before),
            "server_rss_peak_sampled_mb": _mb(rss_peak or None),
            "server_peak_rss_mb": _mb(memory_kb(server_pid, "VmHWM")),
        },
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _per_s(now: float | None, before: float | None, seconds: float) -> float | None:
    if now is None or before is None:
        return None
    return round((now - before) / seconds, 2)


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=30, help="simulated people (at least 4)")
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the load lasts")
    parser.add_argument(
        "--baseline-seconds", type=float, default=30.0, help="training pace alone, before and after"
    )
    parser.add_argument("--epochs", type=int, default=50, help="the reference run's epochs")
    parser.add_argument("--host-only", metavar="URL", help="use this running server instead")
    parser.add_argument("--access-token", help="the server's access token, if it has one")
    parser.add_argument("--out", type=Path, help="also write the JSON document here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnp-load-") as folder:
        work = Path(folder)
        server = None
        if args.host_only:
            base = args.host_only.rstrip("/")
        else:
            data_dir = work / "data"
            data_dir.mkdir()
            from app.settings import Settings  # noqa: PLC0415

            mnist = Settings().mnist_cache_dir()
            mnist = (mnist if mnist.is_absolute() else ROOT / mnist) / "mnist.safetensors"
            (data_dir / "mnist.safetensors").symlink_to(mnist)
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_server(data_dir, port, work / "server.log")
        try:
            report = bench(args, base, work, server.pid if server else None)
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
        statuses, lines = server_errors(work / "server.log")
        report["errors"]["server_5xx"] = sum(statuses.values())
        report["errors"]["server_log"] = lines
        if server is None:
            report["memory"]["note"] = "a server started elsewhere: its memory is not read"
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
