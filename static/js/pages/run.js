// One run, live: status and controls, learning curves, feature maps, confusion matrix, and a
// drawing pad that uses the newest weights. History comes first over the socket, then the tail.
import * as api from "../api.js";
import { LiveChart } from "../charts.js";
import { ConfusionView, digitFigures } from "../confusion.js";
import { drawCurves } from "../curves.js";
import * as ds from "../datasets.js";
import { h, need, say } from "../dom.js";
import { DrawPanel } from "../drawpanel.js";
import { DIVERGING_LUT, MapGrids, paintDigit, paintFilters } from "../featuremaps.js";
import * as fmt from "../format.js";
import { RunHistory } from "../metrics.js";
import { ProbBars } from "../predictview.js";
import { RunStream, TERMINAL } from "../socket.js";
import { describeLayer, summaryRows } from "../summary.js";

const runId = need("#run").dataset.runId;
const ACTIVE = new Set(["queued", "running", "paused"]);
const POLL_MS = 2000;
const MAPS_MS = 250; // feature-map frames drawn at most 4 times a second
const MILESTONE = 0.99; // the validation accuracy whose first epoch the page names

const els = {
  status: need("[data-testid=run-status]"),
  connection: need("#connection"),
  progress: need("#progress"),
  progressText: need("#progress-text"),
  queueText: need("#queue-text"),
  milestone: need("#milestone"),
  pause: need("[data-testid=train-pause]"),
  stop: need("[data-testid=train-stop]"),
  lrForm: need("#lr-form"),
  lrInput: need("#lr-input"),
  lrApply: need("#lr-apply"),
  again: need("#train-again"),
  buildLink: need("#build-link"),
  share: need("#share-run"),
  shareBox: need("#share-box"),
  shareUrl: need("#share-url"),
  message: need("#run-message"),
  stats: {
    loss: need("#stat-loss"),
    acc: need("#stat-acc"),
    best: need("#stat-best"),
    test: need("#stat-test"),
    sps: need("#stat-sps"),
    elapsed: need("#stat-elapsed"),
    eta: need("#stat-eta"),
    lr: need("#stat-lr"),
  },
  mapsStep: need("#maps-step"),
  mapsNote: need("#maps-note"),
  probeImage: need("#probe-image"),
  probeCaption: need("#probe-caption"),
  probePrediction: need("#probe-prediction"),
  confusionEpoch: need("#confusion-epoch"),
  cellInfo: need("#cell-info"),
  cellDigits: need("#cell-digits"),
  configList: need("#config-list"),
  downloads: need("#downloads"),
  probeBars: need("#probe-bars"),
  drawSection: need("#draw-section"),
  drawTitle: need("#draw-title"),
  drawNote: need("#draw-note"),
  datasetName: need("#run-dataset"),
};

const state = {
  run: null,
  status: null,
  history: new RunHistory(),
  layers: new Map(), // path → summary row of the model, to name feature-map layers
  followEpoch: true, // the confusion matrix shows the newest epoch until one is picked
  confusionShown: null,
  cellAsked: null, // the confusion cell whose digits are being fetched
  lrDirty: false,
  pollTimer: null,
  polling: false,
  pollAgain: false,
  mapsTimer: null,
  mapsDrawnAt: 0,
  dataset: null, // the run's GET /api/datasets entry (null: MNIST, or unknown)
  labels: ds.classLabels(10), // the class names, in label order
};

const charts = {
  loss: new LiveChart(need("#chart-loss"), {
    yLabel: "loss",
    series: [
      { label: "loss", color: "#9fb6e6", width: 1 },
      { label: "smoothed", color: "#2457c5", width: 2.25 },
    ],
  }),
  acc: new LiveChart(need("#chart-acc"), {
    yLabel: "accuracy",
    series: [
      { label: "accuracy", color: "#f1b592", width: 1, value: pctValue },
      { label: "smoothed", color: "#c2410c", width: 2.25, value: pctValue },
    ],
  }),
  epochLoss: new LiveChart(need("#chart-epoch-loss"), {
    xLabel: "epoch",
    xWhole: true,
    yLabel: "loss",
    series: [
      { label: "training", color: "#2457c5", points: true },
      { label: "validation", color: "#c2410c", points: true, dash: [6, 4] },
    ],
  }),
  epochAcc: new LiveChart(need("#chart-epoch-acc"), {
    xLabel: "epoch",
    xWhole: true,
    yLabel: "accuracy",
    series: [
      { label: "training", color: "#2457c5", points: true, value: pctValue },
      { label: "validation", color: "#c2410c", points: true, dash: [6, 4], value: pctValue },
    ],
  }),
};

