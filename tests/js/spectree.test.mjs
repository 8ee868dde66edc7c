// static/js/spectree.js: paths, reading and editing the spec tree, defaults, errors by layer.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as tree from "../../static/js/spectree.js";

/** conv, a residual block (conv, relu, an inner block with gelu), flatten, linear. */
function sample() {
  return {
    input_shape: [1, 28, 28],
    layers: [
      { type: "conv2d", out_channels: 8, kernel_size: 3 },
      {
        type: "residual",
        layers: [
          { type: "conv2d", out_channels: 8, kernel_size: 3, padding: 1 },
          { type: "relu" },
          { type: "residual", layers: [{ type: "gelu" }] },
        ],
      },
      { type: "flatten" },
      { type: "linear", out_features: 10 },
    ],
  };
}

const types = (list) => list.map((layer) => layer.type);

describe("paths", () => {
  test("splitPath gives the parent path and the index", () => {
    assert.deepEqual(tree.splitPath("3"), ["", 3]);
    assert.deepEqual(tree.splitPath("5.1"), ["5", 1]);
    assert.deepEqual(tree.splitPath("1.2.0"), ["1.2", 0]);
  });

  test("childPath is splitPath's inverse", () => {
    assert.equal(tree.childPath("", 3), "3");
    assert.equal(tree.childPath("5", 1), "5.1");
    for (const path of ["0", "12", "1.2", "1.2.0"]) {
      assert.equal(tree.childPath(...tree.splitPath(path)), path);
    }
  });

  test("parentPath", () => {
    assert.equal(tree.parentPath("4"), "");
    assert.equal(tree.parentPath("1.2.0"), "1.2");
  });
});

describe("reading the tree", () => {
  test("layerAt follows paths into nested blocks", () => {
    const spec = sample();
    assert.equal(tree.layerAt(spec, "0").type, "conv2d");
    assert.equal(tree.layerAt(spec, "1.1").type, "relu");
    assert.equal(tree.layerAt(spec, "1.2.0").type, "gelu");
    assert.equal(tree.layerAt(spec, "1.1"), spec.layers[1].layers[1]); // the object itself
  });

  test("layerAt is null past the end or inside a layer that is no block", () => {
    const spec = sample();
    assert.equal(tree.layerAt(spec, "4"), null);
    assert.equal(tree.layerAt(spec, "1.3"), null);
    assert.equal(tree.layerAt(spec, "0.0"), null);
    assert.equal(tree.layerAt({ layers: [] }, "0"), null);
  });

  test("listAt gives the top list or a block's list, null for a plain layer", () => {
    const spec = sample();
    assert.equal(tree.listAt(spec, ""), spec.layers);
    assert.equal(tree.listAt(spec, "1"), spec.layers[1].layers);
    assert.deepEqual(types(tree.listAt(spec, "1.2")), ["gelu"]);
    assert.equal(tree.listAt(spec, "0"), null);
    assert.equal(tree.listAt(spec, "9"), null);
  });

  test("normalizeSpec copies deeply and always has a layers array", () => {
    const spec = sample();
    const copy = tree.normalizeSpec(spec);
    assert.deepEqual(copy, spec);
    copy.layers[1].layers[0].out_channels = 99;
    assert.equal(spec.layers[1].layers[0].out_channels, 8);
    assert.deepEqual(tree.normalizeSpec(null), { layers: [] });
    assert.deepEqual(tree.normalizeSpec({ input_shape: [1, 28, 28], layers: "x" }), {
      input_shape: [1, 28, 28],
      layers: [],
    });
  });
});

