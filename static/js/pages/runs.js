// The runs list (status, best and test figures, duration) and overlaid curves of chosen runs.
// A run is judged by accuracy, by its loss when it learns values (regression), or by its returns
// when it learns by deep Q-learning, by its health and last losses when it is a GAN: those come
// from its history, read once it has ended.
import * as api from "../api.js";
import { PALETTE, overlayChart } from "../charts.js";
import { drawCurves } from "../curves.js";
import * as ds from "../datasets.js";
import { h, need, say } from "../dom.js";
import * as fmt from "../format.js";
import { lineageMetrics } from "../lineage.js";
import { historyFromMetrics } from "../metrics.js";
import { GAN, REGRESSION, RETURNS, historyGan, historyLosses, historyReturns, rowFigures, runKind } from "../runfigures.js";
import { showRunDiffs } from "../rundiff.js";
import { taskKind, totalSteps } from "../tasks.js";

const ACTIVE = new Set(["queued", "running", "paused"]);
const POLL_MS = 2500;

const els = {
  body: need("#runs-body"),
  compare: need("[data-testid=compare]"),
  hint: need("#compare-hint"),
  message: need("#runs-message"),
  panel: need("#compare-panel"),
  legend: need("#compare-legend"),
  compareNote: need("#compare-note"),
};

const state = {
  runs: [],
  chosen: new Set(new URLSearchParams(location.search).get("compare")?.split(",").filter(Boolean) ?? []),
  charts: [],
  timer: null,
  datasets: [], // GET /api/datasets: what each run learns
  losses: new Map(), // run id → {best, test} of an ended regression or deep Q-learning run
  reading: new Set(), // run ids whose losses are being read
};

/** What the run learns: its task's kind, else its dataset's, else what its latest events say. */
function kindOf(run) {
  const info = ds.findDataset(state.datasets, run.config?.dataset);
  return taskKind(run.config) ?? runKind(info, [run.latest?.epoch, run.latest?.step].filter(Boolean));
}

// kind → its figures read from a run's history (the others are in the run record)
const FROM_HISTORY = { [REGRESSION]: historyLosses, [RETURNS]: historyReturns, [GAN]: historyGan };

/** Read the figures of ended regression and deep Q-learning runs (once each), then show them. */
function readLosses() {
  const wanted = state.runs.filter(
    (run) => !ACTIVE.has(run.status) && FROM_HISTORY[kindOf(run)] && !state.losses.has(run.id) && !state.reading.has(run.id),
  );
  for (const run of wanted) {
    state.reading.add(run.id);
    const read = FROM_HISTORY[kindOf(run)];
    api
      .metrics(run.id)
      .then((metrics) => {
        state.losses.set(run.id, read(metrics));
        render();
      })
      .catch(() => {}) // the row keeps "—"
      .finally(() => state.reading.delete(run.id));
  }
}

function duration(run) {
  if (!run.started_at) return "—";
  const end = run.finished_at ?? (ACTIVE.has(run.status) ? Date.now() / 1000 : null);
  return end ? fmt.duration(end - run.started_at) : "—";
}

function render() {
  if (!state.runs.length) {
    els.body.replaceChildren(
      h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No runs yet. ", h("a", { href: "/build" }, "Build a network and train it."))),
    );
    return;
  }
  const rows = [...state.runs]
    .sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0))
    .map((run) => {
      const box = h("input", {
        type: "checkbox",
        "aria-label": `compare ${fmt.runLabel(run)}`,
        checked: state.chosen.has(run.id),
        onchange: (event) => {
          if (event.target.checked) state.chosen.add(run.id);
          else state.chosen.delete(run.id);
          updateCompareButton();
        },
      });
      const own = totalSteps(run.config, run.latest?.step); // a Q-learner's env steps, not the record's
      const progress =
        own && run.status !== "completed" ? Math.min(1, run.step / own) : run.progress ?? (run.total_steps ? run.step / run.total_steps : null);
      const figures = rowFigures(kindOf(run), run, state.losses.get(run.id) ?? null);
      return h(
        "tr",
        { class: `run-row${ACTIVE.has(run.status) ? " active" : ""}`, dataset: { runId: run.id, testid: "run-row" } },
        h("td", { class: "pick" }, box),
        h("td", { class: "name" }, h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.model_name ?? "run"), " ", h("span", { class: "small muted" }, h("code", {}, String(run.id).slice(0, 8))), run.starter ? h("span", { class: "badge starter", title: "trained by the server for newcomers" }, "starter") : null),
        h("td", { dataset: { label: "Status" } }, h("span", { class: `badge ${run.status}` }, run.status)),
        h("td", { class: "num", dataset: { label: "Progress" } }, progress === null ? "—" : fmt.percent(progress, 0)),
        h("td", { class: "num", title: figures.title, dataset: { label: "Best val.", testid: "run-best" } }, figures.best),
        h("td", { class: "num", title: figures.title, dataset: { label: "Test", testid: "run-test" } }, figures.test),
        h("td", { class: "num", dataset: { label: "Duration" } }, duration(run)),
        h("td", { dataset: { label: "Started" } }, fmt.when(run.created_at)),
      );
    });
  els.body.replaceChildren(...rows);
}

