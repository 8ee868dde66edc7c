// The run page's "Inside the network": the probe sample with the model's probabilities for it,
// the first layer's filters and the feature maps, redrawn from feature_maps events at most
// four times a second.
import * as ds from "./datasets.js";
import { need } from "./dom.js";
import { DIVERGING_LUT, MapGrids, paintDigit, paintFilters } from "./featuremaps.js";
import * as fmt from "./format.js";
import { ProbBars } from "./predictview.js";
import { describeLayer, summaryRows } from "./summary.js";

const MAPS_MS = 250; // feature-map frames drawn at most 4 times a second

export class ProbePanel {
  constructor(root = document) {
    this.els = {
      step: need("#maps-step", root),
      note: need("#maps-note", root),
      image: need("#probe-image", root),
      caption: need("#probe-caption", root),
      prediction: need("#probe-prediction", root),
      bars: need("#probe-bars", root),
    };
    this.labels = ds.classLabels(10);
    this.layers = new Map(); // path → summary row of the model, to name feature-map layers
    this.frame = null;
    this.timer = null;
    this.drawnAt = 0;
    this.probeBars = new ProbBars(this.els.bars, { testidPrefix: "probe-prob-" });
    this.filterGrids = new MapGrids(need("#filters", root), {
      lut: DIVERGING_LUT,
      unit: "filters",
      describe: (path) => `first-layer filters (layer ${path})`,
    });
    this.mapGrids = new MapGrids(need("#maps", root), { describe: (path) => describeLayer(this.layers, path) });
  }

  /** Name the probe's classes (other than MNIST's digits). */
  setLabels(labels) {
    this.labels = labels;
    this.probeBars.setLabels(labels);
    this.els.bars.setAttribute("aria-label", "Probability of each class for the probe");
  }

  /** Say why there is no probe (samples that are not 28×28 grey pictures) and hide it. */
  withoutProbe(reason) {
    this.els.note.textContent = reason;
    this.els.image.closest(".probe").hidden = true; // no probe events come for other data
  }

  /** The model's summary names the layers of the maps. */
  setModel(model) {
    this.layers = summaryRows(model.summary);
    this.mapGrids.clear();
    this.schedule(this.frame);
  }

  /** Draw `frame` (a feature_maps event) soon, at most every MAPS_MS. */
  schedule(frame) {
    this.frame = frame;
    if (this.timer || !frame) return;
    const wait = Math.max(0, MAPS_MS - (performance.now() - this.drawnAt));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drawnAt = performance.now();
      requestAnimationFrame(() => this.draw());
    }, wait);
  }

  draw() {
    const frame = this.frame;
    if (!frame) return;
    const { els } = this;
    paintDigit(els.image, frame.probe_image);
    const name = (index) => this.labels[index] ?? String(index);
    const digits = ds.areDigits(this.labels);
    els.caption.textContent = digits
      ? `probe: a ${frame.probe_label} (validation #${frame.probe_index})`
      : `probe: “${name(frame.probe_label)}” (validation #${frame.probe_index})`;
    const p = frame.probabilities;
    const top = p.indexOf(Math.max(...p));
    els.prediction.textContent = name(top);
    els.prediction.classList.toggle("word", !digits);
    els.prediction.classList.toggle("unsure", p[top] < 0.5);
    this.probeBars.update(p);
    paintFilters(this.filterGrids, frame.filters);
    this.mapGrids.update(frame.layers);
    els.step.textContent = `step ${fmt.int(frame.step)} · epoch ${frame.epoch}`;
    els.note.hidden = frame.layers.length > 0;
    if (!frame.layers.length) els.note.textContent = "This network has no conv layers, so there are no feature maps: the probe’s probabilities still show how it learns.";
  }
}
