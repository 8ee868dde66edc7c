"""The run page's inside views in a real browser: per-layer gradient norms (bars and over time),
update ratios and histograms of weights and activations, drawn live while a run trains."""

from __future__ import annotations

import time
from typing import Any

from e2e_support import Server, shoot
from playwright.sync_api import Page, expect

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}`));
"""

INK = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  return inked;
}"""


def _deep_sigmoid_run(server: Server) -> str:
    preset: dict[str, Any] = server.api("GET", "/api/presets/deep-sigmoid")
    model = server.api("POST", "/api/models", {"name": "e2e deep-sigmoid", "spec": preset["spec"]})
    config = {**preset["config"], "train_subset": 30000, "eval_limit": 500, "epochs": 30}
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": config})
    return str(run["id"])


def test_the_run_page_draws_gradients_and_histograms_while_training(
    tab: Page, server: Server
) -> None:
    run_id = _deep_sigmoid_run(server)
    tab.add_init_script(RECORD_VIOLATIONS)
    tab.goto(f"/runs/{run_id}")
    status = tab.get_by_test_id("run-status")
    section = tab.get_by_test_id("inside-views")
    expect(section).to_be_visible(timeout=60_000)

    # live: while the run trains, the charts gain points and the histograms gain frames
    chart = tab.get_by_test_id("grad-norm-chart")
    weights = tab.get_by_test_id("weight-histograms")
    points: set[int] = set()
    frames: set[int] = set()
    deadline = time.monotonic() + 60
    while len(points) < 3 and time.monotonic() < deadline:
        assert status.inner_text() in ("queued", "running"), "the run ended too soon"
        points.add(int(chart.get_attribute("data-points") or 0))
        frames.add(int(weights.get_attribute("data-frames") or 0))
        tab.wait_for_timeout(300)
    assert len(points) >= 3, f"the gradient chart did not grow while training: {points}"
    assert len(frames) >= 2, f"the weight histograms did not grow: {frames}"

    # nine linear layers: a bar each; every canvas has ink on it
    expect(tab.get_by_test_id("grad-bars")).to_have_attribute("data-bars", "9")
    for hook in ("grad-bars", "weight-histograms", "activation-histograms"):
        assert tab.get_by_test_id(hook).evaluate(INK) > 500, f"{hook} is blank"
    expect(tab.get_by_test_id("update-ratio-chart")).not_to_have_attribute("data-points", "0")
    expect(tab.get_by_test_id("dead-relu-chart")).to_be_hidden()  # sigmoids only

    # the layer pickers: weights of linear layers, outputs of the sigmoids
    picker = tab.get_by_test_id("weights-layer")
    expect(picker.locator("option")).to_have_count(9)
    expect(tab.get_by_test_id("acts-layer").locator("option")).to_have_count(8)
    picker.select_option("17")
    expect(tab.locator("#inside-weights-caption")).to_contain_text("weights from")
    assert tab.get_by_test_id("weight-histograms").evaluate(INK) > 500

    # the product's own explanation sits beside the views
    box = section.locator("details[data-explain=vanishing_gradients]")
    box.locator("summary").click()
    expect(box).to_contain_text("a million times smaller")
    shoot(tab, "inside-views", widths=(1440,))
    assert tab.evaluate("window.__csp") == []  # the strict CSP: nothing blocked

    # the first layer's gradient is orders of magnitude below the last's (from the history)
    steps = server.api("GET", f"/api/runs/{run_id}/metrics")["steps"]
    last = [step for step in steps if step.get("layers")][-1]
    linear = [layer for layer in last["layers"] if layer["type"] == "linear"]
    assert linear[0]["grad_norm"] < 1e-3 * linear[-1]["grad_norm"]
    server.api("POST", f"/api/runs/{run_id}/stop")
    server.wait_for_run(run_id, {"stopped", "completed"})
