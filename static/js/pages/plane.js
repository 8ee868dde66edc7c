// The 2-D playground: TensorFlow Playground's page, trained by this server. The controls make a
// model spec and a run config (plane2d.js); play saves the model, starts a run and follows its
// socket; boundary frames paint the plane, every neuron and the weights. A new learning rate
// reaches a running run; any other change resets (stops the run), as TF Playground resets.
import * as api from "../api.js";
import { LiveChart } from "../charts.js";
import { h, need, say } from "../dom.js";
import * as fmt from "../format.js";
import * as p2 from "../plane2d.js";
import { RunStream } from "../socket.js";

const ACTIVE = new Set(["queued", "running", "paused"]);
const SVG = "http://www.w3.org/2000/svg";
const NODE = 36; // px, a node of the diagram
const COLUMN = 104; // px between the diagram's columns
const FEATURE_SIDE = 16; // the feature pictures' side (they are drawn here, from the formulas)

const els = {
  play: need("#plane-play"),
  reset: need("#plane-reset"),
  step: need("#plane-step"),
  epoch: need("#plane-epoch"),
  lr: need("#plane-lr"),
  activation: need("#plane-activation"),
  regularization: need("#plane-regularization"),
  regularizationRate: need("#plane-regularization-rate"),
  optimizer: need("#plane-optimizer"),
  status: need("#plane-status"),
  runLink: need("#plane-run-link"),
  message: need("#plane-message"),
  datasets: need("#plane-datasets"),
  ratio: need("#plane-ratio"),
  ratioValue: need("#plane-ratio-value"),
  noise: need("#plane-noise"),
  noiseValue: need("#plane-noise-value"),
  batch: need("#plane-batch"),
  batchValue: need("#plane-batch-value"),
  regenerate: need("#plane-regenerate"),
  layersAdd: need("#layers-add"),
  layersRemove: need("#layers-remove"),
  layersCount: need("#layers-count"),
  heads: need("#plane-heads"),
  diagram: need("#plane-diagram"),
  links: need("#plane-links"),
  networkNote: need("#plane-network-note"),
  lossVal: need("#loss-val"),
  lossTrain: need("#loss-train"),
  testAcc: need("#test-acc"),
  chart: need("#plane-chart"),
  boundary: need("#plane-boundary"),
  showTest: need("#plane-show-test"),
  discretize: need("#plane-discretize"),
  frameNote: need("#plane-frame-note"),
};

/** What the controls say. */
const settings = { ...p2.DEFAULTS, hidden: [...p2.DEFAULTS.hidden], features: [...p2.DEFAULTS.features] };

const state = {
  generation: 0, // bumped by every reset: answers and events for an older run are dropped
  run: null, // {id, status, pointsKey}
  stream: null,
  catchUp: null, // a second, short-lived stream for frames the live one missed
  models: new Map(), // spec JSON → saved model id (each network is saved once per page)
  epochs: Math.min(p2.EPOCHS, Number(need("#plane-bar").dataset.maxEpochs) || p2.EPOCHS),
  busy: false, // a start, pause or resume request is on its way
  stepping: false, // pause at the next epoch's end
  frame: null, // the newest boundary frame
  points: [], // of the current data: [{x1, x2, label, test}]
  pointsKey: null,
  drawPending: false,
};

const luts = {
  plane: p2.makeLut({ wash: true }),
  planeDiscrete: p2.makeLut({ wash: true, discrete: true }),
  node: p2.makeLut(),
};

const chart = new LiveChart(els.chart, {
  xLabel: "epoch",
  yLabel: "loss",
  height: 150,
  series: [
    { label: "training", color: "#8a93a6", width: 1.25 },
    { label: "validation", color: "#18202e", width: 2, points: true },
  ],
});

const outputImage = document.createElement("canvas"); // the frame's output at its resolution
let diagram = null; // {layout, features: [{name, input, node}], hidden: [[canvas]], output, paths}

// ---- controls ----

function fillSelect(select, values, chosen, label = String) {
  select.replaceChildren(...values.map((v) => h("option", { value: String(v) }, label(v))));
  select.value = String(chosen);
}

function bindDatasets() {
  const radios = [...els.datasets.querySelectorAll("input[name=dataset]")];
  for (const radio of radios) radio.addEventListener("change", () => change({ dataset: radio.value }));
  const chosen = radios.find((radio) => radio.checked) ?? radios[0];
  if (chosen) settings.dataset = chosen.value;
}

