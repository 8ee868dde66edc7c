"""The Draw page's "why did it say that?": the heatmap over the drawing, the method switch, a
class picked in the bars, and one feature-map unit's arithmetic."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import QUICK_RUN, SEVEN, Server, draw, shoot
from playwright.sync_api import Page, expect


@pytest.fixture(scope="module")
def lenet_and_mlp(server: Server) -> Iterator[list[dict[str, Any]]]:
    """Two small completed runs: LeNet-5 (two conv layers) and the MLP (none)."""
    runs = []
    for preset in ("lenet5", "mlp"):
        spec = server.api("GET", f"/api/presets/{preset}")["spec"]
        model = server.api("POST", "/api/models", {"name": f"why {preset}", "spec": spec})
        runs.append(server.api("POST", "/api/runs", {"model_id": model["id"], "config": QUICK_RUN}))
    yield [server.wait_for_run(run["id"], {"completed"}) for run in runs]


def _coloured(tab: Page) -> int:
    """Pixels of the overlay whose red and blue differ: heat, not grey."""
    count: int = tab.evaluate(
        """() => { const c = document.querySelector('[data-testid=why-overlay]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) n += Math.abs(d[i] - d[i + 2]) > 30;
        return n; }"""
    )
    return count


def test_the_heatmap_follows_the_drawing_method_and_class(
    tab: Page, lenet_and_mlp: list[dict[str, Any]]
) -> None:
    lenet, mlp = lenet_and_mlp
    tab.goto(f"/draw?run={lenet['id']}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    draw(tab, "[data-testid=draw-canvas]", SEVEN)
    overlay = tab.get_by_test_id("why-overlay")
    expect(overlay).to_have_attribute("data-method", "saliency")
    expect(tab.get_by_test_id("why-caption")).to_contain_text("Saliency for")
    assert _coloured(tab) > 10
    # … and over the drawing itself, where the preparation took the picture from
    on_pad = tab.get_by_test_id("why-pad")
    expect(on_pad).to_be_visible()
    heat = tab.evaluate(
        """() => { const c = document.querySelector('[data-testid=why-pad]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 40; return n; }"""
    )
    assert heat > 100, heat
    tab.get_by_test_id("why-on-pad").uncheck()
    expect(on_pad).to_be_hidden()
    tab.get_by_test_id("why-on-pad").check()

    tab.get_by_test_id("why-method-integrated_gradients").check()
    expect(overlay).to_have_attribute("data-method", "integrated_gradients")
    tab.get_by_test_id("why-method-gradcam").check()
    expect(overlay).to_have_attribute("data-method", "gradcam")
    expect(tab.get_by_test_id("why-layers").locator("canvas")).to_have_count(2)  # LeNet's convs

    predicted = int(tab.get_by_test_id("prediction").inner_text())
    other = (predicted + 1) % 10
    tab.get_by_test_id(f"prob-{other}").click()  # "why not …?"
    expect(overlay).to_have_attribute("data-target", str(other))
    expect(tab.get_by_test_id("why-target")).to_contain_text(f"the answer is {predicted}")
    back = tab.get_by_test_id("why-back")
    expect(back).to_be_visible()
    shoot(tab, "why-not")
    back.click()
    expect(overlay).to_have_attribute("data-target", str(predicted))
    expect(back).to_be_hidden()

    # a unit of the first conv layer's first map, at its top-left corner: padding and all
    first = tab.get_by_test_id("feature-maps").locator("canvas[data-path='0']").first
    first.scroll_into_view_if_needed()
    first.click(position={"x": 1, "y": 1})
    panel = tab.get_by_test_id("unit-math")
    expect(panel).to_be_visible()
    expect(panel.locator("td.pad").first).to_be_attached()  # LeNet's first conv pads by 2
    text = tab.get_by_test_id("unit-sum").inner_text()
    numbers = [float(n) for n in re.findall(r"-?\d+\.\d+", text)]
    summed, bias, total, value = numbers
    assert abs(summed + bias - total) < 2e-3 and abs(total - value) < 2e-3, text
    shoot(tab, "unit-math")
    tab.get_by_test_id("unit-close").click()
    expect(panel).to_be_hidden()

    # the MLP has no conv layer: Grad-CAM is off, with the reason
    tab.get_by_test_id("run-select").select_option(mlp["id"])
    draw(tab, "[data-testid=draw-canvas]", SEVEN)
    expect(tab.get_by_test_id("why-method-gradcam")).to_be_disabled()
    expect(tab.get_by_test_id("why-gradcam-note")).to_contain_text("needs a conv layer")
    expect(overlay).to_have_attribute("data-method", "saliency")
