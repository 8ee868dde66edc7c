"""What the end-to-end tests share: the live server, the console log, screenshots."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
WIDE = {"width": 1440, "height": 900}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """The app served by uvicorn on 127.0.0.1, with a throwaway data directory."""

    def __init__(
        self, data_dir: Path, mnist: Path, log: Path, env: dict[str, str] | None = None
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / mnist.name).symlink_to(mnist)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "NNP_DATA_DIR": str(data_dir),
            "NNP_DEVICE": "cpu",
            "NNP_TORCH_THREADS": "1",  # the machine is shared: leave a core to the browser
            "NNP_WARM_TRAINING_PROCESS": "true",  # as a server runs by default
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.log = log
        self._log_file = log.open("w")
        command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--data-dir", str(data_dir)]
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"the server did not start in {timeout} s; see {self.log}")

    def api(self, method: str, path: str, body: object = None) -> Any:
        """Call the REST API directly (setting up state for a test, not what it checks)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read().decode()
            return json.loads(text) if text else None

    def wait_for_run(self, run_id: str, statuses: set[str], timeout: float = 120.0) -> Any:
        """Poll a run until its status is one of `statuses`."""
        deadline = time.monotonic() + timeout
        run = self.api("GET", f"/api/runs/{run_id}")
        while run["status"] not in statuses:
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} is still {run['status']} after {timeout} s")
            time.sleep(0.25)
            run = self.api("GET", f"/api/runs/{run_id}")
        return run

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of one page; `allow` registers expected ones."""

    errors: list[str] = field(default_factory=list)
    allowed: list[tuple[re.Pattern[str], re.Pattern[str]]] = field(default_factory=list)

    def allow(self, text: str, url: str = ".*") -> None:
        """Expect console errors whose text and source URL match these regular expressions."""
        self.allowed.append((re.compile(text), re.compile(url)))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        if any(t.search(message.text) and u.search(url) for t, u in self.allowed):
            return
        self.errors.append(f"console: {message.text} ({url})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


def shoot(page: Page, name: str, *, widths: tuple[int, ...] = (1440, 390)) -> list[Path]:
    """Full-page screenshots of `page` at each width (then back to the first)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-page
        page.wait_for_timeout(350)  # charts follow their container's size
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=path, full_page=True)
        paths.append(path)
        no_horizontal_scroll(page)
    page.set_viewport_size({"width": widths[0], "height": 900 if widths[0] > 500 else 844})
    return paths


def no_horizontal_scroll(page: Page) -> None:
    """Assert the page is not wider than the viewport (no layout break)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the window"


def draw(page: Page, selector: str, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw with the mouse: each stroke is a list of (x, y) points as fractions of the canvas."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not visible"
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


SEVEN = [[(0.28, 0.25), (0.72, 0.25), (0.45, 0.8)]]
ONE = [[(0.5, 0.18), (0.5, 0.82)]]

QUICK_RUN = {"epochs": 1, "train_subset": 6000, "eval_limit": 500, "batch_size": 64}
