// static/js/layerstats.js and the pure parts of histograms.js: step events' per-layer statistics
// folded into series per layer, gaps, a resumed run's rewind, histogram edges, axis numbers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { depthColour, short } from "../../static/js/histograms.js";
import { LayerStatsHistory, binEdges, layerName, positive } from "../../static/js/layerstats.js";

const hist = (low, high, counts) => ({ low, high, counts });
const linear = (path, grad) => ({
  path,
  type: "linear",
  grad_norm: grad,
  weight_norm: 2,
  update_ratio: 0.001,
  weight_hist: hist(-1, 1, [1, 2, 1]),
});
const relu = (path, dead) => ({ path, type: "relu", dead_fraction: dead, act_hist: hist(0, 3, [5, 1, 0]) });

test("step events fold into per-layer series; events without layers change nothing", () => {
  const history = new LayerStatsHistory();
  assert.equal(history.add({ type: "step", step: 1 }), false);
  assert.equal(history.add({ type: "step", step: 2, layers: [] }), false);
  history.add({ step: 5, layers: [linear("1", 1e-6), relu("2", 0.25), linear("3", 0.5)] });
  history.add({ step: 9, layers: [linear("1", 2e-6), relu("2", 0.5), linear("3", 0.25)] });
  assert.deepEqual(history.x, [5, 9]);
  assert.deepEqual(history.weighted().map((l) => l.path), ["1", "3"]);
  assert.deepEqual(history.relus().map((l) => l.path), ["2"]);
  assert.deepEqual(history.columns("grad", history.weighted()).ys, [[1e-6, 2e-6], [0.5, 0.25]]);
  assert.deepEqual(history.columns("dead", history.relus()).ys, [[0.25, 0.5]]);
  assert.deepEqual(history.latestGradients(), [
    { path: "1", type: "linear", value: 2e-6 },
    { path: "3", type: "linear", value: 0.25 },
  ]);
  assert.deepEqual(history.layers.get("2").actHist.map((f) => f.step), [5, 9]);
  assert.equal(layerName(history.layers.get("3")), "3 · linear");
});

test("a layer missing from a point leaves a gap; a replay from a checkpoint rewinds", () => {
  const history = new LayerStatsHistory();
  history.add({ step: 1, layers: [linear("1", 1)] });
  history.add({ step: 2, layers: [linear("3", 1)] });
  assert.deepEqual(history.layers.get("1").grad, [1, null]);
  assert.deepEqual(history.layers.get("3").grad, [null, 1]);
  history.add({ step: 2, layers: [linear("1", 7)] }); // resumed: step 2 again
  assert.deepEqual(history.x, [1, 2]);
  assert.deepEqual(history.layers.get("1").grad, [1, 7]);
  assert.equal(history.layers.get("1").weightHist.length, 2);
});

test("histogram frames are thinned evenly past the cap, keeping the newest", () => {
  const history = new LayerStatsHistory();
  for (let step = 1; step <= 600; step++) history.add({ step, layers: [relu("2", 0)] });
  const frames = history.layers.get("2").actHist;
  assert.ok(frames.length <= 240, `${frames.length} frames`);
  assert.equal(frames[frames.length - 1].step, 600);
  assert.ok(frames[0].step < 20, "the start of the run is still covered");
});

test("bin edges, log-scale values, axis numbers and depth colours", () => {
  assert.deepEqual(binEdges(hist(0, 3, [1, 1, 1])), [0, 1, 2, 3]);
  assert.equal(positive(0), null);
  assert.equal(positive(null), null);
  assert.equal(positive(2e-7), 2e-7);
  assert.equal(short(0.0123), "0.0123");
  assert.equal(short(12345), "1.23e+4");
  assert.equal(short(-2e-7), "-2.00e-7");
  assert.notEqual(depthColour(0, 9), depthColour(8, 9));
});
