// A deep Q-learning run's page without the DOM: tasks.js (which parts a task has), episodes.js
// (returns and their moving mean), cartpole.js (the picture and the real-time replay) and its
// figures in runfigures.js.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as cp from "../../static/js/cartpole.js";
import { captionText } from "../../static/js/cartpoleview.js";
import { EpisodeLog, movingMean } from "../../static/js/episodes.js";
import * as rf from "../../static/js/runfigures.js";
import * as tasks from "../../static/js/tasks.js";

const DQN = { task: { name: "dqn", env_steps: 1500, solved_return: 195 }, epochs: 3 };
const LIMITS = { x: 2.4, theta: 0.2094 };

/** A frame of `n` states from episode step `t0`, the return counting 1 per step. */
function frame(n, { t0 = 0, mode = "training", sps = 0.02 } = {}) {
  return {
    type: "cartpole",
    episode: 7,
    mode,
    t0,
    x: Array.from({ length: n }, (_, i) => i * 0.01),
    theta: Array.from({ length: n }, (_, i) => i * 0.001),
    actions: Array.from({ length: n }, (_, i) => i % 2),
    return: t0 + n,
    epsilon: mode === "greedy" ? 0 : 0.5,
    limits: LIMITS,
    seconds_per_step: sps,
  };
}

test("a task names the parts of the run page it has, and how its figures read", () => {
  assert.equal(tasks.taskName(DQN), "dqn");
  assert.equal(tasks.taskName({ task: "dqn" }), "dqn");
  assert.equal(tasks.taskName({}), "classify");
  assert.deepEqual([...tasks.taskViews(DQN)].sort(), ["cartpole", "episodes"]);
  assert.ok(tasks.taskViews({}).has("probe") && tasks.taskViews({}).has("draw"));
  assert.ok(tasks.taskViews({ task: "autoencode" }).has("codes"));
  assert.ok(!tasks.taskViews({ task: "autoencode" }).has("probe"));
  assert.deepEqual(tasks.taskViews({ task: "no-such-task" }), tasks.taskViews({}));
  assert.equal(tasks.taskKind(DQN), rf.RETURNS);
  assert.equal(tasks.taskKind({ task: "autoencode" }), rf.REGRESSION);
  assert.equal(tasks.taskKind({}), null); // the dataset decides
  assert.equal(tasks.usesDataset(DQN), false);
  assert.equal(tasks.usesDataset({}), true);
});

test("a Q-learner's progress counts episodes and its own budget of steps", () => {
  assert.equal(tasks.epochText(DQN, 42), "episode 42");
  assert.equal(tasks.epochText({ epochs: 5 }, 3), "epoch 3 of 5");
  assert.equal(tasks.epochText({}, 0), "");
  assert.equal(tasks.totalSteps(DQN), 1500);
  assert.equal(tasks.totalSteps({ task: "dqn" }, { total_steps: 100000 }), 100000);
  assert.equal(tasks.totalSteps({ task: "dqn" }), null);
  assert.equal(tasks.totalSteps({ epochs: 3 }, { total_steps: 99 }), null); // the record's
});

test("a run's settings: a task's parameters on rows of their own, no dataset for a Q-learner", () => {
  const rows = tasks.configRows({ dataset: "mnist", ...DQN, lr: 0.001 });
  assert.deepEqual(rows, [
    ["task.name", "dqn"],
    ["task.env_steps", 1500],
    ["task.solved_return", 195],
    ["epochs", 3],
    ["lr", 0.001],
  ]);
  assert.deepEqual(tasks.configRows({ dataset: "mnist", task: "autoencode" }), [["dataset", "mnist"], ["task", "autoencode"]]);
  assert.deepEqual(tasks.configRows(null), []);
});

test("the training form's tasks come from the schema's task parameter objects", () => {
  const schema = {
    properties: { task: { anyOf: [{ type: "string" }, { $ref: "#/$defs/A" }, { $ref: "#/$defs/Q" }] } },
    $defs: {
      A: { properties: { name: { const: "autoencode" } } },
      Q: { properties: { name: { default: "dqn", enum: ["dqn"] } } },
    },
  };
  assert.deepEqual(tasks.schemaTaskNames(schema), ["classify", "autoencode", "dqn"]);
  assert.deepEqual(tasks.schemaTaskNames({}), ["classify"]);
});

test("the moving mean covers the last `window` values, fewer at the start", () => {
  assert.deepEqual(movingMean([2, 4, 6, 8], 2), [2, 3, 5, 7]);
  assert.deepEqual(movingMean([10, 20, 30], 100), [10, 15, 20]);
  assert.deepEqual(movingMean([]), []);
  const long = movingMean(Array.from({ length: 250 }, (_, i) => i));
  assert.equal(long.at(-1), (150 + 249) / 2);
});

test("the episode log keeps the returns in order and redoes a resumed run's replayed episodes", () => {
  const log = new EpisodeLog();
  assert.equal(log.meanReturn, null);
  assert.equal(log.bestReturn, null);
  for (const [episode, ret] of [[1, 10], [2, 30], [3, 20]]) assert.equal(log.add({ episode, return: ret }), false);
  assert.deepEqual(log.columns(), { x: [1, 2, 3], returns: [10, 30, 20], means: [10, 20, 20] });
  assert.equal(log.bestReturn, 30);
  assert.equal(log.meanReturn, 20);
  assert.equal(log.add({ episode: 2, return: 50, mean_return: 30 }), true); // resumed at episode 2
  assert.deepEqual(log.columns().x, [1, 2]);
  assert.equal(log.meanReturn, 30); // the event's own mean wins
  assert.equal(log.count, 2);
});

