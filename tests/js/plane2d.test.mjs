// static/js/plane2d.js: the 2-D page's settings: specs, configs, live changes, keys, texts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as p from "../../static/js/plane2d.js";

const settings = (changes = {}) => ({ ...p.DEFAULTS, ...changes });

describe("what the controls ask for", () => {
  test("the model: features in, linear + activation per hidden layer, two class scores out", () => {
    const spec = p.modelSpec(settings({ features: ["x2", "sin_x1", "x1"], hidden: [3, 2], activation: "relu" }));
    assert.deepEqual(spec, {
      input_shape: [3],
      layers: [
        { type: "linear", out_features: 3 },
        { type: "relu" },
        { type: "linear", out_features: 2 },
        { type: "relu" },
        { type: "linear", out_features: 2 },
      ],
    });
    assert.deepEqual(p.modelSpec(settings({ hidden: [] })).layers, [{ type: "linear", out_features: 2 }]);
  });

  test("a regression problem: one output unit, mse, and its own legend", () => {
    const plane = settings({ dataset: "plane", task: "regression", hidden: [3] });
    assert.deepEqual(p.modelSpec(plane).layers.at(-1), { type: "linear", out_features: 1 });
    assert.equal(p.runConfig(plane).loss, "mse");
    assert.equal(p.modelName(plane), "2-D plane · 2-3-1 tanh");
    assert.equal(p.taskOf(plane).output, "value");
    assert.equal(p.taskOf({ task: "unknown" }), p.TASKS.classification);
    assert.equal(p.LEGENDS[p.taskOf(plane).output].title, "Predicted value (−1…1)");
    assert.equal(p.LEGENDS[p.taskOf(settings()).output].title, "Probability of +1");
    for (const legend of Object.values(p.LEGENDS)) assert.equal(legend.ticks.length, 3);
  });

  test("features keep the server's order whatever order they were ticked in", () => {
    assert.deepEqual(p.orderedFeatures(["sin_x2", "x1", "x1x2"]), ["x1", "x1x2", "sin_x2"]);
  });

  test("the run config names the problem with its parameters and a constant lr", () => {
    const config = p.runConfig(settings({ dataset: "spiral", noise: 0.25, trainRatio: 0.7, batchSize: 5, regularization: "l2", regularizationRate: 0.003 }), 50);
    assert.deepEqual(config, {
      dataset: { name: "spiral", noise: 0.25, points: 500, train_ratio: 0.7, seed: 0, features: ["x1", "x2"] },
      epochs: 50,
      batch_size: 5,
      lr: 0.03,
      optimizer: "adam",
      schedule: "none",
      loss: "cross_entropy",
      regularization: "l2",
      regularization_rate: 0.003,
    });
  });

  test("the learning rate and the regularization change a run without a new one", () => {
    const base = p.runKey(settings());
    for (const live of [{ lr: 0.3 }, { regularization: "l1" }, { regularizationRate: 0.1 }]) {
      assert.equal(p.runKey(settings(live)), base, JSON.stringify(live));
    }
    for (const change of [{ hidden: [4] }, { activation: "relu" }, { features: ["x1"] }, { dataset: "xor" }, { noise: 0.1 }, { batchSize: 3 }, { seed: 2 }, { optimizer: "sgd" }, { dataset: "plane", task: "regression" }]) {
      assert.notEqual(p.runKey(settings(change)), base, JSON.stringify(change));
    }
  });

  test("what a running run takes goes as a PATCH body, said in words", () => {
    const before = settings();
    assert.deepEqual(p.liveChanges(before, settings({ hidden: [8], noise: 0.2 })), {});
    assert.deepEqual(p.liveChanges(before, settings({ lr: 0.01 })), { lr: 0.01 });
    const both = p.liveChanges(before, settings({ regularization: "l2", regularizationRate: 0.003 }));
    assert.deepEqual(both, { regularization: "l2", regularization_rate: 0.003 });
    assert.equal(p.liveText({ lr: 0.01 }), "Learning rate 0.01 from the next step.");
    assert.equal(p.liveText(both), "Regularization L2, regularization rate 0.003 from the next step.");
    assert.equal(p.liveText({ regularization_rate: 0 }), "Regularization rate 0 from the next step.");
    assert.equal(p.liveText({}), "");
  });

  test("the points depend on the problem's draw, not on the model or the features", () => {
    const base = p.pointsKey(settings());
    assert.equal(p.pointsKey(settings({ hidden: [8, 8], features: ["x1x2"], lr: 1 })), base);
    assert.notEqual(p.pointsKey(settings({ seed: 1 })), base);
    assert.notEqual(p.pointsKey(settings({ trainRatio: 0.3 })), base);
  });

  test("the server's epoch limit is read from its refusal", () => {
    const error = { detail: [{ field: "epochs", msg: "epochs: this server trains at most 50, got 200" }] };
    assert.equal(p.epochLimit(error), 50);
    assert.equal(p.epochLimit({ detail: [{ field: "lr", msg: "at most 3" }] }), null);
    assert.equal(p.epochLimit(new Error("x")), null);
  });

  test("activations come from the layer registry; models get a readable name", () => {
    const catalogue = {
      layers: [
        { type: "linear", category: "weights" },
        { type: "relu", category: "activation" },
        { type: "softmax", category: "activation" },
        { type: "tanh", category: "activation" },
      ],
    };
    assert.deepEqual(p.activationChoices(catalogue), ["relu", "tanh"]);
    assert.equal(p.modelName(settings()), "2-D circle · 2-4-2-2 tanh");
  });
});

describe("texts", () => {
  test("counters read like TF Playground's", () => {
    assert.equal(p.epochText(12), "000,012");
    assert.equal(p.epochText(1234567), "1234,567");
    assert.equal(p.lossText(0.123456), "0.123");
    assert.equal(p.lossText(null), "—");
  });
});
