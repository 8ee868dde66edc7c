"""Deep Q-learning on CartPole-v1: the engine (`train_job` with task dqn) against a plain
PyTorch DQN loop doing the same updates, and how soon each balances the pole.

    .venv/bin/python bench/bench_dqn.py                          # seeds 0 1 2, the preset's budget
    .venv/bin/python bench/bench_dqn.py --seeds 0 --steps 20000  # a quicker look at the pace

Both loops: the `dqn-cartpole` preset's network (4 → 128 → 128 → 2 ReLU MLP, same seed, same
initial weights), Adam 5e-4 (fused), batch 64, Huber loss, replay buffer 50k (preallocated,
uniform samples), learning from 1k transitions, one update per environment step, target
network copied every 500 steps, ε 1 → 0.02 over 10k steps, γ 0.99, one PyTorch thread,
gymnasium's CartPole-v1. The plain loop does that and nothing else; the engine also checks
its run control every step and streams as a served run does: step points (≤ 10/s), an event
per episode, cartpole frames (≤ 2/s), weight snapshots, checkpoints (replay buffer included)
at episode ends (at most every second, at most ~2% of the time), each event turned into JSON
and each checkpoint packed as the training process sends it. Seeds alternate the order (plain
first, then engine first).

Per seed and loop: environment steps per second over the whole run, by the wall clock and
by the process's CPU time (steadier when other work shares the cores), from the first step to
the last (the engine's from its set-up to its last loss point: greedy evaluation left out);
the episode, the environment step and the seconds at which the mean return over 100
consecutive episodes first reached 195, and the last 100 episodes' mean. Prints one JSON
document; `ratio` (wall) and `ratio_cpu_time` are medians of engine/plain per seed.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium
import torch
import torch.nn.functional as F  # noqa: N812

from app.nn import SpecLimits, build_model
from app.training import RunControl, Throttle, parse_config
from app.training.job import RunJob
from app.training.outputs import TrainingState
from app.training.task_params import DqnParams
from app.training.tasks import task_of, train_job
from app.training.wire import fields_of, pack_tensors

PRESET = Path(__file__).resolve().parents[1] / "app" / "nn" / "presets" / "dqn-cartpole.json"
SOLVED = 195.0
WINDOW = 100


def preset() -> tuple[dict[str, Any], dict[str, Any]]:
    """The preset's spec and default config, read from its file."""
    data = json.loads(PRESET.read_text())
    return data["spec"], data["config"]