function pctValue(u, v) {
  return v === null || v === undefined ? "—" : fmt.percent(v, 2);
}

const probeBars = new ProbBars(need("#probe-bars"), { testidPrefix: "probe-prob-" });
const describe = (path) => describeLayer(state.layers, path);
const filterGrids = new MapGrids(need("#filters"), {
  lut: DIVERGING_LUT,
  unit: "filters",
  describe: (path) => `first-layer filters (layer ${path})`,
});
const mapGrids = new MapGrids(need("#maps"), { describe });
const confusion = new ConfusionView(need("#confusion"), { onSelect: showCell });
const drawPanel = new DrawPanel(need("[data-draw-panel]"));

// ---- the run record (polled while active: queue position, ETA) ----

function applyRun(run) {
  state.run = run;
  setStatus(run.status, run.error);
  const total = run.total_steps || state.history.lastStep?.total_steps || 0;
  const step = Math.max(run.step ?? 0, state.history.lastStep?.step ?? 0);
  setProgress(step, total, run.epoch, run.progress);
  if (run.status === "queued") {
    const pos = run.queue_position; // 1: the next to start
    const wait =
      pos === null || pos === undefined
        ? "Waiting for the device…"
        : pos <= 1
          ? "Waiting: next in line"
          : `Waiting: ${fmt.ordinal(pos)} in the queue (${pos - 1} run${pos === 2 ? "" : "s"} ahead)`;
    const eta = run.eta_s !== null && run.eta_s !== undefined ? ` · done in about ${fmt.duration(run.eta_s)}` : "";
    els.queueText.textContent = wait + eta;
  } else if (run.status === "running" && run.eta_s !== null && run.eta_s !== undefined) {
    els.queueText.textContent = `about ${fmt.duration(run.eta_s)} left`;
  } else {
    els.queueText.textContent = "";
  }
  els.stats.eta.textContent = ACTIVE.has(run.status) ? fmt.duration(run.eta_s) : "—";
  if (run.best_val_accuracy !== null && run.best_val_accuracy !== undefined) {
    els.stats.best.textContent = fmt.percent(run.best_val_accuracy, 2);
  }
  if (run.test_accuracy !== null && run.test_accuracy !== undefined) {
    els.stats.test.textContent = fmt.percent(run.test_accuracy, 2);
  }
  if (!state.history.lastStep && run.latest) showLatest(run.latest);
  tickElapsed();
  els.buildLink.href = `/build?model=${encodeURIComponent(run.model_id)}`;
}

async function poll() {
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
  state.polling = true;
  try {
    applyRun(await api.run(runId));
  } catch (error) {
    if (error.status === 404) {
      say(els.message, "This run no longer exists.", "error");
      return;
    }
  } finally {
    state.polling = false;
  }
  if (state.pollAgain) {
    state.pollAgain = false;
    poll();
  } else if (!state.status || ACTIVE.has(state.status)) {
    state.pollTimer = setTimeout(poll, POLL_MS);
  }
}

/** Read the run record now (queue position, ETA, final figures), unless a read is under way. */
function pollSoon() {
  if (state.polling) state.pollAgain = true;
  else poll();
}

function tickElapsed() {
  const run = state.run;
  if (!run?.started_at) {
    els.stats.elapsed.textContent = "—";
    return;
  }
  const end = run.finished_at ?? (ACTIVE.has(state.status) ? Date.now() / 1000 : run.started_at);
  els.stats.elapsed.textContent = fmt.duration(end - run.started_at);
}

function setProgress(step, total, epoch, progress) {
  const fraction = progress ?? (total ? step / total : 0);
  const pct = Math.max(0, Math.min(100, fraction * 100));
  els.progress.firstElementChild.style.width = `${pct}%`;
  els.progress.setAttribute("aria-valuenow", pct.toFixed(0));
  const epochs = state.run?.config?.epochs;
  const epochText = epoch ? ` · epoch ${epoch}${epochs ? ` of ${epochs}` : ""}` : "";
  els.progressText.textContent = total ? `step ${fmt.int(step)} of ${fmt.int(total)}${epochText} · ${pct.toFixed(0)}%` : "not started";
}

