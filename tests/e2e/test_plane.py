"""The 2-D playground in a real browser: it trains, the boundary changes, pause holds it, a new
learning rate or regularization reaches the run, a new network resets it, a regression problem
paints values; no console error, no CSP violation."""

from __future__ import annotations

import re
import time

from e2e_support import Server, shoot
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}`));
"""

# Every 41st pixel of the plane's canvas (RGB): enough to tell two pictures apart.
PIXELS = """() => {
  const canvas = document.querySelector("[data-testid=plane-boundary]");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let i = 0; i < data.length; i += 4 * 41) out.push(data[i], data[i + 1], data[i + 2]);
  return out;
}"""

SET_RANGE = """([selector, value]) => {
  const input = document.querySelector(selector);
  input.value = value;
  input.dispatchEvent(new Event("input", {bubbles: true}));
  input.dispatchEvent(new Event("change", {bubbles: true}));
}"""


def _step(tab: Page) -> int:
    return int(tab.get_by_test_id("plane-boundary").get_attribute("data-step") or -1)


def test_train_spiral_watch_the_boundary_pause_and_reset(tab: Page, server: Server) -> None:
    tab.add_init_script(RECORD_VIOLATIONS)
    tab.goto("/plane")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(tab.locator('nav a[aria-current="page"]')).to_have_text("2-D")
    expect(tab.get_by_test_id("plane-activation").locator("option[value=relu]")).to_be_attached()
    expect(tab.get_by_test_id("dataset-circle")).to_be_checked()
    tab.get_by_test_id("dataset-spiral").check()  # the classic: curls a small net must follow
    # batch size 1: 250 steps an epoch, so the run is still training when it is paused
    tab.evaluate(SET_RANGE, ["[data-testid=plane-batch]", "1"])
    expect(tab.locator("#plane-batch-value")).to_have_text("1")

    run_id = watch_it_learn(tab)
    change_the_learning_rate(tab)
    pause_holds_the_picture(tab, server, run_id)
    a_new_network_resets(tab, server, run_id)
    assert tab.evaluate("window.__csp") == []


def watch_it_learn(tab: Page) -> str:
    """Play: the run's points and pictures arrive, and the picture changes as it learns."""
    tab.get_by_test_id("plane-play").click()
    expect(tab.get_by_test_id("plane-status")).to_have_text(
        re.compile("queued|running"), timeout=20_000
    )
    canvas = tab.get_by_test_id("plane-boundary")
    expect(canvas).to_have_attribute("data-step", re.compile(r"^\d+$"), timeout=30_000)
    expect(canvas).to_have_attribute("data-points", "500")  # the run's own train + test points
    first_step, first = _step(tab), tab.evaluate(PIXELS)
    deadline = time.monotonic() + 20
    while _step(tab) <= first_step + 200 and time.monotonic() < deadline:
        tab.wait_for_timeout(100)
    later = tab.evaluate(PIXELS)
    changed = sum(a != b for a, b in zip(first, later, strict=True))
    assert _step(tab) > first_step and changed > len(first) // 20, (first_step, changed)
    # every neuron (4 + 2) and the output are painted, with a line per weight
    expect(tab.locator("canvas.plane-node.unit:not(.blank)")).to_have_count(4 + 2 + 1)
    expect(tab.locator("#plane-links path:not([hidden])")).to_have_count(2 * 4 + 4 * 2 + 2)
    expect(tab.get_by_test_id("plane-loss-chart")).not_to_have_attribute("data-points", "0")
    expect(tab.get_by_test_id("loss-train")).to_have_text(re.compile(r"^\d+\.\d{3}$"))
    return (tab.locator("#plane-run-link").get_attribute("href") or "").rsplit("/", 1)[1]


def change_the_learning_rate(tab: Page) -> None:
    """A new learning rate reaches the running run: no reset, the same run."""
    link = tab.locator("#plane-run-link").get_attribute("href")
    tab.get_by_test_id("plane-lr").select_option("0.01")
    expect(tab.get_by_test_id("plane-message")).to_contain_text("Learning rate 0.01")
    assert tab.locator("#plane-run-link").get_attribute("href") == link


def pause_holds_the_picture(tab: Page, server: Server, run_id: str) -> None:
    play = tab.get_by_test_id("plane-play")
    expect(play).to_have_attribute("aria-label", "Pause")
    play.click()
    expect(tab.get_by_test_id("plane-status")).to_have_text("paused", timeout=10_000)
    expect(play).to_have_attribute("aria-label", "Resume")
    held = _step(tab)
    tab.wait_for_timeout(1200)
    assert _step(tab) == held
    assert server.api("GET", f"/api/runs/{run_id}")["status"] == "paused"
    shoot(tab, "plane-paused")
    violations = axe_violations(tab)  # with every neuron, line and control drawn
    assert not violations, "\n".join(violations)


def a_new_network_resets(tab: Page, server: Server, run_id: str) -> None:
    """Resume, then add a layer: the run stops, the plane keeps its points."""
    tab.get_by_test_id("plane-play").click()
    status = tab.get_by_test_id("plane-status")
    expect(status).to_have_text("running", timeout=10_000)
    tab.get_by_test_id("layers-add").click()
    expect(tab.get_by_test_id("layers-count")).to_have_text("3 hidden layers")
    expect(status).to_have_text("ready")
    canvas = tab.get_by_test_id("plane-boundary")
    expect(canvas).not_to_have_attribute("data-step", re.compile("."))
    expect(canvas).to_have_attribute("data-points", "500")
    expect(tab.locator("canvas.plane-node.unit")).to_have_count(4 + 2 + 2 + 1)
    server.wait_for_run(run_id, {"stopped"}, timeout=20)


def test_a_regression_problem_paints_values_and_shows_a_test_loss(tab: Page) -> None:
    """`plane` is a regression: one output, the heatmap is the predicted value and changes as it
    learns, the run ends with a test loss, and no accuracy is shown."""
    tab.add_init_script(RECORD_VIOLATIONS)
    tab.goto("/plane")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    problems = tab.get_by_test_id("plane-datasets")
    expect(problems.get_by_role("group", name="Regression").locator("input")).to_have_count(2)
    tab.get_by_test_id("dataset-plane").check()
    legend = tab.get_by_test_id("plane-legend-title")
    expect(legend).to_have_text("Predicted value (−1…1)")
    expect(tab.get_by_test_id("test-acc")).to_be_hidden()
    # batch size 2: a few thousand steps, so the first picture comes well before the end
    tab.evaluate(SET_RANGE, ["[data-testid=plane-batch]", "2"])

    tab.get_by_test_id("plane-play").click()
    canvas = tab.get_by_test_id("plane-boundary")
    expect(canvas).to_have_attribute("data-step", re.compile(r"^\d+$"), timeout=30_000)
    expect(canvas).to_have_attribute("data-output", "value")
    expect(canvas).to_have_attribute("data-points", "500")
    first_step, first = _step(tab), tab.evaluate(PIXELS)
    expect(tab.get_by_test_id("plane-status")).to_have_text("completed", timeout=90_000)
    expect(tab.get_by_test_id("loss-test")).to_have_text(re.compile(r"^\d+\.\d{3}$"))
    later = tab.evaluate(PIXELS)
    changed = sum(a != b for a, b in zip(first, later, strict=True))
    assert _step(tab) > first_step and changed > len(first) // 20, (first_step, changed)
    expect(tab.get_by_test_id("test-acc")).to_be_hidden()
    expect(tab.get_by_test_id("loss-val")).to_have_text(re.compile(r"^\d+\.\d{3}$"))
    expect(tab.get_by_test_id("plane-frame-note")).to_contain_text("the predicted value")
    expect(tab.locator("canvas.plane-node.unit:not(.blank)")).to_have_count(4 + 2 + 1)
    expect(tab.locator("#plane-links path:not([hidden])")).to_have_count(2 * 4 + 4 * 2 + 2)
    shoot(tab, "plane-regression")

    tab.get_by_test_id("dataset-circle").check()  # back to a classification: its legend
    expect(legend).to_have_text("Probability of +1")
    expect(tab.get_by_test_id("test-acc")).to_be_visible()
    assert tab.evaluate("window.__csp") == []


def test_a_new_regularization_reaches_the_running_run(tab: Page, server: Server) -> None:
    """Regularization and its rate change while the run trains: a PATCH, the same run, no reset."""
    tab.goto("/plane")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    tab.evaluate(SET_RANGE, ["[data-testid=plane-batch]", "1"])  # a long run
    tab.get_by_test_id("plane-play").click()
    status = tab.get_by_test_id("plane-status")
    expect(status).to_have_text("running", timeout=30_000)
    canvas = tab.get_by_test_id("plane-boundary")
    expect(canvas).to_have_attribute("data-step", re.compile(r"^\d+$"), timeout=30_000)
    link = tab.locator("#plane-run-link").get_attribute("href") or ""
    run_id = link.rsplit("/", 1)[1]
    runs = len(server.api("GET", "/api/runs"))

    patches: list[object] = []
    tab.on("request", lambda r: patches.append(r.post_data_json) if r.method == "PATCH" else None)
    with tab.expect_response(lambda r: r.request.method == "PATCH") as answer:
        tab.get_by_test_id("plane-regularization").select_option("l2")
    assert answer.value.ok and run_id in answer.value.url
    message = tab.get_by_test_id("plane-message")
    expect(message).to_have_text("Regularization L2 from the next step.")
    with tab.expect_response(lambda r: r.request.method == "PATCH") as answer:
        tab.get_by_test_id("plane-regularization-rate").select_option("0.01")
    assert answer.value.ok
    expect(message).to_have_text("Regularization rate 0.01 from the next step.")
    assert patches == [{"regularization": "l2"}, {"regularization_rate": 0.01}]

    # the same run goes on, its pictures too: no reset, no new run
    expect(status).to_have_text("running")
    assert tab.locator("#plane-run-link").get_attribute("href") == link
    held = _step(tab)
    deadline = time.monotonic() + 10
    while _step(tab) <= held and time.monotonic() < deadline:
        tab.wait_for_timeout(100)
    assert _step(tab) > held
    assert len(server.api("GET", "/api/runs")) == runs
    assert server.api("GET", f"/api/runs/{run_id}")["status"] == "running"
    tab.get_by_test_id("plane-reset").click()
    server.wait_for_run(run_id, {"stopped"}, timeout=20)
