// The 2-D playground: TensorFlow Playground's page, trained by this server. The controls make the
// settings (plane2d.js); play starts a run of them (planerun.js) whose events fill the figures
// (planefigures.js) and whose boundary frames paint the plane (planeview.js) and the network's
// neurons and weights (planediagram.js). The learning rate and the regularization reach a running
// run; any other change resets (stops the run), as TF Playground resets.
import * as api from "../api.js";
import { h, need, say } from "../dom.js";
import * as p2 from "../plane2d.js";
import { decodePoints } from "../planedraw.js";
import { NetworkDiagram } from "../planediagram.js";
import { PlaneFigures } from "../planefigures.js";
import { PlaneRun } from "../planerun.js";
import { PlaneView } from "../planeview.js";

const els = {
  play: need("#plane-play"),
  reset: need("#plane-reset"),
  step: need("#plane-step"),
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
  showTest: need("#plane-show-test"),
  discretize: need("#plane-discretize"),
  frameNote: need("#plane-frame-note"),
};

/** What the controls say. */
const settings = { ...p2.DEFAULTS, hidden: [...p2.DEFAULTS.hidden], features: [...p2.DEFAULTS.features] };

const state = {
  busy: false, // a start, pause or resume request is on its way
  frame: null, // the newest boundary frame of the current run
  points: [], // of the current data: [{x1, x2, label, test}]
  pointsKey: null,
  drawPending: false,
};

const figures = new PlaneFigures({
  epoch: need("#plane-epoch"),
  lossVal: need("#loss-val"),
  lossTrain: need("#loss-train"),
  lossTest: need("#loss-test"),
  testAcc: need("#test-acc"),
  chart: need("#plane-chart"),
});

const session = new PlaneRun({
  onEvent,
  onConnection: (how) => {
    if (how === "retrying") els.frameNote.textContent = "Reconnecting…";
  },
  epochs: Math.min(p2.EPOCHS, Number(need("#plane-bar").dataset.maxEpochs) || p2.EPOCHS),
});

const view = new PlaneView(
  {
    canvas: need("#plane-boundary"),
    note: els.frameNote,
    legendTitle: need("#plane-legend-title"),
    legendTicks: [...need("#plane-legend-ticks").children],
  },
  { showTest: els.showTest, discretize: els.discretize },
);

const diagram = new NetworkDiagram(
  { diagram: need("#plane-diagram"), links: need("#plane-links"), heads: need("#plane-heads"), note: need("#plane-network-note") },
  { feature: toggleFeature, resize },
);

// ---- controls ----

function fillSelect(select, values, chosen, label = String) {
  select.replaceChildren(...values.map((v) => h("option", { value: String(v) }, label(v))));
  select.value = String(chosen);
}

function bindDatasets() {
  const radios = [...els.datasets.querySelectorAll("input[name=dataset]")];
  const chosen = (radio) => ({ dataset: radio.value, task: radio.dataset.kind ?? p2.DEFAULTS.task });
  for (const radio of radios) radio.addEventListener("change", () => change(chosen(radio)));
  const checked = radios.find((radio) => radio.checked) ?? radios[0];
  if (checked) Object.assign(settings, chosen(checked));
}

/** A change to the controls: the learning rate and the regularization reach a running run; the
 * rest means a reset. */
function change(changes) {
  const before = { ...settings };
  Object.assign(settings, changes);
  if ("hidden" in changes || "features" in changes) buildDiagram();
  if (p2.runKey(settings) !== p2.runKey(before)) {
    resetRun("Settings changed: press play to train the new network.");
    return;
  }
  sendLive(p2.liveChanges(before, settings));
}

/** Hand `body` to the running run (if any) and say so. */
function sendLive(body) {
  session.update(body).then(
    (sent) => sent && say(els.message, p2.liveText(body), "info"),
    (error) => say(els.message, error.message, "error"),
  );
}

function addLayer() {
  if (settings.hidden.length >= p2.MAX_LAYERS) return;
  change({ hidden: [...settings.hidden, settings.hidden.at(-1) ?? 2] });
}

function removeLayer() {
  if (!settings.hidden.length) return;
  change({ hidden: settings.hidden.slice(0, -1) });
}