function setStatus(status, reason = null) {
  if (!status) return;
  const changed = status !== state.status;
  state.status = status;
  els.status.textContent = status;
  els.status.className = `badge ${status}`;
  els.status.dataset.status = status;
  const active = ACTIVE.has(status);
  const resumable = status === "paused" || status === "interrupted";
  els.pause.disabled = !(status === "running" || resumable);
  els.pause.textContent = resumable ? "Resume" : "Pause";
  els.pause.dataset.action = resumable ? "resume" : "pause";
  els.stop.disabled = !(active || status === "interrupted");
  els.downloads.hidden = status === "queued" || status === "failed";
  els.lrInput.disabled = !(status === "running" || status === "paused");
  els.lrApply.disabled = els.lrInput.disabled;
  els.again.hidden = active || status === "interrupted";
  drawPanel.setLive(status === "running");
  if (status === "failed" && reason) say(els.message, `Training failed: ${reason}`, "error");
  else if (status === "interrupted") {
    say(els.message, "The server stopped while this run was training: Resume goes on from its last epoch.", "error");
  }
  if (changed && (TERMINAL.has(status) || active) && state.run) pollSoon();
}

// ---- events from the socket ----

function onEvent(event) {
  const kind = state.history.add(event);
  if (kind === "step") onStep(event);
  else if (kind === "epoch") onEpoch(event);
  else if (kind === "feature_maps") scheduleMaps();
  else if (kind === "status") setStatus(event.status, event.reason);
  else if (kind === "done") onDone(event);
}

state.history.onRewind = () => {
  const s = state.history.steps;
  charts.loss.setData(s.x, [s.loss, s.lossSmooth]);
  charts.acc.setData(s.x, [s.acc, s.accSmooth]);
};

function showLatest(latest) {
  if (latest.loss !== undefined) els.stats.loss.textContent = fmt.real(latest.loss);
  if (latest.accuracy !== undefined) els.stats.acc.textContent = fmt.percent(latest.accuracy);
  if (latest.samples_per_s !== undefined) els.stats.sps.textContent = `${fmt.int(latest.samples_per_s)} /s`;
  if (latest.lr !== undefined) showLr(latest.lr);
}

function showLr(lr) {
  els.stats.lr.textContent = fmt.real(lr, 3);
  if (!state.lrDirty && document.activeElement !== els.lrInput) els.lrInput.value = String(Number(lr.toPrecision(4)));
}

function onStep(event) {
  const s = state.history.steps;
  const n = s.x.length - 1;
  charts.loss.push(s.x[n], s.loss[n], s.lossSmooth[n]);
  charts.acc.push(s.x[n], s.acc[n], s.accSmooth[n]);
  showLatest(event);
  setProgress(event.step, event.total_steps, event.epoch, null);
}

function onEpoch(event) {
  const cols = state.history.epochColumns();
  charts.epochLoss.setData(cols.x, [cols.trainLoss, cols.valLoss]);
  charts.epochAcc.setData(cols.x, [cols.trainAcc, cols.valAcc]);
  const best = Math.max(...cols.valAcc);
  els.stats.best.textContent = fmt.percent(best, 2);
  const select = els.confusionEpoch;
  select.replaceChildren(
    ...state.history.epochs.map((e) => h("option", { value: String(e.epoch) }, `epoch ${e.epoch} · ${fmt.percent(e.val_accuracy)}`)),
  );
  select.disabled = false;
  if (state.followEpoch) select.value = String(event.epoch);
  else select.value = String(state.confusionShown ?? event.epoch);
  showConfusion(Number(select.value));
  showMilestone();
}

/** When the run first reached 99% validation accuracy, and after how much training. */
function showMilestone() {
  const target = fmt.percent(MILESTONE, 0);
  const first = state.history.firstReaching(MILESTONE);
  if (first) {
    const seconds = first.train_seconds; // absent in runs recorded before it was added
    const after = seconds === undefined || seconds === null ? "" : `, after ${seconds.toFixed(1)} s of training`;
    els.milestone.textContent = `First reached ${target} validation accuracy at epoch ${first.epoch}${after}.`;
  } else if (state.history.epochs.length) {
    const finished = state.history.done !== null || TERMINAL.has(state.status);
    els.milestone.textContent = `${finished ? "Did not reach" : "Not yet at"} ${target} validation accuracy.`;
  }
  els.milestone.hidden = !els.milestone.textContent;
}

function onDone(event) {
  showMilestone();
  els.stats.test.textContent = fmt.percent(event.test_accuracy, 2);
  els.stats.best.textContent = fmt.percent(event.best_val_accuracy, 2);
  els.stats.sps.textContent = `${fmt.int(event.samples_per_s)} /s`;
  const early = event.early_stopped ? " Stopped early: validation accuracy had stopped improving." : "";
  const noun = ds.sampleNoun(state.dataset);
  say(els.message, `Finished: ${fmt.percent(event.test_accuracy, 2)} on the ${fmt.int(event.test_count)} test ${noun} it never saw.${early}`, "ok");
}

