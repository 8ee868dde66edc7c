// The draw page: pick a run, draw, and see the prediction, probabilities and feature maps.
// Runs on picture datasets only (MNIST's digits, or another image dataset's classes).
import * as api from "../api.js";
import { drawCurves } from "../curves.js";
import * as ds from "../datasets.js";
import { h, need, say } from "../dom.js";
import { DrawPanel } from "../drawpanel.js";
import * as fmt from "../format.js";
import { describeLayer, summaryRows } from "../summary.js";
import { CLASSIFY, taskName } from "../tasks.js";
import { TimeStrip } from "../timestrip.js";

const HAS_WEIGHTS = new Set(["running", "paused", "completed", "stopped", "interrupted"]);
const POLL_MS = 3000;

const els = {
  select: need("[data-testid=run-select]"),
  status: need("[data-testid=run-status]"),
  link: need("#run-link"),
  message: need("[data-role=draw-message]"),
};

const state = { runs: [], datasets: [], layers: new Map(), timer: null };

const panel = new DrawPanel(need("[data-draw-panel]"), {
  describeLayer: (path) => describeLayer(state.layers, path),
});
const strip = new TimeStrip(need("[data-time-strip]"), need("[data-testid=draw-canvas]"), need("[data-testid=draw-clear]"));

function label(run) {
  const acc = run.best_val_accuracy !== null && run.best_val_accuracy !== undefined ? ` · ${fmt.percent(run.best_val_accuracy)}` : "";
  const status = run.status === "running" ? `training ${Math.round(100 * (run.progress ?? 0))}%` : run.status;
  const info = datasetOf(run);
  const data = info && !ds.isMnist(info) ? ` · ${info.title}` : "";
  return `${fmt.runLabel(run)}${data} · ${status}${acc}`;
}

/** The run's dataset entry; MNIST's when the list is unavailable and the run names MNIST. */
function datasetOf(run) {
  const name = ds.datasetName(run.config?.dataset);
  return ds.findDataset(state.datasets, name) ?? (name === ds.DEFAULT_DATASET ? { name, input_shape: [1, 28, 28] } : null);
}

/** Whether a drawing can stand in for one of the run's samples. */
function drawable(run) {
  return ds.isImage(datasetOf(run));
}

/** The run to start with: ?run=, else the newest running one, else the newest with weights. */
function pick(runs) {
  const asked = new URLSearchParams(location.search).get("run");
  if (asked && runs.some((r) => r.id === asked)) return asked;
  const newest = [...runs].sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0));
  return (newest.find((r) => r.status === "running") ?? newest.find((r) => HAS_WEIGHTS.has(r.status)))?.id ?? "";
}

async function loadRuns() {
  state.runs = await api.runs();
  const current = els.select.value;
  const usable = state.runs.filter((r) => HAS_WEIGHTS.has(r.status) && drawable(r));
  els.select.replaceChildren(
    h("option", { value: "" }, usable.length ? "Choose a run…" : "No trained runs on pictures yet: train one first"),
    ...[...usable].reverse().map((r) => h("option", { value: r.id }, label(r))),
  );
  els.select.value = usable.some((r) => r.id === current) ? current : pick(usable);
}

async function choose() {
  const id = els.select.value || null;
  const run = state.runs.find((r) => r.id === id);
  els.status.textContent = run ? run.status : "—";
  els.status.className = `badge ${run?.status ?? ""}`;
  els.link.hidden = !run;
  if (run) els.link.href = `/runs/${encodeURIComponent(run.id)}`;
  if (run) {
    const url = new URL(location.href);
    url.searchParams.set("run", run.id);
    history.replaceState(null, "", url);
  }
  state.layers = new Map();
  if (run) {
    try {
      const model = await api.model(run.model_id);
      state.layers = summaryRows(model.summary);
    } catch {
      // the names are only labels
    }
  }
  panel.setRun(id, run ? datasetOf(run) : null);
  panel.setLive(run?.status === "running");
  strip.setRun(run && classifies(run) ? id : null); // epochs' answers: a classifier's only
  strip.setLive(run?.status === "running");
}

/** Whether the run answers classes (an autoencoder rebuilds, a regression gives a value). */
function classifies(run) {
  return taskName(run.config) === CLASSIFY && !ds.isRegression(datasetOf(run));
}

/** Keep the statuses fresh while something trains (a run may finish or a new one start). */
async function refresh() {
  clearTimeout(state.timer);
  const before = els.select.value;
  try {
    await loadRuns();
    if (els.select.value !== before) await choose();
    else {
      const run = state.runs.find((r) => r.id === before);
      if (run) {
        els.status.textContent = run.status;
        els.status.className = `badge ${run.status}`;
        panel.setLive(run.status === "running");
        strip.setLive(run.status === "running");
      }
    }
  } catch {
    // try again later
  }
  if (state.runs.some((r) => ["queued", "running", "paused"].includes(r.status))) {
    state.timer = setTimeout(refresh, POLL_MS);
  }
}

async function main() {
  els.select.addEventListener("change", choose);
  state.datasets = await api.datasets().catch(() => []);
  await loadRuns();
  await choose();
  const starting = state.runs.some((r) => r.starter && r.status === "queued");
  if (!els.select.value) {
    const note = starting
      ? "The starter LeNet-5 is about to train: in a few seconds you can draw here while it learns."
      : "Train a network first: then draw here and see what it thinks.";
    say(els.message, note, "info");
  }
  drawCurves();
  refresh();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  say(els.message, `The drawing page could not start: ${error.message}`, "error");
  throw error;
});
