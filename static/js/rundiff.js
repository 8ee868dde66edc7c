// What differs between compared runs: the spec diff (layers added, removed and changed, with their
// parameter and MAC deltas, residual blocks opened up) and the training settings that differ.
// GET /api/runs/{a}/diff/{b}; each run after the first is compared with the first.
import * as api from "./api.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";

const MARK = { added: "+", removed: "−", changed: "~", same: "" };

/** +1,234 / −56 / 0 for a delta. */
function signed(value) {
  if (!value) return "0";
  return `${value > 0 ? "+" : "−"}${fmt.int(Math.abs(value))}`;
}

function value(v) {
  return v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** One table row per layer diff, inner layers of a residual block indented under it. */
function layerRows(rows, depth = 0) {
  return rows.flatMap((row) => {
    const what = Object.entries(row.fields ?? {}).map(([name, [a, b]]) => `${name} ${value(a)} → ${value(b)}`);
    const [shapeA, shapeB] = row.output_shape ?? [];
    if (row.change === "changed" && !what.length && fmt.shape(shapeA) !== fmt.shape(shapeB)) {
      what.push(`output ${fmt.shape(shapeA)} → ${fmt.shape(shapeB)}`);
    }
    const tr = h(
      "tr",
      { class: `diff-${row.change}`, dataset: { testid: "diff-layer", change: row.change } },
      h("td", { class: "diff-mark", "aria-label": row.change }, MARK[row.change]),
      h("td", {}, h("code", {}, row.path_a ?? "—"), " → ", h("code", {}, row.path_b ?? "—")),
      h("td", { style: `padding-left:${0.5 + depth * 1.2}rem` }, row.type),
      h("td", { class: "small" }, what.join("; ") || (row.change === "same" ? "" : row.change)),
      h("td", { class: "num" }, signed(row.params_delta)),
      h("td", { class: "num" }, signed(row.macs_delta)),
    );
    return [tr, ...layerRows(row.layers ?? [], depth + 1)];
  });
}

function specSection(spec) {
  const { added, removed, changed } = spec.counts;
  const summary = `${added} added, ${removed} removed, ${changed} changed · parameters ${fmt.int(spec.params[0])} → ${fmt.int(spec.params[1])} (${signed(spec.params_delta)}) · MACs ${fmt.compact(spec.macs[0])} → ${fmt.compact(spec.macs[1])} (${signed(spec.macs_delta)})`;
  const model = Object.entries(spec.fields ?? {}).map(([name, [a, b]]) => h("li", {}, `${name}: ${value(a)} → ${value(b)}`));
  return [
    h("p", { class: "small", dataset: { testid: "diff-totals" } }, summary),
    model.length ? h("ul", { class: "small" }, model) : null,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data diff-table" },
        h("thead", {}, h("tr", {}, ...["", "Layer (a → b)", "Type", "What changed", "Params Δ", "MACs Δ"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, layerRows(spec.layers)),
      ),
    ),
  ];
}

function configSection(changes) {
  if (!changes.length) return h("p", { class: "small muted" }, "Same training settings.");
  return h(
    "table",
    { class: "data diff-config", dataset: { testid: "diff-config" } },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "a"), h("th", { scope: "col" }, "b"))),
    h("tbody", {}, changes.map((c) => h("tr", {}, h("td", {}, h("code", {}, c.field)), h("td", {}, value(c.a)), h("td", {}, value(c.b))))),
  );
}

/** Show in `box` how each run after the first differs from the first (runs: records in order). */
export async function showRunDiffs(box, runs) {
  const [base, ...others] = runs;
  box.replaceChildren(h("p", { class: "small muted" }, "Comparing the models and settings…"));
  const diffs = await Promise.all(others.map((run) => api.runDiff(base.id, run.id).catch((error) => ({ error }))));
  box.replaceChildren(
    ...others.flatMap((run, i) => {
      const diff = diffs[i];
      const title = h("h3", {}, `${fmt.runLabel(base)} (a) → ${fmt.runLabel(run)} (b)`);
      if (diff.error) return [title, h("p", { class: "msg error" }, diff.error.message)];
      return [title, ...specSection(diff.spec), h("h4", {}, "Training settings"), configSection(diff.config)];
    }).filter(Boolean),
  );
}
