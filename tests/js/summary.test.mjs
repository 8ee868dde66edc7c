// static/js/summary.js: the rows of a model summary by path, nested blocks included.
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeLayer, summaryRows } from "../../static/js/summary.js";

/** What POST /api/specs/summary says of conv, residual(conv, relu), flatten, linear. */
const SUMMARY = {
  input_shape: [1, 28, 28],
  output_shape: [10],
  layers: [
    { index: 0, path: "0", type: "conv2d", input_shape: [1, 28, 28], output_shape: [4, 26, 26], params: 40, macs: 24336 },
    {
      index: 1,
      path: "1",
      type: "residual",
      input_shape: [4, 26, 26],
      output_shape: [4, 26, 26],
      params: 148,
      macs: 97344,
      formula: "x + layers(x)",
      layers: [
        { index: 0, path: "1.0", type: "conv2d", input_shape: [4, 26, 26], output_shape: [4, 26, 26], params: 148, macs: 97344 },
        {
          index: 1,
          path: "1.1",
          type: "residual",
          input_shape: [4, 26, 26],
          output_shape: [4, 26, 26],
          params: 0,
          macs: 0,
          layers: [{ index: 0, path: "1.1.0", type: "relu", input_shape: [4, 26, 26], output_shape: [4, 26, 26], params: 0, macs: 0 }],
        },
      ],
    },
    { index: 2, path: "2", type: "flatten", input_shape: [4, 26, 26], output_shape: [2704], params: 0, macs: 0 },
    { index: 3, path: "3", type: "linear", input_shape: [2704], output_shape: [10], params: 27050, macs: 27040 },
  ],
  total_params: 27238,
  total_macs: 148720,
};

test("summaryRows has every row, nested ones too, each block before its layers", () => {
  const rows = summaryRows(SUMMARY);
  assert.deepEqual([...rows.keys()], ["0", "1", "1.0", "1.1", "1.1.0", "2", "3"]);
  assert.equal(rows.get("1.1.0").type, "relu");
  assert.equal(rows.get("1"), SUMMARY.layers[1]); // the rows themselves, not copies
  assert.equal(rows.get("3").params, 27050);
});

test("summaryRows of no summary, or of one without layers, is empty", () => {
  assert.equal(summaryRows(null).size, 0);
  assert.equal(summaryRows(undefined).size, 0);
  assert.equal(summaryRows({}).size, 0);
  assert.equal(summaryRows({ layers: [] }).size, 0);
});

test("describeLayer names the type and output shape, or only the path without a row", () => {
  const rows = summaryRows(SUMMARY);
  assert.equal(describeLayer(rows, "0"), "layer 0 · conv2d → 4×26×26");
  assert.equal(describeLayer(rows, "1.1.0"), "layer 1.1.0 · relu → 4×26×26");
  assert.equal(describeLayer(rows, "3"), "layer 3 · linear → 10");
  assert.equal(describeLayer(rows, "7"), "layer 7");
  assert.equal(describeLayer(new Map(), "0"), "layer 0");
});
