// What the pages say about datasets (GET /api/datasets entries) and how a model fits one.
// Pure functions, no DOM: tests/js/datasets.test.mjs runs them under node.

export const DEFAULT_DATASET = "mnist";

const INT = new Intl.NumberFormat("en-US");
const GROUPS = [
  { source: "built-in", label: "Built-in" },
  { source: "generated", label: "2-D problems" },
  { source: "upload", label: "Your uploads" },
];

/** A run config's `dataset` (a name, `{name, …}` for a 2-D problem, or absent) → its name. */
export function datasetName(ref) {
  if (typeof ref === "string" && ref) return ref;
  if (ref && typeof ref === "object" && typeof ref.name === "string") return ref.name;
  return DEFAULT_DATASET;
}

/** The entry of `name` in the list, or null. */
export function findDataset(list, ref) {
  const name = datasetName(ref);
  return (list ?? []).find((info) => info.name === name) ?? null;
}

/** Whether samples are pictures (C, H, W) that a drawing can stand in for. */
export function isImage(info) {
  return Array.isArray(info?.input_shape) && info.input_shape.length === 3;
}

/** Whether the drawing pad's digit preparation applies (MNIST only; others are stretched). */
export function isMnist(info) {
  return datasetName(info?.name) === DEFAULT_DATASET;
}

/** Whether runs on it learn a value per sample (regression) rather than a class. */
export function isRegression(info) {
  return info?.kind === "regression";
}

// kind → the losses that fit it, its default first (as the server's objectives list them)
const LOSSES = {
  classification: ["cross_entropy", "nll", "mse"],
  regression: ["mse"],
};

/** The losses a run on it can use, the default first. */
export function fittingLosses(info) {
  return LOSSES[isRegression(info) ? "regression" : "classification"];
}

/** The loss the form should hold for `info`: `current` when the person chose it and it fits,
 *  else the kind's default (mse for regression, cross_entropy for classification). */
export function lossFor(info, current, chosen = false) {
  const losses = fittingLosses(info);
  return chosen && losses.includes(current) ? current : losses[0];
}

/** What the network must end with to train on it, and the loss, in a sentence. */
export function modelNeeds(info) {
  if (!info) return "";
  if (isRegression(info)) {
    const n = info.outputs ?? 1;
    return `The network must end with ${count(n, "output")}: a linear layer of ${n} out_features, ` +
      "no softmax. It learns a value per sample with loss mse (mean squared error).";
  }
  const n = info.outputs ?? info.classes?.length ?? 0;
  return `The network must end with ${count(n, "output")}, one score per class.`;
}

/** Whether its points are drawn from parameters a run can set (the 2-D problems). */
export function hasParams(info) {
  return Boolean(info?.params) && typeof info.params === "object" && !Array.isArray(info.params);
}

/** A run config's `dataset` parameters ({name, noise, …} → {noise, …}); {} for a plain name. */
export function refParams(ref) {
  if (!ref || typeof ref !== "object") return {};
  const { name, ...params } = ref;
  return params;
}

/** What a run config names: a 2-D problem as `{name, …params}` (its listed defaults under
 *  `changes`), any other dataset by its name. */
export function datasetRef(info, changes = {}) {
  if (!info) return DEFAULT_DATASET;
  if (!hasParams(info)) return info.name;
  return { name: info.name, ...info.params, ...changes };
}

/** The entry as these parameters make it, worked out as the server does: one input per
 *  feature, and the points split into train and test (validation is the test split's size). */
export function withParams(info, params = {}) {
  if (!hasParams(info)) return info;
  const p = { ...info.params, ...params };
  const points = Number(p.points);
  const ratio = Number(p.train_ratio);
  const entry = { ...info, params: p };
  if (Array.isArray(p.features) && p.features.length) entry.input_shape = [p.features.length];
  if (Number.isFinite(points) && Number.isFinite(ratio)) {
    const test = points - Math.floor(points * ratio);
    entry.splits = { train: points - test, validation: test, test };
  }
  return entry;
}

/** "digits" for MNIST, "images" for other pictures, "samples" for the rest. */
export function sampleNoun(info) {
  if (!info || isMnist(info)) return "digits";
  return isImage(info) ? "images" : "samples";
}

/** The list in groups for a picker: built-ins, then 2-D problems, then uploads (others last). */
export function groupDatasets(list) {
  const known = new Set(GROUPS.map((g) => g.source));
  const groups = GROUPS.map((g) => ({ ...g, items: (list ?? []).filter((d) => d.source === g.source) }));
  const other = (list ?? []).filter((d) => !known.has(d.source));
  if (other.length) groups.push({ source: "other", label: "Other", items: other });
  return groups.filter((g) => g.items.length);
}

