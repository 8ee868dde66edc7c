"""The Docker image: hadolint and the health check always; the image's build and run when asked.

The build-and-run tests take minutes, so they run only with NNP_DOCKER_TESTS=1 (CI sets it).
No Docker engine runs here: docker/podman-build.sh builds the Dockerfile with podman (chroot
isolation) from local debootstrap base images, and `buildah run` runs the image's own command.
"""

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "docker"
IMAGE = "localhost/nn-playground:test"
DOCKER_TESTS = os.environ.get("NNP_DOCKER_TESTS") == "1"
TOOLS = ("podman", "buildah", "debootstrap", "node", "npm")
APT_HINT = "apt-get install -y podman buildah debootstrap (scripts/setup.sh test does it)"
BUILD_TIMEOUT = 30 * 60
START_TIMEOUT = 120.0
RUN_TIMEOUT = 180.0
TINY_RUN = {"epochs": 1, "max_steps": 5, "train_subset": 256, "eval_limit": 64}

docker = pytest.mark.docker
needs_opt_in = pytest.mark.skipif(
    not DOCKER_TESTS, reason="builds and runs the image (minutes): set NNP_DOCKER_TESTS=1"
)


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).is_file():
        pytest.fail("hadolint is missing: it comes with the dev extra (scripts/setup.sh test)")
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class _Health(http.server.BaseHTTPRequestHandler):
    body = b'{"status": "ok"}'

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"NNP_HOST": "0.0.0.0", "NNP_PORT": str(port)}
    return subprocess.run(
        [sys.executable, str(REPO / "docker" / "healthcheck.py")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_script_passes_only_while_healthz_says_ok() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert _healthcheck(port).returncode == 0
        _Health.body = b'{"status": "starting"}'
        assert _healthcheck(port).returncode == 1
    finally:
        _Health.body = b'{"status": "ok"}'
        server.shutdown()
        server.server_close()
    refused = _healthcheck(port)
    assert refused.returncode == 1
    assert "/healthz" in refused.stderr


# --- the image, built and run (NNP_DOCKER_TESTS=1) ----------------------------------------------


def _run(*command: str, timeout: float = 120) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}: {result.stderr[-3000:]}")
    return result.stdout


@pytest.fixture(scope="module")
def image() -> str:
    """Build the image with docker/podman-build.sh (layers and base images are cached)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"NNP_DOCKER_TESTS=1 but {', '.join(missing)} missing: {APT_HINT}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "build.log"
    started = time.monotonic()
    with log.open("w") as output:
        result = subprocess.run(
            [str(REPO / "docker" / "podman-build.sh"), IMAGE],
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
    if result.returncode != 0:
        pytest.fail(f"the image did not build (log: {log}):\n{tail}")
    print(f"image built in {time.monotonic() - started:.0f} s")
    return IMAGE


def _config(image: str) -> dict[str, Any]:
    """The image's config in Docker's format (podman keeps the HEALTHCHECK only in that)."""
    inspected = json.loads(_run("podman", "image", "inspect", image))[0]
    config: dict[str, Any] = inspected["Config"]
    config["Healthcheck"] = inspected.get("Healthcheck") or inspected.get("HealthCheck")
    config["Size"] = inspected["Size"]
    return config


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    """A working container of the image; its /data volume lives as long as the container."""
    name = f"nnp-test-{os.getpid()}"
    _run("buildah", "from", "--quiet", "--name", name, image)
    try:
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def _in_container(container: str, *command: str, env: dict[str, str] | None = None) -> str:
    options = [f"--env={key}={value}" for key, value in (env or {}).items()]
    return _run("buildah", "run", "--isolation", "chroot", *options, container, "--", *command)


def _healthcheck_in(container: str, config: dict[str, Any], env: dict[str, str]) -> int:
    """The exit status of the image's HEALTHCHECK command, run in `container`."""
    test = config["Healthcheck"]["Test"]
    assert test[0] == "CMD", test
    options = [f"--env={key}={value}" for key, value in env.items()]
    command = ["buildah", "run", "--isolation", "chroot", *options, container, "--", *test[1:]]
    return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    """Every descendant of `pid`, parents first."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def _server_pid(runner: subprocess.Popen[bytes]) -> int | None:
    """The app's own process inside `buildah run` (not buildah's helpers, nor its training
    processes)."""
    for pid in reversed(_children(runner.pid)):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        is_python = command and Path(command[0].decode()).name.startswith("python")
        if is_python and b"multiprocessing" not in b" ".join(command):  # not a training process
            return pid
    return None


class Server:
    """The image's default command, run in `container` on a loopback port."""

    def __init__(self, container: str, config: dict[str, Any], log: Path) -> None:
        self.port = _free_port()
        self.env = {"NNP_HOST": "127.0.0.1", "NNP_PORT": str(self.port)}
        self.url = f"http://127.0.0.1:{self.port}"
        command = [*config["Entrypoint"], *(config.get("Cmd") or [])]
        self.log = log
        options = [f"--env={key}={value}" for key, value in self.env.items()]
        with log.open("w") as output:
            self.runner = subprocess.Popen(
                ["buildah", "run", "--isolation", "chroot", *options, container, "--", *command],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def call(self, method: str, path: str, body: object = None) -> Any:
        """One JSON request; the decoded answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def wait_healthy(self) -> float:
        """Seconds until /healthz answers ok; fail if the server exits or takes too long."""
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT:
            if self.runner.poll() is not None:
                pytest.fail(f"the server exited {self.runner.returncode}: {self.log.read_text()}")
            try:
                if self.call("GET", "/healthz")["status"] == "ok":
                    return time.monotonic() - started
            except (OSError, ValueError):
                time.sleep(0.25)
        pytest.fail(f"/healthz did not answer in {START_TIMEOUT:.0f} s: {self.log.read_text()}")

    def stop(self) -> bool:
        """SIGTERM to the app, as `docker stop` sends it; whether it exited within 30 s."""
        pid = _server_pid(self.runner)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        try:
            self.runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for child in reversed(_children(self.runner.pid)):
                with suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.runner.kill()
            self.runner.wait()
            return False
        return pid is not None


@contextmanager
def serving(container: str, config: dict[str, Any], log: Path) -> Iterator[Server]:
    """Start the server, wait for /healthz, stop it gracefully at the end."""
    server = Server(container, config, log)
    try:
        print(f"{log.stem}: healthy after {server.wait_healthy():.1f} s")
        yield server
    finally:
        stopped = server.runner.poll() is None and server.stop()
    # uvicorn shuts down (lifespan included), then ends itself by the signal it got, as in Docker.
    assert stopped, f"SIGTERM did not stop the server within 30 s: {log.read_text()}"
    assert "Application shutdown complete" in log.read_text()


def _one_digit() -> list[float]:
    """A drawn '1': a vertical stroke in the middle of a 28×28 field."""
    return [
        1.0 if 12 <= index % 28 <= 14 and 4 <= index // 28 <= 23 else 0.0 for index in range(784)
    ]


@docker
@needs_opt_in
def test_image_config(image: str) -> None:
    config = _config(image)
    print(f"image size: {config['Size'] / 1e6:.0f} MB")
    assert config["User"] not in {"", "0", "root"} and not config["User"].startswith("0:")
    assert "/data" in config["Volumes"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert config["StopSignal"] == "SIGTERM"
    environment = dict(item.split("=", 1) for item in config["Env"])
    assert environment["NNP_HOST"] == "0.0.0.0"
    assert environment["NNP_DATA_DIR"] == "/data"
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert config["Labels"]["org.opencontainers.image.title"] == "NN Playground"


@docker
@needs_opt_in
def test_image_holds_its_datasets_and_nothing_from_the_work_tree(container: str) -> None:
    assert _in_container(container, "id", "-u").strip() != "0"
    script = "ls /opt/nnp/mnist; find /opt/nnp -name __pycache__ -not -path '*/venv/*'"
    listing = _in_container(container, "sh", "-c", script)
    assert sorted(listing.split()) == ["fashion-mnist.safetensors", "mnist.safetensors"]
    assert _in_container(container, "sh", "-c", "ls -A /data").strip() == ""


@docker
@needs_opt_in
def test_image_serves_trains_predicts_and_keeps_runs_across_a_restart(
    image: str, container: str
) -> None:
    config = _config(image)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(container, config, ARTIFACTS / "server-1.log") as server:
        assert _healthcheck_in(container, config, server.env) == 0
        for asset in ("uplot/uPlot.iife.min.js", "swagger-ui/swagger-ui-bundle.js"):
            with urllib.request.urlopen(f"{server.url}/vendor/{asset}") as response:
                assert response.status == 200  # from the npm stage
        (starter,) = server.call("GET", "/api/runs")  # a new /data: the image trains one
        assert starter["starter"] and starter["status"] in {"queued", "running"}
        server.call("POST", f"/api/runs/{starter['id']}/stop")  # the device for this test
        spec = server.call("GET", "/api/presets/mlp")["spec"]
        model = server.call("POST", "/api/models", {"name": "mlp", "spec": spec})
        run = server.call("POST", "/api/runs", {"model_id": model["id"], "config": TINY_RUN})
        deadline = time.monotonic() + RUN_TIMEOUT
        while run["status"] not in {"completed", "failed", "stopped"}:
            assert time.monotonic() < deadline, f"the run did not finish: {run}"
            time.sleep(0.25)
            run = server.call("GET", f"/api/runs/{run['id']}")
        assert run["status"] == "completed", run.get("error")
        first = server.call("POST", f"/api/runs/{run['id']}/predict", {"pixels": _one_digit()})
        assert 0 <= first["prediction"] <= 9
        assert sum(first["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    stored = _in_container(container, "ls", "-A", "/data").split()
    assert "playground.sqlite3" in stored and "checkpoints" in stored
    assert not {"mnist.safetensors", "downloads"} & set(stored)  # MNIST comes from the image

    with serving(container, config, ARTIFACTS / "server-2.log") as server:
        assert server.call("GET", f"/api/runs/{run['id']}")["status"] == "completed"
        kept = [view["id"] for view in server.call("GET", "/api/runs")]
        assert kept == [starter["id"], run["id"]]  # the starter is made once, not again
        again = server.call("POST", f"/api/runs/{run['id']}/predict", {"pixels": _one_digit()})
        assert again["probabilities"] == pytest.approx(first["probabilities"], abs=1e-5)
    assert _healthcheck_in(container, config, server.env) == 1  # the server is gone
