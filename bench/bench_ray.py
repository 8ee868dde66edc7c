"""The Ray executor on this machine: its cost per run against the local one, and a class-sized
scheduling simulation on a local Ray instance with many logical GPUs.

    .venv/bin/python bench/bench_ray.py                      # both parts
    .venv/bin/python bench/bench_ray.py --part overhead --rounds 3
    .venv/bin/python bench/bench_ray.py --part simulation --runs 200 --owners 30 --gpus 8

`overhead`: the lenet5 preset (its own config, one epoch) trained through `RunManager` with
`NNP_EXECUTOR=local` and `ray` alternately, each with every core (2 torch threads here; the Ray
instance has as many CPUs and a run asks for all of them). Per executor: seconds from submit to
the first step event of the first run after start (the warm process or actor just started) and
of the next run (a kept one), and the samples/s of its training steps; then the ray/local ratio.

`simulation`: a local Ray instance with `--gpus` units of a custom resource `gpu_slot` (Ray's way
to pretend GPUs), each run asking for one (and CPUs ÷ GPUs of a CPU). `--runs` short runs (a
784-10 linear model, 512 training images) from `--owners` owners who queue very different numbers
of runs all at once, heaviest first. Reports the makespan, queue waits, how evenly owners are
served over time (at each tenth of the makespan, among owners with runs still queued: the
fewest and most runs started and finished), and the server's event throughput (events recorded
and published per second).

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import ray

from app.data import Mnist, load_mnist
from app.nn import load_preset, preset_config
from app.settings import Settings
from app.store import RunStatus, Store
from app.training import RunManager

TINY = {
    "input_shape": [1, 28, 28],
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}],
}
SHORT = {"epochs": 1, "train_subset": 512, "eval_limit": 128, "batch_size": 64}


class EventLog:
    """A run listener that notes when each event of each run was published."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[float, str, dict[str, Any]]] = []

    def __call__(self, run_id: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append((time.monotonic(), run_id, event))

    def first(self, run_id: str, kind: str) -> float | None:
        with self.lock:
            return next(
                (t for t, rid, e in self.events if rid == run_id and e["type"] == kind), None
            )

    def of(self, run_id: str, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for _, rid, e in self.events if rid == run_id and e["type"] == kind]


def _data_dir(root: Path, mnist_dir: Path) -> Path:
    data_dir = Path(tempfile.mkdtemp(dir=root))
    (data_dir / "mnist.safetensors").symlink_to(mnist_dir / "mnist.safetensors")
    return data_dir


def _one_run(manager: RunManager, log: EventLog, config: dict[str, Any]) -> dict[str, Any]:
    submitted = time.monotonic()
    record = manager.submit_spec(
        load_preset("lenet5").model_dump(mode="json", exclude_unset=True), config
    )
    done = manager.wait(record.id, 600)
    assert done.status == RunStatus.COMPLETED, done.error
    first = log.first(record.id, "step")
    paces = [e["samples_per_s"] for e in log.of(record.id, "step")[1:] if e.get("samples_per_s")]
    return {
        "first_step_s": round((first or submitted) - submitted, 3),
        "samples_per_s": round(statistics.median(paces), 1),
        "test_accuracy": done.test_accuracy,
    }


def overhead(
    root: Path, mnist_dir: Path, mnist: Mnist, rounds: int, threads: int
) -> dict[str, Any]:
    """Local vs Ray on the lenet5 preset, alternating which goes first."""
    ray.init(num_cpus=threads, include_dashboard=False, log_to_driver=False)
    config = {**preset_config("lenet5"), "epochs": 1}
    results: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    try:
        for index in range(rounds):
            order = ["local", "ray"] if index % 2 == 0 else ["ray", "local"]
            for executor in order:
                settings = Settings(
                    data_dir=_data_dir(root, mnist_dir),
                    executor=executor,
                    torch_threads=threads,
                    ray_cpus_per_run=threads,
                    warm_training_process=True,
                    starter_run=False,
                )
                log = EventLog()
                with RunManager(Store(settings.data_dir), settings, mnist=mnist) as manager:
                    manager.add_listener(log)
                    first, second = _one_run(manager, log, config), _one_run(manager, log, config)
                results[executor].append({"first_run": first, "next_run": second})
    finally:
        ray.shutdown()

    def median(executor: str, run: str, key: str) -> float:
        return round(statistics.median(r[run][key] for r in results[executor]), 3)

    summary = {
        executor: {
            "first_run_first_step_s": median(executor, "first_run", "first_step_s"),
            "next_run_first_step_s": median(executor, "next_run", "first_step_s"),
            "samples_per_s": median(executor, "next_run", "samples_per_s"),
        }
        for executor in results
    }
    ratios = [
        r["next_run"]["samples_per_s"] / loc["next_run"]["samples_per_s"]
        for r, loc in zip(results["ray"], results["local"], strict=True)
    ]
    return {
        "rounds": results,
        "median": summary,
        "samples_per_s_ratio_ray_over_local": round(statistics.median(ratios), 3),
    }


def _owner_loads(runs: int, owners: int) -> list[int]:
    """How many runs each owner queues: a few heavy users, many light ones (sums to `runs`)."""
    weights = [1.0 / (index + 1) for index in range(owners)]
    loads = [max(1, round(runs * w / sum(weights))) for w in weights]
    while sum(loads) > runs:
        loads[loads.index(max(loads))] -= 1
    while sum(loads) < runs:
        loads[0] += 1
    return loads


def simulation(
    root: Path, mnist_dir: Path, mnist: Mnist, runs: int, owners: int, gpus: int, cpus: int
) -> dict[str, Any]:
    """`runs` short runs from `owners` owners on `gpus` logical GPUs; fairness and throughput."""
    ray.init(
        num_cpus=cpus, resources={"gpu_slot": gpus}, include_dashboard=False, log_to_driver=False
    )
    settings = Settings(
        data_dir=_data_dir(root, mnist_dir),
        executor="ray",
        ray_device="cpu",
        ray_cpus_per_run=cpus / gpus,
        ray_resources_per_run={"gpu_slot": 1},
        warm_training_process=False,
        starter_run=False,
    )
    log = EventLog()
    loads = _owner_loads(runs, owners)
    try:
        with RunManager(Store(settings.data_dir), settings, mnist=mnist) as manager:
            manager.add_listener(log)
            slots = manager.training_slots()
            start = time.monotonic()
            submitted: list[tuple[str, str]] = []  # (run id, owner)
            for owner_index, load in enumerate(loads):  # the heaviest owner queues first
                owner = f"owner-{owner_index:02d}"
                for _ in range(load):
                    record = manager.submit_spec(TINY, SHORT, owner=owner)
                    submitted.append((record.id, owner))
            queued_s = time.monotonic() - start
            for run_id, _ in submitted:
                assert manager.wait(run_id, 1800).status == RunStatus.COMPLETED
            makespan = time.monotonic() - start
            records = {run_id: manager.store.get_run(run_id) for run_id, _ in submitted}
    finally:
        ray.shutdown()

    ended: dict[str, float] = {}
    began: dict[str, float] = {}
    for t, run_id, event in log.events:
        if event["type"] == "status" and event["status"] == "completed":
            ended[run_id] = t - start
        if event["type"] == "status" and event["status"] == "running":
            began.setdefault(run_id, t - start)
    waits = sorted(began.values())
    fairness = []
    for tenth in range(1, 10):
        moment = makespan * tenth / 10
        started: dict[str, int] = {}
        finished: dict[str, int] = {}
        waiting: set[str] = set()
        for run_id, owner in submitted:
            began_at = began.get(run_id, makespan)
            started[owner] = started.get(owner, 0) + (began_at <= moment)
            finished[owner] = finished.get(owner, 0) + (ended[run_id] <= moment)
            if began_at > moment:
                waiting.add(owner)
        fairness.append(
            {
                "at_s": round(moment, 1),
                "owners_still_queued": len(waiting),
                "started_min_max": _spread(started[owner] for owner in waiting),
                "completed_min_max": _spread(finished[owner] for owner in waiting),
            }
        )
    first_end = min(ended.values())
    event_count = len(log.events)
    return {
        "runs": runs,
        "owners": owners,
        "runs_per_owner": loads,
        "logical_gpus": gpus,
        "slots": slots,
        "queueing_all_s": round(queued_s, 2),
        "makespan_s": round(makespan, 1),
        "runs_per_minute": round(runs / makespan * 60, 1),
        "first_completion_s": round(first_end, 1),
        "runs_per_minute_after_first": round((runs - 1) / (makespan - first_end) * 60, 1),
        "queue_wait_s": {
            "p50": round(waits[len(waits) // 2], 1),
            "p95": round(waits[int(len(waits) * 0.95)], 1),
            "max": round(waits[-1], 1),
        },
        "fairness": fairness,
        "events": event_count,
        "events_per_s": round(event_count / makespan, 1),
        "completed": sum(1 for r in records.values() if r and r.status == RunStatus.COMPLETED),
    }


def _spread(counts: Any) -> list[int] | None:
    """[fewest, most] of the counts, None if there are none."""
    values = list(counts)
    return [min(values), max(values)] if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["overhead", "simulation", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--owners", type=int, default=30)
    parser.add_argument("--gpus", type=int, default=8)
    args = parser.parse_args()
    mnist_dir = Settings().mnist_cache_dir()
    mnist = load_mnist(mnist_dir)
    report: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "ray": ray.__version__,
    }
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        if args.part in ("overhead", "all"):
            report["overhead"] = overhead(root, mnist_dir, mnist, args.rounds, args.threads)
        if args.part in ("simulation", "all"):
            report["simulation"] = simulation(
                root, mnist_dir, mnist, args.runs, args.owners, args.gpus, args.threads
            )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
