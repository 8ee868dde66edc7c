// The 2-D playground's pictures, pure (no DOM): boundary frames decoded into bytes and points,
// TensorFlow Playground's colours and lookup tables, feature and unit pictures, and the geometry
// of the network diagram (where its nodes go, its links and their look).

import { EXTENT, FEATURES } from "./plane2d.js";

/** Base64 → bytes. */
export function decodeBase64(text) {
  const binary = atob(text ?? "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * A frame's points → [{x1, x2, label, value, test}]: the training split first, then the test
 * split. `value` is -1 or +1 for a class, a regression's own value (-1..1) where the frame sends
 * values.
 */
export function decodePoints(points) {
  if (!points) return [];
  const xy = decodeBase64(points.xy);
  const labels = decodeBase64(points.labels);
  const values = points.values ? decodeBase64(points.values) : null;
  const view = new DataView(xy.buffer, xy.byteOffset, xy.byteLength);
  const count = Math.min(points.train + points.test, labels.length, xy.length >> 2);
  const found = [];
  for (let i = 0; i < count; i++) {
    found.push({
      x1: view.getInt16(4 * i, true) * points.scale,
      x2: view.getInt16(4 * i + 2, true) * points.scale,
      label: labels[i],
      value: values ? (2 * values[i]) / 255 - 1 : labels[i] ? 1 : -1,
      test: i >= points.train,
    });
  }
  return found;
}

/** Plane coordinates → canvas pixels on a side×side canvas (x2 = +6 at the top). */
export function toCanvas(x1, x2, side) {
  return [((x1 + EXTENT) / (2 * EXTENT)) * side, ((EXTENT - x2) / (2 * EXTENT)) * side];
}

// TF Playground's colours: orange for -1 (class 0), a light grey for 0, blue for +1 (class 1).
export const ORANGE = [245, 147, 34];
export const GREY = [232, 234, 235];
export const BLUE = [8, 119, 189];
const WASH = 160 / 255; // TF Playground paints the plane at alpha 160 over white

/** The colour of a value in [-1, 1] (clamped): orange … grey … blue. */
export function colorOf(value) {
  const v = Math.max(-1, Math.min(1, Number.isFinite(value) ? value : 0));
  const [from, to, t] = v < 0 ? [GREY, ORANGE, -v] : [GREY, BLUE, v];
  return from.map((c, i) => Math.round(c + (to[i] - c) * t));
}

export function cssColor(value) {
  const [r, g, b] = colorOf(value);
  return `rgb(${r} ${g} ${b})`;
}

/**
 * 256 RGBA colours for the bytes of a picture: byte b stands for the value 2·b/255 − 1 (a
 * regression's value, or a probability b/255 of class "+1"); `discrete` paints each side of
 * byte 127.5 (value 0, probability 0.5) in one colour;
 * `wash` lightens the colours as TF Playground's plane is.
 */
export function makeLut({ discrete = false, wash = false } = {}) {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let b = 0; b < 256; b++) {
    let value = (2 * b) / 255 - 1;
    if (discrete) value = value < 0 ? -1 : 1;
    const rgb = colorOf(value);
    for (let i = 0; i < 3; i++) lut[4 * b + i] = wash ? 255 + (rgb[i] - 255) * WASH : rgb[i];
    lut[4 * b + 3] = 255;
  }
  return lut;
}

/** Bytes through a LUT → RGBA pixels (for ImageData). */
export function paint(bytes, lut, out = new Uint8ClampedArray(bytes.length * 4)) {
  for (let i = 0; i < bytes.length; i++) {
    const at = bytes[i] * 4;
    out[4 * i] = lut[at];
    out[4 * i + 1] = lut[at + 1];
    out[4 * i + 2] = lut[at + 2];
    out[4 * i + 3] = lut[at + 3];
  }
  return out;
}

/**
 * One hidden unit's picture as colour bytes: the frame sends 127.5 + 127.5·v/m; TF Playground
 * colours the value v itself, clamped to [-1, 1]. Returns `side²` bytes for a LUT.
 */
export function unitLevels(data, unit, side, m) {
  const size = side * side;
  const levels = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const value = ((data[unit * size + i] - 127.5) / 127.5) * m;
    levels[i] = Math.round((Math.max(-1, Math.min(1, value)) + 1) * 127.5);
  }
  return levels;
}

