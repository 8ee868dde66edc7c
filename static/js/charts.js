// Line charts on uPlot. The full history stays in memory; only drawing is decimated (min/max per
// pixel column), and redraws are throttled to 10 per second however fast points arrive.
import uPlot from "uplot";

const REDRAW_MS = 100; // at most 10 redraws per second

/** Index of the first x ≥ value (or > value with `after`) in the sorted array xs. */
function bound(xs, value, after = false) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < value || (after && xs[mid] === value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Min/max decimation of series sharing one sorted x array: within [x0, x1] each of `buckets`
 * columns keeps, for every series, its lowest and highest point (in their original order);
 * the first and last points of the whole history are always kept, so the data's extent stays
 * the full range. Returns [xs, ...ys] ready for uPlot.
 */
export function decimate(xs, ys, x0 = -Infinity, x1 = Infinity, buckets = 1000) {
  const n = xs.length;
  // one point beyond each end of the window, so the lines reach its edges
  const from = Math.max(0, bound(xs, x0) - 1);
  const to = Math.min(n, bound(xs, x1, true) + 1); // exclusive
  if (to - from <= buckets * 2) {
    const keep = [];
    if (from > 0) keep.push(0);
    for (let i = from; i < to; i++) keep.push(i);
    if (to < n) keep.push(n - 1);
    return pick(xs, ys, keep);
  }
  const keep = from > 0 ? [0] : [];
  const lo = xs[from];
  const span = xs[to - 1] - lo || 1;
  let bucket = -1;
  let chosen = new Set();
  const mins = ys.map(() => -1);
  const maxs = ys.map(() => -1);
  const flush = () => {
    for (let s = 0; s < ys.length; s++) {
      if (mins[s] >= 0) chosen.add(mins[s]);
      if (maxs[s] >= 0) chosen.add(maxs[s]);
      mins[s] = maxs[s] = -1;
    }
    keep.push(...[...chosen].sort((a, b) => a - b));
    chosen = new Set();
  };
  for (let i = from; i < to; i++) {
    const b = Math.min(buckets - 1, Math.floor(((xs[i] - lo) / span) * buckets));
    if (b !== bucket) {
      flush();
      bucket = b;
    }
    for (let s = 0; s < ys.length; s++) {
      const v = ys[s][i];
      if (v === null || v === undefined || Number.isNaN(v)) continue;
      if (mins[s] < 0 || v < ys[s][mins[s]]) mins[s] = i;
      if (maxs[s] < 0 || v > ys[s][maxs[s]]) maxs[s] = i;
    }
  }
  flush();
  if (to < n) keep.push(n - 1);
  return pick(xs, ys, keep);
}

function pick(xs, ys, indices) {
  return [indices.map((i) => xs[i]), ...ys.map((y) => indices.map((i) => y[i] ?? null))];
}

const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** A log axis's ticks: powers of ten within [min, max], about six at most. */
function decades(u, axis, min, max) {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const every = Math.max(1, Math.ceil((hi - lo) / 6));
  const ticks = [];
  for (let e = lo; e <= hi; e += every) if (10 ** e >= min * 0.999 && 10 ** e <= max * 1.001) ticks.push(10 ** e);
  return ticks;
}

const LOG_AXIS = {
  splits: decades,
  values: (u, ticks) => ticks.map((v) => (v > 0 ? `1e${Math.round(Math.log10(v))}` : "")), // null: a tick left bare
};

function baseOptions({ width, height, xLabel, yLabel, yRange, series, xWhole = false, yLog = false }) {
  return {
    width,
    height,
    scales: {
      x: { time: false },
      y: yLog ? { distr: 3, log: 10 } : yRange ? { range: yRange } : {},
    },
    axes: [
      {
        label: xLabel,
        labelSize: 18,
        size: 34,
        incrs: xWhole ? WHOLE_STEPS : undefined,
        grid: { stroke: "#e8ebf2" },
        ticks: { stroke: "#d3d8e3" },
      },
      {
        label: yLabel,
        labelSize: 18,
        size: 48,
        grid: { stroke: "#e8ebf2" },
        ticks: { stroke: "#d3d8e3" },
        ...(yLog ? LOG_AXIS : {}),
      },
    ],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    series: [
      { label: xLabel },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? 1.75,
        dash: s.dash,
        spanGaps: true,
        points: { show: s.points ?? false, size: 6, fill: s.color },
        value: s.value ?? ((u, v) => (v === null || v === undefined ? "—" : v.toPrecision(4))),
      })),
    ],
  };
}