/** A change to the controls: the learning rate reaches a running run; the rest means a reset. */
function change(changes) {
  const before = p2.runKey(settings);
  Object.assign(settings, changes);
  if ("hidden" in changes || "features" in changes) buildDiagram();
  if (p2.runKey(settings) !== before) resetRun("Settings changed: press play to train the new network.");
}

function onLearningRate() {
  settings.lr = Number(els.lr.value);
  const run = state.run;
  if (!run || !ACTIVE.has(run.status)) return;
  api.setLearningRate(run.id, settings.lr).then(
    () => say(els.message, `Learning rate ${settings.lr} from the next step.`, "info"),
    (error) => say(els.message, error.message, "error"),
  );
}

function setLayers(hidden) {
  change({ hidden });
}

function addLayer() {
  if (settings.hidden.length >= p2.MAX_LAYERS) return;
  setLayers([...settings.hidden, settings.hidden.at(-1) ?? 2]);
}

function removeLayer() {
  if (!settings.hidden.length) return;
  setLayers(settings.hidden.slice(0, -1));
}

function resize(layer, by) {
  const units = settings.hidden[layer] + by;
  if (units < 1 || units > p2.MAX_NEURONS) return;
  setLayers(settings.hidden.map((n, i) => (i === layer ? units : n)));
}

function toggleFeature(name, input) {
  const chosen = new Set(settings.features);
  if (input.checked) chosen.add(name);
  else chosen.delete(name);
  if (!chosen.size) {
    input.checked = true;
    say(els.message, "The network needs at least one input feature.", "error");
    return;
  }
  change({ features: p2.orderedFeatures([...chosen]) });
}

function bindControls() {
  fillSelect(els.lr, p2.LEARNING_RATES, settings.lr);
  fillSelect(els.regularizationRate, p2.REGULARIZATION_RATES, settings.regularizationRate);
  els.lr.addEventListener("change", onLearningRate);
  els.activation.addEventListener("change", () => change({ activation: els.activation.value }));
  els.optimizer.addEventListener("change", () => change({ optimizer: els.optimizer.value }));
  els.regularization.addEventListener("change", () =>
    change({ regularization: els.regularization.value }),
  );
  els.regularizationRate.addEventListener("change", () =>
    change({ regularizationRate: Number(els.regularizationRate.value) }),
  );
  const slider = (input, output, show, apply) => {
    input.addEventListener("input", () => (output.textContent = show(Number(input.value))));
    input.addEventListener("change", () => apply(Number(input.value)));
    output.textContent = show(Number(input.value));
  };
  slider(els.ratio, els.ratioValue, (v) => `${v}%`, (v) => change({ trainRatio: v / 100 }));
  slider(els.noise, els.noiseValue, String, (v) => change({ noise: v / 100 }));
  slider(els.batch, els.batchValue, String, (v) => change({ batchSize: v }));
  els.regenerate.addEventListener("click", () => change({ seed: (settings.seed + 1) % 2 ** 31 }));
  els.layersAdd.addEventListener("click", addLayer);
  els.layersRemove.addEventListener("click", removeLayer);
  els.play.addEventListener("click", () => act(onPlay));
  els.step.addEventListener("click", () => act(onStep));
  els.reset.addEventListener("click", () => resetRun("Reset: press play to train from new weights."));
  els.showTest.addEventListener("change", scheduleDraw);
  els.discretize.addEventListener("change", scheduleDraw);
}

// ---- the run ----

