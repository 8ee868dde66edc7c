// static/js/runfigures.js and metrics.js: a run's figures, accuracy or (regression) loss.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RunHistory, historyFromMetrics } from "../../static/js/metrics.js";
import * as rf from "../../static/js/runfigures.js";

const PLANE = { name: "plane", kind: "regression", input_shape: [2], classes: [], outputs: 1 };
const SPIRAL = { name: "spiral", kind: "classification", input_shape: [2], classes: ["-1", "+1"], outputs: 2 };

/** Epoch events of a regression run (accuracy null, no confusion matrix). */
const LOSS_EPOCHS = [
  { type: "epoch", epoch: 1, train_loss: 0.4, val_loss: 0.3, train_accuracy: null, val_accuracy: null, confusion: [] },
  { type: "epoch", epoch: 2, train_loss: 0.2, val_loss: 0.05, train_accuracy: null, val_accuracy: null, confusion: [] },
  { type: "epoch", epoch: 3, train_loss: 0.1, val_loss: 0.08, train_accuracy: null, val_accuracy: null, confusion: [] },
];
const LOSS_DONE = {
  type: "done",
  test_loss: 0.0612,
  test_accuracy: null,
  test_count: 250,
  val_accuracy: null,
  best_val_accuracy: null,
  val_loss: 0.08,
  early_stopped: false,
};

test("best skips null, undefined and NaN; lower for losses", () => {
  assert.equal(rf.best([0.5, null, 0.9, undefined, NaN]), 0.9);
  assert.equal(rf.best([0.5, null, 0.2], { lower: true }), 0.2);
  assert.equal(rf.best([null, null]), null);
  assert.equal(rf.best([]), null);
  assert.equal(rf.best(undefined), null);
});

test("a run's kind: the dataset's, else its events' (null accuracy and a loss), else classification", () => {
  assert.equal(rf.runKind(PLANE), rf.REGRESSION);
  assert.equal(rf.runKind(SPIRAL, LOSS_EPOCHS), rf.CLASSIFICATION); // the dataset has the word
  assert.equal(rf.runKind(null, LOSS_EPOCHS), rf.REGRESSION);
  assert.equal(rf.runKind(null, [LOSS_DONE]), rf.REGRESSION);
  assert.equal(rf.runKind(null, [{ type: "step", loss: 0.3, accuracy: null }]), rf.REGRESSION);
  assert.equal(rf.runKind(null, [{ type: "step", loss: 0.3, accuracy: 0.5 }]), rf.CLASSIFICATION);
  assert.equal(rf.runKind(null, [{ type: "status", status: "running" }]), rf.CLASSIFICATION);
  assert.equal(rf.runKind(null), rf.CLASSIFICATION);
});

test("regression figures: the lowest validation loss and the test loss, never 0% or NaN", () => {
  assert.deepEqual(rf.runFigures(rf.REGRESSION, { epochs: LOSS_EPOCHS }), { best: 0.05, test: null });
  assert.deepEqual(rf.runFigures(rf.REGRESSION, { epochs: LOSS_EPOCHS, done: LOSS_DONE }), { best: 0.05, test: 0.0612 });
  assert.deepEqual(rf.runFigures(rf.REGRESSION, { done: LOSS_DONE }), { best: 0.08, test: 0.0612 });
  // a regression run's record has null accuracies: nothing to show
  const run = { best_val_accuracy: null, test_accuracy: null };
  assert.deepEqual(rf.runFigures(rf.REGRESSION, { run }), { best: null, test: null });
  assert.equal(rf.figureText(rf.REGRESSION, 0.0612), "0.0612");
  assert.equal(rf.figureText(rf.REGRESSION, null), "—");
  assert.equal(rf.figureText(rf.CLASSIFICATION, NaN), "—");
});

test("classification figures: the done event, then the record, then the epochs", () => {
  const epochs = [{ epoch: 1, val_accuracy: 0.91 }, { epoch: 2, val_accuracy: 0.95 }];
  assert.deepEqual(rf.runFigures(rf.CLASSIFICATION, { epochs }), { best: 0.95, test: null });
  assert.deepEqual(rf.runFigures(rf.CLASSIFICATION, { epochs, run: { best_val_accuracy: 0.96, test_accuracy: 0.94 } }), {
    best: 0.96,
    test: 0.94,
  });
  const done = { best_val_accuracy: 0.97, test_accuracy: 0.965 };
  assert.deepEqual(rf.runFigures(rf.CLASSIFICATION, { epochs, done }), { best: 0.97, test: 0.965 });
  assert.equal(rf.figureText(rf.CLASSIFICATION, 0.965), "96.50%");
});

