// The 2-D playground's network diagram (DOM): the feature nodes the person ticks, each hidden
// layer's neurons with its +/− buttons, the output node, and an SVG line per weight. Every node
// shows what it outputs over the plane, from the newest boundary frame.

import { h } from "./dom.js";
import * as p2 from "./plane2d.js";
import * as pd from "./planedraw.js";
import { paintLevels } from "./planeview.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE = 36; // px, a node of the diagram
const COLUMN = 104; // px between the diagram's columns
const FEATURE_SIDE = 16; // the feature pictures' side (they are drawn here, from the formulas)
const NODE_LUT = pd.makeLut();
const NOTE = {
  weights:
    "Lines are weights: blue positive, orange negative, thicker for larger ones. Each square shows what a neuron outputs over the whole plane.",
  tooMany: "This network has too many weights to draw them; its neurons are shown.",
};

function place(el, at) {
  el.style.left = `${at.x}px`; // CSSOM: allowed by the CSP, unlike style="" attributes
  el.style.top = `${at.y}px`;
}

export class NetworkDiagram {
  /**
   * `els`: {diagram (the nodes' box, holding the SVG), links (the SVG), heads (the columns'
   * titles), note}; `on`: {feature(name, input) when a feature is ticked or unticked,
   * resize(layer, by) when a layer's + or − is pressed}.
   */
  constructor(els, on) {
    this.els = els;
    this.on = on;
    this.hidden = [];
    this.parts = null; // {layout, features: [{name, input, node}], units: [[canvas]], output, paths}
  }

  /** Lay the nodes out again for these settings (features chosen, hidden layers). */
  build(settings) {
    const { els } = this;
    this.hidden = [...settings.hidden];
    const counts = [p2.FEATURES.length, ...this.hidden, 1];
    const layout = pd.networkLayout(counts, { node: NODE, column: COLUMN });
    for (const box of [els.diagram, els.heads]) box.style.width = `${layout.width}px`;
    els.diagram.style.height = `${layout.height}px`;
    els.links.setAttribute("width", layout.width);
    els.links.setAttribute("height", layout.height);
    els.links.setAttribute("viewBox", `0 0 ${layout.width} ${layout.height}`);
    els.links.replaceChildren();
    for (const node of [...els.diagram.children]) if (node !== els.links) node.remove();

    const features = p2.FEATURES.map((feature, i) => this.#feature(feature, settings, layout.columns[0][i]));
    const units = this.hidden.map((count, l) =>
      layout.columns[l + 1].map((at, j) =>
        this.#node(at, { class: "plane-node unit", title: `hidden layer ${l + 1}, neuron ${j + 1}` }),
      ),
    );
    const output = this.#node(layout.columns.at(-1)[0], { class: "plane-node unit output", title: "output" });
    this.parts = { layout, features, units, output, paths: [] };
    els.heads.replaceChildren(...this.#heads(layout));
  }

  #feature(feature, settings, at) {
    const input = h("input", {
      type: "checkbox",
      class: "plane-check",
      checked: settings.features.includes(feature.name),
      dataset: { testid: `feature-${feature.name}` },
      onchange: () => this.on.feature(feature.name, input),
    });
    const canvas = h("canvas", { width: FEATURE_SIDE, height: FEATURE_SIDE, "aria-hidden": "true" });
    paintLevels(canvas, pd.featureLevels(feature.name, FEATURE_SIDE), FEATURE_SIDE, NODE_LUT);
    const node = h(
      "label",
      { class: `plane-node feature${input.checked ? "" : " off"}`, title: feature.name },
      input,
      canvas,
      h("span", { class: "feature-name" }, feature.label),
    );
    place(node, at);
    this.els.diagram.append(node);
    return { name: feature.name, input, node };
  }

  #node(at, attrs) {
    const canvas = h("canvas", { ...attrs, width: 1, height: 1, "aria-hidden": "true" });
    place(canvas, at);
    this.els.diagram.append(canvas);
    return canvas;
  }

  #heads(layout) {
    const head = (column, ...children) => {
      const el = h("div", { class: "plane-head" }, ...children);
      el.style.left = `${layout.columns[column][0]?.x ?? 0}px`;
      return el;
    };
    const pm = (l, by, label, disabled) =>
      h("button", {
        type: "button",
        class: "icon-btn plane-pm",
        "aria-label": `${label} hidden layer ${l + 1}`,
        disabled,
        dataset: { testid: `neurons-${by > 0 ? "add" : "remove"}-${l}` },
        onclick: () => this.on.resize(l, by),
      }, by > 0 ? "+" : "−");
    return [
      head(0, h("span", { class: "small" }, "Features")),
      ...this.hidden.map((units, l) =>
        head(
          l + 1,
          h("div", { class: "row plane-pms" },
            pm(l, 1, "Add a neuron to", units >= p2.MAX_NEURONS),
            pm(l, -1, "Remove a neuron from", units <= 1),
          ),
          h("span", { class: "small", dataset: { testid: `neurons-${l}` } }, `${units} neuron${units === 1 ? "" : "s"}`),
        ),
      ),
      head(layout.columns.length - 1, h("span", { class: "small" }, "Output")),
    ];
  }

  /** Paint every neuron and weight of `frame` (null: blank nodes, no lines), the output node
   * as the picture `output` (the plane's output at the frame's resolution). */
  paint(frame, output) {
    const parts = this.parts;
    if (!parts) return;
    const sameNetwork =
      frame &&
      frame.neurons.length === this.hidden.length &&
      frame.neurons.every((layer, i) => layer.units === this.hidden[i]);
    parts.units.forEach((canvases, l) => {
      const layer = sameNetwork ? frame.neurons[l] : null;
      const data = layer ? pd.decodeBase64(layer.data) : null;
      canvases.forEach((canvas, j) => {
        const shown = layer && j < layer.shown;
        canvas.classList.toggle("blank", !shown);
        if (!shown) return;
        const side = frame.neuron_side;
        paintLevels(canvas, pd.unitLevels(data, j, side, layer.scale[j]), side, NODE_LUT);
      });
    });
    parts.output.classList.toggle("blank", !frame);
    if (frame) {
      parts.output.width = parts.output.height = output.width;
      parts.output.getContext("2d").drawImage(output, 0, 0);
    }
    for (const f of parts.features) f.node.classList.toggle("off", !f.input.checked);
    this.#paintLinks(sameNetwork ? pd.links(frame, this.hidden) : [], frame);
  }

  #paintLinks(links, frame) {
    const { layout, paths } = this.parts;
    while (paths.length < links.length) {
      const path = document.createElementNS(SVG, "path");
      path.append(document.createElementNS(SVG, "title"));
      this.els.links.append(path);
      paths.push(path);
    }
    paths.forEach((path, i) => {
      const link = links[i];
      path.toggleAttribute("hidden", !link);
      if (!link) return;
      const from = layout.columns[link.from[0]][link.from[1]];
      const to = layout.columns[link.to[0]][link.to[1]];
      const style = pd.linkStyle(link.weight);
      path.setAttribute("d", pd.linkPath(from, to, NODE));
      path.setAttribute("stroke", style.color);
      path.setAttribute("stroke-width", style.width.toFixed(2));
      path.firstChild.textContent = `weight ${link.weight.toFixed(3)}`;
    });
    this.els.note.textContent = frame && frame.weights === null ? NOTE.tooMany : NOTE.weights;
  }
}