async function act(what) {
  if (state.busy) return;
  state.busy = true;
  try {
    await what();
  } catch (error) {
    say(els.message, error.message, "error");
    if (state.run === null) setStatus(null);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

async function onPlay() {
  const run = state.run;
  if (!run || !ACTIVE.has(run.status)) return start();
  if (run.status === "paused") return api.resumeRun(run.id);
  return pause(run);
}

async function onStep() {
  const run = state.run;
  if (!run || !ACTIVE.has(run.status)) return start({ stepping: true });
  if (run.status === "paused") {
    state.stepping = true;
    return api.resumeRun(run.id);
  }
  return pause(run);
}

async function pause(run) {
  state.stepping = false;
  els.status.textContent = "pausing…";
  await api.pauseRun(run.id);
}

/** Save the network (once), start a run of it and follow its events. */
async function start({ stepping = false } = {}) {
  if (state.run) resetRun();
  const generation = state.generation;
  say(els.message, "");
  setStatus("starting");
  const spec = p2.modelSpec(settings);
  const created = await startRun(spec, generation);
  if (created === null) return;
  const run = { id: created.id, status: created.status, pointsKey: p2.pointsKey(settings) };
  state.run = run;
  state.stepping = stepping;
  els.runLink.href = `/runs/${encodeURIComponent(run.id)}`;
  els.runLink.hidden = false;
  setStatus(run.status);
  state.stream = new RunStream(run.id, {
    onEvent: (event) => generation === state.generation && onEvent(event),
    onConnection: (how) => {
      if (generation === state.generation && how === "retrying") els.frameNote.textContent = "Reconnecting…";
    },
  }).start();
}

async function startRun(spec, generation) {
  const key = JSON.stringify(spec);
  for (let attempt = 0; attempt < 3; attempt++) {
    let modelId = state.models.get(key);
    if (!modelId) {
      modelId = (await api.saveModel(p2.modelName(settings), spec)).id;
      state.models.set(key, modelId);
    }
    if (generation !== state.generation) return null;
    try {
      const created = await api.startRun(modelId, p2.runConfig(settings, state.epochs));
      if (generation === state.generation) return created;
      api.stopRun(created.id).catch(() => {}); // reset while it was being made
      return null;
    } catch (error) {
      const most = p2.epochLimit(error);
      if (most && most < state.epochs) state.epochs = most; // this server trains fewer epochs
      else if (error.status === 404) state.models.delete(key); // the model was deleted
      else throw error;
    }
  }
  throw new Error("the server refused the run");
}

/** Stop the run (if any) and clear what it drew; the points stay while the data is the same. */
function resetRun(note = "Press play to train.") {
  state.generation += 1;
  const old = state.run;
  state.run = null;
  state.stepping = false;
  state.stream?.close();
  state.stream = null;
  state.catchUp?.close();
  state.catchUp = null;
  if (old && ACTIVE.has(old.status)) api.stopRun(old.id).catch(() => {});
  state.frame = null;
  if (state.pointsKey !== p2.pointsKey(settings)) {
    state.points = [];
    state.pointsKey = null;
  }
  chart.setData([], [[], []]);
  els.epoch.textContent = p2.epochText(0);
  els.lossVal.textContent = els.lossTrain.textContent = els.testAcc.textContent = "—";
  els.runLink.hidden = true;
  els.frameNote.textContent = note;
  say(els.message, "");
  setStatus(null);
  scheduleDraw();
}

function onEvent(event) {
  switch (event.type) {
    case "status":
      setStatus(event.status, event.reason);
      if (event.status === "paused" || event.status === "completed") catchUp(event.status);
      break;
    case "step":
      chart.push(event.epoch - 1 + event.epoch_progress, event.loss, null);
      els.lossTrain.textContent = p2.lossText(event.loss);
      break;
    case "epoch":
      chart.push(event.epoch, null, event.val_loss);
      els.lossVal.textContent = p2.lossText(event.val_loss);
      els.epoch.textContent = p2.epochText(event.epoch);
      if (state.stepping && state.run) {
        state.stepping = false;
        api.pauseRun(state.run.id).catch(() => {}); // it may have finished meanwhile
      }
      break;
    case "boundary":
      onFrame(event);
      break;
    case "done":
      els.testAcc.textContent = `${fmt.percent(event.test_accuracy)} (loss ${p2.lossText(event.test_loss)})`;
      break;
    default:
      break;
  }
}

function onFrame(event) {
  if (state.frame && event.seq <= state.frame.seq) return;
  state.frame = event;
  if (event.points && state.run) {
    state.points = p2.decodePoints(event.points);
    state.pointsKey = state.run.pointsKey;
  }
  scheduleDraw();
}

/**
 * The server sends a frame only while no newer event has gone out, so the frame taken just
 * before a pause or at the end can be lost. When the run stops moving, read its history since
 * the frame drawn (it holds the stored epoch-end frames and the newest one), up to the status
 * event that stopped it.
 */
function catchUp(status) {
  const run = state.run;
  if (!run) return;
  const generation = state.generation;
  state.catchUp?.close();
  const stream = new RunStream(run.id, {
    onEvent: (event) => {
      if (generation !== state.generation) return stream.close();
      if (event.type === "boundary") onFrame(event);
      if (event.type === "status" && event.status === status) stream.close();
    },
  });
  stream.lastSeq = state.frame?.seq ?? -1; // its history starts after this event
  state.catchUp = stream.start();
  setTimeout(() => stream.close(), 10_000);
}

function setStatus(status, reason) {
  if (state.run && status) state.run.status = status;
  const shown = status ?? "ready";
  els.status.textContent = shown;
  els.status.className = `badge ${shown}`;
  els.status.dataset.status = shown;
  if (status === "failed") say(els.message, `Training failed: ${reason ?? "no reason given"}`, "error");
  if (status === "completed") scheduleDraw(); // the note says it finished
  updateButtons();
}

function updateButtons() {
  const status = state.run?.status;
  const running = status === "running" || status === "queued";
  els.play.querySelector(".icon-play").toggleAttribute("hidden", running);
  els.play.querySelector(".icon-pause").toggleAttribute("hidden", !running);
  els.play.setAttribute("aria-label", running ? "Pause" : status === "paused" ? "Resume" : "Train");
  els.play.dataset.action = running ? "pause" : status === "paused" ? "resume" : "train";
  els.play.disabled = state.busy;
  els.step.disabled = state.busy;
}

// ---- the network diagram ----

function place(el, at) {
  el.style.left = `${at.x}px`; // CSSOM: allowed by the CSP, unlike style="" attributes
  el.style.top = `${at.y}px`;
}

function paintLevels(canvas, levels, side, lut) {
  if (canvas.width !== side) canvas.width = canvas.height = side;
  canvas.getContext("2d").putImageData(new ImageData(p2.paint(levels, lut), side, side), 0, 0);
}

function buildDiagram() {
  const counts = [p2.FEATURES.length, ...settings.hidden, 1];
  const layout = p2.networkLayout(counts, { node: NODE, column: COLUMN });
  for (const box of [els.diagram, els.heads]) box.style.width = `${layout.width}px`;
  els.diagram.style.height = `${layout.height}px`;
  els.links.setAttribute("width", layout.width);
  els.links.setAttribute("height", layout.height);
  els.links.setAttribute("viewBox", `0 0 ${layout.width} ${layout.height}`);
  els.links.replaceChildren();
  for (const node of [...els.diagram.children]) if (node !== els.links) node.remove();

  const features = p2.FEATURES.map((feature, i) => {
    const input = h("input", {
      type: "checkbox",
      class: "plane-check",
      checked: settings.features.includes(feature.name),
      dataset: { testid: `feature-${feature.name}` },
      onchange: () => toggleFeature(feature.name, input),
    });
    const canvas = h("canvas", { width: FEATURE_SIDE, height: FEATURE_SIDE, "aria-hidden": "true" });
    paintLevels(canvas, p2.featureLevels(feature.name, FEATURE_SIDE), FEATURE_SIDE, luts.node);
    const node = h(
      "label",
      { class: `plane-node feature${input.checked ? "" : " off"}`, title: feature.name },
      input,
      canvas,
      h("span", { class: "feature-name" }, feature.label),
    );
    place(node, layout.columns[0][i]);
    els.diagram.append(node);
    return { name: feature.name, input, node };
  });
  const hidden = settings.hidden.map((units, l) =>
    layout.columns[l + 1].map((at, j) => {
      const canvas = h("canvas", {
        class: "plane-node unit",
        width: 1,
        height: 1,
        title: `hidden layer ${l + 1}, neuron ${j + 1}`,
        "aria-hidden": "true",
      });
      place(canvas, at);
      els.diagram.append(canvas);
      return canvas;
    }),
  );
  const output = h("canvas", { class: "plane-node unit output", width: 1, height: 1, "aria-hidden": "true" });
  place(output, layout.columns.at(-1)[0]);
  els.diagram.append(output);
  diagram = { layout, features, hidden, output, paths: [] };

  const head = (column, ...children) => {
    const el = h("div", { class: "plane-head" }, ...children);
    el.style.left = `${layout.columns[column][0]?.x ?? 0}px`;
    return el;
  };
  els.heads.replaceChildren(
    head(0, h("span", { class: "small" }, "Features")),
    ...settings.hidden.map((units, l) =>
      head(
        l + 1,
        h("div", { class: "row plane-pms" },
          h("button", { type: "button", class: "icon-btn plane-pm", "aria-label": `Add a neuron to hidden layer ${l + 1}`, disabled: units >= p2.MAX_NEURONS, dataset: { testid: `neurons-add-${l}` }, onclick: () => resize(l, 1) }, "+"),
          h("button", { type: "button", class: "icon-btn plane-pm", "aria-label": `Remove a neuron from hidden layer ${l + 1}`, disabled: units <= 1, dataset: { testid: `neurons-remove-${l}` }, onclick: () => resize(l, -1) }, "−"),
        ),
        h("span", { class: "small", dataset: { testid: `neurons-${l}` } }, `${units} neuron${units === 1 ? "" : "s"}`),
      ),
    ),
    head(counts.length - 1, h("span", { class: "small" }, "Output")),
  );
  const layers = settings.hidden.length;
  els.layersCount.textContent = `${layers} hidden layer${layers === 1 ? "" : "s"}`;
  els.layersAdd.disabled = layers >= p2.MAX_LAYERS;
  els.layersRemove.disabled = layers === 0;
  paintDiagram();
}

function paintDiagram() {
  const frame = state.frame;
  if (!diagram) return;
  const sameNetwork =
    frame &&
    frame.neurons.length === settings.hidden.length &&
    frame.neurons.every((layer, i) => layer.units === settings.hidden[i]);
  diagram.hidden.forEach((canvases, l) => {
    const layer = sameNetwork ? frame.neurons[l] : null;
    const data = layer ? p2.decodeBase64(layer.data) : null;
    canvases.forEach((canvas, j) => {
      const shown = layer && j < layer.shown;
      canvas.classList.toggle("blank", !shown);
      if (!shown) return;
      const side = frame.neuron_side;
      paintLevels(canvas, p2.unitLevels(data, j, side, layer.scale[j]), side, luts.node);
    });
  });
  diagram.output.classList.toggle("blank", !frame);
  if (frame) {
    diagram.output.width = diagram.output.height = outputImage.width;
    diagram.output.getContext("2d").drawImage(outputImage, 0, 0);
  }
  for (const f of diagram.features) f.node.classList.toggle("off", !f.input.checked);
  paintLinks(sameNetwork ? p2.links(frame, settings.hidden) : [], frame);
}

function paintLinks(links, frame) {
  const { layout, paths } = diagram;
  while (paths.length < links.length) {
    const path = document.createElementNS(SVG, "path");
    path.append(document.createElementNS(SVG, "title"));
    els.links.append(path);
    paths.push(path);
  }
  paths.forEach((path, i) => {
    const link = links[i];
    path.toggleAttribute("hidden", !link);
    if (!link) return;
    const from = layout.columns[link.from[0]][link.from[1]];
    const to = layout.columns[link.to[0]][link.to[1]];
    const style = p2.linkStyle(link.weight);
    path.setAttribute("d", p2.linkPath(from, to, NODE));
    path.setAttribute("stroke", style.color);
    path.setAttribute("stroke-width", style.width.toFixed(2));
    path.firstChild.textContent = `weight ${link.weight.toFixed(3)}`;
  });
  els.networkNote.textContent =
    frame && frame.weights === null
      ? "This network has too many weights to draw them; its neurons are shown."
      : "Lines are weights: blue positive, orange negative, thicker for larger ones. Each square shows what a neuron outputs over the whole plane.";
}

// ---- the plane ----

function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    drawPlane();
    paintDiagram();
  });
}

