// static/js/planedraw.js: frames decoded, colours, unit and feature pictures, the diagram's geometry.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as p from "../../static/js/planedraw.js";

/** Base64 of bytes (node has btoa). */
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));

describe("frames", () => {
  test("points decode to plane coordinates, training split first", () => {
    const xy = new Uint8Array(12);
    const view = new DataView(xy.buffer);
    [[-5500, 4000], [1234, -6000], [32767, -32767]].forEach(([a, b], i) => {
      view.setInt16(4 * i, a, true);
      view.setInt16(4 * i + 2, b, true);
    });
    const points = p.decodePoints({ train: 2, test: 1, scale: 0.001, xy: b64(xy), labels: b64([1, 0, 1]) });
    assert.equal(points.length, 3);
    assert.deepEqual(points.map((q) => [q.label, q.test]), [[1, false], [0, false], [1, true]]);
    assert.ok(Math.abs(points[0].x1 + 5.5) < 1e-9 && Math.abs(points[0].x2 - 4) < 1e-9);
    assert.ok(Math.abs(points[1].x1 - 1.234) < 1e-9);
    assert.deepEqual(points.map((q) => q.value), [1, -1, 1]); // classes: their sign
    const valued = p.decodePoints({ train: 2, test: 1, scale: 0.001, xy: b64(xy), labels: b64([1, 0, 1]), values: b64([255, 0, 191]) });
    assert.deepEqual(valued.slice(0, 2).map((q) => q.value), [1, -1]);
    assert.ok(Math.abs(valued[2].value - 0.498) < 1e-3); // a regression's own value
    assert.deepEqual(p.decodePoints(null), []);
  });

  test("plane coordinates map to the canvas with x2 = +6 at the top", () => {
    assert.deepEqual(p.toCanvas(-6, 6, 300), [0, 0]);
    assert.deepEqual(p.toCanvas(6, -6, 300), [300, 300]);
    assert.deepEqual(p.toCanvas(0, 0, 300), [150, 150]);
  });

  test("the colour scale runs orange, grey, blue and clamps", () => {
    assert.deepEqual(p.colorOf(-1), p.ORANGE);
    assert.deepEqual(p.colorOf(0), p.GREY);
    assert.deepEqual(p.colorOf(1), p.BLUE);
    assert.deepEqual(p.colorOf(7), p.BLUE);
    assert.deepEqual(p.colorOf(Number.NaN), p.GREY);
  });

  test("the output LUT: byte 0 (surely -1) orange, 255 blue; discrete splits at 0.5", () => {
    const lut = p.makeLut();
    assert.deepEqual([...lut.slice(0, 4)], [...p.ORANGE, 255]);
    assert.deepEqual([...lut.slice(255 * 4, 256 * 4)], [...p.BLUE, 255]);
    const discrete = p.makeLut({ discrete: true });
    assert.deepEqual([...discrete.slice(120 * 4, 120 * 4 + 3)], p.ORANGE);
    assert.deepEqual([...discrete.slice(140 * 4, 140 * 4 + 3)], p.BLUE);
    const washed = p.makeLut({ wash: true });
    assert.ok(washed[0] > p.ORANGE[0] - 1 && washed[2] > p.ORANGE[2]); // lighter towards white
    const pixels = p.paint(Uint8Array.from([0, 255]), lut);
    assert.deepEqual([...pixels], [...p.ORANGE, 255, ...p.BLUE, 255]);
  });

  test("a unit's bytes become its value, coloured within [-1, 1]", () => {
    const data = Uint8Array.from([0, 255, 128, 64, /* unit 1: */ 255, 255, 255, 255]);
    assert.deepEqual([...p.unitLevels(data, 0, 2, 1)], [0, 255, 128, 64]);
    // m = 0.5: the largest value is 0.5, a quarter of the way from grey to blue … to 191
    assert.deepEqual([...p.unitLevels(data, 1, 2, 0.5)], [191, 191, 191, 191]);
    assert.deepEqual([...p.unitLevels(data, 0, 2, 4)].slice(0, 2), [0, 255]); // clamped
  });

  test("feature pictures: x1 grows to the right, x2 upwards", () => {
    const x1 = p.featureLevels("x1", 4);
    assert.deepEqual([x1[0], x1[3], x1[12], x1[15]], [0, 255, 0, 255]);
    const x2 = p.featureLevels("x2", 4);
    assert.deepEqual([x2[0], x2[3], x2[12], x2[15]], [255, 255, 0, 0]);
    const square = p.featureLevels("x1^2", 3);
    assert.equal(square[4], 128); // 0 at the centre
  });
});

describe("the network diagram", () => {
  test("columns of nodes, top-aligned, sized to the tallest", () => {
    const layout = p.networkLayout([7, 4, 1], { node: 30, gap: 10, column: 100, pad: 5 });
    assert.equal(layout.columns.length, 3);
    assert.deepEqual(layout.columns[1][0], { x: 105, y: 5 });
    assert.deepEqual(layout.columns[0][6], { x: 5, y: 5 + 6 * 40 });
    assert.equal(layout.height, 10 + 7 * 30 + 6 * 10);
    assert.equal(layout.width, 10 + 200 + 30);
    assert.equal(p.linkPath({ x: 0, y: 0 }, { x: 100, y: 40 }, 30), "M30,15 C65,15 65,55 100,55");
  });

  test("links join the model's features, the shown units and the output", () => {
    const frame = {
      features: ["x1", "x1x2"],
      neurons: [{ shown: 2 }, { shown: 1 }],
      weights: [
        { weight: [[1, 2], [3, 4], [5, 6]] }, // 3 units × 2 inputs
        { weight: [[7, 8, 9], [10, 11, 12]] }, // 2 units × 3 inputs
        { weight: [[0.5, 1], [2, -1]] }, // 2 scores × 2 inputs
      ],
    };
    const found = p.links(frame, [3, 2]);
    const key = (l) => `${l.from}>${l.to}:${l.weight}`;
    assert.deepEqual(found.map(key), [
      "0,0>1,0:1", "0,4>1,0:2", "0,0>1,1:3", "0,4>1,1:4", // unit 2 is not pictured
      "1,0>2,0:7", "1,1>2,0:8", // the second layer shows one unit
      "2,0>3,0:1.5", // +1's score minus -1's
    ]);
    assert.deepEqual(p.links({ ...frame, weights: null }, [3, 2]), []);
    // a regression's single output: each unit's own weight into it
    const value = { ...frame, weights: [...frame.weights.slice(0, 2), { weight: [[0.25, -2]] }] };
    assert.deepEqual(p.links(value, [3, 2]).slice(-1).map(key), ["2,0>3,0:0.25"]);
    assert.deepEqual(p.links(frame, [3]), []); // a frame of another network
  });

  test("line widths and colours follow |w| and its sign", () => {
    assert.equal(p.linkStyle(0).width, 1);
    assert.equal(p.linkStyle(-5).width, 10);
    assert.equal(p.linkStyle(50).width, 10);
    assert.equal(p.linkStyle(1).color, `rgb(${p.BLUE.join(" ")})`);
    assert.equal(p.linkStyle(-1).color, `rgb(${p.ORANGE.join(" ")})`);
  });
});