test("the cart and the pole: the pole stands up at 0, leans with theta, the arrow points the push", () => {
  const size = { width: 640, height: 240, limits: LIMITS };
  const upright = cp.cartGeometry(0, 0, 1, size);
  assert.equal(upright.pole.x0, 320);
  assert.equal(upright.pole.x1, 320);
  assert.ok(upright.pole.y1 < upright.pole.y0);
  assert.ok(Math.abs(upright.pole.y0 - upright.pole.y1 - cp.POLE_LENGTH * upright.scale) < 1e-9);
  assert.ok(upright.arrow.x1 > upright.arrow.x0); // pushing right
  assert.ok(cp.cartGeometry(0, 0, 0, size).arrow.x1 < cp.cartGeometry(0, 0, 0, size).arrow.x0);
  assert.equal(cp.cartGeometry(0, 0, undefined, size).arrow, null);
  const right = cp.cartGeometry(1, Math.PI / 6, 1, size);
  assert.ok(right.pole.x0 > 320 && right.pole.x1 > right.pole.x0);
  assert.ok(Math.abs(right.pole.x1 - right.pole.x0 - 0.5 * right.scale) < 1e-9); // sin 30° of 1 m
  // the track's ends (±limits.x) stay inside the canvas, the cart at the limit on them
  assert.ok(upright.track.x0 > 0 && upright.track.x1 < 640);
  const edge = cp.cartGeometry(2.4, 0, 1, size);
  assert.ok(Math.abs(edge.pole.x0 - upright.track.x1) < 1e-9);
});

test("a frame plays in real time, a live one from where it ends about when the next comes", () => {
  const f = frame(100, { t0: 40 });
  assert.equal(cp.stateAt(f, 0), 0);
  assert.equal(cp.stateAt(f, 0.1), 5); // 0.02 s per step
  assert.equal(cp.stateAt(f, 10), 99); // held on the last state
  assert.equal(cp.stateAt(f, 0.1, 90), 95);
  assert.equal(cp.stateAt({ x: [] }, 1), -1);
  assert.equal(cp.finished(f, 1.9), false);
  assert.equal(cp.finished(f, 2.0), true);
  assert.equal(cp.liveStart(f, 0.5), 75); // the last 25 states: half a second
  assert.equal(cp.liveStart(f, 5), 0);
  assert.equal(cp.liveStart(frame(3), 0), 2); // at least the last state
  assert.equal(cp.returnAt(f, 99), 140);
  assert.equal(cp.returnAt(f, 0), 41);
  assert.equal(cp.outOfBounds(f, 0), false);
  assert.equal(cp.outOfBounds({ ...f, theta: f.theta.map(() => 0.3) }, 0), true);
});

test("the caption names the episode, the step, the return so far, ε and the push", () => {
  const f = frame(10, { t0: 20 });
  assert.equal(captionText(f, 9), "Episode 7 (training) · step 30 · return so far 30 · ε 0.50 · pushing right");
  assert.equal(captionText(f, 0), "Episode 7 (training) · step 21 · return so far 21 · ε 0.50 · pushing left");
  const greedy = { ...frame(500, { mode: "greedy" }), episode: 62 };
  assert.match(captionText(greedy, 499), /^Greedy episode after 62 training episodes .* return so far 500 · ε 0\.00/);
});

const EPISODES = [
  { type: "episode", episode: 1, return: 12, mean_return: 12 },
  { type: "episode", episode: 2, return: 30, mean_return: 21 },
];
const DONE = {
  type: "done",
  episodes: 62,
  steps: 1500,
  mean_return: 24.145,
  best_return: 66,
  greedy_return: 308.3,
  test_count: 10,
  solved_episode: null,
  early_stopped: false,
  test_accuracy: null,
};

test("a Q-learner's figures: the mean return of the last 100 and the best return", () => {
  assert.deepEqual(rf.runFigures(rf.RETURNS, { episodes: EPISODES }), { best: 21, test: 30 });
  assert.deepEqual(rf.runFigures(rf.RETURNS, { episodes: EPISODES, done: DONE }), { best: 24.145, test: 66 });
  assert.deepEqual(rf.runFigures(rf.RETURNS, {}), { best: null, test: null });
  assert.equal(rf.figureText(rf.RETURNS, 24.145), "24.1");
  assert.equal(rf.figureText(rf.RETURNS, 500), "500");
  assert.equal(rf.figureWords(rf.RETURNS).best, "Mean return (last 100)");
  assert.equal(rf.hasAccuracy(rf.RETURNS), false);
  assert.equal(rf.hasAccuracy(rf.REGRESSION), false);
  assert.equal(rf.hasAccuracy(rf.CLASSIFICATION), true);
  const text = rf.finishText(rf.RETURNS, DONE);
  assert.match(text, /^Finished: 62 episodes in 1,500 environment steps, a mean return of 24\.1 over the last 100 \(best episode 66\)\./);
  assert.match(text, /scored 308\.3 on average over 10 episodes\.$/);
  assert.match(rf.finishText(rf.RETURNS, { ...DONE, solved_episode: 140, early_stopped: true }), /Solved at episode 140.*Stopped once solved\.$/);
});

test("the runs list shows a Q-learner's mean return and greedy return from its history", () => {
  const figures = rf.historyReturns({ episodes: EPISODES, done: DONE });
  assert.deepEqual(figures, { best: 24.145, test: 308.3 });
  assert.deepEqual(rf.historyReturns({ episodes: EPISODES, done: null }), { best: 21, test: null });
  const row = rf.rowFigures(rf.RETURNS, {}, figures);
  assert.equal(row.best, "return 24.1");
  assert.equal(row.test, "greedy 308.3");
  assert.equal(rf.rowFigures(rf.RETURNS, {}, null).best, "—");
});
