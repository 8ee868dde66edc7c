// The 2-D playground's settings (no DOM, no network): TF Playground's controls and defaults, the
// kind of problem each asks for, and what the controls make of them: a model spec, a run
// config, what a running run can take as it goes, and the keys that tell a new run or new points.
// Drawing frames (pixels, colours, the diagram's geometry) is planedraw.js.

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

/**
 * What each kind of problem (the server's TaskKind) asks of the network: its output units, the
 * loss it learns by, and what a boundary frame's `output_kind` then is. Classification scores
 * the two classes ("-1", "+1"); regression predicts one value in about -1..1.
 */
export const TASKS = Object.freeze({
  classification: { outputs: 2, loss: "cross_entropy", output: "probability" },
  regression: { outputs: 1, loss: "mse", output: "value" },
});

/** The heatmap's legend for a frame's `output_kind`: its title, the ticks under its colour bar,
 * what the plane shows (for its label) and the note under it. */
export const LEGENDS = Object.freeze({
  probability: {
    title: "Probability of +1",
    ticks: ["0 (−1)", "0.5", "1 (+1)"],
    says: "the model's class",
    note: "orange is the model's −1, blue its +1",
  },
  value: {
    title: "Predicted value (−1…1)",
    ticks: ["−1", "0", "1"],
    says: "the model's predicted value",
    note: "the predicted value, orange −1, grey 0, blue +1",
  },
});

/** TF Playground's defaults, with Adam (this server's usual optimizer) instead of plain SGD. */
export const DEFAULTS = Object.freeze({
  dataset: "circle",
  task: "classification", // the dataset's kind: a key of TASKS
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

/** The settings a running run takes from its next step (PATCH /api/runs/{id}), by body field. */
const LIVE = Object.freeze({ lr: "lr", regularization: "regularization", regularizationRate: "regularization_rate" });

const REGULARIZATION_NAMES = Object.freeze({ none: "none", l1: "L1", l2: "L2" });

// Activations that mix the units of a layer: no use between hidden layers.
const NOT_PER_UNIT = new Set(["softmax", "log_softmax"]);

/** The task of the settings (classification when the kind is unknown). */
export function taskOf(settings) {
  return TASKS[settings?.task] ?? TASKS.classification;
}

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

/** The model of the controls: features → hidden layers (linear + activation) → the task's
 * outputs (two class scores, or one value). */
export function modelSpec(settings) {
  const { features, hidden, activation } = settings;
  const layers = [];
  for (const units of hidden) {
    layers.push({ type: "linear", out_features: units }, { type: activation });
  }
  layers.push({ type: "linear", out_features: taskOf(settings).outputs });
  return { input_shape: [orderedFeatures(features).length], layers };
}

/** "2-D circle · 2-4-2-2 tanh": a model's name in the runs list. */
export function modelName(settings) {
  const widths = [orderedFeatures(settings.features).length, ...settings.hidden, taskOf(settings).outputs];
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
    loss: taskOf(settings).loss,
    regularization: settings.regularization,
    regularization_rate: settings.regularizationRate,
  };
}

/** What a run depends on apart from what a running run takes as it goes (the learning rate and
 * the regularization): a different key means a new run. */
export function runKey(settings) {
  const config = runConfig(settings);
  for (const field of Object.values(LIVE)) config[field] = null;
  return JSON.stringify({ ...config, spec: modelSpec(settings) });
}

/** The PATCH body that takes a running run from the settings `before` to `after` ({} if none). */
export function liveChanges(before, after) {
  const body = {};
  for (const [key, field] of Object.entries(LIVE)) {
    if (before[key] !== after[key]) body[field] = after[key];
  }
  return body;
}

/** "Learning rate 0.01 from the next step.": what a PATCH body changed, in words. */
export function liveText(body) {
  const parts = [];
  if ("lr" in body) parts.push(`learning rate ${body.lr}`);
  if ("regularization" in body) {
    parts.push(`regularization ${REGULARIZATION_NAMES[body.regularization] ?? body.regularization}`);
  }
  if ("regularization_rate" in body) parts.push(`regularization rate ${body.regularization_rate}`);
  if (!parts.length) return "";
  const text = parts.join(", ");
  return `${text[0].toUpperCase()}${text.slice(1)} from the next step.`;
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

/** "12" → "000,012": TF Playground's epoch counter. */
export function epochText(epoch) {
  const digits = String(Math.max(0, Math.floor(epoch ?? 0))).padStart(6, "0");
  return `${digits.slice(0, -3)},${digits.slice(-3)}`;
}

/** A loss as TF Playground shows it: three decimals. */
export function lossText(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(3);
}
