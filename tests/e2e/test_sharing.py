"""Shared mode in the browser: each browser its own work, and a run shared by a read-only link."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import ARTIFACTS, WIDE, ConsoleLog, Server
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.nn import load_preset

CONFIG = {"epochs": 1, "train_subset": 2048, "eval_limit": 256, "batch_size": 64}


@pytest.fixture(scope="module")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, mnist_data_dir: Path
) -> Iterator[Server]:
    """A second live server, in shared mode."""
    mnist = (mnist_data_dir / "mnist.safetensors").resolve()
    live = Server(
        tmp_path_factory.mktemp("e2e-shared"),
        mnist,
        ARTIFACTS / "e2e-shared-server.log",
        env={"NNP_SHARED_MODE": "true"},
    )
    yield live
    live.stop()


def _browser(chromium: Browser, server: Server, console: ConsoleLog) -> tuple[BrowserContext, Page]:
    """A separate browser profile: its own cookie, so its own person."""
    context = chromium.new_context(viewport=WIDE, base_url=server.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    return context, page


def test_a_shared_link_shows_the_run_read_only(
    chromium: Browser, shared_server: Server, console: ConsoleLog
) -> None:
    owner_context, owner = _browser(chromium, shared_server, console)
    viewer_context, viewer = _browser(chromium, shared_server, console)
    try:
        owner.goto("/")  # the first visit gives this browser its identity
        spec = load_preset("mlp").model_dump(mode="json", exclude_unset=True)
        model = owner.request.post("/api/models", data={"name": "mine", "spec": spec}).json()
        run = owner.request.post("/api/runs", data={"model_id": model["id"], "config": CONFIG})
        assert run.status == 201
        run_id = run.json()["id"]

        owner.goto(f"/runs/{run_id}")
        expect(owner.get_by_test_id("run-status")).to_have_text("completed", timeout=120_000)
        owner.get_by_test_id("share-run").click()
        link = owner.get_by_test_id("share-url")
        expect(link).to_be_visible()
        url = link.input_value()
        assert url.startswith(f"{shared_server.url}/runs/{run_id}?share=")

        viewer.goto("/runs")  # someone else: none of the owner's runs are listed
        expect(viewer.get_by_test_id("runs-table")).to_contain_text("No runs yet")
        assert viewer.request.get(f"/api/runs/{run_id}").status == 404
        expect(viewer.locator("footer")).to_contain_text("a shared server")
        viewer.get_by_test_id("token-button").click()  # a token for the viewer's scripts
        token = viewer.get_by_test_id("token-value")
        expect(token).to_be_visible()
        bearer = {"Authorization": f"Bearer {token.input_value()}"}
        me = viewer.request.get("/api/me").json()
        assert viewer.request.get("/api/me", headers=bearer).json()["user_id"] == me["user_id"]

        viewer.goto(url)
        expect(viewer.get_by_test_id("read-only-note")).to_be_visible()
        expect(viewer.get_by_test_id("run-status")).to_have_text("completed")
        expect(viewer.get_by_test_id("stat-test")).not_to_have_text("—")
        expect(viewer.get_by_test_id("train-pause")).to_be_hidden()
        expect(viewer.get_by_test_id("train-stop")).to_be_hidden()
        expect(viewer.get_by_test_id("share-run")).to_be_hidden()
        expect(viewer.get_by_test_id("loss-chart").locator("canvas").first).to_be_visible()
    finally:
        owner_context.close()
        viewer_context.close()
    assert not console.errors, "errors in the browser console:\n" + "\n".join(console.errors)