def plain_loop(seed: int, steps: int) -> dict[str, Any]:
    """A hand-written DQN with the preset's settings; its pace and when it solved CartPole."""
    spec, _ = preset()
    q_net = build_model(spec, seed=seed).module  # the engine's initial weights
    target = copy.deepcopy(q_net)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=5e-4, fused=True)
    size, batch, gamma = 50_000, 64, 0.99
    states, next_states = torch.zeros(size, 4), torch.zeros(size, 4)
    actions, rewards, dones = (
        torch.zeros(size, dtype=torch.long),
        torch.zeros(size),
        torch.zeros(size),
    )
    generator = torch.Generator().manual_seed(seed)
    env = gymnasium.make("CartPole-v1")
    state, _ = env.reset(seed=seed)
    position = filled = 0
    total, returns, recent = 0.0, 0, deque(maxlen=WINDOW)
    solved: tuple[int, int, float] | None = None  # (episode, step, seconds)
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in range(steps):
        chance = max(0.02, 1.0 - 0.98 * step / 10_000)
        if torch.rand((), generator=generator).item() < chance:
            action = int(torch.randint(2, (), generator=generator))
        else:
            with torch.no_grad():
                action = int(q_net(torch.from_numpy(state).unsqueeze(0)).argmax())
        next_state, reward, terminated, truncated, _ = env.step(action)
        states[position] = torch.from_numpy(state)
        next_states[position] = torch.from_numpy(next_state)
        actions[position], rewards[position], dones[position] = action, reward, float(terminated)
        position, filled = (position + 1) % size, min(filled + 1, size)
        total += float(reward)
        state = next_state
        if terminated or truncated:
            returns += 1
            recent.append(total)
            total = 0.0
            state, _ = env.reset()
            if solved is None and len(recent) == WINDOW and sum(recent) / WINDOW >= SOLVED:
                solved = (returns, step + 1, time.perf_counter() - started)
        if filled >= 1_000:
            index = torch.randint(filled, (batch,), generator=generator)
            chosen = q_net(states[index]).gather(1, actions[index].unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                best = target(next_states[index]).max(dim=1).values
                goal = rewards[index] + gamma * (1.0 - dones[index]) * best
            loss = F.smooth_l1_loss(chosen, goal)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        if (step + 1) % 500 == 0:
            target.load_state_dict(q_net.state_dict())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return _figures(steps, seconds, cpu, returns, recent, solved)


class _ServerLikeSink:
    """Does with the run's output what a training process does before it is sent: events to
    JSON, checkpoints packed; notes when the mean return first reached 195."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        self.last_step, self.last_cpu = self.started, self.cpu_started  # at the last loss point
        self.solved: tuple[int, int, float] | None = None  # (episode, step, seconds)
        self.recent: deque[float] = deque(maxlen=WINDOW)
        self.events = self.frames = self.checkpoints = 0

    def emit(self, data: dict[str, Any]) -> None:
        json.dumps(data)
        self.events += 1
        if data["type"] == "step" and data["step"] >= self.steps:  # the run's last point
            self.last_step, self.last_cpu = time.perf_counter(), time.process_time()
        elif data["type"] == "cartpole":
            self.frames += 1
        elif data["type"] == "episode":
            self.recent.append(data["return"])
            full = len(self.recent) == WINDOW
            if self.solved is None and full and sum(self.recent) / WINDOW >= SOLVED:
                self.solved = (data["episode"], data["step"], time.perf_counter() - self.started)

    def checkpoint(self, state: TrainingState) -> None:
        pack_tensors(fields_of(state))
        self.checkpoints += 1

    def snapshot(self, snapshot: Any) -> None:
        pass


def engine(seed: int, steps: int) -> dict[str, Any]:
    """The preset trained by the engine, as a served run streams and checkpoints."""
    spec, raw = preset()
    config = parse_config({**raw, "seed": seed, "task": {"name": "dqn", "env_steps": steps}})
    built = build_model(spec)
    config = task_of(config).check(built.spec, built.summary, config, None)  # type: ignore[arg-type]
    job = RunJob("bench", spec, config, "cpu", 0, SpecLimits(), Throttle(), Path("."))
    sink = _ServerLikeSink(steps)
    result = train_job(job, None, RunControl(), sink)  # type: ignore[arg-type]
    assert result.status == "completed" and result.figures is not None
    # from set-up to the last loss point (before the greedy episodes), checkpoints included
    seconds, cpu = sink.last_step - sink.started, sink.last_cpu - sink.cpu_started
    figures = _figures(result.steps, seconds, cpu, result.epochs, sink.recent, sink.solved)
    return figures | {
        "events": sink.events,
        "frames": sink.frames,
        "checkpoints": sink.checkpoints,
        "greedy_return": result.figures["greedy_return"],
    }


def _figures(
    steps: int,
    seconds: float,
    cpu: float,
    episodes: int,
    recent: deque[float],
    solved: tuple[int, int, float] | None,
) -> dict[str, Any]:
    return {
        "steps_per_s": round(steps / seconds, 1),
        "steps_per_cpu_s": round(steps / cpu, 1),
        "seconds": round(seconds, 1),
        "episodes": episodes,
        "solved_episode": solved[0] if solved else None,
        "solved_step": solved[1] if solved else None,
        "solved_seconds": round(solved[2], 1) if solved else None,
        "last_100_mean": round(sum(recent) / max(len(recent), 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="environment steps (default: the preset's)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = args.steps or DqnParams().env_steps  # the preset takes the task's defaults
    engine(0, 1_200)  # imports and first-call costs out of the way
    runs: dict[int, dict[str, Any]] = {}
    for index, seed in enumerate(args.seeds):
        order = ("plain", "engine") if index % 2 == 0 else ("engine", "plain")
        runs[seed] = {
            which: (plain_loop if which == "plain" else engine)(seed, steps) for which in order
        }
    ratios = [run["engine"]["steps_per_s"] / run["plain"]["steps_per_s"] for run in runs.values()]
    cpu_ratios = [
        run["engine"]["steps_per_cpu_s"] / run["plain"]["steps_per_cpu_s"] for run in runs.values()
    ]
    solved = sum(run["engine"]["solved_episode"] is not None for run in runs.values())
    print(
        json.dumps(
            {
                "env": "CartPole-v1",
                "network": "4-128-128-2 ReLU (preset dqn-cartpole), Adam 5e-4, batch 64",
                "steps": steps,
                "threads": args.threads,
                "ratio": round(statistics.median(ratios), 3),
                "ratio_cpu_time": round(statistics.median(cpu_ratios), 3),
                "ratios": [round(ratio, 3) for ratio in ratios],
                "ratios_cpu_time": [round(ratio, 3) for ratio in cpu_ratios],
                "engine_solved_seeds": f"{solved} of {len(runs)}",
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
