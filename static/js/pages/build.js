// The build page: pick a preset or a saved model, edit layers (forms and JSON in sync), see
// shapes and costs as you type, save, choose a dataset, and start training.
import * as api from "../api.js";
import { Builder } from "../builder.js";
import { drawCurves } from "../curves.js";
import * as ds from "../datasets.js";
import { debounce, h, need, say } from "../dom.js";
import * as fmt from "../format.js";
import { ProblemForm, paramsSchema } from "../problemform.js";
import { formatSpec } from "../spectree.js";
import { taskInfo } from "../tasks.js";
import { TrainForm } from "../trainform.js";

const EMPTY = { input_shape: [1, 28, 28], layers: [] };
const DEFAULT_PRESET = "lenet5";

const els = {
  preset: need("[data-testid=preset-select]"),
  models: need("#model-select"),
  deleteModel: need("#model-delete"),
  name: need("#model-name"),
  save: need("#model-save"),
  message: need("#build-message"),
  specMessage: need("#spec-message"),
  json: need("#spec-json"),
  jsonMessage: need("#json-message"),
  trainForm: need("#train-form"),
  trainStart: need("[data-testid=train-start]"),
  trainMessage: need("#train-message"),
  trainPresetNote: need("#train-preset-note"),
  dataset: need("[data-testid=dataset-select]"),
  datasetFacts: need("[data-testid=dataset-facts]"),
  datasetNeeds: need("[data-testid=dataset-needs]"),
  datasetParams: need("[data-testid=dataset-params]"),
  datasetParamsFields: need("#dataset-params-fields"),
  datasetFit: need("[data-testid=dataset-fit]"),
  datasetFitText: need("#dataset-fit-text"),
  datasetAdapt: need("[data-testid=dataset-adapt]"),
  inputLabel: need("#io-input-label"),
  datasetPick: need("#dataset-pick"),
  taskSource: need("#task-source"),
  outputLabel: need("#io-output-label"),
};

/** The page's state: what is saved, what the server last said about the spec. */
const state = {
  presets: new Map(),
  models: [],
  modelId: null, // the saved model matching `savedSpec`
  savedSpec: null, // JSON text of the spec when it was saved or loaded
  nameTouched: false,
  check: 0, // number of the latest validation request
  controller: null,
  valid: false,
  jsonEditing: false,
  jsonDirty: false,
  datasets: [], // GET /api/datasets
  lossHint: "", // the loss field's hint for classification (the schema's)
  summary: null, // the server's summary of the current spec, when it is valid
};

let builder;
let trainForm = null;
let problemForm = null; // a 2-D problem's settings (null: the schema does not describe them)

function specText(spec) {
  return JSON.stringify(spec);
}

// ---- validation against the API ----

const validate = debounce(async () => {
  const spec = builder.spec;
  const check = ++state.check;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  if (!spec.layers.length) {
    state.valid = false;
    builder.showErrors([]);
    say(els.specMessage, "Add a layer from the palette to begin.", "info");
    return;
  }
  try {
    const summary = await api.summarize(spec, { signal: controller.signal });
    if (check !== state.check) return;
    state.valid = true;
    state.summary = summary;
    showFit();
    builder.clearErrors();
    builder.showSummary(summary);
    say(els.specMessage, "");
  } catch (error) {
    if (error.name === "AbortError" || check !== state.check) return;
    state.valid = false;
    state.summary = null;
    showFit();
    await showSpecErrors(error, spec, controller.signal, check);
  }
}, 120);

/** Mark the layers a 422 names; show the valid prefix's shapes (unless a newer check began). */
async function showSpecErrors(error, spec, signal, check = state.check) {
  if (!(error instanceof api.ApiError) || error.status !== 422) {
    say(els.specMessage, error.message, "error");
    return;
  }
  const errors = error.specErrors.length
    ? error.specErrors
    : (Array.isArray(error.detail) ? error.detail : [error.detail]).map((d) => ({
        layer: null,
        msg: typeof d === "string" ? d : d?.msg ?? JSON.stringify(d),
      }));
  const tops = errors.filter((e) => e.layer !== null && e.layer !== undefined).map((e) => Number(String(e.layer).split(".")[0]));
  const first = tops.length ? Math.min(...tops) : 0;
  let prefix = null;
  if (first > 0) {
    try {
      prefix = await api.summarize({ ...spec, layers: spec.layers.slice(0, first) }, { signal });
    } catch {
      prefix = null;
    }
    // The spec changed while the prefix was checked: these errors are stale, the newer check
    // shows its own (an aborted request lands here too).
    if (check !== state.check) return;
  }
  const loose = builder.showErrors(errors, prefix);
  const layerCount = new Set(errors.filter((e) => e.layer != null).map((e) => e.layer)).size;
  const parts = [];
  if (layerCount) parts.push(layerCount === 1 ? "One layer needs fixing (marked below)." : `${layerCount} layers need fixing (marked below).`);
  parts.push(...loose);
  say(els.specMessage, parts.join(" "), "error");
}

