// One run, live: status and controls, learning curves, the figures it is judged by (accuracy, or
// the loss of a regression run), feature maps, the confusion matrix, and a drawing pad that uses
// the newest weights; an autoencoder's reconstructions and code space instead of the parts that
// need classes; a Q-learner's returns and its cart and pole; a GAN's two losses, samples, health
// and noise walk. Which parts a run has follows its task (tasks.js). History comes first over
// the socket, then the tail.
import * as api from "../api.js";
import { BranchPanel } from "../branchpanel.js";
import { CodeScatter } from "../codescatter.js";
import { ConfusionPanel } from "../confusionpanel.js";
import { drawCurves } from "../curves.js";
import * as ds from "../datasets.js";
import { h, need, say } from "../dom.js";
import { DqnView } from "../dqnview.js";
import { DrawPanel } from "../drawpanel.js";
import { GanView } from "../ganview.js";
import { InsideView } from "../insideview.js";
import { replayAncestors } from "../lineage.js";
import * as fmt from "../format.js";
import { RunHistory } from "../metrics.js";
import { ProbePanel } from "../probepanel.js";
import { ReconstructionPanel } from "../reconstructionpanel.js";
import { RunCharts } from "../runcharts.js";
import { GAN, REGRESSION, RETURNS, figureText, finishText, runKind } from "../runfigures.js";
import { RunStats } from "../runstats.js";
import { RunStream, TERMINAL } from "../socket.js";
import { configRows, epochText, taskInfo, totalSteps } from "../tasks.js";

const runId = need("#run").dataset.runId;
const ACTIVE = new Set(["queued", "running", "paused"]);
const POLL_MS = 2000;
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
  elapsed: need("#stat-elapsed"),
  eta: need("#stat-eta"),
  configList: need("#config-list"),
  downloads: need("#downloads"),
  drawSection: need("#draw-section"),
  drawTitle: need("#draw-title"),
  drawNote: need("#draw-note"),
  datasetName: need("#run-dataset"),
  statsNote: need("#stats-note"),
  statBest: need("#stat-best"),
  statTest: need("#stat-test"),
};

const state = {
  run: null,
  status: null,
  history: new RunHistory(),
  kindKnown: false, // whether the dataset list said what the run learns (else its events tell)
  lrDirty: false,
  pollTimer: null,
  polling: false,
  pollAgain: false,
  dataset: null, // the run's GET /api/datasets entry (null: MNIST, or unknown)
  autoencode: false, // the run rebuilds its input: losses, reconstructions and a code space
  dqn: null, // a deep Q-learning run's DqnView: returns, ε, the cart and the pole
  gan: null, // a GAN run's GanView: both losses, D's means, samples, health, the noise walk
};

const charts = new RunCharts();
const stats = new RunStats();
const probe = new ProbePanel();
const inside = new InsideView();
const confusion = new ConfusionPanel(runId, {
  select: need("#confusion-epoch"),
  matrix: need("#confusion"),
  cellInfo: need("#cell-info"),
  cellDigits: need("#cell-digits"),
});
const drawPanel = new DrawPanel(need("[data-draw-panel]"));
const branching = new BranchPanel();
const reconstructions = new ReconstructionPanel();
const codes = new CodeScatter(runId, {
  select: need("#codes-epoch"),
  canvas: need("#codes-canvas"),
  caption: need("#codes-caption"),
  legend: need("#codes-legend"),
  decoded: need("#codes-decoded"),
  decodedNote: need("#codes-decoded-note"),
});

// ---- the run record (polled while active: queue position, ETA) ----

function applyRun(run) {
  state.run = run;
  setStatus(run.status, run.error);
  const ownTotal = totalSteps(run.config, state.history.lastStep); // when the task knows it better
  const total = ownTotal || run.total_steps || state.history.lastStep?.total_steps || 0;
  const step = Math.max(run.step ?? 0, state.history.lastStep?.step ?? 0);
  setProgress(step, total, run.epoch, ownTotal ? null : run.progress);
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
  els.eta.textContent = ACTIVE.has(run.status) ? fmt.duration(run.eta_s) : "—";
  showFigures(state.history.done);
  if (!state.history.lastStep && run.latest?.step) showLatest(run.latest.step);
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
    els.elapsed.textContent = "—";
    return;
  }
  const end = run.finished_at ?? (ACTIVE.has(state.status) ? Date.now() / 1000 : run.started_at);
  els.elapsed.textContent = fmt.duration(end - run.started_at);
}

