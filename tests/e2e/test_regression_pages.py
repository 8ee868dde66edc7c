"""Regression runs in a real browser: losses instead of accuracies, on the run page, the runs
list and the Build page's dataset picker with a 2-D problem's settings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_support import ConsoleLog, Server, shoot
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations

# A network for the 2-D problems' two inputs that gives one value.
VALUE_NET = {
    "input_shape": [2],
    "layers": [
        {"type": "linear", "out_features": 8},
        {"type": "tanh"},
        {"type": "linear", "out_features": 1},
    ],
}
EPOCHS = 3
FIGURE = re.compile(r"^\d[\d.e+-]*$")  # a loss such as 0.0123 (no %, no NaN)


def start_plane_run(server: Server, name: str, noise: float = 0.0) -> str:
    model = server.api("POST", "/api/models", {"name": name, "spec": VALUE_NET})
    config = {"dataset": {"name": "plane", "noise": noise}, "epochs": EPOCHS, "batch_size": 16}
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": config})
    return str(run["id"])


@pytest.fixture(scope="module")
def plane_runs(server: Server) -> list[str]:
    """Two regression runs on the plane problem, started over REST (not waited for)."""
    return [start_plane_run(server, f"e2e plane {i}", noise) for i, noise in enumerate((0.0, 0.1))]


def test_a_regression_run_shows_losses_not_accuracies(
    tab: Page, server: Server, plane_runs: list[str]
) -> None:
    run_id = plane_runs[0]
    tab.goto(f"/runs/{run_id}")
    expect(tab.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    expect(tab.get_by_test_id("run-dataset")).to_have_text("plane")

    # the loss figures and curves, said to be lower-is-better
    expect(tab.get_by_test_id("stat-best-label")).to_have_text("Best val. loss")
    expect(tab.get_by_test_id("stat-test-label")).to_have_text("Test loss")
    expect(tab.get_by_test_id("stat-best")).to_have_text(FIGURE)
    expect(tab.get_by_test_id("stat-test")).to_have_text(FIGURE)
    expect(tab.get_by_test_id("stats-note")).to_contain_text("lower is better")
    expect(tab.get_by_test_id("epoch-loss-chart")).to_have_attribute("data-points", str(EPOCHS))
    expect(tab.get_by_test_id("loss-chart")).to_be_visible()
    done = server.api("GET", f"/api/runs/{run_id}/metrics")["done"]
    message = tab.get_by_test_id("run-message")
    expect(message).to_contain_text("test loss (mean squared error)")
    expect(message).to_contain_text(f"on the {done['test_count']:,} test samples it never saw")
    test_loss = float(tab.get_by_test_id("stat-test").inner_text())
    assert test_loss == pytest.approx(done["test_loss"], rel=1e-3)

    # nothing that needs an accuracy or classes
    for hook in ("stat-acc", "acc-chart", "epoch-acc-chart", "confusion-section", "milestone"):
        expect(tab.get_by_test_id(hook)).to_be_hidden()
    expect(tab.get_by_test_id("confusion").get_by_role("button")).to_have_count(0)
    text = tab.inner_text("body")
    assert "NaN" not in text
    assert "0.00%" not in text
    violations = axe_violations(tab)
    assert not violations, "\n".join(violations)
    shoot(tab, "run-regression")  # wide and narrow, without sideways scrolling


def test_the_runs_list_shows_test_losses_and_compares_regression_runs(
    tab: Page, server: Server, plane_runs: list[str]
) -> None:
    for run_id in plane_runs:
        server.wait_for_run(run_id, {"completed"}, timeout=90)
    tab.goto("/runs")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    for run_id in plane_runs:
        row = tab.locator(f"tr[data-run-id='{run_id}']")
        expect(row.get_by_test_id("run-test")).to_have_text(re.compile(r"^MSE \d"))
        expect(row.get_by_test_id("run-best")).to_have_text(re.compile(r"^MSE \d"))
        row.get_by_role("checkbox").check()
    tab.get_by_test_id("compare").click()
    panel = tab.get_by_test_id("compare-panel")
    expect(panel).to_be_visible()
    expect(tab.get_by_test_id("compare-note")).to_contain_text("no accuracy")
    expect(panel.locator("#cmp-val-loss .uplot")).to_have_count(1)
    expect(panel.locator("#cmp-val-acc")).to_be_hidden()
    expect(panel.locator("#cmp-acc")).to_be_hidden()


def test_the_build_page_sets_a_2d_problem_and_its_loss(
    tab: Page, server: Server, console: ConsoleLog
) -> None:
    console.allow(r"status of 422", r"/api/runs$")  # the out-of-range noise is refused
    tab.goto("/build?preset=mlp")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    loss = tab.get_by_label("Loss", exact=True)
    expect(loss).to_have_value("cross_entropy")
    expect(tab.get_by_test_id("dataset-params")).to_be_hidden()

    tab.get_by_test_id("dataset-select").select_option("plane")
    expect(tab.get_by_test_id("dataset-needs")).to_contain_text("1 output")
    expect(tab.get_by_test_id("dataset-needs")).to_contain_text("loss mse")
    expect(loss).to_have_value("mse")
    params = tab.get_by_test_id("dataset-params")
    expect(params).to_be_visible()
    listed = next(d for d in server.api("GET", "/api/datasets") if d["name"] == "plane")
    expect(params.get_by_label("Points")).to_have_value(str(listed["params"]["points"]))
    expect(params.get_by_label("x1", exact=True)).to_be_checked()
    params.get_by_label("x1·x2").check()  # a third input
    expect(tab.get_by_test_id("dataset-facts")).to_contain_text("input 3")
    expect(tab.get_by_test_id("dataset-fit")).to_be_visible()  # the MLP takes 28×28 and gives 10
    tab.get_by_test_id("dataset-adapt").click()
    expect(tab.get_by_test_id("dataset-fit")).to_be_hidden()

    # a setting out of range is marked with the server's words
    noise = params.get_by_label("Noise")
    noise.fill("0.9")
    tab.get_by_label("Epochs", exact=True).fill("1")
    tab.get_by_test_id("train-start").click()
    expect(tab.get_by_test_id("train-message")).to_contain_text("dataset.noise")
    expect(noise).to_have_attribute("aria-invalid", "true")
    expect(tab.get_by_test_id("dataset-select")).to_have_attribute("aria-invalid", "true")
    noise.fill("0.2")
    violations = axe_violations(tab)
    assert not violations, "\n".join(violations)
    shoot(tab, "build-2d-problem")
    tab.get_by_test_id("train-start").click()
    expect(tab).to_have_url(re.compile(r"/runs/\w+$"))
    run_id = tab.url.rsplit("/", 1)[1]

    config: dict[str, Any] = server.api("GET", f"/api/runs/{run_id}")["config"]
    assert config["dataset"]["name"] == "plane"
    assert config["dataset"]["noise"] == 0.2
    assert config["dataset"]["features"] == ["x1", "x2", "x1x2"]
    assert config["loss"] == "mse"
    expect(tab.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    expect(tab.get_by_test_id("stat-test-label")).to_have_text("Test loss")

    # back on the Build page, a classification problem brings cross_entropy back
    tab.goto("/build?preset=mlp&dataset=plane")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(loss).to_have_value("mse")
    tab.get_by_test_id("dataset-select").select_option("spiral")
    expect(loss).to_have_value("cross_entropy")
    expect(tab.get_by_test_id("dataset-needs")).to_contain_text("2 outputs, one score per class")
