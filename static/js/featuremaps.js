// Feature maps, filters and 28×28 digits painted on canvases from uint8 payloads.
import { sampleRgba } from "./datasets.js";

/** base64 → bytes. */
export function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function lerp(stops) {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) {
      lut[i * 3 + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
    }
  }
  return lut;
}

/** Colour maps: activations dark → bright; filters blue (negative) → white (0) → red. */
export const ACTIVATION_LUT = lerp([
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
]);
export const DIVERGING_LUT = lerp([
  [33, 102, 172],
  [146, 197, 222],
  [247, 247, 247],
  [244, 165, 130],
  [178, 24, 43],
]);
export const GRAY_LUT = lerp([
  [0, 0, 0],
  [255, 255, 255],
]);

/** Paint `width`×`height` bytes starting at `offset` onto `canvas` through a colour map. */
export function paint(canvas, bytes, width, height, offset = 0, lut = GRAY_LUT) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  const out = image.data;
  for (let i = 0; i < width * height; i++) {
    const v = bytes[offset + i];
    out[i * 4] = lut[v * 3];
    out[i * 4 + 1] = lut[v * 3 + 1];
    out[i * 4 + 2] = lut[v * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** A 28×28 digit (base64 uint8, bytes, or rows of 0..1 floats) in grey. */
export function paintDigit(canvas, digit) {
  let bytes;
  if (typeof digit === "string") bytes = decodeBase64(digit);
  else if (Array.isArray(digit)) {
    const flat = digit.flat();
    bytes = Uint8Array.from(flat, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
  } else bytes = digit;
  const side = Math.round(Math.sqrt(bytes.length));
  paint(canvas, bytes, side, side);
}

/** A sample in 0..1 as a prediction answers it: 28×28 rows, or (C, H, W) grey or colour. */
export function paintSample(canvas, sample) {
  if (!Array.isArray(sample)) return paintDigit(canvas, sample); // base64 or bytes
  const picture = sampleRgba(sample);
  if (!picture) return;
  const { width, height, rgba } = picture;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
}

/**
 * A panel of channel grids, one per conv layer, that reuses its canvases from frame to frame.
 * `update(layers)` takes the LayerMaps dicts of a feature_maps event or a prediction.
 */
export class MapGrids {
  constructor(container, { describe = null, lut = ACTIVATION_LUT, unit = "channels" } = {}) {
    this.container = container;
    this.describe = describe; // (path) → a label such as "conv2d · 6×28×28"
    this.lut = lut;
    this.unit = unit;
    this.blocks = new Map();
  }

  update(layers) {
    const seen = new Set();
    for (const layer of layers ?? []) {
      seen.add(layer.path);
      const block = this.block(layer);
      const bytes = decodeBase64(layer.data);
      const size = layer.height * layer.width;
      while (block.canvases.length < layer.shown) {
        const canvas = document.createElement("canvas");
        canvas.setAttribute("role", "img");
        block.grid.append(canvas);
        block.canvases.push(canvas);
      }
      while (block.canvases.length > layer.shown) block.canvases.pop().remove();
      block.canvases.forEach((canvas, c) => {
        paint(canvas, bytes, layer.width, layer.height, c * size, this.lut);
        canvas.setAttribute("aria-label", `${this.unit} ${c + 1} of layer ${layer.path}`);
        Object.assign(canvas.dataset, { path: layer.path, channel: String(c) }); // for clicks on a unit
      });
      const more = layer.channels > layer.shown ? ` (first ${layer.shown} of ${layer.channels})` : "";
      block.note.textContent = ` · ${layer.channels} ${this.unit}${more}`;
    }
    for (const [path, block] of this.blocks) {
      if (!seen.has(path)) {
        block.root.remove();
        this.blocks.delete(path);
      }
    }
  }

  block(layer) {
    let block = this.blocks.get(layer.path);
    if (block) return block;
    const root = document.createElement("section");
    root.className = "fm-layer";
    const title = document.createElement("h3");
    title.textContent = this.describe ? this.describe(layer.path) : `layer ${layer.path}`;
    const note = document.createElement("span");
    title.append(note);
    const grid = document.createElement("div");
    grid.className = "fm-grid";
    root.append(title, grid);
    this.container.append(root);
    block = { root, grid, note, canvases: [] };
    this.blocks.set(layer.path, block);
    return block;
  }

  clear() {
    for (const block of this.blocks.values()) block.root.remove();
    this.blocks.clear();
  }
}

/** The first conv layer's filters, 127 = 0, on the blue–white–red map. */
export function paintFilters(grids, filters) {
  if (!filters) {
    grids.update([]);
    return;
  }
  grids.update([
    {
      path: filters.path,
      channels: filters.count,
      shown: filters.shown,
      height: filters.height,
      width: filters.width,
      data: filters.data,
    },
  ]);
}