/**
 * A chart of one or more series over a shared x, fed point by point or all at once.
 * Drag to zoom into a range (drawn at full resolution there), double-click to see everything.
 */
export class LiveChart {
  constructor(container, { series, xLabel = "step", yLabel = "", yRange = null, height = 220, xWhole = false, yLog = false }) {
    this.container = container;
    this.height = height;
    this.xs = [];
    this.ys = series.map(() => []);
    this.zoomed = false;
    this.timer = null;
    this.lastDraw = 0;
    this.busy = false;
    this.empty = container.querySelector(".empty");
    const width = Math.max(200, container.clientWidth || 400);
    const options = baseOptions({ width, height, xLabel, yLabel, yRange, series, xWhole, yLog });
    options.scales.x.auto = () => !this.zoomed;
    options.hooks = { setScale: [(u, key) => key === "x" && this.onZoom(u)] };
    this.plot = new uPlot(options, [[], ...series.map(() => [])], container);
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(container);
  }

  /** Replace the whole history. */
  setData(xs, ys) {
    this.xs = xs.slice();
    this.ys = ys.map((y) => y.slice());
    this.schedule();
  }

  /** Append one point (x must not decrease). */
  push(x, ...values) {
    this.xs.push(x);
    values.forEach((v, i) => this.ys[i].push(v));
    this.schedule();
  }

  get length() {
    return this.xs.length;
  }

  /** Redraw soon, at most every REDRAW_MS. */
  schedule() {
    if (this.timer) return;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - this.lastDraw));
    this.timer = setTimeout(() => {
      this.timer = null;
      requestAnimationFrame(() => this.draw());
    }, wait);
  }

  draw() {
    this.lastDraw = performance.now();
    if (this.empty) this.empty.hidden = this.xs.length > 0;
    this.container.dataset.points = String(this.xs.length); // a hook for tests and curious people
    const scale = this.plot.scales.x;
    const range = this.zoomed ? [scale.min, scale.max] : [-Infinity, Infinity];
    this.busy = true;
    try {
      this.plot.setData(decimate(this.xs, this.ys, range[0], range[1], this.buckets()));
    } finally {
      this.busy = false;
    }
  }

  buckets() {
    return Math.max(100, Math.round(this.plot.bbox.width / (devicePixelRatio || 1)));
  }

  onZoom(u) {
    if (this.busy || !this.xs.length) return;
    const first = this.xs[0];
    const last = this.xs[this.xs.length - 1];
    const span = last - first || 1;
    this.zoomed = u.scales.x.min > first + span * 1e-6 || u.scales.x.max < last - span * 1e-6;
    this.schedule();
  }

  resize() {
    const width = Math.max(200, this.container.clientWidth);
    if (Math.abs(width - this.plot.width) > 1) {
      this.plot.setSize({ width, height: this.height });
      this.schedule();
    }
  }

  destroy() {
    clearTimeout(this.timer);
    this.resizer.disconnect();
    this.plot.destroy();
  }
}

/**
 * Curves of several runs over one x axis (each run keeps its own x values): each is decimated,
 * then the tables are joined for uPlot. `runs`: [{label, color, xs, ys}].
 */
export function overlayChart(container, runs, { xLabel, yLabel, yRange = null, height = 260, xWhole = false }) {
  const width = Math.max(240, container.clientWidth || 480);
  const tables = runs.map((r) => decimate(r.xs, [r.ys], -Infinity, Infinity, 800));
  const data = tables.length ? uPlot.join(tables) : [[]];
  const series = runs.map((r) => ({ label: r.label, color: r.color, points: r.points }));
  const options = baseOptions({ width, height, xLabel, yLabel, yRange, series, xWhole });
  const plot = new uPlot(options, data, container);
  const resizer = new ResizeObserver(() => {
    const w = Math.max(240, container.clientWidth);
    if (Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height });
  });
  resizer.observe(container);
  return {
    destroy() {
      resizer.disconnect();
      plot.destroy();
    },
  };
}

/** Distinct colours for runs and series, readable on white. */
export const PALETTE = [
  "#2457c5",
  "#c2410c",
  "#0f766e",
  "#a21caf",
  "#4d7c0f",
  "#b45309",
  "#1e3a8a",
  "#be123c",
];
