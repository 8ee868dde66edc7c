"""Faults: kill -9 mid-training, a full disk, an unwritable data directory.

Real server processes (`python -m app.cli serve`) on a throw-away data directory; after every
fault the SQLite integrity check passes and every stored checkpoint loads.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import re
import resource
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.data import Mnist
from app.nn import load_preset
from app.settings import Settings
from app.store import DB_FILENAME, RunStatus, Store, StoreFullError, load_checkpoint
from app.training import RunManager, Throttle

T = TypeVar("T")

MLP = load_preset("mlp").model_dump(mode="json")
WIDE = {  # 1.6 M parameters: a ~20 MB checkpoint that takes a while to write
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "out_features": 2048},
        {"type": "relu"},
        {"type": "linear", "out_features": 10},
    ]
}
SMALL_RUN = {"train_subset": 512, "eval_limit": 200, "epochs": 1, "batch_size": 64}
DIGITS = (0, 1, 2)  # test-set digits whose predictions must survive every fault


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 90.0) -> T:
    """Poll `check` until it returns something truthy (fail naming `what` after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Server:
    """One `nn-playground serve` process on a free port."""

    def __init__(self, data_dir: Path, log: Path, file_size_limit: int | None = None) -> None:
        self.data_dir, self.log_path, self.port = data_dir, log, free_port()
        env = {**os.environ, "NNP_DATA_DIR": str(data_dir), "NNP_DEVICE": "cpu"}

        def limit_file_size() -> None:  # in the child: writes past the limit fail with EFBIG
            if file_size_limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=limit_file_size,  # noqa: PLW1509 (no threads in this test process)
            )
        wait_until(self._healthy, "the server to answer /healthz", timeout=120)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the server exited ({self.process.returncode}): {self.log()}")
        try:
            return bool(self.call("GET", "/healthz")["status"] == "ok")
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def call(self, method: str, path: str, body: object = None) -> Any:
        """JSON in, JSON out; an HTTP error fails the test with the server's answer."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            pytest.fail(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}")

    def run(self, run_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/api/runs/{run_id}")
        return answer

    def metrics(self, run_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/api/runs/{run_id}/metrics")
        return answer

    def submit(self, spec: dict[str, Any], config: dict[str, Any]) -> str:
        model = self.call("POST", "/api/models", {"name": "fault", "spec": spec})
        run_id: str = self.call("POST", "/api/runs", {"model_id": model["id"], "config": config})[
            "id"
        ]
        return run_id

    def wait_status(self, run_id: str, *statuses: str, timeout: float = 90.0) -> dict[str, Any]:
        return wait_until(
            lambda: (view := self.run(run_id))["status"] in statuses and view,
            f"run {run_id} to become {'/'.join(statuses)}",
            timeout,
        )

    def predictions(self, run_id: str, mnist: Mnist) -> list[dict[str, Any]]:
        return [
            self.call(
                "POST",
                f"/api/runs/{run_id}/predict",
                {"pixels": (mnist.test.images[i].float() / 255).tolist(), "prepare": False},
            )
            for i in DIGITS
        ]

    def children(self) -> list[int]:
        """The server's child processes (its training processes)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid and fields[0] != "Z":
                    found.append(int(stat.parent.name))
        return found

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no clean-up."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def servers(app_data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers on `app_data_dir` (one at a time); every one is stopped at the end."""
    started: list[Server] = []

    def start(**options: Any) -> Server:
        server = Server(app_data_dir, tmp_path / f"server-{len(started)}.log", **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def assert_store_sound(data_dir: Path, when: str = "") -> None:
    """The database passes its integrity check and every checkpoint loads."""
    with contextlib.closing(sqlite3.connect(data_dir / DB_FILENAME)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], when
        recorded = [row[0] for row in db.execute("SELECT checkpoint FROM runs") if row[0]]
    paths = {*(data_dir / "checkpoints").glob("*/checkpoint.safetensors")}
    paths |= {Path(path) if Path(path).is_absolute() else data_dir / path for path in recorded}
    for path in paths:
        assert path.is_file(), f"{path} is recorded but missing {when}"
        load_checkpoint(path)  # CheckpointError if truncated or corrupted


def checkpoint_of(data_dir: Path, run_id: str) -> Path:
    return data_dir / "checkpoints" / run_id / "checkpoint.safetensors"


# -- kill -9 -------------------------------------------------------------------------------


def test_kill_9_mid_epoch_then_restart_predict_and_resume(
    servers: Callable[..., Server], app_data_dir: Path, mnist: Mnist
) -> None:
    server = servers()
    done = server.submit(MLP, SMALL_RUN)
    assert server.wait_status(done, "completed", "failed")["status"] == "completed"
    before = server.predictions(done, mnist)

    steps_per_epoch = 20_000 // 16
    long_run = {**SMALL_RUN, "train_subset": 20_000, "batch_size": 16, "epochs": 3}
    run_id = server.submit(MLP, long_run)

    def mid_epoch_after_a_checkpoint() -> bool:
        metrics = server.metrics(run_id)
        ended = {"completed", "failed", "stopped"} & {s["status"] for s in metrics["statuses"]}
        if metrics["done"] is not None or ended:
            pytest.fail(f"the run ended before it could be killed: {server.run(run_id)}")
        if not metrics["epochs"] or not metrics["steps"]:
            return False
        # a step after the epoch's end: its checkpoint is written and recorded
        return bool(metrics["steps"][-1]["step"] > metrics["epochs"][-1]["step"])

    # generous: CI runs this on 2 busy cores
    wait_until(mid_epoch_after_a_checkpoint, "a step after the first checkpoint", timeout=300)
    trainers = server.children()
    assert trainers, "the run trains in a child process of the server"
    server.kill()
    wait_until(
        lambda: not any(is_running(pid) for pid in trainers),
        "the training process to exit with its server",
        timeout=30,
    )
    assert_store_sound(app_data_dir)
    saved = load_checkpoint(checkpoint_of(app_data_dir, run_id)).meta
    assert saved["epoch"] in (1, 2) and not saved["final"]

    server = servers()
    assert server.run(run_id)["status"] == "interrupted"
    assert server.predictions(done, mnist) == before  # bit-identical probabilities

    resumed = server.call("POST", f"/api/runs/{run_id}/resume")
    assert resumed["status"] in ("queued", "running")
    view = server.wait_status(run_id, "completed", "failed")
    assert view["status"] == "completed", view["error"]
    assert (view["epoch"], view["step"]) == (3, 3 * steps_per_epoch)
    metrics = server.metrics(run_id)
    requeued = [s for s in metrics["statuses"] if s["status"] == "queued" and s.get("reason")]
    assert requeued[-1]["reason"] == f"resuming after epoch {saved['epoch']}"
    after = [e for e in metrics["steps"] if e["seq"] > requeued[-1]["seq"]]
    assert saved["step"] < after[0]["step"] <= saved["step"] + steps_per_epoch  # not from zero
    steps = [e["step"] for e in metrics["steps"]]
    assert steps == sorted(set(steps))  # the lost epoch's points appear once
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    server.stop()
    assert_store_sound(app_data_dir)


@pytest.mark.slow
def test_kills_at_random_moments_and_during_checkpoint_writes(
    servers: Callable[..., Server], app_data_dir: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    config = {"train_subset": 1024, "eval_limit": 100, "batch_size": 64, "epochs": 40}
    server = servers()
    run_id = server.submit(WIDE, config)
    directory = app_data_dir / "checkpoints" / run_id

    def writing() -> bool:
        return directory.is_dir() and any(directory.glob(".*.tmp"))

    wait_until(writing, "a checkpoint being written", timeout=90)
    server.kill()  # in the middle of writing a checkpoint
    assert_store_sound(app_data_dir, "after a kill during a checkpoint write")

    for kill in range(2):
        server = servers()
        assert not list(directory.glob(".*.tmp")), "half-written checkpoints stay behind"
        assert server.run(run_id)["status"] == "interrupted"
        server.call("POST", f"/api/runs/{run_id}/resume")
        server.wait_status(run_id, "running")
        time.sleep(rng.uniform(0.0, 2.0))
        server.kill()
        assert_store_sound(app_data_dir, f"after random kill {kill} (seed {seed})")

    server = servers()
    assert server.run(run_id)["status"] == "interrupted"
    server.call("POST", f"/api/runs/{run_id}/resume")

    def trained_since_resuming() -> bool:
        metrics = server.metrics(run_id)
        resumed_at = [s["seq"] for s in metrics["statuses"] if s["status"] == "queued"][-1]
        return any(step["seq"] > resumed_at for step in metrics["steps"])

    wait_until(trained_since_resuming, "a step after the last resume")
    server.call("POST", f"/api/runs/{run_id}/stop")
    view = server.wait_status(run_id, "stopped", "failed")
    assert view["status"] == "stopped", view["error"]
    steps = [e["step"] for e in server.metrics(run_id)["steps"]]
    assert steps == sorted(set(steps)), f"seed {seed}"
    server.stop()
    assert_store_sound(app_data_dir)


# -- a full disk ---------------------------------------------------------------------------


def test_a_full_disk_fails_the_run_clearly_and_keeps_the_rest(
    servers: Callable[..., Server], app_data_dir: Path, mnist: Mnist
) -> None:
    # Every file this server writes may grow to 8 MB: the small MLP's checkpoint (1.2 MB) and
    # the database fit, the wide model's ~20 MB checkpoint does not (EFBIG, as on a full disk).
    server = servers(file_size_limit=8_000_000)
    done = server.submit(MLP, SMALL_RUN)
    assert server.wait_status(done, "completed", "failed")["status"] == "completed"
    before = server.predictions(done, mnist)

    wide = server.submit(WIDE, {**SMALL_RUN, "epochs": 2})
    view = server.wait_status(wide, "completed", "failed", "stopped")
    assert view["status"] == "failed"
    assert view["error"].startswith("the disk is full"), view["error"]
    # the first checkpoint is due after one epoch or a second, whichever ends later
    assert re.search(
        r"cannot save the checkpoint of epoch \d+ \(no epoch was saved\)", view["error"]
    )
    assert str(app_data_dir) in view["error"] and "free some space" in view["error"]
    statuses = server.metrics(wide)["statuses"]
    assert (statuses[-1]["status"], statuses[-1]["reason"]) == ("failed", view["error"])
    assert not (app_data_dir / "checkpoints" / wide).exists() or not any(
        (app_data_dir / "checkpoints" / wide).iterdir()
    )  # no half-written file left behind

    assert server.predictions(done, mnist) == before  # the server keeps serving
    again = server.submit(MLP, SMALL_RUN)
    assert server.wait_status(again, "completed", "failed")["status"] == "completed"
    server.stop()
    assert_store_sound(app_data_dir)


class NoSpaceAfter:
    """Stands in for safetensors' save_file: the n-th write runs out of space half-way."""

    def __init__(self, save_file: Callable[..., None], failing_call: int) -> None:
        self.save_file, self.failing_call, self.calls = save_file, failing_call, 0

    def __call__(self, tensors: dict[str, Any], filename: str, metadata: Any = None) -> None:
        self.calls += 1
        if self.calls != self.failing_call:
            self.save_file(tensors, filename, metadata=metadata)
            return
        Path(filename).write_bytes(b"\0" * 1000)  # what got onto the disk before it filled
        raise RuntimeError(  # the form of safetensors' own error
            "Error while serializing: I/O error: No space left on device (os error 28)"
        )


EVERY_EPOCH = Throttle(checkpoint_s=0.0)  # a checkpoint after each (short) epoch


def test_no_space_for_a_checkpoint_keeps_the_previous_one(
    app_data_dir: Path, mnist: Mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.store import checkpoints  # noqa: PLC0415

    monkeypatch.setattr(checkpoints, "save_file", NoSpaceAfter(checkpoints.save_file, 2))
    with (
        Store(app_data_dir) as store,
        RunManager(
            store,
            Settings(data_dir=app_data_dir, device="cpu"),
            mnist=mnist,
            throttle=EVERY_EPOCH,
        ) as manager,
    ):
        run = manager.submit_spec(MLP, {**SMALL_RUN, "epochs": 3})
        record = manager.wait(run.id, 90)
        assert record.status == RunStatus.FAILED
        assert record.error == (
            f"the disk is full (no space left in {app_data_dir}): cannot save the checkpoint "
            "of epoch 2 (its previous checkpoint is kept); free some space, then train it again"
        )
        assert record.checkpoint is not None and record.epoch == 1
        kept = load_checkpoint(record.checkpoint)
        assert kept.meta["epoch"] == 1
        directory = Path(record.checkpoint).parent
        assert sorted(directory.iterdir()) == [Path(record.checkpoint), directory / "epochs"]
        kept_epochs = [path.name for path in (directory / "epochs").iterdir()]
        assert kept_epochs == ["epoch-00001.safetensors"]  # no partial copy of epoch 2
        weights = manager.latest_weights(run.id)  # predictions use the kept epoch
        assert weights is not None and weights.epoch == 1

        later = manager.submit_spec(MLP, SMALL_RUN)  # the next run is not affected
        assert manager.wait(later.id, 90).status == RunStatus.COMPLETED
    assert_store_sound(app_data_dir)


def test_a_full_database_fails_the_run_and_says_so(
    app_data_dir: Path, mnist: Mnist, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        Store(app_data_dir) as store,
        RunManager(
            store,
            Settings(data_dir=app_data_dir, device="cpu"),
            mnist=mnist,
            throttle=EVERY_EPOCH,
        ) as manager,
    ):
        heard: list[dict[str, Any]] = []
        manager.add_listener(lambda run_id, event: heard.append(event))
        append_events = store.append_events
        full: list[bool] = []

        def full_from_the_first_epoch(run_id: str, events: Any) -> None:
            if full or any(event["type"] == "epoch" for event in events):
                full.append(True)  # the disk filled up at the end of epoch 1, for good
                raise StoreFullError(f"the disk holding {app_data_dir} is full; nothing was saved")
            append_events(run_id, events)

        monkeypatch.setattr(store, "append_events", full_from_the_first_epoch)
        run = manager.submit_spec(MLP, {**SMALL_RUN, "epochs": 2})
        record = manager.wait(run.id, 90)
        assert record.status == RunStatus.FAILED
        assert record.error == (
            f"the disk is full (no space left in {app_data_dir}): cannot store the run's "
            "progress; free some space"
        )
        last = heard[-1]  # listeners hear the end although it could not be stored
        assert (last["type"], last["status"], last["reason"]) == ("status", "failed", record.error)
    assert_store_sound(app_data_dir)


def test_errno_of_a_failed_checkpoint_write_is_kept(tmp_path: Path) -> None:
    """A write past the file-size limit raises OSError(EFBIG), not an opaque library error."""
    code = (
        "import resource, torch\n"
        "from app.store import save_checkpoint\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
        "try:\n"
        f"    save_checkpoint({str(tmp_path / 'c.safetensors')!r}, "
        "{'w': torch.zeros(100_000)}, None, {})\n"
        "except OSError as error:\n"
        "    print(error.errno)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip() == str(errno.EFBIG), result.stderr
    assert list(tmp_path.iterdir()) == []  # the partial file is gone
