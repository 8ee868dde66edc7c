// Per-layer statistics from step events (`event.layers`): gradient and weight norms, update ratios,
// dead-ReLU shares and histograms of weights and activations, per layer path over the steps.
// Pure data (no DOM): the inside views draw it.

const MAX_FRAMES = 240; // histogram frames kept per layer; older ones are thinned evenly

/** A positive number, or null (a log scale has no place for 0 or a missing value). */
export function positive(value) {
  return typeof value === "number" && value > 0 ? value : null;
}

/** "3 · linear", the way a layer is named in the views. */
export function layerName(layer) {
  return `${layer.path} · ${layer.type}`;
}

/** Histogram bin edges: {low, high, counts} → counts.length + 1 numbers. */
export function binEdges(hist) {
  const n = hist.counts.length;
  const width = (hist.high - hist.low) / n;
  return Array.from({ length: n + 1 }, (_, i) => hist.low + i * width);
}

/** Keep every other frame once there are too many: an even cover of the whole run. */
function thin(frames) {
  if (frames.length <= MAX_FRAMES) return frames;
  return frames.filter((_, i) => i % 2 === 1 || i === frames.length - 1);
}

export class LayerStatsHistory {
  constructor() {
    this.x = []; // steps of the points that carried statistics
    this.layers = new Map(); // path → {path, type, grad, weight, update, dead, weightHist, actHist}
    this.latest = null; // the newest event's `layers`
  }

  get size() {
    return this.x.length;
  }

  /** Fold in a step event; true when it carried statistics. */
  add(event) {
    const stats = event.layers;
    if (!Array.isArray(stats) || !stats.length) return false;
    if (this.x.length && event.step <= this.x[this.x.length - 1]) this.rewind(event.step);
    const n = this.x.length;
    this.x.push(event.step);
    const seen = new Set();
    for (const stat of stats) {
      const layer = this.layer(stat, n);
      seen.add(stat.path);
      layer.grad.push(stat.grad_norm ?? null);
      layer.weight.push(stat.weight_norm ?? null);
      layer.update.push(stat.update_ratio ?? null);
      layer.dead.push(stat.dead_fraction ?? null);
      if (stat.weight_hist) layer.weightHist = thin([...layer.weightHist, { step: event.step, ...stat.weight_hist }]);
      if (stat.act_hist) layer.actHist = thin([...layer.actHist, { step: event.step, ...stat.act_hist }]);
    }
    for (const layer of this.layers.values()) {
      if (!seen.has(layer.path)) for (const key of SERIES) layer[key].push(null);
    }
    this.latest = stats;
    return true;
  }

  /** The entry of a layer, made (with `n` missing points) the first time it is seen. */
  layer(stat, n) {
    let layer = this.layers.get(stat.path);
    if (!layer) {
      const blank = () => new Array(n).fill(null);
      layer = { path: stat.path, type: stat.type, weightHist: [], actHist: [] };
      for (const key of SERIES) layer[key] = blank();
      this.layers.set(stat.path, layer);
    }
    return layer;
  }

  /** A resumed run replays from its last checkpoint: drop the points it will redo. */
  rewind(step) {
    const cut = this.x.findIndex((x) => x >= step);
    this.x.length = cut;
    for (const layer of this.layers.values()) {
      for (const key of SERIES) layer[key].length = cut;
      layer.weightHist = layer.weightHist.filter((f) => f.step < step);
      layer.actHist = layer.actHist.filter((f) => f.step < step);
    }
  }

  /** Layers with parameters (they have gradients), in model order. */
  weighted() {
    return [...this.layers.values()].filter((layer) => layer.grad.some((v) => v !== null));
  }

  /** ReLU layers (they have a dead share), in model order. */
  relus() {
    return [...this.layers.values()].filter((layer) => layer.dead.some((v) => v !== null));
  }

  /** Layers with a histogram of either kind, in model order. */
  histogrammed() {
    return [...this.layers.values()].filter((layer) => layer.weightHist.length || layer.actHist.length);
  }

  /** Columns for a chart of one statistic: {xs, ys: one array per layer, layers}. */
  columns(key, layers) {
    return { xs: this.x, ys: layers.map((layer) => layer[key].map(key === "dead" ? (v) => v : positive)) };
  }

  /** The latest gradient norms of the layers with parameters: [{path, type, value}]. */
  latestGradients() {
    return (this.latest ?? [])
      .filter((stat) => typeof stat.grad_norm === "number")
      .map((stat) => ({ path: stat.path, type: stat.type, value: stat.grad_norm }));
  }
}

const SERIES = ["grad", "weight", "update", "dead"];
