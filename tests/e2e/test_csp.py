"""Every page under the strict Content-Security-Policy: no violation, and the pages still work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import QUICK_RUN, SEVEN, ConsoleLog, Server, draw
from playwright.sync_api import Page, Route, expect

# Recorded from the first moment of each document, before any page script runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}`));
"""

# What pages used to set in style="" attributes, now in app.css: (selector, property, value).
LAYOUT = {
    "/build": [
        ("#build-message", "flex-basis", "100%"),
        ("#io-input", "--parent-margin-top", "9.6px"),
        ("#train-more", "margin-top", "9.6px"),
        ("#train-more-fields", "margin-top", "8px"),
        ("#train-start", "--parent-margin-top", "12.8px"),
    ],
    "/runs": [("#compare-panel", "margin-top", "16px")],
    "/draw": [
        ("#run-note", "--next-margin-top", "16px"),
        ("figure.saw", "margin", "0px"),
    ],
    "run": [
        ("#progress-text", "--parent-justify-content", "space-between"),
        ("#progress", "margin", "6.4px 0px 12.8px"),
        ("#lr-input", "width", "136px"),
        ("#lr-apply", "align-self", "end"),
        ("#probe-image", "--parent-margin", "0px"),
        ("#probe-prediction", "font-size", "48px"),
        ("#confusion-epoch", "--parent-flex-direction", "row"),
    ],
}
COMPUTED = """([selector, property]) => {
  let el = document.querySelector(selector);
  if (property.startsWith("--parent-")) { el = el.parentElement; property = property.slice(9); }
  if (property.startsWith("--next-")) {
    el = el.closest("section").nextElementSibling; property = property.slice(7);
  }
  return getComputedStyle(el).getPropertyValue(property);
}"""


@pytest.fixture(scope="module")
def two_runs(server: Server) -> list[dict[str, Any]]:
    """Two small completed runs: LeNet-5 (conv layers, so feature maps too) and the MLP."""
    runs = []
    for preset in ("lenet5", "mlp"):
        spec = server.api("GET", f"/api/presets/{preset}")["spec"]
        model = server.api("POST", "/api/models", {"name": f"csp {preset}", "spec": spec})
        runs.append(server.api("POST", "/api/runs", {"model_id": model["id"], "config": QUICK_RUN}))
    return [server.wait_for_run(run["id"], {"completed"}) for run in runs]


@pytest.fixture
def finished_run(two_runs: list[dict[str, Any]]) -> dict[str, Any]:
    return two_runs[0]


@pytest.fixture
def guarded(tab: Page) -> Iterator[Page]:
    """The tab, recording CSP violations; the test fails if any happened."""
    tab.add_init_script(RECORD_VIOLATIONS)
    yield tab
    violations = tab.evaluate("window.__csp")
    assert violations == [], f"CSP violations on {tab.url}: {violations}"


def open_page(tab: Page, path: str, ready: bool = True) -> None:
    answer = tab.goto(path)
    assert answer is not None and answer.ok, path
    csp = answer.header_value("content-security-policy") or ""
    assert "script-src 'self' 'sha256-" in csp and "style-src 'self';" in csp, csp
    if ready:
        expect(tab.locator("body[data-ready=true]")).to_be_attached()


def check_layout(tab: Page, page: str) -> None:
    for selector, prop, value in LAYOUT[page]:
        assert tab.evaluate(COMPUTED, [selector, prop]) == value, (page, selector, prop)


def test_home_page(guarded: Page) -> None:
    open_page(guarded, "/", ready=False)
    expect(guarded.locator("tr[data-preset=lenet5]")).to_contain_text("61,706")
    assert guarded.evaluate("getComputedStyle(document.body).display") == "flex"  # app.css loaded


def test_builder(guarded: Page, server: Server) -> None:
    open_page(guarded, "/build?preset=lenet5")
    expected = server.api("GET", "/api/presets/lenet5")["summary"]["total_params"]
    expect(guarded.get_by_test_id("total-params")).to_have_text(f"{expected:,}")
    expect(guarded.locator("#layer-list li.layer")).not_to_have_count(0)
    check_layout(guarded, "/build")


def test_runs_list(guarded: Page, finished_run: dict[str, Any]) -> None:
    open_page(guarded, "/runs")
    expect(guarded.locator(f"tr[data-run-id='{finished_run['id']}']")).to_contain_text("completed")
    check_layout(guarded, "/runs")


def test_draw(guarded: Page, finished_run: dict[str, Any]) -> None:
    open_page(guarded, f"/draw?run={finished_run['id']}")
    draw(guarded, "[data-testid=draw-canvas]", SEVEN)
    expect(guarded.get_by_test_id("prediction")).to_have_text(re.compile(r"^\d$"))
    expect(guarded.get_by_test_id("feature-maps").locator(".fm-grid canvas")).not_to_have_count(0)
    check_layout(guarded, "/draw")


def test_run_page_charts_and_socket(guarded: Page, finished_run: dict[str, Any]) -> None:
    open_page(guarded, f"/runs/{finished_run['id']}")
    expect(guarded.get_by_test_id("run-status")).to_have_text("completed")  # via the websocket
    expect(guarded.get_by_test_id("loss-chart")).not_to_have_attribute("data-points", "0")
    expect(guarded.get_by_test_id("loss-chart").locator(".uplot canvas")).to_have_count(1)
    expect(guarded.locator("#confusion button")).not_to_have_count(0)
    check_layout(guarded, "run")


def test_api_reference(guarded: Page) -> None:
    """Swagger UI, from npm, renders every operation and can call the API under the CSP."""
    answer = guarded.goto("/docs")
    assert answer is not None and answer.ok
    operation = guarded.locator("#operations-layers-read_layers_api_layers_get")
    expect(operation).to_be_visible(timeout=20_000)
    expect(guarded.locator(".opblock")).not_to_have_count(0)
    operation.locator(".opblock-summary").click()
    guarded.get_by_role("button", name="Try it out").click()
    guarded.get_by_role("button", name="Execute").click()
    expect(
        operation.locator(".live-responses-table tbody .response-col_status").first
    ).to_have_text("200")


def test_missing_run_page(guarded: Page, console: ConsoleLog) -> None:
    console.allow("status of 404", r"/runs/nosuchrun$")
    answer = guarded.goto("/runs/nosuchrun")
    assert answer is not None and answer.status == 404
    assert "content-security-policy" in answer.headers
    expect(guarded.get_by_role("heading", name="No such run")).to_be_visible()


def test_compare_runs(tab: Page, two_runs: list[dict[str, Any]], console: ConsoleLog) -> None:
    console.allow("Content Security Policy")  # checked below, inside the test
    tab.add_init_script(RECORD_VIOLATIONS)
    open_page(tab, "/runs")
    for run in two_runs:
        tab.locator(f"tr[data-run-id='{run['id']}']").get_by_role("checkbox").check()
    tab.get_by_test_id("compare").click()
    expect(tab.locator("#compare-legend > span")).to_have_count(2)
    expect(tab.get_by_test_id("compare-panel").locator(".uplot")).to_have_count(4)
    assert tab.evaluate("window.__csp") == []


def test_docs_fetch_nothing_off_site(guarded: Page) -> None:
    """/docs is complete with what this server serves: no request leaves it."""
    outside: list[str] = []

    def refuse(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    guarded.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), refuse)
    guarded.goto("/docs")
    expect(guarded.locator(".opblock").first).to_be_visible(timeout=20_000)
    guarded.wait_for_load_state("networkidle")
    assert outside == []