test("the words and the finish message follow the kind", () => {
  assert.equal(rf.figureWords(rf.REGRESSION).best, "Best val. loss");
  assert.match(rf.figureWords(rf.REGRESSION).better, /lower is better/);
  assert.equal(rf.figureWords(rf.CLASSIFICATION).test, "Test accuracy");
  assert.equal(
    rf.finishText(rf.REGRESSION, LOSS_DONE, "samples"),
    "Finished: a test loss (mean squared error) of 0.0612 on the 250 test samples it never saw; lower is better.",
  );
  assert.match(rf.finishText(rf.REGRESSION, { ...LOSS_DONE, early_stopped: true }), /validation loss had stopped improving/);
  assert.equal(
    rf.finishText(rf.CLASSIFICATION, { test_accuracy: 0.9812, test_count: 10000 }, "digits"),
    "Finished: 98.12% on the 10,000 test digits it never saw.",
  );
});

test("the confusion picker's epochs show an accuracy only when there is one", () => {
  assert.equal(rf.epochLabel({ epoch: 3, val_accuracy: 0.9721 }), "epoch 3 · 97.2%");
  assert.equal(rf.epochLabel({ epoch: 3, val_accuracy: null }), "epoch 3");
});

test("runs list rows: accuracies, or a regression run's losses once its history is read", () => {
  const record = { best_val_accuracy: 0.98, test_accuracy: 0.975 };
  assert.deepEqual(rf.rowFigures(rf.CLASSIFICATION, record), { best: "98.00%", test: "97.50%", title: null });
  const training = { best_val_accuracy: null, test_accuracy: null, latest: { epoch: { val_loss: 0.25 } } };
  const live = rf.rowFigures(rf.REGRESSION, training);
  assert.equal(live.best, "MSE 0.25");
  assert.equal(live.test, "—");
  assert.match(live.title, /latest epoch/);
  const losses = rf.historyLosses({ epochs: LOSS_EPOCHS, done: LOSS_DONE });
  assert.deepEqual(losses, { best: 0.05, test: 0.0612 });
  const ended = rf.rowFigures(rf.REGRESSION, { ...training, status: "completed" }, losses);
  assert.deepEqual([ended.best, ended.test], ["MSE 0.05", "MSE 0.0612"]);
  assert.match(ended.title, /lower is better/);
  assert.deepEqual(rf.historyLosses(null), { best: null, test: null });
});

test("a history of a regression run keeps null accuracies null (never averaged to 0)", () => {
  const h = new RunHistory();
  for (let s = 1; s <= 5; s++) {
    h.add({ type: "step", step: s, total_steps: 5, epoch: 1, loss: 1 / s, accuracy: null, lr: 0.01, samples_per_s: 100 });
  }
  assert.deepEqual(h.steps.acc, [null, null, null, null, null]);
  assert.deepEqual(h.steps.accSmooth, [null, null, null, null, null]);
  assert.ok(h.steps.lossSmooth.every(Number.isFinite));
  for (const e of LOSS_EPOCHS) h.add(e);
  assert.deepEqual(h.epochColumns().valAcc, [null, null, null]);
  assert.equal(h.firstReaching(0.99), null);
  const again = historyFromMetrics({ steps: [], epochs: LOSS_EPOCHS, done: LOSS_DONE });
  assert.equal(again.done.test_loss, 0.0612);
});

test("a classification history still smooths its accuracy from the first value", () => {
  const h = new RunHistory();
  h.add({ type: "step", step: 1, loss: 2, accuracy: 0.1 });
  h.add({ type: "step", step: 2, loss: 1, accuracy: 0.5 });
  assert.equal(h.steps.accSmooth[0], 0.1);
  assert.ok(h.steps.accSmooth[1] > 0.1 && h.steps.accSmooth[1] < 0.5);
});
