"""The load bench end to end: a real server, locust with one user of each type, a short run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

USER_TYPES = {"builder", "trainer", "drawer", "viewer"}


@pytest.fixture(scope="module")
def report() -> dict:
    """The JSON document of a 4-user, 10-second bench."""
    command = [
        sys.executable,
        "bench/bench_load.py",
        "--users",
        "4",
        "--seconds",
        "10",
        "--baseline-seconds",
        "2",
    ]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=150, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_report_has_every_field(report: dict) -> None:
    expected = {"machine", "mode", "users", "seconds", "endpoints", "totals", "errors"}
    expected |= {"user_types", "training", "runs", "memory"}
    assert expected <= set(report)
    for entry in [*report["endpoints"], report["totals"]]:
        assert {"requests", "requests_per_s", "p50_ms", "p99_ms", "failures"} <= set(entry)
    assert report["totals"]["requests"] == sum(e["requests"] for e in report["endpoints"])
    assert report["training"]["steps_per_s_alone_before"] > 0
    assert 0 < report["training"]["retained"] < 3
    assert report["memory"]["server_peak_rss_mb"] >= report["memory"]["server_rss_before_load_mb"]
    assert report["runs"]["trained"] >= 2


@pytest.mark.slow
def test_no_errors(report: dict) -> None:
    assert report["errors"]["count"] == 0, report["errors"]["first"]
    assert report["errors"]["server_5xx"] == 0, report["errors"]["server_log"]
    assert report["totals"]["failures"] == 0


@pytest.mark.slow
def test_every_user_type_made_requests(report: dict) -> None:
    assert report["users"] == dict.fromkeys(USER_TYPES, 1)
    assert set(report["user_types"]) == USER_TYPES
    for kind in USER_TYPES:
        assert report["user_types"][kind]["requests"] > 0, kind
    names = {(entry["method"], entry["name"]) for entry in report["endpoints"]}
    # drawers pick a live drawing or a REST prediction at random; in 10 s either may be all
    assert {("WS", "/ws/predict"), ("POST", "/api/runs/[id]/predict")} & names
    assert ("WS", "/ws/runs/[id]") in names  # viewers
    assert ("POST", "/api/specs/summary") in names  # builders
    assert ("POST", "/api/runs") in names  # trainers
    assert report["runs"]["queued_by_trainers"] >= 1
