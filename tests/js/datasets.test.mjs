// static/js/datasets.js: what the pages say about datasets and how a model fits one.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as ds from "../../static/js/datasets.js";

/** Entries as GET /api/datasets answers them (shortened). */
const MNIST = {
  name: "mnist",
  title: "MNIST",
  kind: "classification",
  input_shape: [1, 28, 28],
  classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  outputs: 10,
  splits: { train: 50000, validation: 10000, test: 10000 },
  source: "built-in",
  available: true,
  note: null,
};
const FASHION = {
  ...MNIST,
  name: "fashion-mnist",
  title: "Fashion-MNIST",
  classes: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
  available: false,
  note: "apt-get install dataset-fashion-mnist, then restart",
};
const SPIRAL = {
  name: "spiral",
  title: "spiral",
  kind: "classification",
  input_shape: [2],
  classes: ["-1", "+1"],
  outputs: 2,
  splits: { train: 250, validation: 250, test: 250 },
  source: "generated",
  available: true,
};
const PLANE = { ...SPIRAL, name: "plane", title: "plane", kind: "regression", classes: [], outputs: 1 };
const SHAPES = {
  name: "ds_7f46",
  title: "shapes",
  kind: "classification",
  input_shape: [1, 16, 16],
  classes: ["checks", "dots", "stripes"],
  outputs: 3,
  splits: { train: 33, validation: 6, test: 6 },
  source: "upload",
  available: true,
};
const ALL = [SHAPES, MNIST, FASHION, SPIRAL, PLANE];

test("a run config's dataset is a name, a 2-D problem's parameters, or absent (MNIST)", () => {
  assert.equal(ds.datasetName("ds_7f46"), "ds_7f46");
  assert.equal(ds.datasetName({ name: "spiral", noise: 0.1 }), "spiral");
  assert.equal(ds.datasetName(undefined), "mnist");
  assert.equal(ds.datasetName(""), "mnist");
  assert.equal(ds.findDataset(ALL, { name: "spiral" }), SPIRAL);
  assert.equal(ds.findDataset(ALL, "nope"), null);
});

test("the picker groups built-ins, 2-D problems, then uploads", () => {
  const groups = ds.groupDatasets(ALL);
  assert.deepEqual(groups.map((g) => g.label), ["Built-in", "2-D problems", "Your uploads"]);
  assert.deepEqual(groups[0].items.map((d) => d.name), ["mnist", "fashion-mnist"]);
  assert.deepEqual(groups[2].items.map((d) => d.name), ["ds_7f46"]);
  assert.deepEqual(ds.groupDatasets([MNIST]).map((g) => g.label), ["Built-in"]);
});

test("the default is what the address asks for when it can train, else MNIST", () => {
  assert.equal(ds.chooseDataset(ALL, "ds_7f46"), "ds_7f46");
  assert.equal(ds.chooseDataset(ALL, "fashion-mnist"), "mnist"); // not available here
  assert.equal(ds.chooseDataset(ALL, "ds_gone"), "mnist");
  assert.equal(ds.chooseDataset(ALL), "mnist");
  assert.equal(ds.chooseDataset([SPIRAL, { ...MNIST, available: false }]), "spiral");
  assert.equal(ds.chooseDataset([]), "");
  assert.equal(ds.unavailableReason(FASHION), FASHION.note);
  assert.equal(ds.unavailableReason(MNIST), null);
});

test("facts: what the model must take and give, and the split sizes", () => {
  assert.deepEqual(ds.datasetFacts(SHAPES), {
    input: "1×16×16",
    outputs: "3 classes",
    splits: "33 train · 6 validation · 6 test",
    classes: "checks, dots, stripes",
    kind: "classification",
  });
  assert.equal(
    ds.factsLine(MNIST),
    "input 1×28×28 · 10 classes (0–9) · 50,000 train · 10,000 validation · 10,000 test",
  );
  assert.equal(ds.datasetFacts(PLANE).outputs, "1 value");
  assert.match(ds.factsLine(PLANE), /· regression ·/);
  assert.equal(ds.classSummary(["a", "b"]), "a, b");
  assert.equal(ds.classSummary(FASHION.classes), "T-shirt/top, Trouser, Pullover, Dress, …, Ankle boot");
  assert.equal(ds.classSummary(SPIRAL.classes), "-1, +1");
});

test("fit problems mirror the server's checks: the sample's size and the class count", () => {
  assert.deepEqual(ds.fitProblems(MNIST, [1, 28, 28], [10]), []);
  assert.deepEqual(ds.fitProblems(MNIST, [784], [10]), []); // a reshape is fine
  assert.deepEqual(ds.fitProblems(MNIST, [1, 28, 28], null), []); // output not known yet
  const problems = ds.fitProblems(SHAPES, [1, 28, 28], [10]);
  assert.equal(problems.length, 2);
  assert.match(problems[0], /takes 1×28×28; “shapes” samples are 1×16×16: set input_shape to \[1, 16, 16\]/);
  assert.match(problems[1], /needs 3 class scores: end with a linear layer of 3 out_features/);
  assert.deepEqual(ds.fitProblems(null, [1], [1]), []);
});

