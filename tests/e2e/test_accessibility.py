"""Every page against axe-core's WCAG 2 A/AA rules (labels, contrast, roles), wide and narrow."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_support import QUICK_RUN, REPO_ROOT, Server, no_horizontal_scroll
from playwright.sync_api import Page, expect

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def finished_run(server: Server) -> dict[str, Any]:
    spec = server.api("GET", "/api/presets/lenet5")["spec"]
    model = server.api("POST", "/api/models", {"name": "a11y lenet5", "spec": spec})
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": QUICK_RUN})
    finished: dict[str, Any] = server.wait_for_run(run["id"], {"completed"})
    return finished


def axe_violations(tab: Page) -> list[str]:
    assert AXE.is_file(), "node_modules/axe-core is missing: run `npm ci`"
    # Evaluated through the devtools protocol: the page's CSP (rightly) refuses injected scripts.
    tab.evaluate(AXE.read_text())
    results = tab.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:4]]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [1440, 390])
@pytest.mark.parametrize(
    "path", ["/", "/build?preset=resnet-tiny", "/runs", "/draw", "/run", "/plane", "/datasets"]
)
def test_pages_pass_axe(tab: Page, finished_run: dict[str, Any], path: str, width: int) -> None:
    tab.set_viewport_size({"width": width, "height": 900})
    if path == "/run":
        path = f"/runs/{finished_run['id']}"
    tab.goto(path)
    if path != "/":
        expect(tab.locator("body[data-ready=true]")).to_be_attached()
    tab.wait_for_timeout(300)
    violations = axe_violations(tab)
    assert not violations, "\n".join(violations)
    no_horizontal_scroll(tab)


@pytest.mark.parametrize(
    "path", ["/", "/build?preset=vgg-tiny", "/runs", "/draw", "/run", "/plane", "/datasets"]
)
def test_no_layout_break_from_390_to_1920(
    tab: Page, finished_run: dict[str, Any], path: str
) -> None:
    if path == "/run":
        path = f"/runs/{finished_run['id']}"
    tab.goto(path)
    for width in (390, 600, 768, 1024, 1280, 1920):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.wait_for_timeout(150)
        no_horizontal_scroll(tab)
