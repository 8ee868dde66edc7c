// The network builder: a list of layer cards edited through forms generated from each layer's
// JSON Schema. It holds the spec and draws it; the page feeds it summaries and errors from the
// API (this module never talks to the server). The spec's data operations are in spectree.js.
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { schemaFields } from "./schemaform.js";
import * as tree from "./spectree.js";
import { summaryRows } from "./summary.js";

export { formatSpec } from "./spectree.js"; // tests/e2e/test_modules.py imports it from here

export const CATEGORIES = {
  weights: "Weights",
  activation: "Activations",
  pooling: "Pooling",
  shape: "Shape",
  regularisation: "Regularisation",
  normalisation: "Normalisation",
  recurrent: "Recurrent",
  block: "Blocks",
};

// Arguments most people leave alone: folded under "more options" on each card.
const SECONDARY = [
  "weight_init",
  "dilation",
  "groups",
  "bias",
  "ceil_mode",
  "count_include_pad",
  "eps",
  "momentum",
  "affine",
  "elementwise_affine",
];

const GENERIC_FORMULA = {
  conv2d: "out = ⌊(n + 2p − f)/s⌋ + 1",
  maxpool2d: "out = ⌊(n + 2p − f)/s⌋ + 1",
  avgpool2d: "out = ⌊(n + 2p − f)/s⌋ + 1",
};

export class Builder {
  /**
   * `els`: {list, palette, insertNote, input, output, totals}; `catalog`: GET /api/layers.
   * `onChange(spec)` after every edit; `explain(type)` gives the explanation (a node, or null)
   * shown in the selected layer's card.
   */
  constructor(els, catalog, { onChange, explain = () => null }) {
    this.els = els;
    this.onChange = onChange;
    this.explain = explain;
    this.kinds = new Map(catalog.layers.map((kind) => [kind.type, kind]));
    this.spec = { input_shape: [1, 28, 28], layers: [] };
    this.selected = null;
    this.cards = new Map(); // path → {li, stats, formula, error, form}
    this.renderPalette();
    els.list.addEventListener("focusin", (event) => {
      const li = event.target.closest("li.layer");
      if (li) this.select(li.dataset.path);
    });
    els.list.addEventListener("click", (event) => {
      const li = event.target.closest("li.layer");
      if (li) this.select(li.dataset.path);
    });
  }

  /** The kind (type, category, schema) of a layer type, accepting PyTorch spellings. */
  kind(type) {
    return tree.findKind(this.kinds, type);
  }

  /** Replace the whole spec (a preset, a saved model, or the JSON editor). */
  setSpec(spec, { notify = true } = {}) {
    this.spec = tree.normalizeSpec(spec);
    if (this.selected && !tree.layerAt(this.spec, this.selected)) this.selected = null;
    this.render();
    if (notify) this.onChange(this.spec);
  }

  // ---- palette and insertion ----

  renderPalette() {
    const groups = new Map(Object.keys(CATEGORIES).map((c) => [c, []]));
    for (const kind of this.kinds.values()) {
      if (!groups.has(kind.category)) groups.set(kind.category, []);
      groups.get(kind.category).push(kind);
    }
    const sections = [];
    for (const [category, kinds] of groups) {
      if (!kinds.length) continue;
      const id = `palette-${category}`;
      sections.push(
        h(
          "div",
          { class: "palette-group", role: "group", "aria-labelledby": id },
          h("h3", { id }, CATEGORIES[category] ?? category),
          h(
            "div",
            { class: "chips" },
            kinds.map((kind) =>
              h(
                "button",
                {
                  type: "button",
                  class: "chip",
                  title: kind.description,
                  "aria-label": `Add ${kind.type}: ${kind.description}`,
                  dataset: { category: kind.category, add: kind.type },
                  onclick: () => this.insert(kind.type),
                },
                kind.type,
              ),
            ),
          ),
        ),
      );
    }
    this.els.palette.replaceChildren(...sections);
    this.updateInsertNote();
  }

  /** Add a layer after the selected one (or at the end), or at `parent`'s end. */
  insert(type, parent = null) {
    const at = tree.insertionPoint(this.spec, this.selected, parent);
    const layer = tree.newLayer(type, { atEnd: at.atEnd, schema: this.kind(type)?.schema });
    this.selected = tree.insertLayer(this.spec, at.parent, at.index, layer);
    this.structural();
    this.focusCard(this.selected);
  }

  remove(path) {
    const next = tree.removeLayer(this.spec, path);
    this.selected = next;
    this.structural();
    if (next) this.focusCard(next);
    else this.els.palette.querySelector("button")?.focus();
  }

  move(path, delta, focusSelector = null) {
    const moved = tree.moveLayer(this.spec, path, delta);
    if (moved === null) return;
    this.selected = moved;
    this.structural();
    this.focusCard(this.selected, focusSelector);
  }

