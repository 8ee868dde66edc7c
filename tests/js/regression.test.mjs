// static/js/datasets.js and problemform.js: regression datasets and 2-D problems' settings on
// the Build page (what the model must end with, the loss, the config's dataset object).
import assert from "node:assert/strict";
import { test } from "node:test";

import * as ds from "../../static/js/datasets.js";
import { paramsSchema } from "../../static/js/problemform.js";

const PARAMS = { name: "plane", points: 500, noise: 0, train_ratio: 0.5, seed: 0, features: ["x1", "x2"] };
const PLANE = {
  name: "plane",
  title: "plane",
  kind: "regression",
  input_shape: [2],
  classes: [],
  outputs: 1,
  splits: { train: 250, validation: 250, test: 250 },
  source: "generated",
  available: true,
  params: PARAMS,
};
const SPIRAL = { ...PLANE, name: "spiral", title: "spiral", kind: "classification", classes: ["-1", "+1"], outputs: 2 };
const MNIST = {
  name: "mnist",
  title: "MNIST",
  kind: "classification",
  input_shape: [1, 28, 28],
  classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  outputs: 10,
  source: "built-in",
  available: true,
  params: null,
};
const CSV_VALUES = { ...MNIST, name: `ds_${"a".repeat(32)}`, title: "prices", kind: "regression", input_shape: [3], classes: [], outputs: 1, source: "upload", params: undefined };

test("regression datasets: mse is the only loss; classification keeps cross_entropy first", () => {
  assert.equal(ds.isRegression(PLANE), true);
  assert.equal(ds.isRegression(CSV_VALUES), true);
  assert.equal(ds.isRegression(SPIRAL), false);
  assert.equal(ds.isRegression(null), false);
  assert.deepEqual(ds.fittingLosses(PLANE), ["mse"]);
  assert.deepEqual(ds.fittingLosses(MNIST), ["cross_entropy", "nll", "mse"]);
  // the loss follows the dataset unless the person chose one that fits
  assert.equal(ds.lossFor(PLANE, "cross_entropy"), "mse");
  assert.equal(ds.lossFor(PLANE, "nll", true), "mse");
  assert.equal(ds.lossFor(MNIST, "mse"), "cross_entropy"); // mse came from a regression pick
  assert.equal(ds.lossFor(MNIST, "mse", true), "mse");
  assert.equal(ds.lossFor(MNIST, "nll", true), "nll");
  assert.equal(ds.lossFor(null, "mse"), "cross_entropy");
});

test("what the model must end with, in words", () => {
  assert.match(ds.modelNeeds(PLANE), /end with 1 output: a linear layer of 1 out_features/);
  assert.match(ds.modelNeeds(PLANE), /loss mse/);
  assert.equal(ds.modelNeeds(SPIRAL), "The network must end with 2 outputs, one score per class.");
  assert.equal(ds.modelNeeds(null), "");
  assert.match(ds.factsLine(PLANE), /1 value · regression/);
});

test("a 2-D problem goes to the run config as an object with its settings; others by name", () => {
  assert.equal(ds.hasParams(PLANE), true);
  assert.equal(ds.hasParams(MNIST), false);
  assert.equal(ds.hasParams(CSV_VALUES), false);
  assert.deepEqual(ds.datasetRef(PLANE, { noise: 0.2 }), { ...PARAMS, noise: 0.2 });
  assert.deepEqual(ds.datasetRef(PLANE), PARAMS);
  assert.equal(ds.datasetRef(MNIST, { noise: 0.2 }), "mnist");
  assert.equal(ds.datasetRef(CSV_VALUES), CSV_VALUES.name);
  assert.equal(ds.datasetRef(null), "mnist");
  assert.deepEqual(ds.refParams({ name: "spiral", noise: 0.1 }), { noise: 0.1 });
  assert.deepEqual(ds.refParams("spiral"), {});
  assert.deepEqual(ds.refParams(undefined), {});
  assert.equal(ds.datasetName(ds.datasetRef(PLANE, { noise: 0.2 })), "plane");
});

test("settings change the inputs and the split sizes as the server works them out", () => {
  const three = ds.withParams(PLANE, { features: ["x1", "x2", "x1x2"], points: 1000, train_ratio: 0.7 });
  assert.deepEqual(three.input_shape, [3]);
  // test = points - int(points × ratio); validation is the test split
  assert.deepEqual(three.splits, { train: 700, validation: 300, test: 300 });
  assert.deepEqual(ds.withParams(PLANE, { points: 15, train_ratio: 0.3 }).splits, { train: 4, validation: 11, test: 11 });
  assert.equal(PLANE.input_shape.length, 1); // the listed entry is left alone
  assert.deepEqual(PLANE.splits.train, 250);
  assert.equal(ds.withParams(MNIST, { noise: 0.3 }), MNIST);
  // the fit check reads the inputs the settings make
  assert.deepEqual(ds.fitProblems(three, [2], [1]).length, 1);
  assert.deepEqual(ds.fitProblems(three, [3], [1]), []);
  assert.match(ds.fitProblems(PLANE, [2], [10])[0], /needs 1 value: end with a linear layer of 1 out_features/);
});

test("the settings' schema is the training config's PlanarParams", () => {
  const schema = {
    properties: { dataset: { anyOf: [{ type: "string" }, { $ref: "#/$defs/PlanarParams" }] } },
    $defs: { PlanarParams: { properties: { noise: { type: "number", minimum: 0, maximum: 0.5 } } } },
  };
  assert.deepEqual(paramsSchema(schema).properties.noise.maximum, 0.5);
  assert.equal(paramsSchema({ properties: { dataset: { type: "string" } } }), null);
  assert.equal(paramsSchema(null), null);
});
