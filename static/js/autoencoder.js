// What the run page needs to show an autoencoder, without the DOM: whether a run autoencodes,
// its reconstructions frames and codes events decoded from base64, a scatter point turned back
// into a code, a throttle for decode requests, and a drawing's code in words.
// Tests: tests/js/autoencoder.test.mjs.

import { AUTOENCODE, taskName } from "./tasks.js";

export { AUTOENCODE, taskName };

/** Whether a run with this config rebuilds its input. */
export function isAutoencode(config) {
  return taskName(config) === AUTOENCODE;
}

/** A denoiser's noise (0 for a plain autoencoder). */
export function taskNoise(config) {
  const task = config?.task;
  return task && typeof task === "object" && typeof task.noise === "number" ? task.noise : 0;
}

/** base64 text (or bytes already) → Uint8Array. */
export function bytesOf(data) {
  if (data instanceof Uint8Array) return data;
  const binary = atob(String(data ?? ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * A codes event's points: {x, y} as Float64Arrays in code units (int16 little-endian pairs
 * times `scale`), `labels` (a class index per point) and `count`.
 */
export function decodePoints(event) {
  const raw = bytesOf(event.xy);
  const labels = bytesOf(event.labels);
  const count = Math.min(Math.floor(raw.length / 4), event.count ?? Infinity);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const scale = Number(event.scale) || 0;
  const x = new Float64Array(count);
  const y = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    x[i] = view.getInt16(i * 4, true) * scale;
    y[i] = view.getInt16(i * 4 + 2, true) * scale;
  }
  return { x, y, labels: labels.subarray(0, count), count };
}

/**
 * The code of a point (x, y) of the scatter: the point itself for a code of two numbers (its
 * first number alone for a code of one), else mean + x·basis[0] + y·basis[1].
 */
export function pointToCode(event, x, y) {
  const size = event.code_size;
  if (event.method !== "pca") return size === 1 ? [x] : [x, y];
  const [first, second] = event.basis;
  return event.mean.map((m, i) => m + x * first[i] + y * second[i]);
}

/** The scatter's caption: what its two axes are. */
export function codeCaption(event) {
  if (event.method !== "pca") {
    return event.code_size === 1 ? "the code itself (one number, drawn on x)" : "the code itself";
  }
  const share = typeof event.explained === "number" ? ` (${(event.explained * 100).toFixed(0)}% of the variance)` : "";
  return `first two principal components${share} of the ${event.code_size}-number code`;
}

/**
 * A square view of the points with a margin: {cx, cy, half} (centre, half the side), so that
 * both axes keep the same scale (distances in the code space look like distances).
 */
export function scatterBounds(points, margin = 0.08) {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < points.count; i++) {
    minX = Math.min(minX, points.x[i]);
    maxX = Math.max(maxX, points.x[i]);
    minY = Math.min(minY, points.y[i]);
    maxY = Math.max(maxY, points.y[i]);
  }
  if (!points.count) return { cx: 0, cy: 0, half: 1 };
  const half = Math.max(maxX - minX, maxY - minY, 1e-6) / 2;
  return { cx: (minX + maxX) / 2, cy: (minY + maxY) / 2, half: half * (1 + margin) };
}

/** Scatter point → canvas pixel (y grows upwards) in a `side`×`side` canvas. */
export function toPixel(bounds, side, x, y) {
  const k = side / (2 * bounds.half);
  return { px: (x - bounds.cx + bounds.half) * k, py: (bounds.cy + bounds.half - y) * k };
}

/** Canvas pixel → scatter point, the inverse of toPixel. */
export function toPoint(bounds, side, px, py) {
  const k = (2 * bounds.half) / side;
  return { x: bounds.cx - bounds.half + px * k, y: bounds.cy + bounds.half - py * k };
}

/**
 * Image `index` of an N×C×H×W uint8 block (`shape` is [C, H, W]) as RGBA for ImageData: grey
 * when C is 1, colour when C is 3 (other channel counts show their first channel).
 */
export function imageRgba(bytes, shape, index) {
  const [channels, height, width] = shape;
  const plane = height * width;
  const start = index * channels * plane;
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = bytes[start + (channels === 3 ? c : 0) * plane + p];
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** Whether two byte blocks differ (a denoiser's noisy inputs against the clean originals). */
export function differ(a, b) {
  if (a.length !== b.length) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
  return false;
}

// Ten colours told apart on white, also by most colour-blind readers (Tableau 10).
export const CLASS_COLOURS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#7f7f7f",
];

export function classColour(index) {
  return CLASS_COLOURS[((index % CLASS_COLOURS.length) + CLASS_COLOURS.length) % CLASS_COLOURS.length];
}

/**
 * Calls `task(value)` with at most one call in flight: values asked for meanwhile replace each
 * other, and only the latest is sent once the call ends. `onResult(result, value)` and
 * `onError(error, value)` get each call's outcome.
 */
export class LatestOnly {
  constructor(task, { onResult = () => {}, onError = () => {} } = {}) {
    this.task = task;
    this.onResult = onResult;
    this.onError = onError;
    this.pending = null; // {value} waiting for the call in flight
    this.busy = false;
    this.idle = Promise.resolve(); // settles when nothing is in flight or waiting
    this.settle = null;
  }

  request(value) {
    this.pending = { value };
    if (!this.busy) {
      this.idle = new Promise((resolve) => {
        this.settle = resolve;
      });
      this.next();
    }
  }

  async next() {
    if (!this.pending) {
      this.busy = false;
      this.settle?.();
      return;
    }
    const { value } = this.pending;
    this.pending = null;
    this.busy = true;
    try {
      this.onResult(await this.task(value), value);
    } catch (error) {
      this.onError(error, value);
    }
    this.next();
  }
}

const CODE_SHOWN = 8; // the most code numbers written out

/** An autoencoder's code as one line: all of a short code, the start of a long one. */
export function codeText(code) {
  const numbers = code.slice(0, CODE_SHOWN).map((x) => x.toFixed(2));
  const more = code.length > CODE_SHOWN ? `, … (${code.length} numbers)` : "";
  return `code: [${numbers.join(", ")}${more}]`;
}
