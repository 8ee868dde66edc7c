// Small graphs of activation functions (solid) and their slopes (dashed) for the explanations.

const erf = (x) => {
  // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: plenty for a 132-pixel graph
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
};
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const SELU_A = 1.6732632423543772;
const SELU_L = 1.0507009873554805;

/** name → [f, f'] */
export const ACTIVATIONS = {
  relu: [(x) => Math.max(0, x), (x) => (x > 0 ? 1 : 0)],
  leaky_relu: [(x) => (x > 0 ? x : 0.1 * x), (x) => (x > 0 ? 1 : 0.1)],
  prelu: [(x) => (x > 0 ? x : 0.25 * x), (x) => (x > 0 ? 1 : 0.25)],
  elu: [(x) => (x > 0 ? x : Math.exp(x) - 1), (x) => (x > 0 ? 1 : Math.exp(x))],
  selu: [
    (x) => SELU_L * (x > 0 ? x : SELU_A * (Math.exp(x) - 1)),
    (x) => SELU_L * (x > 0 ? 1 : SELU_A * Math.exp(x)),
  ],
  gelu: [
    (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  ],
  silu: [(x) => x * sigmoid(x), (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x)))],
  sigmoid: [sigmoid, (x) => sigmoid(x) * (1 - sigmoid(x))],
  tanh: [Math.tanh, (x) => 1 - Math.tanh(x) ** 2],
  step: [(x) => (x > 0 ? 1 : 0), () => 0],
  identity: [(x) => x, () => 1],
};

const NS = "http://www.w3.org/2000/svg";
const W = 132;
const H = 92;
const X = [-4, 4];
const Y = [-2, 3];

function el(name, attrs) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function path(f) {
  const px = (x) => ((x - X[0]) / (X[1] - X[0])) * W;
  const py = (y) => H - ((Math.max(Y[0], Math.min(Y[1], y)) - Y[0]) / (Y[1] - Y[0])) * H;
  let d = "";
  let prev = null;
  for (let i = 0; i <= 160; i++) {
    const x = X[0] + ((X[1] - X[0]) * i) / 160;
    const y = f(x);
    // break the line at jumps (the step function) instead of drawing a vertical stroke
    const jump = prev !== null && Math.abs(y - prev) > 0.5;
    d += `${d && !jump ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`;
    prev = y;
  }
  return d;
}

/** Draw the graph of `svg.dataset.curve` into every such svg under `root`. */
export function drawCurves(root = document) {
  for (const svg of root.querySelectorAll("svg[data-curve]")) {
    const fns = ACTIVATIONS[svg.dataset.curve];
    if (!fns || svg.childElementCount) continue;
    const x0 = ((0 - X[0]) / (X[1] - X[0])) * W;
    const y0 = H - ((0 - Y[0]) / (Y[1] - Y[0])) * H;
    svg.append(
      el("line", { class: "axis", x1: 0, y1: y0, x2: W, y2: y0 }),
      el("line", { class: "axis", x1: x0, y1: 0, x2: x0, y2: H }),
      el("path", { class: "df", d: path(fns[1]) }),
      el("path", { class: "f", d: path(fns[0]) }),
    );
    const label = el("text", { x: W - 4, y: y0 - 3, "text-anchor": "end" });
    label.textContent = "x";
    svg.append(label);
  }
}