function updateCompareButton() {
  const n = state.chosen.size;
  els.compare.disabled = n < 2;
  els.hint.textContent = n < 2 ? "Tick two or more runs to compare them." : `${n} runs ticked.`;
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    state.runs = await api.runs();
    for (const id of [...state.chosen]) if (!state.runs.some((r) => r.id === id)) state.chosen.delete(id);
    render();
    readLosses();
    updateCompareButton();
    say(els.message, "");
  } catch (error) {
    say(els.message, error.message, "error");
  }
  if (state.runs.some((r) => ACTIVE.has(r.status)) && document.visibilityState !== "hidden") {
    state.timer = setTimeout(refresh, POLL_MS);
  }
}

async function compare() {
  const chosen = state.runs.filter((r) => state.chosen.has(r.id));
  if (chosen.length < 2) return;
  els.compare.disabled = true;
  say(els.message, "Loading the curves…", "info");
  try {
    const metrics = await Promise.all(chosen.map((run) => lineageMetrics(run))); // branches: from their parents' curves
    for (const chart of state.charts) chart.destroy();
    state.charts = [];
    const runs = chosen.map((run, i) => ({
      run,
      history: historyFromMetrics(metrics[i]),
      episodes: metrics[i].episodes ?? [],
      color: PALETTE[i % PALETTE.length],
    }));
    els.legend.replaceChildren(
      ...runs.map(({ run, color }) => h("span", {}, h("span", { class: "swatch", style: `background:${color}` }), h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, fmt.runLabel(run)))),
    );
    els.panel.hidden = false;
    const series = (some, pick, xKey) =>
      some.map(({ run, history, color }) => {
        const cols = xKey === "epoch" ? history.epochColumns() : null;
        return {
          label: fmt.runLabel(run),
          color,
          points: xKey === "epoch",
          xs: xKey === "epoch" ? cols.x : history.steps.x,
          ys: pick(history, cols),
        };
      });
    // regression runs have no accuracy: the accuracy charts show the others, or hide
    const accuracy = (history) => [...history.epochColumns().valAcc, ...history.steps.acc].some(Number.isFinite);
    const scored = runs.filter(({ history }) => accuracy(history));
    for (const id of ["#cmp-val-acc", "#cmp-acc"]) need(id).closest(".chart").hidden = !scored.length;
    els.compareNote.textContent =
      scored.length === runs.length
        ? ""
        : scored.length
          ? "Runs that learn values (regression, autoencoders), play by deep Q-learning or train a GAN (its generator’s loss) have no accuracy, so they show in the loss charts only."
          : "These runs have no accuracy (they learn values, or play by deep Q-learning): only their losses are compared.";
    els.compareNote.hidden = !els.compareNote.textContent;
    state.charts.push(
      overlayChart(need("#cmp-val-loss"), series(runs, (_, c) => c.valLoss, "epoch"), { xLabel: "epoch", yLabel: "loss", xWhole: true }),
      overlayChart(need("#cmp-loss"), series(runs, (hh) => hh.steps.lossSmooth, "step"), { xLabel: "step", yLabel: "loss" }),
    );
    // deep Q-learning runs: the mean return of their last 100 episodes, per episode
    const players = runs.filter(({ run }) => kindOf(run) === RETURNS);
    need("#cmp-returns").closest(".chart").hidden = !players.length;
    if (players.length) {
      const curves = players.map(({ run, episodes, color }) => ({
        label: fmt.runLabel(run),
        color,
        xs: episodes.map((e) => e.episode),
        ys: episodes.map((e) => e.mean_return),
      }));
      state.charts.push(overlayChart(need("#cmp-returns"), curves, { xLabel: "episode", yLabel: "mean return", xWhole: true }));
    }
    if (scored.length) {
      state.charts.push(
        overlayChart(need("#cmp-val-acc"), series(scored, (_, c) => c.valAcc, "epoch"), { xLabel: "epoch", yLabel: "accuracy", xWhole: true }),
        overlayChart(need("#cmp-acc"), series(scored, (hh) => hh.steps.accSmooth, "step"), { xLabel: "step", yLabel: "accuracy" }),
      );
    }
    showRunDiffs(need("#compare-diff"), chosen).catch((error) => say(els.message, error.message, "error"));
    const url = new URL(location.href);
    url.searchParams.set("compare", chosen.map((r) => r.id).join(","));
    history.replaceState(null, "", url);
    say(els.message, "");
    els.panel.scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (error) {
    say(els.message, error.message, "error");
  } finally {
    updateCompareButton();
  }
}

/** Shared servers: make a bearer token for this browser's identity and show it once. */
function wireTokenButton() {
  const button = document.querySelector("#token-button");
  const output = document.querySelector("#token-value");
  if (!button || !output) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      output.value = (await api.createToken()).token;
      output.hidden = false;
      output.select();
    } catch (error) {
      say(els.message, `No token: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
}

async function main() {
  els.compare.addEventListener("click", compare);
  state.datasets = await api.datasets().catch(() => []);
  wireTokenButton();
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refresh());
  await refresh();
  if (state.chosen.size >= 2) await compare();
  drawCurves();
  document.body.dataset.ready = "true";
}

main();
