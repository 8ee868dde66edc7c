"""Time travel in the browser: branching from the run page, the drawing's time strip."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import SEVEN, Server, draw, shoot
from playwright.sync_api import Page, expect

# LeNet-5 epochs of a couple of seconds each: every one is checkpointed (at most one a second).
SLOW_EPOCHS = {"epochs": 3, "train_subset": 4000, "eval_limit": 300, "batch_size": 64}


@pytest.fixture(scope="module")
def parent(server: Server) -> Iterator[dict[str, Any]]:
    """A completed LeNet-5 run with at least two kept epochs."""
    spec = server.api("GET", "/api/presets/lenet5")["spec"]
    model = server.api("POST", "/api/models", {"name": "e2e time travel", "spec": spec})
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": SLOW_EPOCHS})
    done = server.wait_for_run(run["id"], {"completed"}, timeout=240)
    kept = server.api("GET", f"/api/runs/{run['id']}/checkpoints")["epochs"]
    assert len(kept) >= 2, kept
    yield done


def test_branch_from_the_run_page(tab: Page, server: Server, parent: dict[str, Any]) -> None:
    tab.goto(f"/runs/{parent['id']}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    section = tab.get_by_test_id("branch-section")
    expect(section).to_be_visible()
    expect(tab.get_by_test_id("branch-origin")).to_be_hidden()  # the parent is no branch
    chooser = tab.get_by_test_id("branch-from")
    expect(chooser.locator("option").first).to_have_attribute("value", "1")
    chooser.select_option("1")
    tab.get_by_test_id("branch-lr").fill("0.001")
    tab.get_by_test_id("branch-epochs").fill("3")
    tab.get_by_test_id("branch-freeze-0").check()  # the first conv layer keeps its filters
    shoot(tab, "branch-form")
    tab.get_by_test_id("branch-start").click()

    tab.wait_for_url(re.compile(r"/runs/(?!" + parent["id"] + r")\w+$"), timeout=60_000)
    branch_id = tab.url.rsplit("/", 1)[1]
    expect(tab.get_by_test_id("branch-origin")).to_be_visible()
    expect(tab.get_by_test_id("branch-parent")).to_have_attribute("href", f"/runs/{parent['id']}")
    expect(tab.get_by_test_id("branch-epoch-shown")).to_have_text("1")
    expect(tab.get_by_test_id("branch-note")).to_contain_text("adam state carried over")
    branch = server.wait_for_run(branch_id, {"completed"}, timeout=240)
    assert branch["config"]["lr"] == 0.001 and branch["config"]["frozen"] == ["0"]
    expect(tab.get_by_test_id("run-status")).to_have_text("completed", timeout=30_000)
    # the parent's epoch 1, then the branch's epochs 2 and 3, on one curve
    expect(tab.get_by_test_id("epoch-loss-chart")).to_have_attribute("data-points", "3")
    shoot(tab, "branch-run")

    # in compare, the branch's curves start from its parent's
    tab.goto(f"/runs?compare={parent['id']},{branch_id}")
    panel = tab.get_by_test_id("compare-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#compare-legend > span")).to_have_count(2)
    epochs = tab.evaluate(
        """async (id) => {
            const api = await import("/static/js/api.js");
            const { lineageMetrics } = await import("/static/js/lineage.js");
            return (await lineageMetrics(await api.run(id))).epochs.map((e) => e.epoch);
        }""",
        branch_id,
    )
    assert epochs == [1, 2, 3]  # what compare draws for the branch


def test_the_drawing_through_time(tab: Page, server: Server, parent: dict[str, Any]) -> None:
    kept = server.api("GET", f"/api/runs/{parent['id']}/checkpoints")["epochs"]
    tab.goto(f"/draw?run={parent['id']}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    strip = tab.get_by_test_id("time-strip")
    expect(strip).to_be_visible()
    expect(tab.get_by_test_id("time-strip-state")).to_contain_text("Draw")
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url) if "through-time" in r.url else None)
    draw(tab, "[data-testid=draw-canvas]", SEVEN)
    epochs = tab.get_by_test_id("time-strip-epochs").locator("li")
    expect(epochs).to_have_count(len(kept))
    expect(epochs.first).to_contain_text(re.compile(r"epoch 1: \d \d+%"))
    expect(tab.get_by_test_id("time-strip-canvas")).to_have_attribute(
        "aria-label", re.compile(rf"at {len(kept)} saved epochs")
    )
    expect(tab.get_by_test_id("prediction")).to_have_text("7")  # the newest weights
    expect(epochs.last.locator("b")).to_have_text("7")  # the newest kept epoch agrees
    assert len(requests) == 1, requests  # one request for one stroke
    shoot(tab, "time-strip")
    tab.get_by_test_id("draw-clear").click()
    expect(epochs).to_have_count(0)