// ---- feature maps ----

function scheduleMaps() {
  if (state.mapsTimer) return;
  const wait = Math.max(0, MAPS_MS - (performance.now() - state.mapsDrawnAt));
  state.mapsTimer = setTimeout(() => {
    state.mapsTimer = null;
    state.mapsDrawnAt = performance.now();
    requestAnimationFrame(drawMaps);
  }, wait);
}

function drawMaps() {
  const frame = state.history.featureMaps;
  if (!frame) return;
  paintDigit(els.probeImage, frame.probe_image);
  const name = (index) => state.labels[index] ?? String(index);
  els.probeCaption.textContent = ds.areDigits(state.labels)
    ? `probe: a ${frame.probe_label} (validation #${frame.probe_index})`
    : `probe: “${name(frame.probe_label)}” (validation #${frame.probe_index})`;
  const p = frame.probabilities;
  const top = p.indexOf(Math.max(...p));
  els.probePrediction.textContent = name(top);
  els.probePrediction.classList.toggle("word", !ds.areDigits(state.labels));
  els.probePrediction.classList.toggle("unsure", p[top] < 0.5);
  probeBars.update(p);
  paintFilters(filterGrids, frame.filters);
  mapGrids.update(frame.layers);
  els.mapsStep.textContent = `step ${fmt.int(frame.step)} · epoch ${frame.epoch}`;
  els.mapsNote.hidden = frame.layers.length > 0;
  if (!frame.layers.length) els.mapsNote.textContent = "This network has no conv layers, so there are no feature maps: the probe’s probabilities still show how it learns.";
}

// ---- confusion matrix ----

function showConfusion(epoch) {
  const event = state.history.epochs.find((e) => e.epoch === epoch);
  if (!event) return;
  state.confusionShown = epoch;
  confusion.update(event.confusion, state.labels.length === event.confusion.length ? state.labels : null);
  if (confusion.selected) showCell(...confusion.selected);
}

async function showCell(label, prediction) {
  const event = state.history.epochs.find((e) => e.epoch === state.confusionShown);
  if (!event) return;
  const count = event.confusion[label][prediction];
  const said = ds.cellSentence({ label, prediction, count, epoch: event.epoch, labels: state.labels });
  els.cellInfo.textContent = said;
  els.cellDigits.replaceChildren();
  if (!count) return;
  if (state.dataset && !ds.isMnist(state.dataset)) {
    // GET /api/runs/{id}/confusion reads MNIST's validation digits: it has none of this dataset
    els.cellInfo.textContent = `${said} (The samples of a cell are shown for MNIST runs only.)`;
    return;
  }
  const asked = [label, prediction].join();
  state.cellAsked = asked;
  try {
    const cell = await api.confusionCell(runId, label, prediction);
    if (state.cellAsked !== asked) return; // another cell was clicked meanwhile
    const examples = cell.examples.map((example) => ({
      ...example,
      probability: example.probabilities[example.prediction],
    }));
    els.cellInfo.textContent =
      `${said} With the latest weights (step ${fmt.int(cell.step)}) ${fmt.int(cell.count)} ` +
      `digit${cell.count === 1 ? " is" : "s are"} in this cell` +
      (examples.length < cell.count ? `; the ${examples.length} most confident:` : ":");
    digitFigures(els.cellDigits, examples);
  } catch (error) {
    if (state.cellAsked === asked) els.cellInfo.textContent = `${said} (${error.message})`;
  }
}

// ---- controls ----

async function control(action) {
  const button = action === "stop" ? els.stop : els.pause;
  button.disabled = true;
  try {
    const call = { pause: api.pauseRun, resume: api.resumeRun, stop: api.stopRun }[action];
    applyRun(await call(runId));
    say(els.message, "");
  } catch (error) {
    say(els.message, error.message, "error");
    setStatus(state.status);
  }
}

async function applyLr(event) {
  event.preventDefault();
  const lr = Number(els.lrInput.value);
  if (!els.lrInput.value || !Number.isFinite(lr) || lr <= 0) {
    els.lrInput.setAttribute("aria-invalid", "true");
    say(els.message, "The learning rate is a positive number, such as 0.001.", "error");
    return;
  }
  els.lrInput.removeAttribute("aria-invalid");
  try {
    applyRun(await api.setLearningRate(runId, lr));
    state.lrDirty = false;
    say(els.message, `Learning rate set to ${lr}: it applies from the next step.`, "ok");
  } catch (error) {
    say(els.message, error.message, "error");
  }
}