describe("kinds and defaults", () => {
  const kinds = new Map([
    ["batchnorm2d", { type: "batchnorm2d" }],
    ["leaky_relu", { type: "leaky_relu" }],
  ]);

  test("findKind accepts PyTorch spellings", () => {
    assert.equal(tree.findKind(kinds, "batchnorm2d").type, "batchnorm2d");
    assert.equal(tree.findKind(kinds, "BatchNorm2d").type, "batchnorm2d");
    assert.equal(tree.findKind(kinds, "LeakyReLU").type, "leaky_relu");
    assert.equal(tree.findKind(kinds, "leaky-relu").type, "leaky_relu");
    assert.equal(tree.findKind(kinds, "conv2d"), null);
  });

  test("newLayer: a linear layer at the end is the 10-way classifier", () => {
    assert.deepEqual(tree.newLayer("linear", { atEnd: true }), { type: "linear", out_features: 10 });
    assert.deepEqual(tree.newLayer("linear"), { type: "linear", out_features: 64 });
  });

  test("newLayer: conv2d keeps the size, a residual block comes with a conv and a relu", () => {
    assert.deepEqual(tree.newLayer("conv2d"), { type: "conv2d", out_channels: 8, kernel_size: 3, padding: 1 });
    const block = tree.newLayer("residual");
    assert.deepEqual(types(block.layers), ["conv2d", "relu"]);
    assert.notEqual(tree.newLayer("residual").layers, block.layers); // never shared
  });

  test("newLayer fills required integers from the schema, at least 1", () => {
    const schema = {
      required: ["hidden_size", "num_layers", "mode", "out_features"],
      properties: {
        hidden_size: { type: "integer", minimum: 4 },
        num_layers: { type: "integer", minimum: 0 },
        mode: { type: "string" },
        out_features: { type: "integer", minimum: 1 },
      },
    };
    assert.deepEqual(tree.newLayer("lstm", { schema }), {
      type: "lstm",
      hidden_size: 4,
      num_layers: 1,
      out_features: 1,
    });
    // a default already set wins over the schema's minimum
    assert.equal(tree.newLayer("linear", { atEnd: true, schema }).out_features, 10);
    assert.deepEqual(tree.newLayer("relu", { schema: { properties: {} } }), { type: "relu" });
  });
});

describe("inserting", () => {
  test("with nothing selected a layer goes at the end, which is the network's end", () => {
    const spec = sample();
    assert.deepEqual(tree.insertionPoint(spec, null), { parent: "", index: 4, atEnd: true });
    assert.deepEqual(tree.insertionPoint(spec, "7"), { parent: "", index: 4, atEnd: true }); // gone
  });

  test("after the selected layer, in its own block", () => {
    const spec = sample();
    assert.deepEqual(tree.insertionPoint(spec, "0"), { parent: "", index: 1, atEnd: false });
    assert.deepEqual(tree.insertionPoint(spec, "3"), { parent: "", index: 4, atEnd: true });
    assert.deepEqual(tree.insertionPoint(spec, "1.1"), { parent: "1", index: 2, atEnd: false });
    assert.deepEqual(tree.insertionPoint(spec, "1.2"), { parent: "1", index: 3, atEnd: false });
  });

  test("into a named block: at its end, whatever is selected", () => {
    const spec = sample();
    assert.deepEqual(tree.insertionPoint(spec, "0", "1"), { parent: "1", index: 3, atEnd: false });
    assert.deepEqual(tree.insertionPoint(spec, null, "1.2"), { parent: "1.2", index: 1, atEnd: false });
  });

  test("insertLayer puts the layer there and returns its path", () => {
    const spec = sample();
    assert.equal(tree.insertLayer(spec, "", 1, { type: "relu" }), "1");
    assert.deepEqual(types(spec.layers), ["conv2d", "relu", "residual", "flatten", "linear"]);
    assert.equal(tree.insertLayer(spec, "2", 3, { type: "dropout" }), "2.3");
    assert.deepEqual(types(spec.layers[2].layers), ["conv2d", "relu", "residual", "dropout"]);
    assert.equal(tree.insertLayer(spec, "2.2", 0, { type: "tanh" }), "2.2.0");
    assert.deepEqual(types(tree.listAt(spec, "2.2")), ["tanh", "gelu"]);
  });
});

describe("removing", () => {
  test("the layer now in its place is selected next", () => {
    const spec = sample();
    assert.equal(tree.removeLayer(spec, "0"), "0");
    assert.deepEqual(types(spec.layers), ["residual", "flatten", "linear"]);
  });

  test("the last one of a list: the one before it", () => {
    const spec = sample();
    assert.equal(tree.removeLayer(spec, "3"), "2");
    assert.equal(tree.removeLayer(spec, "1.2"), "1.1");
    assert.deepEqual(types(spec.layers[1].layers), ["conv2d", "relu"]);
  });

  test("a block's only layer: the block; the network's only layer: nothing", () => {
    const spec = sample();
    assert.equal(tree.removeLayer(spec, "1.2.0"), "1.2");
    assert.deepEqual(tree.layerAt(spec, "1.2").layers, []);
    const one = { layers: [{ type: "relu" }] };
    assert.equal(tree.removeLayer(one, "0"), null);
    assert.deepEqual(one.layers, []);
  });
});