function setProgress(step, total, epoch, progress) {
  const fraction = progress ?? (total ? step / total : 0);
  const pct = Math.max(0, Math.min(100, fraction * 100));
  els.progress.firstElementChild.style.width = `${pct}%`;
  els.progress.setAttribute("aria-valuenow", pct.toFixed(0));
  const unit = epochText(state.run?.config, epoch);
  els.progressText.textContent = total ? `step ${fmt.int(step)} of ${fmt.int(total)}${unit ? ` · ${unit}` : ""} · ${pct.toFixed(0)}%` : "not started";
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

// the events a RunHistory does not keep, by type: each goes to the panel that shows it
const PANEL_EVENTS = {
  reconstructions: (event) => reconstructions.schedule(event),
  codes: (event) => codes.add(event),
  episode: (event) => onEpisode(event),
  cartpole: (event) => state.dqn?.frame(event),
  gan_samples: (event) => state.gan?.frame(event),
  gan_health: (event) => state.gan?.health(event),
};

function onEvent(event) {
  const kind = state.history.add(event);
  if (!state.kindKnown && runKind(null, [event]) === REGRESSION) useKind(REGRESSION);
  if (kind === "step") onStep(event);
  else if (kind === "epoch") onEpoch(event);
  else if (kind === "feature_maps") probe.schedule(event);
  else if (kind === "status") setStatus(event.status, event.reason);
  else if (kind === "done") onDone(event);
  else PANEL_EVENTS[event.type]?.(event);
}

state.history.onRewind = () => {
  charts.steps(state.history);
  state.dqn?.steps(state.history);
};

/** The headline figures from everything known so far (`done`: the run's end, or null). */
function showFigures(done) {
  stats.showFigures({ epochs: state.history.epochs, episodes: state.dqn?.episodes ?? [], done, run: state.run });
}

/** Classification or regression: the figures shown, and whether accuracy parts show at all. */
function useKind(kind) {
  stats.setKind(kind);
  showMilestone();
}

function showLatest(latest) {
  stats.showLatest(latest);
  if (latest.lr !== undefined) showLr(latest.lr);
}

function showLr(lr) {
  stats.showLr(lr);
  if (!state.lrDirty && document.activeElement !== els.lrInput) els.lrInput.value = String(Number(lr.toPrecision(4)));
}

function onStep(event) {
  charts.step(state.history);
  inside.step(event);
  state.dqn?.step(event);
  state.gan?.step(event);
  showLatest(event);
  setProgress(event.step, event.total_steps, event.epoch, null);
}

function onEpoch(event) {
  charts.epochs(state.history);
  branching.refresh();
  state.gan?.epochs(state.history);
  showFigures(state.history.done);
  if (stats.accuracy) confusion.update(state.history.epochs, event.epoch);
  showMilestone();
}

/** A Q-learner's finished episode: a point of the return curve, and the figures. */
function onEpisode(event) {
  state.dqn?.episode(event);
  showFigures(state.history.done);
}

/** When the run first reached 99% validation accuracy, and after how much training. */
function showMilestone() {
  els.milestone.textContent = "";
  if (stats.accuracy) {
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
  }
  els.milestone.hidden = !els.milestone.textContent;
}

function onDone(event) {
  showMilestone();
  showFigures(event);
  state.dqn?.done(event);
  state.gan?.done(event);
  const text = state.autoencode ? rebuiltText(event) : finishText(stats.kind, event, ds.sampleNoun(state.dataset));
  say(els.message, text, "ok");
}

/** An autoencode run's last words: its reconstruction loss on test images it never saw. */
function rebuiltText(done) {
  const loss = state.run?.config?.loss ?? "mse";
  const early = done?.early_stopped ? " Stopped early: the validation loss had stopped improving." : "";
  const count = `${fmt.int(done?.test_count)} test ${ds.sampleNoun(state.dataset)}`;
  return `Finished: a test reconstruction loss (${loss}) of ${figureText(REGRESSION, done?.test_loss)} on the ${count} it never saw; lower is better.${early}`;
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
    ...configRows(config).map(([key, value]) => h("div", {}, h("dt", {}, key), h("dd", {}, text(value)))),
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
  drawCurves();
  setInterval(tickElapsed, 1000);

  const [run, datasets] = await Promise.all([api.run(runId), api.datasets().catch(() => [])]);
  useDataset(run.config?.dataset, datasets, run.config);
  applyRun(run); // its status starts the polling while the run is active
  showConfig(run.config);
  api
    .model(run.model_id)
    .then((model) => {
      probe.setModel(model);
      state.gan?.setModel(model); // its input is the generator's noise
      branching.setRun(run, model);
    })
    .catch(() => branching.setRun(run));
  await replayAncestors(run, onEvent); // a branch: its parent's curves up to the branch point
  new RunStream(runId, {
    onEvent,
    onConnection: (connection) => {
      els.connection.textContent = connection === "open" ? "● live" : connection === "retrying" ? "reconnecting…" : "";
    },
  }).start();
  document.body.dataset.ready = "true";
}

// tasks with parts of their own: what sets them up (a classifier's are below)
const TASK_SETUP = {
  autoencode: (info, name, config) => useAutoencoder(info, name, config),
  dqn: (info, name, config) => useDqn(config),
  gan: (info) => useGan(info),
};

/** Show the parts of the page the run's task has (elements marked data-view). */
function showViews(views) {
  for (const el of document.querySelectorAll("[data-view]")) el.hidden = !views.includes(el.dataset.view);
}

/** Name the classes after the run's dataset, show the figures of what it learns (`config`'s
 *  task: an autoencoder and a Q-learner have panels of their own); the drawing pad only for
 *  picture datasets. */
function useDataset(ref, datasets, config = null) {
  const task = taskInfo(config);
  showViews(task.views);
  const name = ds.datasetName(ref);
  const info = ds.findDataset(datasets, ref);
  state.dataset = info ?? (name === ds.DEFAULT_DATASET ? null : { name, title: name });
  state.kindKnown = Boolean(info?.kind) || !state.dataset;
  els.datasetName.textContent = task.source ?? info?.title ?? name;
  if (TASK_SETUP[task.name]) {
    TASK_SETUP[task.name](info, name, config);
    return;
  }
  useKind(runKind(info));
  if (!state.dataset || ds.isMnist(state.dataset)) {
    drawPanel.setRun(runId);
    return;
  }
  if (info?.kind === "classification" && info.classes?.length) {
    const labels = ds.classLabels(info.classes.length, info.classes);
    probe.setLabels(labels);
    confusion.setDataset(state.dataset, labels);
  } else {
    confusion.setDataset(state.dataset, ds.classLabels(10));
  }
  if (!(info?.input_shape?.length === 3 && info.input_shape[0] === 1 && info.input_shape[1] === 28 && info.input_shape[2] === 28)) {
    probe.withoutProbe(`Feature maps and the probe are shown for 28×28 grey datasets; this run trains on ${info?.title ?? name}.`);
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

/** An autoencode run: losses like a regression run's (no accuracy, confusion or milestone), its
 *  reconstructions and code space instead of the probe (it sends no feature maps), and a
 *  drawing pad that answers with the reconstruction and the code. */
function useAutoencoder(info, name, config) {
  state.autoencode = true;
  state.kindKnown = true;
  useKind(REGRESSION);
  const loss = config?.loss ? ` (${config.loss})` : "";
  els.statsNote.textContent =
    `This run rebuilds its input (an autoencoder): its losses measure how far the rebuilt pictures are from the originals${loss}, so lower is better. It has no accuracy and no confusion matrix.`;
  for (const el of [els.statBest, els.statTest]) el.title = "reconstruction loss: lower is better";
  const labels = ds.classLabels(info?.classes?.length || 10, info?.classes);
  reconstructions.setLabels(labels);
  codes.setLabels(labels);
  els.drawTitle.textContent = `Try it: draw a ${info?.title ?? name} sample and see what it rebuilds`;
  els.drawNote.textContent = "The autoencoder squeezes your drawing into its code and rebuilds it from there, with the newest weights; pick points in the code space above to see what its decoder draws of any code.";
  drawPanel.setRun(runId, state.dataset);
}

/** A deep Q-learning run: it plays CartPole rather than reading a dataset; its returns, ε and
 *  cart replace the accuracy parts, the probe and the drawing pad. */
function useDqn(config) {
  state.kindKnown = true;
  useKind(RETURNS);
  els.statsNote.textContent =
    "This run learns by deep Q-learning: it plays CartPole episodes and earns 1 for every step the pole stays up (at most 500), so its returns are the figures to watch, higher is better. It has no dataset, no accuracy and no confusion matrix; its loss is the Huber loss between its Q-values and their targets.";
  state.dqn = new DqnView(config);
}

/** A GAN run: a generator against a discriminator; their losses, D's means, the samples grid,
 *  the health verdicts and a walk between noise vectors replace the accuracy parts, the probe
 *  and the drawing pad. */
function useGan(info) {
  state.kindKnown = true;
  useKind(GAN);
  const noun = ds.sampleNoun(info ?? state.dataset);
  els.statsNote.textContent = `This run trains a GAN: a generator learns to make ${noun} from random noise while a discriminator learns to tell them from real ones. Its loss is the generator’s; the two losses pull against each other, so neither simply falls. It has no accuracy, no validation and no test figure.`;
  state.gan = new GanView(runId, { noun });
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