async function trainAgain() {
  if (!state.run) return;
  els.again.disabled = true;
  try {
    const run = await api.startRun(state.run.model_id, state.run.config ?? {});
    location.assign(`/runs/${encodeURIComponent(run.id)}`);
  } catch (error) {
    els.again.disabled = false;
    say(els.message, error.message, "error");
  }
}

function showConfig(config) {
  const text = (value) =>
    value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value);
  els.configList.replaceChildren(
    ...Object.entries(config ?? {}).map(([key, value]) => h("div", {}, h("dt", {}, key), h("dd", {}, text(value)))),
  );
}

// ---- start-up ----

async function main() {
  els.pause.addEventListener("click", () => control(els.pause.dataset.action ?? "pause"));
  els.stop.addEventListener("click", () => control("stop"));
  els.lrForm.addEventListener("submit", applyLr);
  els.lrInput.addEventListener("input", () => {
    state.lrDirty = true;
  });
  els.again.addEventListener("click", trainAgain);
  els.share.addEventListener("click", shareLink);
  els.confusionEpoch.addEventListener("change", () => {
    const epochs = state.history.epochs;
    const value = Number(els.confusionEpoch.value);
    state.followEpoch = epochs.length > 0 && value === epochs[epochs.length - 1].epoch;
    showConfusion(value);
  });
  drawCurves();
  setInterval(tickElapsed, 1000);

  const [run, datasets] = await Promise.all([api.run(runId), api.datasets().catch(() => [])]);
  useDataset(run.config?.dataset, datasets);
  applyRun(run); // its status starts the polling while the run is active
  showConfig(run.config);
  api
    .model(run.model_id)
    .then((model) => {
      state.layers = summaryRows(model.summary);
      mapGrids.clear();
      scheduleMaps();
    })
    .catch(() => {});
  new RunStream(runId, {
    onEvent,
    onConnection: (connection) => {
      els.connection.textContent = connection === "open" ? "● live" : connection === "retrying" ? "reconnecting…" : "";
    },
  }).start();
  document.body.dataset.ready = "true";
}

/** Name the classes after the run's dataset; the drawing pad only for picture datasets. */
function useDataset(ref, datasets) {
  const name = ds.datasetName(ref);
  const info = ds.findDataset(datasets, ref);
  state.dataset = info ?? (name === ds.DEFAULT_DATASET ? null : { name, title: name });
  els.datasetName.textContent = info?.title ?? name;
  if (!state.dataset || ds.isMnist(state.dataset)) {
    drawPanel.setRun(runId);
    return;
  }
  if (info?.kind === "classification" && info.classes?.length) {
    state.labels = ds.classLabels(info.classes.length, info.classes);
    probeBars.setLabels(state.labels);
    els.probeBars.setAttribute("aria-label", "Probability of each class for the probe");
  }
  if (!(info?.input_shape?.length === 3 && info.input_shape[0] === 1 && info.input_shape[1] === 28 && info.input_shape[2] === 28)) {
    els.mapsNote.textContent = `Feature maps and the probe are shown for 28×28 grey datasets; this run trains on ${info?.title ?? name}.`;
    els.probeImage.closest(".probe").hidden = true; // no probe events come for other data
  }
  if (info && !ds.isImage(info)) {
    els.drawTitle.textContent = "Try it";
    els.drawNote.textContent = `This run trains on ${info.title}, whose samples are not pictures: there is nothing to draw.`;
    els.drawSection.querySelector("[data-draw-panel]").hidden = true;
    els.drawSection.querySelector("#draw-link")?.setAttribute("hidden", "");
    return;
  }
  els.drawTitle.textContent = `Try it: draw a ${info?.title ?? name} sample`;
  els.drawNote.textContent = "Your drawing is stretched to the dataset’s image size and re-read with the newest weights while the run trains.";
  drawPanel.setRun(runId, state.dataset);
}

/** Make a read-only link to this run, show it selected and copy it when the browser lets us. */
async function shareLink() {
  els.share.disabled = true;
  try {
    const { url } = await api.shareRun(runId);
    els.shareUrl.value = new URL(url, location.origin).href;
    els.shareBox.hidden = false;
    els.shareUrl.select();
    await navigator.clipboard?.writeText(els.shareUrl.value).catch(() => {});
  } catch (error) {
    say(els.message, `No link: ${error.message}`, "error");
  } finally {
    els.share.disabled = false;
  }
}

main().catch((error) => {
  say(els.message, `This run could not be loaded: ${error.message}`, "error");
  throw error;
});
