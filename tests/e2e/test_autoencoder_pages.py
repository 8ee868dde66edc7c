"""An autoencode run's page in a real browser: its reconstructions, its code space, a point of the
code space decoded, and no accuracy anywhere; a drawing rebuilt on the draw page; under the strict
CSP, without console errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_support import SEVEN, Server, draw, shoot
from playwright.sync_api import Page, Response, expect
from test_accessibility import axe_violations

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}`));
"""

# For each canvas matched: [its darkest and brightest grey] (blank: the same value everywhere).
CANVAS_RANGES = """(canvases) => canvases.map((canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let low = 255, high = 0;
  for (let i = 0; i < data.length; i += 4) {
    low = Math.min(low, data[i]);
    high = Math.max(high, data[i]);
  }
  return [low, high];
})"""


@pytest.fixture(scope="module")
def autoencoder_run(server: Server) -> str:
    """A small run of the `autoencoder` preset (its code has two numbers), started over REST."""
    preset: dict[str, Any] = server.api("GET", "/api/presets/autoencoder")
    model = server.api("POST", "/api/models", {"name": "e2e autoencoder", "spec": preset["spec"]})
    config = {**preset["config"], "train_subset": 2000, "eval_limit": 500, "epochs": 2}
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": config})
    return str(run["id"])


def not_blank(tab: Page, selector: str) -> list[list[int]]:
    ranges: list[list[int]] = tab.locator(selector).evaluate_all(CANVAS_RANGES)
    assert ranges, f"no canvas {selector}"
    blank = [i for i, (low, high) in enumerate(ranges) if high - low < 40]
    assert not blank, f"blank {selector} canvases {blank}: {ranges}"
    return ranges


def test_an_autoencode_run_shows_reconstructions_and_decodes_its_code_space(
    tab: Page, server: Server, autoencoder_run: str
) -> None:
    tab.add_init_script(RECORD_VIOLATIONS)
    decodes: list[Response] = []
    tab.on("response", lambda r: decodes.append(r) if r.url.endswith("/decode") else None)
    tab.goto(f"/runs/{autoencoder_run}")
    expect(tab.get_by_test_id("run-status")).to_have_text("completed", timeout=120_000)

    # the losses, as for a regression run; nothing that needs an accuracy or a probe
    expect(tab.get_by_test_id("stat-best-label")).to_have_text("Best val. loss")
    expect(tab.get_by_test_id("stats-note")).to_contain_text("rebuilds its input")
    expect(tab.get_by_test_id("run-message")).to_contain_text("test reconstruction loss (mse)")
    hidden = ("stat-acc", "acc-chart", "epoch-acc-chart", "confusion-section", "milestone")
    for hook in (*hidden, "feature-maps"):
        expect(tab.get_by_test_id(hook)).to_be_hidden()
    assert "%" not in tab.get_by_test_id("stat-best").inner_text()

    # eight test images and their reconstructions (no noisy row: not a denoiser)
    expect(tab.get_by_test_id("reconstructions")).to_be_visible()
    expect(tab.get_by_test_id("recon-originals")).to_have_count(8)
    expect(tab.get_by_test_id("recon-outputs")).to_have_count(8)
    expect(tab.get_by_test_id("recon-inputs")).to_have_count(0)
    not_blank(tab, "[data-testid=recon-originals]")
    not_blank(tab, "[data-testid=recon-outputs]")

    # the code space of each epoch, the newest shown, with a legend of the digits
    scatter = tab.get_by_test_id("codes-canvas")
    expect(tab.get_by_test_id("codes-epoch").locator("option")).to_have_count(2)
    expect(tab.get_by_test_id("codes-epoch")).to_have_value("2")
    expect(tab.get_by_test_id("codes-caption")).to_contain_text("the code itself")
    points = int(scatter.get_attribute("data-points") or 0)
    assert points > 100
    expect(tab.get_by_test_id("codes-legend").locator("li")).to_have_count(10)
    not_blank(tab, "[data-testid=codes-canvas]")

    # a click decodes that point with the latest weights
    with tab.expect_response(lambda r: r.url.endswith("/decode")) as answer:
        scatter.click(position={"x": 120, "y": 140})
    assert answer.value.status == 200
    assert len(answer.value.json()["reconstruction"][0]) == 28
    expect(tab.get_by_test_id("codes-decoded")).to_have_attribute("data-decoded", "1")
    note = tab.get_by_test_id("codes-decoded-note")
    expect(note).to_contain_text("decoded with the weights of step")
    not_blank(tab, "[data-testid=codes-decoded]")

    # a drag sends at most one request at a time and ends decoded
    box = scatter.bounding_box()
    assert box is not None
    tab.mouse.move(box["x"] + 60, box["y"] + 60)
    tab.mouse.down()
    for step in range(12):
        tab.mouse.move(box["x"] + 60 + step * 15, box["y"] + 60 + step * 10)
    tab.mouse.up()
    expect(tab.get_by_test_id("codes-decoded")).not_to_have_attribute("data-decoded", "1")
    tab.wait_for_timeout(500)
    assert decodes and all(r.status == 200 for r in decodes)

    # an earlier epoch can be looked at
    tab.get_by_test_id("codes-epoch").select_option("1")
    expect(tab.get_by_test_id("codes-caption")).to_contain_text("Epoch 1")
    assert tab.evaluate("window.__csp") == []
    violations = axe_violations(tab)
    assert not violations, "\n".join(violations)
    shoot(tab, "run-autoencoder")  # wide and narrow, without sideways scrolling