/** Whether a run can be asked to train on it: null if so, else why not (its note). */
export function unavailableReason(info) {
  if (!info) return "no such dataset";
  if (info.available) return null;
  return info.note || "not available on this server";
}

/** The dataset to preselect: `asked` (e.g. ?dataset=) when it is listed and available, else
 *  MNIST, else the first available one; "" when none is. */
export function chooseDataset(list, asked = null) {
  const usable = (list ?? []).filter((d) => d.available);
  if (asked && usable.some((d) => d.name === asked)) return asked;
  if (usable.some((d) => d.name === DEFAULT_DATASET)) return DEFAULT_DATASET;
  return usable[0]?.name ?? "";
}

/** [1, 16, 16] → "1×16×16". */
export function shapeText(shape) {
  return Array.isArray(shape) && shape.length ? shape.join("×") : "—";
}

function count(n, one, many = `${one}s`) {
  return `${INT.format(n)} ${n === 1 ? one : many}`;
}

/** Class names shortened for a line of text: "a, b, c", "a, b, c, d, …, z", or "0–9". */
export function classSummary(classes, max = 6) {
  const names = (classes ?? []).map(String);
  if (names.length > 2 && names.every((name, i) => name === String(i))) return `${names[0]}–${names[names.length - 1]}`;
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max - 2).join(", ")}, …, ${names[names.length - 1]}`;
}

/**
 * The facts a person needs to fit a model to the dataset:
 * {input: "1×16×16", outputs: "3 classes" | "1 value", splits: "33 train · 6 validation · 6 test",
 *  classes: "checks, dots, stripes", kind}.
 */
export function datasetFacts(info) {
  const splits = info.splits ?? {};
  const parts = ["train", "validation", "test"]
    .filter((key) => splits[key] !== undefined)
    .map((key) => `${INT.format(splits[key])} ${key}`);
  const classification = info.kind !== "regression";
  return {
    input: shapeText(info.input_shape),
    outputs: classification
      ? count(info.outputs ?? info.classes?.length ?? 0, "class", "classes")
      : count(info.outputs ?? 1, "value"),
    splits: parts.join(" · ") || "—",
    classes: classification ? classSummary(info.classes) : "",
    kind: info.kind ?? "classification",
  };
}

/** One line for the picker: "input 1×16×16 · 3 classes (checks, dots, stripes) · 33 train · …". */
export function factsLine(info) {
  const f = datasetFacts(info);
  const classes = f.classes ? ` (${f.classes})` : "";
  const kind = f.kind === "regression" ? " · regression" : "";
  return `input ${f.input} · ${f.outputs}${classes}${kind} · ${f.splits}`;
}

function product(shape) {
  return (shape ?? []).reduce((a, b) => a * b, 1);
}

/**
 * What keeps a model of `inputShape` → `outputShape` (null: unknown yet) from training on the
 * dataset, as the server checks it (the sample's size, the class count); [] when it fits.
 */
export function fitProblems(info, inputShape, outputShape = null) {
  if (!info || !Array.isArray(info.input_shape)) return [];
  const problems = [];
  if (Array.isArray(inputShape) && product(inputShape) !== product(info.input_shape)) {
    problems.push(
      `The network takes ${shapeText(inputShape)}; “${info.title ?? info.name}” samples are ` +
        `${shapeText(info.input_shape)}: set input_shape to [${info.input_shape.join(", ")}].`,
    );
  }
  const outputs = info.outputs ?? info.classes?.length;
  if (Array.isArray(outputShape) && outputs && product(outputShape) !== outputs) {
    const what = info.kind === "regression" ? count(outputs, "value") : `${outputs} class scores`;
    problems.push(
      `The network gives ${shapeText(outputShape)} values; “${info.title ?? info.name}” needs ${what}: ` +
        `end with a linear layer of ${outputs} out_features.`,
    );
  }
  return problems;
}

/**
 * The spec changed to fit the dataset: its input_shape (kept flat if it was flat) and the
 * out_features of its last top-level linear layer (one is appended if there is none).
 */
export function adaptSpec(spec, info) {
  const layers = (spec.layers ?? []).map((layer) => ({ ...layer }));
  const flat = Array.isArray(spec.input_shape) && spec.input_shape.length === 1;
  const inputShape = flat && info.input_shape.length > 1 ? [product(info.input_shape)] : [...info.input_shape];
  const outputs = info.outputs ?? info.classes?.length;
  let last = -1;
  layers.forEach((layer, index) => {
    if (layer.type === "linear") last = index;
  });
  if (outputs) {
    if (last >= 0) layers[last].out_features = outputs;
    else layers.push(...(layers.length ? [{ type: "flatten" }] : []), { type: "linear", out_features: outputs });
  }
  return { ...spec, input_shape: inputShape, layers };
}

/** The labels of `count` outputs: the class names when they match, else 0, 1, 2… */
export function classLabels(count, classes = null) {
  if (Array.isArray(classes) && classes.length === count) return classes.map(String);
  return Array.from({ length: count }, (_, i) => String(i));
}

/** Whether the labels are MNIST's digits 0..9 (the pages keep their digit wording then). */
export function areDigits(labels) {
  return labels.length === 10 && labels.every((label, i) => label === String(i));
}

/** The run page's words for one confusion cell (digits keep MNIST's wording). */
export function cellSentence({ label, prediction, count: n, epoch, labels }) {
  const names = labels ?? classLabels(10);
  const truth = names[label] ?? String(label);
  const said = names[prediction] ?? String(prediction);
  if (areDigits(names)) {
    if (label === prediction) return `${INT.format(n)} of the ${truth}s were read correctly in epoch ${epoch}.`;
    return n === 1
      ? `One ${truth} was read as a ${said} in epoch ${epoch}.`
      : `${INT.format(n)} of the ${truth}s were read as a ${said} in epoch ${epoch}.`;
  }
  if (label === prediction) {
    return n === 1
      ? `One “${truth}” sample was read correctly in epoch ${epoch}.`
      : `${INT.format(n)} “${truth}” samples were read correctly in epoch ${epoch}.`;
  }
  return n === 1
    ? `One “${truth}” sample was read as “${said}” in epoch ${epoch}.`
    : `${INT.format(n)} “${truth}” samples were read as “${said}” in epoch ${epoch}.`;
}

/** The dimensions of a nested array ([[…], …] → [rows, cols]; [[[…]]] → [C, H, W]). */
export function nestedShape(value) {
  const shape = [];
  let level = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/**
 * A sample in 0..1 as RGBA pixels: 28×28 rows, (1, H, W) grey or (3, H, W) colour.
 * Returns {width, height, rgba: Uint8ClampedArray} or null when it is not a picture.
 */
export function sampleRgba(sample) {
  const shape = nestedShape(sample);
  let planes;
  if (shape.length === 2) planes = [sample];
  else if (shape.length === 3 && (shape[0] === 1 || shape[0] === 3)) planes = sample;
  else return null;
  const height = planes[0].length;
  const width = planes[0][0]?.length ?? 0;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const byte = (v) => Math.round(Math.max(0, Math.min(1, Number(v) || 0)) * 255);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) rgba[i + c] = byte(planes[planes.length === 3 ? c : 0][y][x]);
      rgba[i + 3] = 255;
    }
  }
  return { width, height, rgba };
}

/** "shapes.zip" → "shapes" (the upload's default name). */
export function nameFromFile(fileName) {
  const base = String(fileName ?? "").split(/[\\/]/).pop() ?? "";
  return base.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ").trim().slice(0, 100);
}

/** Whether the file is read as a CSV (the label column applies) rather than a ZIP of images. */
export function isCsvFile(fileName) {
  return /\.(csv|tsv|txt)$/i.test(String(fileName ?? ""));
}

/** 1536 → "1.5 KB". */
export function bytesText(n) {
  if (!Number.isFinite(n)) return "—";
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** The size field's text checked as the server reads it ("28x28", "16×16", "auto"); null if
 *  fine, else what to write. */
export function sizeProblem(text) {
  const t = String(text ?? "").trim().toLowerCase();
  if (!t || t === "auto" || /^\d+\s*[x×]\s*\d+$/.test(t)) return null;
  return 'write the size as height x width, such as 28x28, or "auto"';
}

/** The Build page's address with this dataset chosen. */
export function trainHref(name) {
  return `/build?dataset=${encodeURIComponent(name)}`;
}

/** A server message with dataset ids ('ds_…') replaced by their titles, for people. */
export function readableMessage(message, list) {
  return String(message).replace(/'(ds_[\w-]+)'/g, (whole, id) => {
    const info = (list ?? []).find((d) => d.name === id);
    return info ? `“${info.title}”` : whole;
  });
}
