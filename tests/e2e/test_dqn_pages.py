"""A deep Q-learning run in a real browser: its return curve, ε, the cart and the pole drawn live
and the greedy episode replayed (also on the page of the finished run loaded later), no accuracy
anywhere; its mean return in the runs list and beside a classifier in the compare view; the
Build page's dqn-cartpole preset starting a dqn run. Under the strict CSP, without console
errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_support import Server, shoot
from playwright.sync_api import Page, expect
from test_accessibility import axe_violations
from test_autoencoder_pages import RECORD_VIOLATIONS, not_blank

# A short run: ~1 s of filling the buffer, a few seconds of learning, then 10 greedy episodes.
TASK = {"name": "dqn", "env_steps": 2_000, "learn_starts": 500, "eval_episodes": 3}
RETURN = re.compile(r"^\d+(\.\d)?$")  # a return such as 23.5 or 500 (no %, no NaN)


@pytest.fixture(scope="module")
def dqn_run(server: Server) -> str:
    """A short run of the dqn-cartpole preset, started over REST (not waited for)."""
    preset: dict[str, Any] = server.api("GET", "/api/presets/dqn-cartpole")
    model = server.api("POST", "/api/models", {"name": "e2e cartpole", "spec": preset["spec"]})
    config = {**preset["config"], "task": TASK}
    run = server.api("POST", "/api/runs", {"model_id": model["id"], "config": config})
    return str(run["id"])


def test_a_dqn_run_shows_returns_the_cart_and_replays_the_greedy_episode(
    tab: Page, server: Server, dqn_run: str
) -> None:
    tab.add_init_script(RECORD_VIOLATIONS)
    tab.goto(f"/runs/{dqn_run}")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    expect(tab.get_by_test_id("run-dataset")).to_have_text("CartPole-v1 (gymnasium)")

    # while it trains: episodes on the return curve, ε falling, the episode in play drawn
    canvas = tab.get_by_test_id("cartpole-canvas")
    expect(canvas).to_have_attribute("data-mode", re.compile("training|greedy"), timeout=60_000)
    expect(tab.get_by_test_id("returns-chart")).to_have_attribute(
        "data-points", re.compile(r"^[1-9]")
    )
    expect(tab.get_by_test_id("epsilon-chart")).to_have_attribute(
        "data-points", re.compile(r"^[1-9]")
    )
    expect(tab.get_by_test_id("stat-epsilon")).to_have_text(re.compile(r"^0\.\d{3}$|^1\.000$"))
    expect(tab.get_by_test_id("cartpole-caption")).to_contain_text(
        re.compile(r"Episode \d+|Greedy")
    )
    not_blank(tab, "[data-testid=cartpole-canvas]")

    # the parts that need an accuracy, classes or pictures are not there
    hidden = ("stat-acc", "acc-chart", "epoch-acc-chart", "epoch-loss-chart", "confusion-section")
    for hook in (*hidden, "milestone", "feature-maps"):
        expect(tab.get_by_test_id(hook)).to_be_hidden()
    expect(tab.locator("#draw-section")).to_be_hidden()
    expect(tab.get_by_test_id("loss-chart")).to_be_visible()

    # finished: the figures of its returns, and the greedy episode to replay
    expect(tab.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    done = server.api("GET", f"/api/runs/{dqn_run}/metrics")["done"]
    expect(tab.get_by_test_id("stat-best-label")).to_have_text("Mean return (last 100)")
    expect(tab.get_by_test_id("stat-best")).to_have_text(RETURN)
    assert float(tab.get_by_test_id("stat-best").inner_text()) == pytest.approx(
        done["mean_return"], abs=0.06
    )
    expect(tab.get_by_test_id("stat-test-label")).to_have_text("Best return")
    expect(tab.get_by_test_id("stat-episodes")).to_have_text(f"{done['episodes']:,}")
    expect(tab.get_by_test_id("stat-env-sps")).to_have_text(re.compile(r"^[\d,]+ /s$"))
    expect(tab.get_by_test_id("progress-text")).to_contain_text("step 2,000 of 2,000")
    expect(tab.get_by_test_id("run-message")).to_contain_text(f"{done['episodes']} episodes")
    expect(tab.get_by_test_id("run-message")).to_contain_text("Played greedily")
    expect(tab.get_by_test_id("returns-chart")).to_have_attribute(
        "data-points", str(done["episodes"])
    )
    replay_plays(tab)
    text = tab.inner_text("body")
    assert "NaN" not in text and "%" not in tab.get_by_test_id("stat-best").inner_text()
    assert tab.evaluate("window.__csp") == []

    # the finished run, loaded later: everything from its history, the replay too
    tab.reload()
    wait_ready(tab)
    expect(tab.get_by_test_id("returns-chart")).to_have_attribute(
        "data-points", str(done["episodes"])
    )
    expect(canvas).to_have_attribute("data-mode", "greedy")
    replay_plays(tab)
    violations = axe_violations(tab)
    assert not violations, "\n".join(violations)
    shoot(tab, "run-dqn")  # wide and narrow, without sideways scrolling


def wait_ready(tab: Page) -> None:
    """The run page started (else what it said)."""
    try:
        expect(tab.locator("body[data-ready=true]")).to_be_attached(timeout=30_000)
    except AssertionError as error:
        said = tab.get_by_test_id("run-message").inner_text()
        raise AssertionError(f"the run page did not start: {said!r}") from error


def replay_plays(tab: Page) -> None:
    """Replay plays the greedy episode: the state shown moves on in real time."""
    replay = tab.get_by_test_id("cartpole-replay")
    expect(replay).to_be_enabled()
    replay.click()
    canvas = tab.get_by_test_id("cartpole-canvas")
    expect(canvas).to_have_attribute("data-mode", "greedy")
    expect(canvas).to_have_attribute("data-playing", "true")
    tab.wait_for_timeout(400)  # 0.02 s per step: about 20 steps
    first = int(canvas.get_attribute("data-index") or 0)
    tab.wait_for_timeout(400)
    assert int(canvas.get_attribute("data-index") or 0) > first
    expect(tab.get_by_test_id("cartpole-caption")).to_contain_text("Greedy episode")
    not_blank(tab, "[data-testid=cartpole-canvas]")


def test_the_runs_list_shows_the_mean_return_and_compares_a_dqn_run(
    tab: Page, server: Server, dqn_run: str
) -> None:
    classifier = server.api(
        "POST",
        "/api/models",
        {
            "name": "e2e tiny",
            "spec": {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]},
        },
    )
    config = {"epochs": 1, "max_steps": 2, "train_subset": 256, "eval_limit": 64}
    other = server.api("POST", "/api/runs", {"model_id": classifier["id"], "config": config})
    done = server.wait_for_run(dqn_run, {"completed"}, timeout=90)
    server.wait_for_run(other["id"], {"completed"}, timeout=60)
    metrics = server.api("GET", f"/api/runs/{dqn_run}/metrics")["done"]
    assert done["status"] == "completed"

    tab.goto("/runs")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    row = tab.locator(f"tr[data-run-id='{dqn_run}']")
    expect(row.get_by_test_id("run-best")).to_have_text(f"return {metrics['mean_return']:.1f}")
    expect(row.get_by_test_id("run-test")).to_have_text(re.compile(r"^greedy \d"))
    expect(row).to_contain_text("100%")
    row.get_by_role("checkbox").check()
    tab.locator(f"tr[data-run-id='{other['id']}']").get_by_role("checkbox").check()
    tab.get_by_test_id("compare").click()
    panel = tab.get_by_test_id("compare-panel")
    expect(panel).to_be_visible()
    expect(tab.get_by_test_id("compare-note")).to_contain_text("deep Q-learning")
    expect(panel.locator("#cmp-loss .uplot")).to_have_count(1)
    expect(panel.locator("#cmp-acc .uplot")).to_have_count(1)  # the classifier's
    expect(panel.locator("#cmp-returns .uplot")).to_have_count(1)  # the Q-learner's


def test_the_build_page_starts_a_dqn_run_from_its_preset(tab: Page, server: Server) -> None:
    tab.goto("/build")
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    tab.get_by_test_id("preset-select").select_option("dqn-cartpole")
    expect(tab.get_by_test_id("task-select")).to_have_value("dqn")
    expect(tab.get_by_test_id("task-source")).to_contain_text("CartPole-v1")
    expect(tab.get_by_test_id("dataset-select")).to_be_hidden()
    expect(tab.get_by_test_id("dataset-fit")).to_be_hidden()
    with tab.expect_request(lambda r: r.url.endswith("/api/runs") and r.method == "POST") as sent:
        tab.get_by_test_id("train-start").click()
    body = sent.value.post_data_json
    assert body is not None and body["config"]["task"] == "dqn" and "dataset" not in body["config"]
    expect(tab).to_have_url(re.compile(r"/runs/\w+$"))
    run_id = tab.url.rsplit("/", 1)[1]
    try:
        expect(tab.get_by_test_id("run-dataset")).to_have_text("CartPole-v1 (gymnasium)")
        expect(tab.get_by_test_id("cartpole")).to_be_visible()
        config = server.api("GET", f"/api/runs/{run_id}")["config"]
        task = config["task"]
        assert (task if isinstance(task, str) else task["name"]) == "dqn"
        assert config["schedule"] == "none" and config["lr"] == 0.0005
    finally:  # the preset's 100k environment steps are not needed here
        server.api("POST", f"/api/runs/{run_id}/stop")
        server.wait_for_run(run_id, {"stopped", "completed"}, timeout=30)