describe("moving", () => {
  test("moveLayer moves by one place either way and returns the new path", () => {
    const spec = sample();
    assert.equal(tree.moveLayer(spec, "2", -1), "1");
    assert.deepEqual(types(spec.layers), ["conv2d", "flatten", "residual", "linear"]);
    assert.equal(tree.moveLayer(spec, "2.0", 1), "2.1");
    assert.deepEqual(types(spec.layers[2].layers), ["relu", "conv2d", "residual"]);
  });

  test("moveLayer past either end changes nothing", () => {
    const spec = sample();
    assert.equal(tree.moveLayer(spec, "0", -1), null);
    assert.equal(tree.moveLayer(spec, "3", 1), null);
    assert.equal(tree.moveLayer(spec, "1.2", 1), null);
    assert.deepEqual(spec, sample());
  });

  test("moveLayerTo drops a layer before or after another in the same list", () => {
    let spec = sample();
    assert.equal(tree.moveLayerTo(spec, "0", "2", false), "1"); // before flatten
    assert.deepEqual(types(spec.layers), ["residual", "conv2d", "flatten", "linear"]);
    spec = sample();
    assert.equal(tree.moveLayerTo(spec, "0", "2", true), "2"); // after flatten
    assert.deepEqual(types(spec.layers), ["residual", "flatten", "conv2d", "linear"]);
    spec = sample();
    assert.equal(tree.moveLayerTo(spec, "3", "0", false), "0"); // upwards, before the first
    assert.deepEqual(types(spec.layers), ["linear", "conv2d", "residual", "flatten"]);
    spec = sample();
    assert.equal(tree.moveLayerTo(spec, "1.2", "1.0", true), "1.1");
    assert.deepEqual(types(spec.layers[1].layers), ["conv2d", "residual", "relu"]);
  });

  test("moveLayerTo refuses a move onto itself or into another list", () => {
    const spec = sample();
    assert.equal(tree.moveLayerTo(spec, "2", "2", true), null);
    assert.equal(tree.moveLayerTo(spec, "0", "1.1", false), null);
    assert.equal(tree.moveLayerTo(spec, "1.0", "1.2.0", false), null);
    assert.deepEqual(spec, sample());
  });

  test("the moved layer is the same object (forms keep editing it)", () => {
    const spec = sample();
    const conv = spec.layers[0];
    tree.moveLayer(spec, "0", 1);
    assert.equal(spec.layers[1], conv);
  });
});

test("setArgument sets a value, and undefined takes it out", () => {
  const layer = { type: "conv2d", out_channels: 8, padding: 1 };
  tree.setArgument(layer, "out_channels", 16);
  tree.setArgument(layer, "padding", undefined);
  tree.setArgument(layer, "bias", false);
  assert.deepEqual(layer, { type: "conv2d", out_channels: 16, bias: false });
  assert.ok(!("padding" in layer));
});

describe("formatSpec", () => {
  test("round-trips, one line per layer, blocks over several lines", () => {
    const spec = sample();
    const text = tree.formatSpec(spec);
    assert.deepEqual(JSON.parse(text), spec);
    const lines = text.split("\n");
    assert.equal(lines[1], '  "input_shape": [1, 28, 28],');
    assert.equal(lines[3], '    {"type": "conv2d", "out_channels": 8, "kernel_size": 3},');
    assert.match(lines[4], /^ {4}\{"type": ?"residual", "layers": \[$/);
    assert.equal(lines[5], '      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},');
    assert.ok(lines.includes('        {"type": "gelu"}'));
    assert.equal(lines.at(-5), "    ]},");
    assert.equal(lines.length, 15);
  });

  test("anything that is no spec is pretty-printed as it is", () => {
    assert.equal(tree.formatSpec([1, 2]), "[\n  1,\n  2\n]");
    assert.equal(tree.formatSpec({ a: 1 }), '{\n  "a": 1\n}');
  });
});

test("groupErrors sorts errors by the layers that exist; the rest are loose messages", () => {
  const errors = [
    { layer: "0", field: "kernel_size", msg: "too big" },
    { layer: "1.1", msg: "bad" },
    { layer: "0", msg: "also" },
    { layer: "9", msg: "no such card" },
    { layer: null, msg: "spec-wide" },
    { msg: "no layer at all" },
    "plain text",
  ];
  const known = new Set(["0", "1", "1.1"]);
  const { byLayer, loose } = tree.groupErrors(errors, (path) => known.has(path));
  assert.deepEqual([...byLayer.keys()], ["0", "1.1"]);
  assert.deepEqual(
    byLayer.get("0").map((e) => e.msg),
    ["too big", "also"],
  );
  assert.deepEqual(loose, ["no such card", "spec-wide", "no layer at all", "plain text"]);
});