/** A feature's picture over the plane (side², top row x2 = +6), scaled to its largest |value|. */
export function featureLevels(name, side) {
  const feature = FEATURES.find((f) => f.name === name);
  const values = new Float64Array(side * side);
  let most = 1e-9;
  for (let row = 0; row < side; row++) {
    const x2 = EXTENT - (2 * EXTENT * row) / (side - 1);
    for (let col = 0; col < side; col++) {
      const x1 = -EXTENT + (2 * EXTENT * col) / (side - 1);
      const v = feature.value(x1, x2);
      values[row * side + col] = v;
      most = Math.max(most, Math.abs(v));
    }
  }
  return Uint8Array.from(values, (v) => Math.round((v / most + 1) * 127.5));
}

/**
 * Where the diagram's nodes go: `counts` nodes per column (features, hidden layers, output),
 * top-aligned like TF Playground's. Returns {width, height, columns: [[{x, y}]]}, (x, y) the
 * top-left corner of a node of side `node`.
 */
export function networkLayout(counts, { node = 36, gap = 12, column = 104, pad = 6 } = {}) {
  const tallest = Math.max(1, ...counts);
  return {
    width: pad * 2 + (counts.length - 1) * column + node,
    height: pad * 2 + tallest * node + (tallest - 1) * gap,
    node,
    columns: counts.map((count, c) =>
      Array.from({ length: count }, (_, i) => ({ x: pad + c * column, y: pad + i * (node + gap) })),
    ),
  };
}

/** An SVG path from the right edge of one node to the left edge of the next: a smooth S. */
export function linkPath(from, to, node) {
  const x1 = from.x + node;
  const y1 = from.y + node / 2;
  const x2 = to.x;
  const y2 = to.y + node / 2;
  const mid = (x1 + x2) / 2;
  return `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
}

/** A weight's line as TF Playground draws it: width by |w| (1..10 px over 0..5), colour by sign. */
export function linkStyle(weight) {
  const w = Number.isFinite(weight) ? weight : 0;
  return { width: 1 + (9 * Math.min(Math.abs(w), 5)) / 5, color: cssColor(w) };
}

/**
 * The links of the diagram from a frame's weights: [{from: [column, node], to: [column, node],
 * weight}]. Column 0 holds every feature (only the model's inputs have links), the hidden layers
 * follow, the last column is the output: its link from a unit is that unit's weight into the
 * single value of a regression, or what it adds to the score of "+1" over "-1" (w₊₁ − w₋₁) of a
 * classification. Units beyond those the frame pictures are left out.
 */
export function links(frame, hidden) {
  const weights = frame?.weights;
  if (!Array.isArray(weights) || weights.length !== hidden.length + 1) return [];
  const inputs = (frame.features ?? []).map((name) => FEATURES.findIndex((f) => f.name === name));
  const shown = hidden.map((units, i) => Math.min(units, frame.neurons?.[i]?.shown ?? units));
  const found = [];
  weights.forEach((layer, l) => {
    const sources = l === 0 ? inputs : [...Array(shown[l - 1]).keys()];
    if (l === weights.length - 1) {
      sources.forEach((source, i) => {
        const weight = outputWeight(layer.weight, i);
        if (weight !== null) found.push({ from: [l, source], to: [l + 1, 0], weight });
      });
      return;
    }
    for (let j = 0; j < shown[l]; j++) {
      sources.forEach((source, i) => {
        const weight = layer.weight[j]?.[i];
        if (weight !== undefined && source >= 0) found.push({ from: [l, source], to: [l + 1, j], weight });
      });
    }
  });
  return found;
}

/** Input i's weight into the output node: its one row (a value), or +1's row minus -1's. */
function outputWeight(rows, i) {
  const weight = rows.length === 1 ? rows[0]?.[i] : rows[1]?.[i] - rows[0]?.[i];
  return Number.isFinite(weight) ? weight : null;
}
