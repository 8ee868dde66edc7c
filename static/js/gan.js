// What the run page needs to show a GAN, without the DOM: its samples frames decoded and laid
// out as a grid, its step points as columns (generator and discriminator), noise vectors from a
// seed and the paths between two of them (linear or spherical), and its health in words.
// Tests: tests/js/gan.test.mjs.
import { bytesOf } from "./autoencoder.js";

const GAP = 2; // pixels between the images of a grid

/** A gan_samples frame's images: {bytes (count·C·H·W uint8), shape [C, H, W], count}. */
export function decodeSamples(frame) {
  const bytes = bytesOf(frame.images);
  const shape = frame.shape.map(Number);
  const size = shape.reduce((a, b) => a * b, 1);
  const count = Math.min(frame.count ?? Infinity, size ? Math.floor(bytes.length / size) : 0);
  return { bytes: bytes.subarray(0, count * size), shape, count };
}

/** Where `count` images of H×W go in a square-ish grid: {columns, rows, width, height} and
 *  `at(i)` → the top-left pixel {x, y} of image i (GAP pixels between images). */
export function gridLayout(count, height, width, gap = GAP) {
  const columns = Math.max(1, Math.ceil(Math.sqrt(count)));
  const rows = Math.max(1, Math.ceil(count / columns));
  return {
    columns,
    rows,
    width: columns * width + (columns - 1) * gap,
    height: rows * height + (rows - 1) * gap,
    at: (i) => ({ x: (i % columns) * (width + gap), y: Math.floor(i / columns) * (height + gap) }),
  };
}

/** One generated image, C×H×W numbers in 0..1 (a /generate answer's), as RGBA for ImageData:
 *  grey when C is 1, colour when C is 3. */
export function unitRgba(image) {
  const channels = image.length;
  const height = image[0].length;
  const width = image[0][0].length;
  const rgba = new Uint8ClampedArray(height * width * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) rgba[p + c] = Math.round(255 * image[channels === 3 ? c : 0][y][x]);
      rgba[p + 3] = 255;
    }
  }
  return rgba;
}

/** A seeded stream of numbers in [0, 1) (mulberry32): the same seed, the same numbers. */
export function uniforms(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` standard normal numbers drawn from `seed` (Box–Muller): a GAN's noise vector. */
export function noiseVector(size, seed) {
  const next = uniforms(seed);
  const vector = new Array(size);
  for (let i = 0; i < size; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())); // 1 - u: never log(0)
    const angle = 2 * Math.PI * next();
    vector[i] = r * Math.cos(angle);
    if (i + 1 < size) vector[i + 1] = r * Math.sin(angle);
  }
  return vector;
}

/** The point a fraction `t` of the straight line from `a` to `b`. */
export function lerp(a, b, t) {
  return a.map((x, i) => x + t * (b[i] - x));
}

/**
 * Spherical interpolation: along the great circle between the directions of `a` and `b`, the
 * length going linearly from |a| to |b|. Normal noise lives near a sphere, where a straight
 * line's middle (shorter than either end) is a vector the generator rarely saw.
 */
export function slerp(a, b, t) {
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const na = norm(a);
  const nb = norm(b);
  if (!na || !nb) return lerp(a, b, t);
  const cos = Math.max(-1, Math.min(1, a.reduce((s, x, i) => s + x * b[i], 0) / (na * nb)));
  const omega = Math.acos(cos);
  if (omega < 1e-6 || Math.PI - omega < 1e-6) return lerp(a, b, t); // (anti)parallel: no one circle
  const sin = Math.sin(omega);
  const wa = Math.sin((1 - t) * omega) / sin / na;
  const wb = Math.sin(t * omega) / sin / nb;
  const length = na + t * (nb - na);
  return a.map((x, i) => length * (wa * x + wb * b[i]));
}

export const INTERPOLATIONS = { linear: lerp, slerp };

/** `count` evenly spaced points from `a` to `b` (both included), by `method`. */
export function path(a, b, count, method = "slerp") {
  const between = INTERPOLATIONS[method] ?? slerp;
  if (count <= 1) return [a.slice()];
  return Array.from({ length: count }, (_, i) => between(a, b, i / (count - 1)));
}

/** A GAN's step points as columns: x, generator and discriminator loss, D(real), D(fake). */
export class GanSteps {
  constructor() {
    this.cols = { x: [], g: [], d: [], real: [], fake: [] };
  }

  /** Add a step event; returns true when it rewound (a resumed run redoes steps): redraw all. */
  add(event) {
    const c = this.cols;
    let rewound = false;
    if (c.x.length && event.step <= c.x[c.x.length - 1]) {
      const cut = c.x.findIndex((x) => x >= event.step);
      for (const key of Object.keys(c)) c[key].length = cut;
      rewound = true;
    }
    c.x.push(event.step);
    c.g.push(event.loss ?? null);
    c.d.push(event.d_loss ?? null);
    c.real.push(event.d_real ?? null);
    c.fake.push(event.d_fake ?? null);
    return rewound;
  }
}

/** Per-epoch columns of a GAN's epoch events: {x, g, d}. */
export function epochColumns(epochs) {
  return {
    x: epochs.map((e) => e.epoch),
    g: epochs.map((e) => e.train_loss ?? null),
    d: epochs.map((e) => e.d_loss ?? null),
  };
}

const STATES = {
  ok: { label: "healthy", tone: "ok" },
  collapsed: { label: "mode collapse", tone: "bad" },
  oscillating: { label: "oscillating", tone: "warn" },
};

/** A gan_health event's state in words: {label, tone} (an unknown state as it is, neutral). */
export function healthState(state) {
  return STATES[state] ?? { label: String(state ?? "unknown"), tone: "neutral" };
}

/** "variety 0.82 of the real digits'": the samples' spread against real images'. */
export function varietyText(ratio, noun = "digits") {
  return typeof ratio === "number" && Number.isFinite(ratio) ? `variety ${ratio.toFixed(2)} of the real ${noun}'` : "variety not measured yet";
}

/** What a verdict says beyond its state: "Variety 0.82 of the real digits'. <message>". */
export function healthDetail(event, noun = "digits") {
  const variety = varietyText(event?.ratio, noun);
  const sentence = `${variety[0].toUpperCase()}${variety.slice(1)}.`;
  return event?.message ? `${sentence} ${event.message}` : sentence;
}

/** A health verdict as a line: "healthy · variety 0.82 of the real digits'. <message>". */
export function healthText(event, noun = "digits") {
  const words = `${healthState(event?.state).label} · ${varietyText(event?.ratio, noun)}.`;
  return event?.message ? `${words} ${event.message}` : words;
}

/** A verdict in the history's list: "epoch 3, step 1,200: healthy (variety 0.82)". */
export function verdictText(event) {
  const where = event?.epoch ? `epoch ${event.epoch}, step ${event.step}` : `step ${event?.step}`;
  const ratio = typeof event?.ratio === "number" ? ` (variety ${event.ratio.toFixed(2)})` : "";
  return `${where}: ${healthState(event?.state).label}${ratio}`;
}
