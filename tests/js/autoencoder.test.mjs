// static/js/autoencoder.js: an autoencode run's task, its codes events' points, a scatter point
// turned back into a code, reconstruction images, and the decode throttle.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as ae from "../../static/js/autoencoder.js";

/** int16 little-endian pairs as base64, the way the server sends a codes event's xy. */
function xyBase64(pairs) {
  const buffer = Buffer.alloc(pairs.length * 4);
  pairs.forEach(([x, y], i) => {
    buffer.writeInt16LE(x, i * 4);
    buffer.writeInt16LE(y, i * 4 + 2);
  });
  return buffer.toString("base64");
}

test("the task: a name or an object with its name; classify by default", () => {
  assert.equal(ae.taskName({ task: "autoencode" }), "autoencode");
  assert.equal(ae.taskName({ task: { name: "autoencode", noise: 0.3 } }), "autoencode");
  assert.equal(ae.taskName({}), "classify");
  assert.equal(ae.taskName(null), "classify");
  assert.equal(ae.isAutoencode({ task: { name: "autoencode" } }), true);
  assert.equal(ae.isAutoencode({ task: "classify" }), false);
  assert.equal(ae.isAutoencode({ task: "dqn" }), false);
  assert.equal(ae.taskNoise({ task: { name: "autoencode", noise: 0.3 } }), 0.3);
  assert.equal(ae.taskNoise({ task: "autoencode" }), 0);
});

test("points: int16 little-endian pairs times the scale, with their labels", () => {
  const event = {
    count: 3,
    scale: 0.002,
    xy: xyBase64([
      [1000, -1000],
      [-32767, 250],
      [0, 1],
    ]),
    labels: Buffer.from([7, 0, 9]).toString("base64"),
  };
  const points = ae.decodePoints(event);
  assert.equal(points.count, 3);
  assert.deepEqual([...points.labels], [7, 0, 9]);
  const close = (a, b) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≠ ${b}`);
  close(points.x[0], 2);
  close(points.y[0], -2);
  close(points.x[1], -65.534);
  close(points.y[1], 0.5);
  close(points.x[2], 0);
  close(points.y[2], 0.002);
});

test("points: no more than the bytes hold, and none from an empty event", () => {
  const points = ae.decodePoints({ count: 5, scale: 1, xy: xyBase64([[1, 2]]), labels: "AQ==" });
  assert.equal(points.count, 1);
  assert.equal(ae.decodePoints({ count: 0, scale: 1, xy: "", labels: "" }).count, 0);
});

test("a point of a 2-number code is the code itself", () => {
  const event = { method: "code", code_size: 2, mean: [], basis: [] };
  assert.deepEqual(ae.pointToCode(event, 1.5, -2), [1.5, -2]);
  assert.deepEqual(ae.pointToCode({ ...event, code_size: 1 }, 3, 0), [3]);
});

test("a point of principal components is mean + x·basis[0] + y·basis[1]", () => {
  const event = {
    method: "pca",
    code_size: 3,
    mean: [1, 2, 3],
    basis: [
      [1, 0, 0.5],
      [0, 1, -0.5],
    ],
  };
  assert.deepEqual(ae.pointToCode(event, 0, 0), [1, 2, 3]);
  assert.deepEqual(ae.pointToCode(event, 2, 4), [3, 6, 2]);
});

test("captions say what the axes are", () => {
  assert.equal(ae.codeCaption({ method: "code", code_size: 2 }), "the code itself");
  assert.equal(
    ae.codeCaption({ method: "pca", code_size: 32, explained: 0.4567 }),
    "first two principal components (46% of the variance) of the 32-number code",
  );
  assert.match(ae.codeCaption({ method: "pca", code_size: 32, explained: null }), /^first two principal components of/);
});

test("the scatter's square view maps points to pixels and back", () => {
  const points = { count: 2, x: [-1, 3], y: [0, 1] };
  const bounds = ae.scatterBounds(points, 0);
  assert.deepEqual(bounds, { cx: 1, cy: 0.5, half: 2 });
  assert.deepEqual(ae.toPixel(bounds, 400, -1, 2.5), { px: 0, py: 0 });
  assert.deepEqual(ae.toPixel(bounds, 400, 3, -1.5), { px: 400, py: 400 });
  const back = ae.toPoint(bounds, 400, 100, 300);
  assert.deepEqual(back, { x: 0, y: -0.5 });
  const { px, py } = ae.toPixel(bounds, 400, back.x, back.y);
  assert.deepEqual({ px, py }, { px: 100, py: 300 });
  assert.deepEqual(ae.scatterBounds({ count: 0, x: [], y: [] }), { cx: 0, cy: 0, half: 1 });
  assert.ok(ae.scatterBounds({ count: 1, x: [5], y: [5] }).half > 0); // one point: no zero-size view
});

test("images: grey planes repeat into RGB, colour planes interleave", () => {
  // two 1×2×2 grey images
  const grey = Uint8Array.from([0, 1, 2, 3, 10, 11, 12, 13]);
  assert.deepEqual([...ae.imageRgba(grey, [1, 2, 2], 1)], [10, 10, 10, 255, 11, 11, 11, 255, 12, 12, 12, 255, 13, 13, 13, 255]);
  // one 3×1×2 colour image: R plane, G plane, B plane
  const colour = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...ae.imageRgba(colour, [3, 1, 2], 0)], [1, 3, 5, 255, 2, 4, 6, 255]);
  assert.equal(ae.differ(grey, Uint8Array.from(grey)), false);
  assert.equal(ae.differ(grey, Uint8Array.from([0, 1, 2, 3, 10, 11, 12, 14])), true);
});

test("ten distinct class colours, wrapping after ten", () => {
  assert.equal(new Set(ae.CLASS_COLOURS).size, 10);
  assert.equal(ae.classColour(12), ae.classColour(2));
});

test("decode requests: one in flight, the latest asked for meanwhile goes next", async () => {
  const sent = [];
  const results = [];
  const waiting = [];
  const throttle = new ae.LatestOnly(
    (value) => {
      sent.push(value);
      return new Promise((resolve) => waiting.push(() => resolve(`decoded ${value}`)));
    },
    { onResult: (result) => results.push(result) },
  );
  throttle.request(1);
  throttle.request(2);
  throttle.request(3);
  assert.deepEqual(sent, [1]);
  waiting.shift()();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(sent, [1, 3]); // 2 was replaced by 3
  assert.deepEqual(results, ["decoded 1"]);
  waiting.shift()();
  await throttle.idle;
  assert.deepEqual(results, ["decoded 1", "decoded 3"]);
  assert.equal(throttle.busy, false);
});

test("decode requests: a failure is reported and the next request still goes", async () => {
  const errors = [];
  const results = [];
  const throttle = new ae.LatestOnly(
    async (value) => {
      if (value === "bad") throw new Error("422");
      return value;
    },
    { onResult: (r) => results.push(r), onError: (e, value) => errors.push([e.message, value]) },
  );
  throttle.request("bad");
  await throttle.idle;
  throttle.request("good");
  await throttle.idle;
  assert.deepEqual(errors, [["422", "bad"]]);
  assert.deepEqual(results, ["good"]);
});

test("a drawing's code in one line: a short code whole, a long one begun and counted", () => {
  assert.equal(ae.codeText([0.5, -1.234]), "code: [0.50, -1.23]");
  const long = Array.from({ length: 32 }, (_, i) => i / 10);
  assert.equal(ae.codeText(long), "code: [0.00, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, … (32 numbers)]");
  assert.equal(ae.codeText([]), "code: []");
});