def test_a_drawing_on_an_autoencode_runs_page_is_rebuilt(
    tab: Page, server: Server, autoencoder_run: str
) -> None:
    server.wait_for_run(autoencoder_run, {"completed"})
    tab.add_init_script(RECORD_VIOLATIONS)
    tab.goto(f"/runs/{autoencoder_run}")
    expect(tab.get_by_test_id("run-status")).to_have_text("completed")
    expect(tab.locator("#draw-title")).to_contain_text("see what it rebuilds")
    draw(tab, "[data-testid=draw-canvas]", SEVEN)
    expect(tab.get_by_test_id("reconstruction")).to_be_visible()
    expect(tab.get_by_test_id("code")).to_contain_text("code: [")
    not_blank(tab, "[data-testid=reconstruction]")
    assert tab.evaluate("window.__csp") == []


def test_a_drawing_is_rebuilt_by_an_autoencoder_on_the_draw_page(
    tab: Page, server: Server, autoencoder_run: str
) -> None:
    server.wait_for_run(autoencoder_run, {"completed"})
    tab.add_init_script(RECORD_VIOLATIONS)
    tab.goto(f"/draw?run={autoencoder_run}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(tab.get_by_test_id("run-select")).to_have_value(autoencoder_run)
    expect(tab.get_by_test_id("reconstruction")).to_be_hidden()  # nothing drawn yet
    draw(tab, "[data-testid=draw-canvas]", SEVEN)

    # what it rebuilt from the two numbers of its code, instead of a digit and probabilities
    expect(tab.get_by_test_id("reconstruction")).to_be_visible()
    expect(tab.get_by_test_id("code")).to_have_text(
        re.compile(r"^code: \[-?\d+\.\d\d, -?\d+\.\d\d\]$")
    )
    not_blank(tab, "[data-testid=reconstruction]")
    expect(tab.get_by_test_id("prediction")).to_be_hidden()
    expect(tab.get_by_test_id("prob-0")).to_be_hidden()

    # cleared, the panel waits for a drawing again
    tab.get_by_test_id("draw-clear").click()
    expect(tab.get_by_test_id("code")).to_have_text("")
    assert tab.evaluate("window.__csp") == []
