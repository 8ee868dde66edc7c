// The 2-D playground's pure parts (no DOM, no network): what the controls ask for as a model
// spec and a run config, boundary frames decoded into pixels and points, TensorFlow
// Playground's colours, and the geometry of the network diagram.

export const EXTENT = 6; // the plane is [-6, 6]²

/** The input features, in the order the server knows them, with TF Playground's labels. */
export const FEATURES = [
  { name: "x1", label: "X₁", value: (x1) => x1 },
  { name: "x2", label: "X₂", value: (x1, x2) => x2 },
  { name: "x1^2", label: "X₁²", value: (x1) => x1 * x1 },
  { name: "x2^2", label: "X₂²", value: (x1, x2) => x2 * x2 },
  { name: "x1x2", label: "X₁X₂", value: (x1, x2) => x1 * x2 },
  { name: "sin_x1", label: "sin(X₁)", value: (x1) => Math.sin(x1) },
  { name: "sin_x2", label: "sin(X₂)", value: (x1, x2) => Math.sin(x2) },
];

export const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
export const REGULARIZATION_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
export const MAX_LAYERS = 6;
export const MAX_NEURONS = 8;
export const EPOCHS = 200; // a run's most epochs, or the server's limit if lower (see epochLimit)

/** TF Playground's defaults, with Adam (this server's usual optimizer) instead of plain SGD. */
export const DEFAULTS = Object.freeze({
  dataset: "circle",
  noise: 0,
  trainRatio: 0.5,
  points: 500,
  seed: 0,
  batchSize: 10,
  lr: 0.03,
  optimizer: "adam",
  activation: "tanh",
  regularization: "none",
  regularizationRate: 0,
  hidden: [4, 2],
  features: ["x1", "x2"],
});

// Activations that mix the units of a layer: no use between hidden layers.
const NOT_PER_UNIT = new Set(["softmax", "log_softmax"]);

/** The activation names a hidden layer may use, from GET /api/layers ({layers: [{type, category}]}). */
export function activationChoices(catalogue) {
  return (catalogue?.layers ?? [])
    .filter((layer) => layer.category === "activation" && !NOT_PER_UNIT.has(layer.type))
    .map((layer) => layer.type);
}

/** The chosen features in the server's order (so the same choice is always the same model). */
export function orderedFeatures(chosen) {
  const set = new Set(chosen);
  return FEATURES.map((f) => f.name).filter((name) => set.has(name));
}

/** The model of the controls: features → hidden layers (linear + activation) → 2 class scores. */
export function modelSpec({ features, hidden, activation }) {
  const layers = [];
  for (const units of hidden) {
    layers.push({ type: "linear", out_features: units }, { type: activation });
  }
  layers.push({ type: "linear", out_features: 2 });
  return { input_shape: [orderedFeatures(features).length], layers };
}

/** "2-D circle · 2-4-2-2 tanh": a model's name in the runs list. */
export function modelName(settings) {
  const widths = [orderedFeatures(settings.features).length, ...settings.hidden, 2];
  return `2-D ${settings.dataset} · ${widths.join("-")} ${settings.activation}`;
}

/** The problem's parameters as a run's config names them. */
export function datasetRef(settings) {
  return {
    name: settings.dataset,
    noise: settings.noise,
    points: settings.points,
    train_ratio: settings.trainRatio,
    seed: settings.seed,
    features: orderedFeatures(settings.features),
  };
}

/** The run config of the controls (a constant learning rate, as TF Playground has). */
export function runConfig(settings, epochs = EPOCHS) {
  return {
    dataset: datasetRef(settings),
    epochs,
    batch_size: settings.batchSize,
    lr: settings.lr,
    optimizer: settings.optimizer,
    schedule: "none",
    regularization: settings.regularization,
    regularization_rate: settings.regularizationRate,
  };
}

/** What a run depends on apart from the learning rate (which a running run takes as it goes):
 * a different key means a new run. */
export function runKey(settings) {
  return JSON.stringify({ ...runConfig(settings), lr: null, spec: modelSpec(settings) });
}

/** What the points depend on: the same key, the same points. */
export function pointsKey(settings) {
  const { features, ...data } = datasetRef(settings);
  return JSON.stringify(data);
}

/** The most epochs the server allows, read from its 422 refusal of a config; else null. */
export function epochLimit(error) {
  const detail = Array.isArray(error?.detail) ? error.detail : [];
  for (const item of detail) {
    if (item?.field !== "epochs") continue;
    const found = /at most (\d+)/.exec(String(item.msg ?? ""));
    if (found) return Number(found[1]);
  }
  return null;
}

/** Base64 → bytes. */
export function decodeBase64(text) {
  const binary = atob(text ?? "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A frame's points → [{x1, x2, label, test}]: the training split first, then the test split. */
export function decodePoints(points) {
  if (!points) return [];
  const xy = decodeBase64(points.xy);
  const labels = decodeBase64(points.labels);
  const view = new DataView(xy.buffer, xy.byteOffset, xy.byteLength);
  const count = Math.min(points.train + points.test, labels.length, xy.length >> 2);
  const found = [];
  for (let i = 0; i < count; i++) {
    found.push({
      x1: view.getInt16(4 * i, true) * points.scale,
      x2: view.getInt16(4 * i + 2, true) * points.scale,
      label: labels[i],
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
 * 256 RGBA colours for the bytes of a picture: byte b stands for the value 2·b/255 − 1
 * (a probability b/255 of class "+1"); `discrete` paints each side of 0.5 in one colour;
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
 * follow, the last column is the output: its link from a unit is what that unit adds to the
 * score of "+1" over "-1" (w₊₁ − w₋₁). Units beyond those the frame pictures are left out.
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
      const [minus, plus] = layer.weight;
      sources.forEach((source, i) => {
        if (minus && plus) found.push({ from: [l, source], to: [l + 1, 0], weight: plus[i] - minus[i] });
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

/** "12" → "000,012": TF Playground's epoch counter. */
export function epochText(epoch) {
  const digits = String(Math.max(0, Math.floor(epoch ?? 0))).padStart(6, "0");
  return `${digits.slice(0, -3)},${digits.slice(-3)}`;
}

/** A loss as TF Playground shows it: three decimals. */
export function lossText(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(3);
}