// ---- JSON editor, in sync both ways ----

function writeJson() {
  if (state.jsonEditing) return;
  els.json.value = formatSpec(builder.spec);
  els.json.removeAttribute("aria-invalid");
  say(els.jsonMessage, "");
}

function jsonError(text, error) {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return `Not valid JSON: ${error.message}`;
  const upto = text.slice(0, Number(match[1]));
  const line = upto.split("\n").length;
  const column = upto.length - upto.lastIndexOf("\n");
  return `Not valid JSON at line ${line}, column ${column}: ${error.message.replace(/ in JSON at position \d+.*$/, "")}`;
}

function parseJson() {
  state.jsonDirty = false;
  const text = els.json.value;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    els.json.setAttribute("aria-invalid", "true");
    say(els.jsonMessage, jsonError(text, error), "error");
    return;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    els.json.setAttribute("aria-invalid", "true");
    say(els.jsonMessage, 'A spec is an object: {"input_shape": [1, 28, 28], "layers": [...]}', "error");
    return;
  }
  els.json.removeAttribute("aria-invalid");
  say(els.jsonMessage, "");
  builder.setSpec(parsed);
}

const readJson = debounce(parseJson, 250);

// ---- presets and saved models ----

function loadSpec(spec, { name = null, modelId = null } = {}) {
  state.modelId = modelId;
  state.savedSpec = modelId ? specText(spec) : null;
  if (name !== null && (!state.nameTouched || modelId)) {
    els.name.value = name;
    state.nameTouched = false;
  }
  builder.setSpec(spec);
}

async function choosePreset(value) {
  if (!value) return;
  if (value === "empty") {
    loadSpec(EMPTY, { name: "" });
    setQuery({ preset: "empty" });
    return;
  }
  const preset = state.presets.get(value) ?? (await api.preset(value));
  loadSpec(preset.spec, { name: preset.name });
  applyPresetConfig(preset);
  setQuery({ preset: value });
}

/** A preset brings its training settings (the defaults where it names none). */
function applyPresetConfig(preset) {
  if (!trainForm) return;
  const config = preset.config ?? {};
  trainForm.reset(config);
  if (config.dataset !== undefined) chooseDataset(config.dataset);
  else syncLoss(); // the reset brought the default loss back: it follows the dataset
  els.trainPresetNote.textContent = Object.keys(config).length
    ? `Settings from the ${preset.name} preset; change any of them.`
    : "";
  els.trainPresetNote.hidden = !els.trainPresetNote.textContent;
}

/** The address names the preset or model, and the dataset unless it is the default. */
function setQuery(params) {
  const url = new URL(location.href);
  const query = new URLSearchParams(params);
  const dataset = els.dataset.value;
  if (dataset && dataset !== ds.DEFAULT_DATASET) query.set("dataset", dataset);
  url.search = query.toString();
  history.replaceState(null, "", url);
}

function replaceQueryParam(key, value) {
  const url = new URL(location.href);
  if (value) url.searchParams.set(key, value);
  else url.searchParams.delete(key);
  history.replaceState(null, "", url);
}

async function refreshModels(selected = null) {
  state.models = await api.models();
  const options = state.models
    .slice()
    .reverse()
    .map((m) => h("option", { value: m.id }, `${m.name} · ${fmt.compact(m.summary?.total_params)} params · ${fmt.when(m.created_at)}`));
  els.models.replaceChildren(
    h("option", { value: "" }, state.models.length ? "Open a saved model…" : "None saved yet"),
    ...options,
  );
  els.models.value = selected ?? "";
  els.deleteModel.disabled = !els.models.value;
}

