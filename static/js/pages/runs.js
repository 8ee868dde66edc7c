// The runs list (status, best accuracy, duration) and overlaid curves of chosen runs.
import * as api from "../api.js";
import { PALETTE, overlayChart } from "../charts.js";
import { drawCurves } from "../curves.js";
import { h, need, say } from "../dom.js";
import * as fmt from "../format.js";
import { historyFromMetrics } from "../metrics.js";

const ACTIVE = new Set(["queued", "running", "paused"]);
const POLL_MS = 2500;

const els = {
  body: need("#runs-body"),
  compare: need("[data-testid=compare]"),
  hint: need("#compare-hint"),
  message: need("#runs-message"),
  panel: need("#compare-panel"),
  legend: need("#compare-legend"),
};

const state = {
  runs: [],
  chosen: new Set(new URLSearchParams(location.search).get("compare")?.split(",").filter(Boolean) ?? []),
  charts: [],
  timer: null,
};

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
      const progress = run.progress ?? (run.total_steps ? run.step / run.total_steps : null);
      return h(
        "tr",
        { class: `run-row${ACTIVE.has(run.status) ? " active" : ""}`, dataset: { runId: run.id, testid: "run-row" } },
        h("td", { class: "pick" }, box),
        h("td", { class: "name" }, h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.model_name ?? "run"), " ", h("span", { class: "small muted" }, h("code", {}, String(run.id).slice(0, 8))), run.starter ? h("span", { class: "badge starter", title: "trained by the server for newcomers" }, "starter") : null),
        h("td", { dataset: { label: "Status" } }, h("span", { class: `badge ${run.status}` }, run.status)),
        h("td", { class: "num", dataset: { label: "Progress" } }, progress === null ? "—" : fmt.percent(progress, 0)),
        h("td", { class: "num", dataset: { label: "Best val." } }, fmt.percent(run.best_val_accuracy, 2)),
        h("td", { class: "num", dataset: { label: "Test" } }, fmt.percent(run.test_accuracy, 2)),
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
    const histories = await Promise.all(chosen.map((run) => api.metrics(run.id).then(historyFromMetrics)));
    for (const chart of state.charts) chart.destroy();
    state.charts = [];
    const runs = chosen.map((run, i) => ({ run, history: histories[i], color: PALETTE[i % PALETTE.length] }));
    els.legend.replaceChildren(
      ...runs.map(({ run, color }) => h("span", {}, h("span", { class: "swatch", style: `background:${color}` }), h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, fmt.runLabel(run)))),
    );
    els.panel.hidden = false;
    const series = (pick, xKey) =>
      runs.map(({ run, history, color }) => {
        const cols = xKey === "epoch" ? history.epochColumns() : null;
        return {
          label: fmt.runLabel(run),
          color,
          points: xKey === "epoch",
          xs: xKey === "epoch" ? cols.x : history.steps.x,
          ys: pick(history, cols),
        };
      });
    state.charts.push(
      overlayChart(need("#cmp-val-acc"), series((_, c) => c.valAcc, "epoch"), { xLabel: "epoch", yLabel: "accuracy", xWhole: true }),
      overlayChart(need("#cmp-val-loss"), series((_, c) => c.valLoss, "epoch"), { xLabel: "epoch", yLabel: "loss", xWhole: true }),
      overlayChart(need("#cmp-loss"), series((hh) => hh.steps.lossSmooth, "step"), { xLabel: "step", yLabel: "loss" }),
      overlayChart(need("#cmp-acc"), series((hh) => hh.steps.accSmooth, "step"), { xLabel: "step", yLabel: "accuracy" }),
    );
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
  wireTokenButton();
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refresh());
  await refresh();
  if (state.chosen.size >= 2) await compare();
  drawCurves();
  document.body.dataset.ready = "true";
}

main();