  /** Move within one list: the layer at `from` goes before or after the one at `to`. */
  moveTo(from, to, after) {
    const moved = tree.moveLayerTo(this.spec, from, to, after);
    if (moved === null) return;
    this.selected = moved;
    this.structural();
  }

  select(path) {
    if (this.selected === path) return;
    this.selected = path;
    for (const [p, card] of this.cards) card.li.classList.toggle("selected", p === path);
    this.updateInsertNote();
    this.showExplanation();
  }

  /** The selected card (only) carries the explanation of its layer type. */
  showExplanation() {
    for (const [path, card] of this.cards) {
      const current = card.li.querySelector(":scope > .layer-about");
      if (path !== this.selected) {
        current?.remove();
      } else if (!current) {
        const node = this.explain(card.li.dataset.type);
        if (node) {
          node.classList.add("layer-about");
          card.error.after(node);
        }
      }
    }
  }

  updateInsertNote() {
    const layer = this.selected ? tree.layerAt(this.spec, this.selected) : null;
    this.els.insertNote.textContent = layer
      ? `A new layer goes after layer ${this.selected} (${layer.type}).`
      : "A new layer goes at the end.";
  }

  structural() {
    this.render();
    this.onChange(this.spec);
  }

  focusCard(path, selector = null) {
    const card = this.cards.get(path);
    if (!card) return;
    const target =
      (selector && card.li.querySelector(selector)) ||
      card.li.querySelector(".fields input, .fields select") ||
      card.li;
    target.focus({ preventScroll: false });
    card.li.scrollIntoView({ block: "nearest" });
  }

  // ---- rendering ----

  render() {
    this.cards.clear();
    const list = this.renderList(this.spec.layers, "");
    list.setAttribute("aria-label", "Layers, in order");
    this.els.list.replaceChildren(list);
    if (!this.spec.layers.length) {
      this.els.list.append(
        h("p", { class: "empty-note" }, "No layers yet. Pick one from the palette, or start from a preset."),
      );
    }
    this.updateInsertNote();
    this.showExplanation();
  }

  renderList(layers, parent) {
    const ol = h("ol", { class: "layer-list" });
    layers.forEach((layer, index) => ol.append(this.renderCard(layer, tree.childPath(parent, index), index, layers.length)));
    return ol;
  }