async function openModel(id) {
  els.deleteModel.disabled = !id;
  if (!id) return;
  const record = state.models.find((m) => m.id === id) ?? (await api.model(id));
  els.preset.value = "";
  loadSpec(record.spec, { name: record.name, modelId: record.id });
  setQuery({ model: id });
  say(els.message, `Opened “${record.name}”.`, "ok");
}

async function deleteModel() {
  const id = els.models.value;
  if (!id) return;
  try {
    await api.deleteModel(id);
    if (state.modelId === id) state.modelId = null;
    await refreshModels();
    say(els.message, "Model deleted.", "ok");
  } catch (error) {
    say(els.message, error.status === 409 ? "This model is training right now: stop its run first." : error.message, "error");
  }
}

/** The saved model for the current spec and name, saving it first if needed. */
async function ensureSaved() {
  const name = els.name.value.trim() || "my network";
  const current = specText(builder.spec);
  const record = state.models.find((m) => m.id === state.modelId);
  if (state.modelId && state.savedSpec === current && record?.name === name) return state.modelId;
  const saved = await api.saveModel(name, builder.spec);
  state.modelId = saved.id;
  state.savedSpec = current;
  await refreshModels(saved.id);
  return saved.id;
}

async function save() {
  els.save.disabled = true;
  try {
    await ensureSaved();
    const record = state.models.find((m) => m.id === state.modelId);
    say(els.message, `Saved “${record?.name}” (${fmt.int(record?.summary?.total_params)} parameters).`, "ok");
  } catch (error) {
    if (error.status === 422 && error.specErrors.length) await showSpecErrors(error, builder.spec);
    say(els.message, error.status === 422 ? "Not saved: fix the marked layers first." : error.message, "error");
  } finally {
    els.save.disabled = false;
  }
}

// ---- training ----

async function startTraining(event) {
  event.preventDefault();
  if (!trainForm) return;
  els.trainStart.disabled = true;
  trainForm.clearErrors();
  problemForm?.markErrors({});
  els.dataset.removeAttribute("aria-invalid");
  say(els.trainMessage, "Saving the network and queueing the run…", "info");
  try {
    const modelId = await ensureSaved();
    const run = await api.startRun(modelId, trainConfig());
    say(els.trainMessage, "Run created: opening it…", "ok");
    location.assign(`/runs/${encodeURIComponent(run.id)}`);
  } catch (error) {
    els.trainStart.disabled = false;
    if (error.status === 422 && error.specErrors.length) {
      await showSpecErrors(error, builder.spec);
      say(els.trainMessage, "The network has problems: fix the marked layers first.", "error");
    } else if (error.status === 422) {
      const messages = trainForm.markErrors(error.detail).map((m) => ds.readableMessage(m, state.datasets));
      markDatasetErrors(Array.isArray(error.detail) ? error.detail : []);
      say(els.trainMessage, messages.join("\n"), "error lines");
    } else {
      say(els.trainMessage, error.message, "error");
    }
  }
}

/** The form's settings with the chosen dataset (a 2-D problem with its settings). */
function trainConfig() {
  const config = trainForm.value();
  if (!taskInfo(config).dataset) return config; // it learns in an environment of its own
  const info = listedDataset();
  if (info) config.dataset = ds.datasetRef(info, problemSettings(info));
  else if (els.dataset.value) config.dataset = els.dataset.value;
  return config;
}

/** The dataset and its settings named in a 422 ("dataset", "dataset.noise"). */
function markDatasetErrors(detail) {
  const byParam = {};
  let named = false;
  for (const item of detail) {
    const field = String(item?.field ?? "");
    if (field !== "dataset" && !field.startsWith("dataset.")) continue;
    named = true;
    if (field.startsWith("dataset.")) byParam[field.slice("dataset.".length)] = item.message ?? item.msg ?? "";
  }
  if (named) els.dataset.setAttribute("aria-invalid", "true");
  problemForm?.markErrors(byParam);
}

// ---- the dataset ----

/** The picked dataset's entry in the list, or null. */
function listedDataset() {
  return state.datasets.find((d) => d.name === els.dataset.value) ?? null;
}

/** The settings of the picked 2-D problem as the form holds them ({} for other datasets). */
function problemSettings(info) {
  return problemForm && ds.hasParams(info) ? problemForm.value() : {};
}

/** The picked dataset as its settings make it (a 2-D problem's inputs and split sizes). */
function currentDataset() {
  const info = listedDataset();
  return info ? ds.withParams(info, problemSettings(info)) : null;
}