test("adapting a spec sets its input and its last linear layer", () => {
  const lenet = {
    input_shape: [1, 28, 28],
    layers: [{ type: "conv2d", out_channels: 6, kernel_size: 5 }, { type: "flatten" }, { type: "linear", out_features: 84 }, { type: "relu" }, { type: "linear", out_features: 10 }, { type: "log_softmax" }],
  };
  const adapted = ds.adaptSpec(lenet, SHAPES);
  assert.deepEqual(adapted.input_shape, [1, 16, 16]);
  assert.equal(adapted.layers[2].out_features, 84);
  assert.equal(adapted.layers[4].out_features, 3);
  assert.equal(lenet.layers[4].out_features, 10); // the original is left alone
  assert.deepEqual(ds.adaptSpec({ input_shape: [784], layers: [{ type: "linear", out_features: 10 }] }, SHAPES).input_shape, [256]);
  assert.deepEqual(ds.adaptSpec({ input_shape: [1, 28, 28], layers: [] }, SPIRAL), {
    input_shape: [2],
    layers: [{ type: "linear", out_features: 2 }],
  });
  assert.deepEqual(ds.adaptSpec({ input_shape: [1, 28, 28], layers: [{ type: "relu" }] }, SPIRAL).layers, [
    { type: "relu" },
    { type: "flatten" },
    { type: "linear", out_features: 2 },
  ]);
});

test("class labels: names when they match the output count, else indices", () => {
  assert.deepEqual(ds.classLabels(3, SHAPES.classes), ["checks", "dots", "stripes"]);
  assert.deepEqual(ds.classLabels(3, ["a"]), ["0", "1", "2"]);
  assert.ok(ds.areDigits(ds.classLabels(10)));
  assert.ok(ds.areDigits(MNIST.classes));
  assert.ok(!ds.areDigits(FASHION.classes));
  assert.equal(ds.sampleNoun(MNIST), "digits");
  assert.equal(ds.sampleNoun(SHAPES), "images");
  assert.equal(ds.sampleNoun(SPIRAL), "samples");
  assert.equal(ds.sampleNoun(null), "digits");
  assert.ok(ds.isImage(SHAPES) && !ds.isImage(SPIRAL));
});

test("a confusion cell keeps MNIST's words and names other classes", () => {
  const digits = ds.classLabels(10);
  assert.equal(ds.cellSentence({ label: 3, prediction: 3, count: 1200, epoch: 2, labels: digits }), "1,200 of the 3s were read correctly in epoch 2.");
  assert.equal(ds.cellSentence({ label: 4, prediction: 9, count: 1, epoch: 1, labels: digits }), "One 4 was read as a 9 in epoch 1.");
  assert.equal(ds.cellSentence({ label: 4, prediction: 9, count: 7, epoch: 1, labels: digits }), "7 of the 4s were read as a 9 in epoch 1.");
  const names = SHAPES.classes;
  assert.equal(ds.cellSentence({ label: 0, prediction: 2, count: 2, epoch: 3, labels: names }), "2 “checks” samples were read as “stripes” in epoch 3.");
  assert.equal(ds.cellSentence({ label: 1, prediction: 1, count: 1, epoch: 3, labels: names }), "One “dots” sample was read correctly in epoch 3.");
  assert.equal(ds.cellSentence({ label: 1, prediction: 1, count: 5, epoch: 3, labels: names }), "5 “dots” samples were read correctly in epoch 3.");
});

test("a predicted sample becomes RGBA pixels: 28×28 rows, grey and colour (C, H, W)", () => {
  assert.deepEqual(ds.nestedShape([[[0, 1]], [[0, 1]], [[0, 1]]]), [3, 1, 2]);
  const grey = ds.sampleRgba([[0, 1]]);
  assert.deepEqual([grey.width, grey.height], [2, 1]);
  assert.deepEqual([...grey.rgba], [0, 0, 0, 255, 255, 255, 255, 255]);
  const plane = ds.sampleRgba([[[0.5]]]);
  assert.deepEqual([...plane.rgba], [128, 128, 128, 255]);
  const colour = ds.sampleRgba([[[1]], [[0]], [[0.2]]]);
  assert.deepEqual([...colour.rgba], [255, 0, 51, 255]);
  assert.equal(ds.sampleRgba([0.1, 0.2]), null); // 2-D points are not pictures
  assert.equal(ds.sampleRgba([[[[0]]]]), null);
});

test("upload helpers: a name from the file, CSV or ZIP, sizes, the size field", () => {
  assert.equal(ds.nameFromFile("C:\\data\\my_shapes.zip"), "my shapes");
  assert.equal(ds.nameFromFile("iris.csv"), "iris");
  assert.ok(ds.isCsvFile("iris.CSV") && !ds.isCsvFile("shapes.zip"));
  assert.equal(ds.bytesText(512), "512 bytes");
  assert.equal(ds.bytesText(1536), "1.5 KB");
  assert.equal(ds.bytesText(3 * 1024 * 1024), "3.0 MB");
  assert.equal(ds.sizeProblem("16x16"), null);
  assert.equal(ds.sizeProblem("16 × 16"), null);
  assert.equal(ds.sizeProblem("auto"), null);
  assert.match(ds.sizeProblem("big"), /height x width/);
  assert.equal(ds.trainHref("ds_7f46"), "/build?dataset=ds_7f46");
});

test("server messages name uploads by their title", () => {
  assert.equal(
    ds.readableMessage("input_shape: samples of 'ds_7f46' are 1×16×16", ALL),
    "input_shape: samples of “shapes” are 1×16×16",
  );
  assert.equal(ds.readableMessage("no dataset 'ds_gone'", ALL), "no dataset 'ds_gone'");
});