function drawPlane() {
  const canvas = els.boundary;
  const side = canvas.width;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, side, side);
  const frame = state.frame;
  if (frame) {
    const r = frame.resolution;
    const lut = els.discretize.checked ? luts.planeDiscrete : luts.plane;
    paintLevels(outputImage, p2.decodeBase64(frame.output), r, lut);
    // The frame's values are at the grid's points, edges included: centre each cell on its point.
    const cell = side / (r - 1);
    ctx.imageSmoothingEnabled = !els.discretize.checked;
    ctx.drawImage(outputImage, -cell / 2, -cell / 2, side + cell, side + cell);
    canvas.dataset.step = String(frame.step);
    canvas.dataset.epoch = String(frame.epoch);
    const finished = state.run?.status === "completed" ? " Finished: press play to train again." : "";
    els.frameNote.textContent = `Epoch ${frame.epoch}${frame.at_epoch_end ? " (end)" : ""}, step ${fmt.int(frame.step)}: orange is the model's −1, blue its +1.${finished}`;
  } else {
    delete canvas.dataset.step;
  }
  const radius = Math.max(2.5, side / 110);
  for (const point of state.points) {
    if (point.test && !els.showTest.checked) continue;
    const [x, y] = p2.toCanvas(point.x1, point.x2, side);
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, 2 * Math.PI);
    ctx.fillStyle = p2.cssColor(point.label ? 1 : -1);
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = point.test ? "#000000" : "#ffffff";
    ctx.stroke();
  }
  canvas.dataset.points = String(state.points.length);
}

// ---- start ----

async function init() {
  bindDatasets();
  bindControls();
  buildDiagram();
  updateButtons();
  scheduleDraw();
  try {
    const activations = p2.activationChoices(await api.layers());
    if (activations.length) fillSelect(els.activation, activations, settings.activation);
  } catch (error) {
    say(els.message, `Could not load the activations: ${error.message}`, "error");
  }
  document.body.dataset.ready = "true";
}

init();