/** Fill the picker: available datasets by group, unavailable ones disabled with their note. */
function fillDatasets(selected) {
  const options = ds.groupDatasets(state.datasets).map((group) =>
    h(
      "optgroup",
      { label: group.label },
      ...group.items.map((info) => {
        const why = ds.unavailableReason(info);
        return h(
          "option",
          { value: info.name, disabled: Boolean(why), title: why ?? info.description ?? null },
          why ? `${info.title} (not available)` : info.title,
        );
      }),
    ),
  );
  if (!options.length) return;
  els.dataset.replaceChildren(...options);
  els.dataset.value = selected;
}

/** Pick a dataset by a run config's reference (a name, or a 2-D problem with its settings). */
function chooseDataset(ref) {
  const name = ds.datasetName(ref);
  if (!state.datasets.some((d) => d.name === name && d.available)) return;
  els.dataset.value = name;
  datasetChanged();
  const params = ds.refParams(ref);
  if (problemForm && Object.keys(params).length && ds.hasParams(listedDataset())) {
    problemForm.set(params);
    showDataset();
  }
}

/** A new dataset is picked: its settings (a 2-D problem's), the loss that fits it, its facts. */
function datasetChanged() {
  els.dataset.removeAttribute("aria-invalid");
  const info = listedDataset();
  replaceQueryParam("dataset", info && info.name !== ds.DEFAULT_DATASET ? info.name : null);
  const settable = Boolean(problemForm) && ds.hasParams(info);
  els.datasetParams.hidden = !settable;
  if (settable) problemForm.show(info.params, problemForm.value()); // the settings stay from problem to problem
  syncLoss();
  showDataset();
}

/** The loss follows the dataset: mse for regression (nothing else fits), and back to the
 *  default for classification, unless the person chose one that fits. */
function syncLoss() {
  if (!trainForm) return;
  const info = listedDataset();
  const current = trainForm.current("loss");
  const loss = ds.lossFor(info, current, trainForm.isChosen("loss"));
  trainForm.limitOptions("loss", ds.fittingLosses(info));
  if (loss !== current) trainForm.setInput("loss", loss);
  trainForm.setHint("loss", ds.isRegression(info) ? "mse: the model's value against the true one" : state.lossHint);
}

/** The chosen dataset's facts, the hints that depend on it, and whether the network fits. */
function showDataset() {
  const info = currentDataset();
  const unavailable = state.datasets.filter((d) => !d.available);
  const lines = [];
  if (info) {
    lines.push(h("span", { class: "facts-line" }, ds.factsLine(info)));
    if (info.description) lines.push(h("span", { class: "muted" }, info.description));
  }
  for (const other of unavailable) {
    lines.push(h("span", { class: "muted" }, `${other.title} is not available: ${other.note ?? "not on this server"}`));
  }
  els.datasetFacts.replaceChildren(...lines);
  els.datasetNeeds.textContent = ds.modelNeeds(info);
  els.outputLabel.textContent = ds.isRegression(info) ? "Output: one value" : "Output: one score per class";
  const noun = ds.sampleNoun(info);
  els.inputLabel.textContent = `Input: one ${noun.replace(/s$/, "")}`;
  if (trainForm && info?.splits) {
    trainForm.setHint("train_subset", `empty: all ${fmt.int(info.splits.train)}`);
    trainForm.setHint("eval_limit", `empty: all ${fmt.int(info.splits.validation)}`);
    trainForm.setHint("batch_size", `${noun} per step`);
  }
  showTaskSource();
  showFit();
}

/** The task is chosen: a task that learns without a dataset (deep Q-learning) hides the picker. */
function taskChanged() {
  showDataset();
}

/** A task with an environment of its own says so, in place of the dataset picker. */
function showTaskSource() {
  const task = taskInfo(trainForm ? { task: trainForm.taskName } : null);
  els.datasetPick.hidden = !task.dataset;
  els.taskSource.hidden = task.dataset;
  if (task.dataset) return;
  els.taskSource.textContent = `This run plays ${task.source}: it learns from the rewards it earns, not from a dataset. The network takes the environment’s state and gives one value per action.`;
  els.inputLabel.textContent = "Input: the environment’s state";
  els.outputLabel.textContent = "Output: one value per action";
}

