// static/js/gan.js and the GAN parts of runfigures.js and tasks.js: samples frames decoded and
// laid out, noise from a seed, linear and spherical paths between two noises, step columns,
// health in words, a GAN's row in the runs list and its last words.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as gan from "../../static/js/gan.js";
import * as rf from "../../static/js/runfigures.js";
import * as tasks from "../../static/js/tasks.js";

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const close = (a, b, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

test("a samples frame: base64 uint8 images, as many as count says and the bytes hold", () => {
  const bytes = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10);
  const frame = { shape: [1, 2, 2], count: 3, images: Buffer.from(bytes).toString("base64") };
  const { bytes: got, shape, count } = gan.decodeSamples(frame);
  assert.deepEqual(shape, [1, 2, 2]);
  assert.equal(count, 3);
  assert.deepEqual([...got], [...bytes]);
  const short = gan.decodeSamples({ ...frame, count: 64 }); // bytes for 3 images only
  assert.equal(short.count, 3);
});

test("the grid: 64 images in 8×8 with gaps, fewer in a square-ish grid", () => {
  const grid = gan.gridLayout(64, 28, 28);
  assert.equal(grid.columns, 8);
  assert.equal(grid.rows, 8);
  assert.equal(grid.width, 8 * 28 + 7 * 2);
  assert.deepEqual(grid.at(0), { x: 0, y: 0 });
  assert.deepEqual(grid.at(9), { x: 30, y: 30 });
  const few = gan.gridLayout(10, 28, 28);
  assert.equal(few.columns, 4);
  assert.equal(few.rows, 3);
});

test("an image of 0..1 numbers becomes grey or colour RGBA", () => {
  const grey = gan.unitRgba([[[0, 1]]]);
  assert.deepEqual([...grey], [0, 0, 0, 255, 255, 255, 255, 255]);
  const colour = gan.unitRgba([[[1]], [[0.5]], [[0]]]);
  assert.deepEqual([...colour], [255, 128, 0, 255]);
});

test("noise from a seed: the same seed, the same vector; about standard normal", () => {
  const a = gan.noiseVector(64, 7);
  assert.equal(a.length, 64);
  assert.deepEqual(gan.noiseVector(64, 7), a);
  assert.notDeepEqual(gan.noiseVector(64, 8), a);
  assert.equal(gan.noiseVector(3, 1).length, 3); // odd sizes too
  const big = gan.noiseVector(20000, 3);
  const mean = big.reduce((s, x) => s + x, 0) / big.length;
  const variance = big.reduce((s, x) => s + (x - mean) ** 2, 0) / big.length;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  assert.ok(big.every(Number.isFinite));
});

test("linear and spherical paths start at A, end at B; slerp keeps the length", () => {
  const a = [3, 0];
  const b = [0, 3];
  assert.deepEqual(gan.lerp(a, b, 0.5), [1.5, 1.5]);
  const mid = gan.slerp(a, b, 0.5);
  close(norm(mid), 3);
  close(mid[0], mid[1]);
  for (const method of ["linear", "slerp"]) {
    const row = gan.path(a, b, 8, method);
    assert.equal(row.length, 8);
    row[0].forEach((x, i) => close(x, a[i]));
    row[7].forEach((x, i) => close(x, b[i]));
  }
  // the lengths go linearly from |a| to |b|
  const half = gan.slerp([1, 0], [0, 3], 0.5);
  close(norm(half), 2);
  // parallel vectors and a zero vector: the straight line
  assert.deepEqual(gan.slerp([1, 1], [2, 2], 0.5), [1.5, 1.5]);
  assert.deepEqual(gan.slerp([0, 0], [2, 2], 0.5), [1, 1]);
  // high-dimensional noise: a straight line's middle is shorter, slerp's is not
  const n1 = gan.noiseVector(64, 1);
  const n2 = gan.noiseVector(64, 2);
  assert.ok(norm(gan.lerp(n1, n2, 0.5)) < 0.85 * Math.min(norm(n1), norm(n2)));
  assert.ok(norm(gan.slerp(n1, n2, 0.5)) > 0.95 * Math.min(norm(n1), norm(n2)));
});