function resize(layer, by) {
  const units = settings.hidden[layer] + by;
  if (units < 1 || units > p2.MAX_NEURONS) return;
  change({ hidden: settings.hidden.map((n, i) => (i === layer ? units : n)) });
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
  els.lr.addEventListener("change", () => change({ lr: Number(els.lr.value) }));
  els.activation.addEventListener("change", () => change({ activation: els.activation.value }));
  els.optimizer.addEventListener("change", () => change({ optimizer: els.optimizer.value }));
  els.regularization.addEventListener("change", () => change({ regularization: els.regularization.value }));
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

function buildDiagram() {
  diagram.build(settings);
  const layers = settings.hidden.length;
  els.layersCount.textContent = `${layers} hidden layer${layers === 1 ? "" : "s"}`;
  els.layersAdd.disabled = layers >= p2.MAX_LAYERS;
  els.layersRemove.disabled = layers === 0;
  diagram.paint(state.frame, view.output);
}

// ---- the run ----

async function act(what) {
  if (state.busy) return;
  state.busy = true;
  try {
    await what();
  } catch (error) {
    say(els.message, error.message, "error");
    if (session.run === null) setStatus(null);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

async function onPlay() {
  if (!session.active) return start();
  if (session.run.status === "paused") return session.resume();
  return pause();
}

async function onStep() {
  if (!session.active) return start({ stepping: true });
  if (session.run.status === "paused") return session.resume({ stepping: true });
  return pause();
}

async function pause() {
  els.status.textContent = "pausing…";
  await session.pause();
}

/** Start a run of the settings; what changed while it was being made reaches it after. */
async function start({ stepping = false } = {}) {
  if (session.run) resetRun();
  say(els.message, "");
  setStatus("starting");
  const asked = { ...settings };
  const run = await session.start(settings, { stepping });
  if (run === null) return;
  els.runLink.href = `/runs/${encodeURIComponent(run.id)}`;
  els.runLink.hidden = false;
  setStatus(run.status);
  const late = p2.liveChanges(asked, settings);
  if (Object.keys(late).length) sendLive(late);
}

/** Stop the run (if any) and clear what it drew; the points stay while the data is the same. */
function resetRun(note = "Press play to train.") {
  session.stop();
  state.frame = null;
  if (state.pointsKey !== p2.pointsKey(settings)) {
    state.points = [];
    state.pointsKey = null;
  }
  figures.clear(settings);
  els.runLink.hidden = true;
  els.frameNote.textContent = note;
  say(els.message, "");
  setStatus(null);
  scheduleDraw();
}

function onEvent(event) {
  if (event.type === "status") setStatus(event.status, event.reason);
  else if (event.type === "boundary") onFrame(event);
  else figures.take(event);
}

function onFrame(event) {
  if (state.frame && event.seq <= state.frame.seq) return;
  state.frame = event;
  if (event.points && session.run) {
    state.points = decodePoints(event.points);
    state.pointsKey = session.run.pointsKey;
  }
  scheduleDraw();
}

function setStatus(status, reason) {
  const shown = status ?? "ready";
  els.status.textContent = shown;
  els.status.className = `badge ${shown}`;
  els.status.dataset.status = shown;
  if (status === "failed") say(els.message, `Training failed: ${reason ?? "no reason given"}`, "error");
  if (status === "completed") scheduleDraw(); // the note says it finished
  updateButtons();
}

function updateButtons() {
  const status = session.run?.status;
  const running = status === "running" || status === "queued";
  els.play.querySelector(".icon-play").toggleAttribute("hidden", running);
  els.play.querySelector(".icon-pause").toggleAttribute("hidden", !running);
  els.play.setAttribute("aria-label", running ? "Pause" : status === "paused" ? "Resume" : "Train");
  els.play.dataset.action = running ? "pause" : status === "paused" ? "resume" : "train";
  els.play.disabled = state.busy;
  els.step.disabled = state.busy;
}

// ---- drawing ----

function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    view.draw({
      frame: state.frame,
      points: state.points,
      kind: p2.taskOf(settings).output,
      finished: session.run?.status === "completed",
    });
    diagram.paint(state.frame, view.output);
  });
}

// ---- start ----

async function init() {
  bindDatasets();
  bindControls();
  buildDiagram();
  figures.clear(settings);
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
