// Canvas pictures of the inside views: histograms over time (like TensorBoard's histogram view,
// live: one column per frame, oldest on the left, values upward, darker where more values fall)
// and the latest gradient norm of every layer as bars on a log scale.
import { binEdges } from "./layerstats.js";

const INK = "#394152";
const GRID = "#e8ebf2";
const FONT = "11px system-ui, sans-serif";

/** Size the canvas's pixels to its laid-out size; returns a 2-D context in CSS pixels. */
function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(160, canvas.clientWidth || 320);
  const height = Math.max(120, canvas.clientHeight || 200);
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  return { ctx, width, height };
}

/** A short number for an axis: 0.0123 → "0.0123", 12345 → "1.23e+4". */
export function short(value) {
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size >= 1e4 || size < 1e-3 ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

/**
 * Histogram frames ({step, low, high, counts}) over time. Each column is scaled to its own
 * fullest bin, so a narrowing or widening distribution shows whatever the batch size.
 */
export function drawHistograms(canvas, frames, { rgb = [36, 87, 197] } = {}) {
  const { ctx, width, height } = fit(canvas);
  canvas.dataset.frames = String(frames.length); // a hook for tests and curious people
  if (!frames.length) return;
  const left = 58;
  const bottom = 18;
  const plotW = width - left - 4;
  const plotH = height - bottom - 6;
  let low = Math.min(...frames.map((f) => f.low));
  let high = Math.max(...frames.map((f) => f.high));
  if (high - low < 1e-12) [low, high] = [low - 0.5, high + 0.5];
  const y = (value) => 6 + plotH * (1 - (value - low) / (high - low));
  const column = plotW / frames.length;
  frames.forEach((frame, i) => {
    const edges = binEdges(frame);
    const most = Math.max(...frame.counts, 1);
    const x = left + i * column;
    frame.counts.forEach((count, b) => {
      if (!count) return;
      const top = y(edges[b + 1]);
      ctx.fillStyle = `rgba(${rgb.join(",")},${(0.12 + (0.88 * count) / most).toFixed(3)})`;
      ctx.fillRect(x, top, Math.max(column, 1) + 0.5, Math.max(1, y(edges[b]) - top));
    });
  });
  ctx.fillStyle = INK;
  ctx.strokeStyle = GRID;
  ctx.textAlign = "right";
  for (const value of [high, (low + high) / 2, low]) {
    ctx.fillText(short(value), left - 6, y(value) + 4);
    ctx.beginPath();
    ctx.moveTo(left - 3, y(value));
    ctx.lineTo(left, y(value));
    ctx.stroke();
  }
  ctx.textAlign = "left";
  ctx.fillText(`step ${frames[0].step}`, left, height - 4);
  ctx.textAlign = "right";
  ctx.fillText(`step ${frames[frames.length - 1].step}`, width - 4, height - 4);
}

/** Colour of layer `i` of `n`: light blue at the input, dark orange at the output. */
export function depthColour(i, n) {
  const t = n > 1 ? i / (n - 1) : 1;
  return `hsl(${Math.round(215 - 190 * t)}, 70%, ${Math.round(55 - 15 * t)}%)`;
}

/** The latest gradient norm of each layer ([{path, type, value}]) as bars on a log scale. */
export function drawGradientBars(canvas, bars) {
  const { ctx, width, height } = fit(canvas);
  const shown = bars.filter((bar) => bar.value > 0);
  canvas.dataset.bars = String(shown.length);
  if (!shown.length) return;
  const logs = shown.map((bar) => Math.log10(bar.value));
  const top = Math.ceil(Math.max(...logs));
  const floor = Math.min(Math.floor(Math.min(...logs)), top - 1);
  const left = 44;
  const bottom = 30;
  const plotW = width - left - 4;
  const plotH = height - bottom - 8;
  const y = (log) => 8 + plotH * (1 - (log - floor) / (top - floor));
  const every = Math.ceil((top - floor) / 6);
  ctx.textAlign = "right";
  for (let decade = floor; decade <= top; decade += every) {
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(left, y(decade));
    ctx.lineTo(width - 4, y(decade));
    ctx.stroke();
    ctx.fillStyle = INK;
    ctx.fillText(`1e${decade}`, left - 6, y(decade) + 4);
  }
  const slot = plotW / shown.length;
  ctx.textAlign = "center";
  shown.forEach((bar, i) => {
    const x = left + i * slot;
    const barTop = y(logs[i]);
    ctx.fillStyle = depthColour(i, shown.length);
    ctx.fillRect(x + slot * 0.15, barTop, slot * 0.7, y(floor) - barTop);
    ctx.fillStyle = INK;
    ctx.fillText(bar.path, x + slot / 2, height - 16);
  });
  ctx.fillText("layer (input → output)", left + plotW / 2, height - 3);
}