test("step columns: both losses and D's means; a replayed step rewinds", () => {
  const steps = new gan.GanSteps();
  assert.equal(steps.add({ step: 10, loss: 1.2, d_loss: 0.6, d_real: 0.8, d_fake: 0.3 }), false);
  assert.equal(steps.add({ step: 20, loss: 1.0, d_loss: 0.7, d_real: 0.7, d_fake: 0.4 }), false);
  assert.deepEqual(steps.cols, { x: [10, 20], g: [1.2, 1.0], d: [0.6, 0.7], real: [0.8, 0.7], fake: [0.3, 0.4] });
  assert.equal(steps.add({ step: 15, loss: 1.1, d_loss: 0.65, d_real: 0.75, d_fake: 0.35 }), true);
  assert.deepEqual(steps.cols.x, [10, 15]);
  assert.deepEqual(steps.cols.g, [1.2, 1.1]);
  const epochs = gan.epochColumns([{ epoch: 1, train_loss: 1.5, d_loss: 0.9 }, { epoch: 2, train_loss: 1.2, d_loss: 1.0 }]);
  assert.deepEqual(epochs, { x: [1, 2], g: [1.5, 1.2], d: [0.9, 1.0] });
});

test("health in words: the state, the variety against the real images', the message", () => {
  const verdict = { state: "ok", ratio: 0.8234, message: "The samples vary.", step: 300, epoch: 2 };
  assert.equal(gan.varietyText(0.8234), "variety 0.82 of the real digits'");
  assert.equal(gan.varietyText(null), "variety not measured yet");
  assert.equal(gan.healthText(verdict), "healthy · variety 0.82 of the real digits'. The samples vary.");
  assert.equal(gan.healthDetail(verdict, "images"), "Variety 0.82 of the real images'. The samples vary.");
  assert.equal(gan.healthDetail({ state: "ok" }), "Variety not measured yet.");
  assert.deepEqual(gan.healthState("collapsed"), { label: "mode collapse", tone: "bad" });
  assert.deepEqual(gan.healthState("oscillating"), { label: "oscillating", tone: "warn" });
  assert.equal(gan.healthState("odd").tone, "neutral");
  assert.equal(gan.verdictText(verdict), "epoch 2, step 300: healthy (variety 0.82)");
  assert.equal(gan.verdictText({ state: "collapsed", step: 50, epoch: 0 }), "step 50: mode collapse");
});

test("a gan run's task: its own views and kind, no accuracy, no best or test figure", () => {
  const config = { task: { name: "gan", beta1: 0.5 }, epochs: 3 };
  assert.deepEqual([...tasks.taskViews(config)], ["gan"]);
  assert.equal(tasks.taskKind(config), rf.GAN);
  assert.equal(tasks.usesDataset(config), true);
  assert.equal(tasks.epochText(config, 2), "epoch 2 of 3");
  assert.equal(rf.hasAccuracy(rf.GAN), false);
  assert.deepEqual(rf.runFigures(rf.GAN, { epochs: [{ epoch: 1, train_loss: 1 }] }), { best: null, test: null });
  const words = rf.figureWords(rf.GAN);
  assert.equal(words.best, null);
  assert.equal(words.loss, "Generator loss");
});

test("a gan run in the runs list: health and variety, the last losses", () => {
  const metrics = {
    epochs: [{ epoch: 1, train_loss: 1.5, d_loss: 1.1 }],
    gan_health: [{ state: "ok", ratio: 0.9 }, { state: "collapsed", ratio: 0.2 }],
    done: { g_loss: 1.234, d_loss: 0.987, diversity: 1, real_diversity: 2, health: "collapsed" },
  };
  const figures = rf.historyGan(metrics);
  assert.deepEqual(figures, { health: "collapsed", ratio: 0.2, g: 1.234, d: 0.987 });
  const row = rf.rowFigures(rf.GAN, { status: "completed" }, figures);
  assert.equal(row.best, "collapsed · variety 0.20");
  assert.equal(row.test, "G 1.23 · D 0.987");
  // while it trains: the latest epoch's losses, no health yet
  const live = rf.rowFigures(rf.GAN, { latest: { epoch: { train_loss: 2, d_loss: 0.5 } } }, null);
  assert.deepEqual([live.best, live.test], ["—", "G 2 · D 0.5"]);
  // no verdict stored: the done event's
  assert.deepEqual(rf.historyGan({ done: { diversity: 1, real_diversity: 2, health: "ok" } }), { health: "ok", ratio: 0.5, g: null, d: null });
});

test("a gan run's last words: losses, D's means and health", () => {
  const text = rf.finishText(rf.GAN, { epochs: 2, g_loss: 1.2, d_loss: 1.1, d_real: 0.61, d_fake: 0.38, diversity: 4, real_diversity: 5, health: "ok" }, "digits");
  assert.equal(
    text,
    "Finished after 2 epochs: generator loss 1.2, discriminator loss 1.1 (D(real) 0.61, D(fake) 0.38). Health: ok; its samples' variety is 0.80 of the real digits'.",
  );
});
