"""End-to-end fixtures: a real uvicorn server in a subprocess and headless Debian Chromium.

Every test in this folder is marked `e2e`. Each page collects console errors and uncaught
exceptions and fails the test on any it did not expect. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    WIDE,
    ConsoleLog,
    Server,
)
from playwright.sync_api import Browser, Page, Playwright, sync_playwright


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as `e2e`."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[Any]:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, mnist_data_dir: Path) -> Iterator[Server]:
    """One real server for the whole e2e session."""
    ARTIFACTS.mkdir(exist_ok=True)
    for stale in SCREENSHOTS.glob("FAILED-*.png"):
        stale.unlink()
    mnist = (mnist_data_dir / "mnist.safetensors").resolve()
    live = Server(tmp_path_factory.mktemp("e2e-data"), mnist, ARTIFACTS / "e2e-server.log")
    yield live
    live.stop()


@pytest.fixture(scope="session")
def pw_driver() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (`make test` does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(pw_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless (distinct fixture names keep pytest-playwright out of it)."""
    launched = pw_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def tab(
    chromium: Browser, server: Server, console: ConsoleLog, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A fresh 1440×900 page on the live server that fails the test on console errors."""
    context = chromium.new_context(viewport=WIDE, base_url=server.url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("console", console.on_console)
    tab.on("pageerror", console.on_page_error)
    yield tab
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        tab.screenshot(path=SCREENSHOTS / f"FAILED-{name}.png", full_page=True)
    context.close()
    assert not console.errors, "errors in the browser console:\n" + "\n".join(console.errors)