/** Say what keeps the network from training on the chosen dataset, with a way to fix it. */
function showFit() {
  const info = currentDataset();
  if (!builder || !info) return;
  if (trainForm && !taskInfo({ task: trainForm.taskName }).dataset) {
    els.datasetFit.hidden = true;
    return;
  }
  const output = state.summary?.output_shape ?? null;
  const problems = ds.fitProblems(info, builder.spec.input_shape ?? [1, 28, 28], output);
  els.datasetFitText.textContent = problems.join(" ");
  els.datasetFit.hidden = problems.length === 0;
}

function adaptToDataset() {
  const info = currentDataset();
  if (!info) return;
  builder.setSpec(ds.adaptSpec(builder.spec, info));
  const outputs = `${info.outputs} output${info.outputs === 1 ? "" : "s"}`;
  say(els.trainMessage, `The network now takes ${ds.shapeText(info.input_shape)} and gives ${outputs}; check its layers still fit.`, "info");
}

// ---- explanations ----

/** The explanation of a layer type, from the page's <template id="explain-TYPE">. */
function explain(type) {
  const template = document.getElementById(`explain-${type}`);
  if (!template) return null;
  const node = template.content.firstElementChild.cloneNode(true);
  node.open = false;
  drawCurves(node);
  return node;
}

// ---- start-up ----

async function main() {
  const [catalog, presets, config, datasets] = await Promise.all([
    api.layers(),
    api.presets(),
    api.trainingConfig().catch((error) => {
      say(els.trainMessage, `Training settings unavailable: ${error.message}`, "error");
      return null;
    }),
    api.datasets().catch((error) => {
      say(els.trainMessage, `The list of datasets is unavailable (${error.message}): runs train on MNIST.`, "error");
      return [];
    }),
  ]);
  state.datasets = datasets;
  for (const preset of presets) state.presets.set(preset.name, preset);
  builder = new Builder(
    {
      list: need("#layer-list"),
      palette: need("#palette"),
      insertNote: need("#insert-note"),
      input: need("#io-input"),
      output: need("#io-output"),
      totals: { params: need("#total-params"), macs: need("#total-macs"), output: need("#total-output") },
    },
    catalog,
    {
      onChange: () => {
        writeJson();
        showFit();
        validate();
      },
      explain,
    },
  );
  if (config) {
    trainForm = new TrainForm(need("#train-fields"), need("#train-more-fields"), config, { onTask: taskChanged });
    state.lossHint = config.schema.properties?.loss?.description ?? "";
    const schema = paramsSchema(config.schema);
    if (schema) problemForm = new ProblemForm(els.datasetParamsFields, schema, { onChange: showDataset });
  } else {
    els.trainStart.disabled = true;
  }

  const query = new URLSearchParams(location.search);
  fillDatasets(ds.chooseDataset(state.datasets, query.get("dataset")));
  if (query.get("dataset") && els.dataset.value !== query.get("dataset")) {
    say(els.trainMessage, `No dataset “${query.get("dataset")}” to train on here: ${els.dataset.value || "none"} is chosen instead.`, "error");
  }
  els.dataset.addEventListener("change", datasetChanged);
  els.datasetAdapt.addEventListener("click", adaptToDataset);
  datasetChanged();

  els.preset.addEventListener("change", () => choosePreset(els.preset.value));
  els.models.addEventListener("change", () => openModel(els.models.value));
  els.deleteModel.addEventListener("click", deleteModel);
  els.name.addEventListener("input", () => {
    state.nameTouched = true;
  });
  els.save.addEventListener("click", save);
  els.trainForm.addEventListener("submit", startTraining);
  els.json.addEventListener("focus", () => {
    state.jsonEditing = true;
  });
  els.json.addEventListener("input", () => {
    state.jsonDirty = true;
    readJson();
  });
  els.json.addEventListener("blur", () => {
    state.jsonEditing = false;
    readJson.cancel();
    if (state.jsonDirty) parseJson();
    if (els.json.getAttribute("aria-invalid") !== "true") writeJson();
  });

  await refreshModels();
  if (query.get("model")) {
    els.models.value = query.get("model");
    await openModel(query.get("model")).catch((error) => say(els.message, error.message, "error"));
  } else {
    const preset = query.get("preset") ?? DEFAULT_PRESET;
    els.preset.value = state.presets.has(preset) || preset === "empty" ? preset : DEFAULT_PRESET;
    await choosePreset(els.preset.value);
  }
  drawCurves();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  say(els.message, `The builder could not start: ${error.message}`, "error");
  throw error;
});