  renderCard(layer, path, index, count) {
    const valid = layer && typeof layer === "object";
    const type = valid ? String(layer.type ?? "?") : "?";
    const kind = valid ? this.kind(type) : null;
    const li = h("li", {
      class: `layer${path === this.selected ? " selected" : ""}`,
      tabindex: "-1",
      "aria-label": `layer ${path}: ${type}`,
      dataset: { path, category: kind?.category ?? "unknown", type },
    });
    const stats = h("div", { class: "layer-stats", "aria-live": "off" });
    const tool = (label, text, onclick, disabled, cls) =>
      h("button", { type: "button", class: `icon-btn ${cls}`, "aria-label": label, title: label, disabled, onclick }, text);
    const handle = h("span", { class: "drag-handle", draggable: "true", title: "Drag to reorder", "aria-hidden": "true" }, "⠿");
    li.append(
      h(
        "div",
        { class: "layer-head" },
        handle,
        h("span", { class: "layer-index" }, path),
        h("span", { class: "layer-type" }, type),
        stats,
        h(
          "div",
          { class: "layer-tools" },
          tool(`Move layer ${path} up`, "↑", (e) => { e.stopPropagation(); this.move(path, -1, ".move-up"); }, index === 0, "move-up"),
          tool(`Move layer ${path} down`, "↓", (e) => { e.stopPropagation(); this.move(path, 1, ".move-down"); }, index === count - 1, "move-down"),
          tool(`Remove layer ${path} (${type})`, "✕", (e) => { e.stopPropagation(); this.remove(path); }, false, "remove"),
        ),
      ),
    );
    let form = null;
    if (kind) {
      form = schemaFields(kind.schema, layer, {
        idPrefix: `l${path.replace(/\./g, "-")}`,
        skip: ["layers"],
        secondary: SECONDARY,
        onChange: (key, value) => {
          tree.setArgument(layer, key, value);
          this.onChange(this.spec);
        },
      });
      if (form.element.childElementCount) li.append(form.element);
    }
    const formula = h("div", { class: "formula", hidden: true });
    const error = h("div", { class: "error", hidden: true, id: `err-${path.replace(/\./g, "-")}` });
    li.append(formula, error);
    if (valid && Array.isArray(layer.layers)) {
      li.append(this.renderList(layer.layers, path));
      li.append(this.addInside(path));
    }
    li.addEventListener("keydown", (event) => {
      if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
        event.preventDefault();
        event.stopPropagation();
        this.move(path, event.key === "ArrowUp" ? -1 : 1);
      }
    });
    this.dragAndDrop(li, handle, path);
    this.cards.set(path, { li, stats, formula, error, form });
    return li;
  }

  addInside(path) {
    const id = `add-in-${path.replace(/\./g, "-")}`;
    const select = h("select", { id });
    for (const kind of this.kinds.values()) select.append(h("option", { value: kind.type }, kind.type));
    select.value = "conv2d";
    return h(
      "div",
      { class: "row add-inside" },
      h("label", { for: id, class: "small" }, `Add inside block ${path}:`),
      select,
      h("button", { type: "button", class: "btn small", onclick: () => this.insert(select.value, path) }, "Add"),
    );
  }

  dragAndDrop(li, handle, path) {
    handle.addEventListener("dragstart", (event) => {
      event.stopPropagation();
      event.dataTransfer.setData("text/x-layer-path", path);
      event.dataTransfer.effectAllowed = "move";
      li.classList.add("dragging");
    });
    handle.addEventListener("dragend", () => li.classList.remove("dragging"));
    li.addEventListener("dragover", (event) => {
      if (!event.dataTransfer.types.includes("text/x-layer-path")) return;
      event.preventDefault();
      event.stopPropagation();
      const rect = li.getBoundingClientRect();
      const after = event.clientY > rect.top + rect.height / 2;
      li.classList.toggle("drop-after", after);
      li.classList.toggle("drop-before", !after);
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-after", "drop-before"));
    li.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      const after = li.classList.contains("drop-after");
      li.classList.remove("drop-after", "drop-before");
      const from = event.dataTransfer.getData("text/x-layer-path");
      if (from && tree.parentPath(from) === tree.parentPath(path)) this.moveTo(from, path, after);
    });
  }

  // ---- what the API said ----

  /** Show each layer's shapes, parameters and MACs, and the totals. */
  showSummary(summary, { partial = false } = {}) {
    const rows = summaryRows(summary);
    for (const [path, card] of this.cards) {
      const row = rows.get(path);
      if (!row) {
        card.stats.replaceChildren(partial ? "" : h("span", {}, "—"));
        card.formula.hidden = true;
        continue;
      }
      card.stats.replaceChildren(
        h("span", { title: `input ${fmt.shape(row.input_shape)}` }, "→ ", h("b", {}, fmt.shape(row.output_shape))),
        h("span", { title: `${fmt.int(row.params)} learnable parameters` }, h("b", {}, fmt.compact(row.params)), " params"),
        h("span", { title: `${fmt.int(row.macs)} multiply-accumulates per digit` }, h("b", {}, fmt.compact(row.macs)), " MACs"),
      );
      if (row.formula) {
        const generic = GENERIC_FORMULA[row.type];
        card.formula.textContent = generic ? `${generic}: ${row.formula}` : row.formula;
        card.formula.hidden = false;
      } else {
        card.formula.hidden = true;
      }
    }
    if (!partial && summary) {
      this.els.output.textContent = fmt.shape(summary.output_shape);
      this.els.totals.params.textContent = fmt.int(summary.total_params);
      this.els.totals.macs.textContent = fmt.int(summary.total_macs);
      this.els.totals.output.textContent = fmt.shape(summary.output_shape);
    }
    this.els.input.textContent = fmt.shape(this.spec.input_shape ?? [1, 28, 28]);
  }

  /**
   * Mark the layers the API rejected, each with its message; `prefix` is the summary of the
   * valid layers before the first bad one. Returns the messages that belong to no layer.
   */
  showErrors(errors, prefix = null) {
    this.showSummary(prefix, { partial: true });
    this.els.output.textContent = "?";
    this.els.totals.params.textContent = "—";
    this.els.totals.macs.textContent = "—";
    this.els.totals.output.textContent = "—";
    const { byLayer, loose } = tree.groupErrors(errors, (path) => this.cards.has(path));
    for (const [path, card] of this.cards) {
      const list = byLayer.get(path) ?? [];
      card.li.classList.toggle("invalid", list.length > 0);
      if (list.length) card.li.setAttribute("aria-invalid", "true");
      else card.li.removeAttribute("aria-invalid");
      card.error.hidden = !list.length;
      card.error.textContent = list.map((e) => e.msg).join(" ");
      const fields = Object.fromEntries(list.filter((e) => e.field).map((e) => [e.field, e.msg]));
      card.form?.markErrors(fields);
      for (const input of card.form?.inputs.values() ?? []) {
        if (fields[input.dataset.field]) input.setAttribute("aria-errormessage", card.error.id);
        else input.removeAttribute("aria-errormessage");
      }
    }
    return loose;
  }

  clearErrors() {
    for (const card of this.cards.values()) {
      card.li.classList.remove("invalid");
      card.li.removeAttribute("aria-invalid");
      card.error.hidden = true;
      card.error.textContent = "";
      card.form?.markErrors({});
    }
  }
}
