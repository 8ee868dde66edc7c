"""Drawing a digit for a trained run, the runs list, and comparing runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import QUICK_RUN, SEVEN, Server, draw, shoot
from playwright.sync_api import Page, expect


@pytest.fixture(scope="module")
def two_runs(server: Server) -> Iterator[list[dict[str, Any]]]:
    """Two small completed runs: LeNet-5 and the MLP."""
    runs = []
    for preset in ("lenet5", "mlp"):
        spec = server.api("GET", f"/api/presets/{preset}")["spec"]
        model = server.api("POST", "/api/models", {"name": f"e2e {preset}", "spec": spec})
        runs.append(server.api("POST", "/api/runs", {"model_id": model["id"], "config": QUICK_RUN}))
    yield [server.wait_for_run(run["id"], {"completed"}) for run in runs]


def test_draw_a_digit_and_see_the_prediction(tab: Page, two_runs: list[dict[str, Any]]) -> None:
    lenet = two_runs[0]
    tab.goto(f"/draw?run={lenet['id']}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(tab.get_by_test_id("run-select")).to_have_value(lenet["id"])
    expect(tab.get_by_test_id("prediction")).to_have_text("?")
    draw(tab, "[data-testid=draw-canvas]", SEVEN)
    expect(tab.get_by_test_id("prediction")).to_have_text(re.compile(r"^\d$"))
    bars = [tab.get_by_test_id(f"prob-{digit}") for digit in range(10)]
    expect(bars[9]).not_to_have_attribute("data-value", "0")
    probabilities = [float(bar.get_attribute("data-value") or "nan") for bar in bars]
    assert abs(sum(probabilities) - 1) < 1e-3, probabilities
    predicted = int(tab.get_by_test_id("prediction").inner_text())
    assert probabilities[predicted] == max(probabilities)
    # the 28×28 the model saw has ink; LeNet-5's two conv layers show their maps
    ink = tab.evaluate(
        """() => { const c = document.querySelector('[data-role=saw]');
        const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 0; return n; }"""
    )
    assert ink > 20
    maps = tab.get_by_test_id("feature-maps")
    expect(maps.locator(".fm-grid canvas")).to_have_count(6 + 16)
    shoot(tab, "draw")
    tab.get_by_test_id("draw-clear").click()
    expect(tab.get_by_test_id("prediction")).to_have_text("?")


def test_runs_list_and_compare(tab: Page, two_runs: list[dict[str, Any]]) -> None:
    tab.goto("/runs")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    for run in two_runs:
        row = tab.locator(f"tr[data-run-id='{run['id']}']")
        expect(row).to_contain_text("completed")
        expect(row).to_contain_text(re.compile(r"\d+\.\d\d%"))
        row.get_by_role("checkbox").check()
    tab.get_by_test_id("compare").click()
    panel = tab.get_by_test_id("compare-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#compare-legend > span")).to_have_count(2)
    expect(panel.locator(".uplot")).to_have_count(4)
    shoot(tab, "runs")
    # a past run opens with its charts drawn from the stored history
    tab.get_by_role("link", name="e2e mlp").first.click()
    expect(tab.get_by_test_id("run-status")).to_have_text("completed")
    expect(tab.get_by_test_id("loss-chart")).not_to_have_attribute("data-points", "0")
    expect(tab.get_by_test_id("feature-maps").locator(".fm-grid canvas")).to_have_count(0)
