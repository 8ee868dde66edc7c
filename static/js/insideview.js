// The run page's inside views: per-layer gradient norms (now, as bars, and over time), the
// update-to-weight ratio, dead ReLU units, and histograms of a chosen layer's weights and
// activations over time. Hidden until a step event brings per-layer statistics.
import { LiveChart } from "./charts.js";
import { h, need } from "./dom.js";
import { depthColour, drawGradientBars, drawHistograms, short } from "./histograms.js";
import { LayerStatsHistory, layerName } from "./layerstats.js";

const REDRAW_MS = 250; // canvases redraw at most 4 times a second
const WEIGHT_RGB = [36, 87, 197];
const ACT_RGB = [194, 65, 12];

function sci(u, v) {
  return v === null || v === undefined ? "—" : short(v);
}

function pct(u, v) {
  return v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)}%`;
}

export class InsideView {
  constructor(root = document) {
    this.history = new LayerStatsHistory();
    this.els = {
      section: need("#inside-section", root),
      step: need("#inside-step", root),
      bars: need("#inside-grad-bars", root),
      grad: need("#chart-grad-norms", root),
      update: need("#chart-update-ratio", root),
      dead: need("#chart-dead", root),
      deadBox: need("#dead-chart-box", root),
      weightsLayer: need("#inside-weights-layer", root),
      weights: need("#inside-weights", root),
      weightsCaption: need("#inside-weights-caption", root),
      actsLayer: need("#inside-acts-layer", root),
      acts: need("#inside-acts", root),
      actsCaption: need("#inside-acts-caption", root),
    };
    this.charts = null; // made once the layers are known
    this.paths = ""; // the layers the charts were made for
    this.timer = null;
    this.els.weightsLayer.addEventListener("change", () => this.drawHistograms());
    this.els.actsLayer.addEventListener("change", () => this.drawHistograms());
    new ResizeObserver(() => this.schedule()).observe(this.els.bars);
  }

  /** A step event: fold in its `layers`, if it has any, and redraw soon. */
  step(event) {
    if (!this.history.add(event)) return;
    this.els.section.hidden = false;
    this.schedule();
  }

  schedule() {
    if (this.timer || !this.history.size) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      requestAnimationFrame(() => this.draw());
    }, REDRAW_MS);
  }

  draw() {
    const history = this.history;
    const weighted = history.weighted();
    const relus = history.relus();
    this.ensureCharts(weighted, relus);
    this.els.step.textContent = `step ${history.x[history.x.length - 1]}`;
    drawGradientBars(this.els.bars, history.latestGradients());
    const grad = history.columns("grad", weighted);
    this.charts.grad.setData(grad.xs, grad.ys);
    const update = history.columns("update", weighted);
    this.charts.update.setData(update.xs, update.ys);
    if (this.charts.dead) {
      const dead = history.columns("dead", relus);
      this.charts.dead.setData(dead.xs, dead.ys);
    }
    this.drawHistograms();
  }

  /** Line charts with one series per layer, made again only if the layers change. */
  ensureCharts(weighted, relus) {
    const paths = [...weighted, ...relus].map((layer) => layer.path).join(" ");
    if (this.charts && paths === this.paths) return;
    for (const chart of Object.values(this.charts ?? {})) chart?.destroy();
    this.paths = paths;
    const series = (layers, value) =>
      layers.map((layer, i) => ({ label: layerName(layer), color: depthColour(i, layers.length), width: 1.5, value }));
    this.charts = {
      grad: new LiveChart(this.els.grad, { yLabel: "‖gradient‖", yLog: true, series: series(weighted, sci) }),
      update: new LiveChart(this.els.update, { yLabel: "‖Δw‖ / ‖w‖", yLog: true, series: series(weighted, sci) }),
      dead: relus.length
        ? new LiveChart(this.els.dead, { yLabel: "dead units", yRange: [0, 1], series: series(relus, pct) })
        : null,
    };
    this.els.deadBox.hidden = !relus.length;
    const layers = this.history.histogrammed();
    fillPicker(this.els.weightsLayer, layers.filter((layer) => layer.weightHist.length));
    fillPicker(this.els.actsLayer, layers.filter((layer) => layer.actHist.length));
  }

  drawHistograms() {
    const layers = this.history.layers;
    const weights = layers.get(this.els.weightsLayer.value)?.weightHist ?? [];
    const acts = layers.get(this.els.actsLayer.value)?.actHist ?? [];
    drawHistograms(this.els.weights, weights, { rgb: WEIGHT_RGB });
    drawHistograms(this.els.acts, acts, { rgb: ACT_RGB });
    this.els.weightsCaption.textContent = caption(weights, "weights");
    this.els.actsCaption.textContent = caption(acts, "outputs");
  }
}

/** The options of a layer picker; the chosen layer stays chosen. */
function fillPicker(select, layers) {
  const chosen = select.value;
  select.replaceChildren(...layers.map((layer) => h("option", { value: layer.path, text: layerName(layer) })));
  select.disabled = !layers.length;
  if (layers.some((layer) => layer.path === chosen)) select.value = chosen;
}

function caption(frames, noun) {
  if (!frames.length) return "";
  const last = frames[frames.length - 1];
  const total = last.counts.reduce((a, b) => a + b, 0);
  return `${frames.length} frames; now ${total.toLocaleString()} ${noun} from ${short(last.low)} to ${short(last.high)}`;
}
