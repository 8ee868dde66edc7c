"""Training in a real browser: preset → run, live charts and feature maps, controls."""

from __future__ import annotations

import re
import time
from typing import Any

from e2e_support import ONE, Server, draw, shoot
from playwright.sync_api import Page, expect


def test_train_a_preset_and_watch_it_learn(tab: Page, server: Server) -> None:
    tab.goto("/build")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    tab.get_by_test_id("preset-select").select_option("lenet5")
    expect(tab.get_by_test_id("total-params")).to_have_text("61,706")
    tab.get_by_label("Epochs", exact=True).fill("2")
    tab.get_by_text("More settings").click()
    tab.get_by_label("Train on first N digits").fill("20000")
    tab.get_by_label("Evaluate on first N digits").fill("500")
    tab.get_by_label("Max steps", exact=True).fill("400")
    tab.get_by_test_id("train-start").click()
    expect(tab).to_have_url(re.compile(r"/runs/[\w-]+$"))
    run_id = tab.url.rsplit("/", 1)[1]

    # live: the loss curve grows and the feature maps refresh while the run trains
    status = tab.get_by_test_id("run-status")
    expect(status).to_have_text(re.compile("queued|running"), timeout=30_000)
    chart = tab.get_by_test_id("loss-chart")
    maps_steps: set[str] = set()
    points: list[int] = []
    deadline = time.monotonic() + 120
    while status.inner_text() in ("queued", "running") and time.monotonic() < deadline:
        points.append(int(chart.get_attribute("data-points") or 0))
        maps_steps.add(tab.get_by_test_id("maps-step").inner_text())
        tab.wait_for_timeout(150)
    expect(status).to_have_text("completed", timeout=5_000)
    maps_steps.discard("")
    assert len(maps_steps) >= 2, f"the feature maps did not refresh: {maps_steps}"
    assert len(set(points)) >= 2, "the loss chart did not grow while training"

    run = server.api("GET", f"/api/runs/{run_id}")
    assert run["step"] == 400
    expect(tab.get_by_test_id("progress-text")).to_contain_text("step 400 of 400")
    assert int(chart.get_attribute("data-points") or 0) >= 10
    expect(tab.get_by_test_id("epoch-acc-chart")).to_have_attribute("data-points", "2")
    expect_milestone(tab, server.api("GET", f"/api/runs/{run_id}/metrics")["epochs"])
    maps = tab.get_by_test_id("feature-maps")
    expect(maps.locator(".fm-grid canvas")).to_have_count(6 + 6 + 16)  # filters, conv 0, conv 3
    probe = [
        float(tab.get_by_test_id(f"probe-prob-{d}").get_attribute("data-value") or 0)
        for d in range(10)
    ]
    assert abs(sum(probe) - 1) < 1e-3
    expect(tab.get_by_test_id("stat-test")).to_have_text(re.compile(r"\d+\.\d\d%"))
    expect(tab.get_by_test_id("stat-sps")).to_have_text(re.compile(r"[\d,]+ /s"))

    # the confusion matrix: a cell shows its digits
    cells = tab.get_by_test_id("confusion").get_by_role("button")
    expect(cells).to_have_count(100)
    cells.nth(3 * 10 + 3).click()
    expect(tab.locator("#cell-info")).to_contain_text("of the 3s were read correctly")
    expect(tab.locator("#cell-info")).to_contain_text("With the latest weights")
    expect(tab.locator("#cell-digits figure").first).to_contain_text("said 3")
    wrong = tab.evaluate(
        """() => [...document.querySelectorAll('[data-testid=confusion] button')]
        .map((b, i) => [i, Number(b.textContent)]).filter(([i, n]) => n > 0 && i % 11 !== 0)"""
    )
    if wrong:
        cells.nth(wrong[0][0]).click()
        expect(tab.locator("#cell-info")).to_contain_text(re.compile(r"read as a \d in epoch"))
    shoot(tab, "run-completed")


def expect_milestone(tab: Page, epochs: list[dict[str, Any]]) -> None:
    """The run page names the first epoch at 99% validation accuracy, or says there was none."""
    first = next((epoch for epoch in epochs if epoch["val_accuracy"] >= 0.99), None)
    expect(tab.get_by_test_id("milestone")).to_have_text(
        f"First reached 99% validation accuracy at epoch {first['epoch']}, "
        f"after {first['train_seconds']:.1f} s of training."
        if first
        else "Did not reach 99% validation accuracy."
    )


def test_pause_resume_learning_rate_and_stop(tab: Page, server: Server) -> None:
    model = server.api(
        "POST",
        "/api/models",
        {"name": "e2e long", "spec": server.api("GET", "/api/presets/mlp")["spec"]},
    )
    config = {"epochs": 50, "batch_size": 16, "schedule": "none", "eval_limit": 200}
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": config})
    try:
        tab.goto(f"/runs/{run['id']}")
        status = tab.get_by_test_id("run-status")
        expect(status).to_have_text("running", timeout=60_000)
        expect(tab.get_by_test_id("stat-loss")).to_have_text(re.compile(r"\d"), timeout=30_000)
        pause = tab.get_by_test_id("train-pause")
        expect(pause).to_have_text("Pause")
        pause.click()
        # the pause crosses to the training process and holds the run at its next step
        expect(status).to_have_text("paused", timeout=15_000)
        expect(pause).to_have_text("Resume")
        held = server.api("GET", f"/api/runs/{run['id']}")["step"]
        tab.wait_for_timeout(800)
        assert server.api("GET", f"/api/runs/{run['id']}")["step"] == held
        pause.click()
        expect(status).to_have_text("running")

        tab.get_by_test_id("lr-input").fill("0.0005")
        tab.get_by_test_id("lr-apply").click()
        expect(tab.get_by_test_id("run-message")).to_contain_text("Learning rate set to 0.0005")
        expect(tab.locator("#stat-lr")).to_have_text("0.0005", timeout=10_000)

        # the pad beside the charts predicts with the newest weights while the run trains
        draw(tab, "[data-testid=draw-canvas]", ONE)
        expect(tab.get_by_test_id("prediction")).to_have_text(re.compile(r"^\d$"))
        shoot(tab, "run-live", widths=(1440,))

        tab.get_by_test_id("train-stop").click()
        expect(status).to_have_text("stopped", timeout=15_000)
        expect(pause).to_be_disabled()
        expect(tab.get_by_test_id("train-stop")).to_be_disabled()
        expect(tab.get_by_test_id("train-again")).to_be_visible()
    finally:
        if server.api("GET", f"/api/runs/{run['id']}")["status"] in ("queued", "running", "paused"):
            server.api("POST", f"/api/runs/{run['id']}/stop")
