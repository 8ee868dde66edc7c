"""The compare view shows what differs between two runs beside their curves: the layers added,
removed and changed with their parameter deltas, and the settings that differ."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import Server, shoot
from playwright.sync_api import Page, expect

TINY = {"epochs": 1, "train_subset": 512, "eval_limit": 128, "batch_size": 64, "max_steps": 4}
NARROW = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}
WIDER = {
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "out_features": 32},
        {"type": "relu"},
        {"type": "linear", "out_features": 10},
    ]
}


@pytest.fixture(scope="module")
def narrow_and_wider(server: Server) -> Iterator[list[dict[str, Any]]]:
    """Two tiny completed runs whose models and learning rates differ."""
    runs = []
    for name, spec, lr in (("e2e narrow", NARROW, 0.003), ("e2e wider", WIDER, 0.01)):
        model = server.api("POST", "/api/models", {"name": name, "spec": spec})
        config = {**TINY, "lr": lr}
        runs.append(server.api("POST", "/api/runs", {"model_id": model["id"], "config": config}))
    yield [server.wait_for_run(run["id"], {"completed"}) for run in runs]


def test_the_compare_view_shows_the_diff(tab: Page, narrow_and_wider: list[dict[str, Any]]) -> None:
    ids = ",".join(run["id"] for run in narrow_and_wider)
    tab.goto(f"/runs?compare={ids}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    diff = tab.get_by_test_id("compare-diff")
    expect(diff).to_be_visible()
    rows = diff.get_by_test_id("diff-layer")
    expect(rows).to_have_count(4)
    expect(diff.locator("tr[data-change=added]")).to_have_count(2)
    changed = diff.locator("tr[data-change=changed]")
    expect(changed).to_contain_text("out_features 10 → 32")
    expect(changed).to_contain_text("+17,270")  # (784·32 + 32) − (784·10 + 10)
    totals = diff.get_by_test_id("diff-totals")
    expect(totals).to_contain_text("2 added, 0 removed, 1 changed")
    expect(totals).to_contain_text("7,850 → 25,450 (+17,600)")
    expect(diff).not_to_contain_text("null")
    expect(diff.get_by_test_id("diff-config")).to_contain_text("lr")
    expect(tab.get_by_test_id("compare-panel").locator(".uplot")).to_have_count(4)
    shoot(tab, "compare-diff")
