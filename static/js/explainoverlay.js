// "Why did it say that?": a heatmap of the drawing by saliency, integrated gradients or Grad-CAM,
// painted over the picture the model saw. The class it explains is the answer, or one picked in
// the probability bars ("why not 7?"). One request in flight at a time; the newest drawing, method
// and class are asked once the last answer is in.
import * as api from "./api.js";
import { h, say } from "./dom.js";

const NAMES = { saliency: "Saliency", integrated_gradients: "Integrated gradients", gradcam: "Grad-CAM" };
const FOR = [230, 45, 35]; // evidence for the class (and unsigned heat)
const AGAINST = [35, 110, 235]; // evidence against it (integrated gradients)

/** Rows of 0..1 (H×W) or channels of them (C×H×W) → grey values H×W in 0..1. */
function grey(sample) {
  if (!Array.isArray(sample?.[0]?.[0])) return sample;
  return sample[0].map((row, y) => row.map((_, x) => sample.reduce((s, ch) => s + ch[y][x], 0) / sample.length));
}

/** `heat` (H×W) as colour whose opacity is the heat: for laying over the drawing itself. */
function heatLayer(heat) {
  const height = heat.length;
  const width = heat[0]?.length ?? 0;
  const layer = document.createElement("canvas");
  layer.width = width;
  layer.height = height;
  const image = new ImageData(Math.max(1, width), Math.max(1, height));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = heat[y][x];
      const at = (y * width + x) * 4;
      image.data.set(v < 0 ? AGAINST : FOR, at);
      image.data[at + 3] = Math.round(Math.min(1, Math.abs(v)) * 190);
    }
  }
  layer.getContext("2d").putImageData(image, 0, 0);
  return layer;
}

/** Lay `heat` (the prepared picture's frame) over the drawing on `canvas`, where the preparation
 *  took each part from: `placement` maps the ink's box in the drawing to its box in the picture;
 *  without one the picture is the whole drawing stretched. */
export function paintOnDrawing(canvas, heat, placement) {
  const [height, width] = placement?.size ?? [canvas.height, canvas.width];
  const [top, left, boxH, boxW] = placement?.source ?? [0, 0, height, width];
  const [atTop, atLeft, inH, inW] = placement?.digit ?? [0, 0, heat.length, heat[0]?.length ?? 0];
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const sy = boxH / inH;
  const sx = boxW / inW;
  const layer = heatLayer(heat);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(layer, left - atLeft * sx, top - atTop * sy, layer.width * sx, layer.height * sy);
}

/** Paint `heat` (H×W, 0..1 or −1..1) over the grey picture `under` (H×W) on `canvas`. */
export function paintHeat(canvas, heat, under = null) {
  const height = heat.length;
  const width = heat[0]?.length ?? 0;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const image = new ImageData(Math.max(1, width), Math.max(1, height));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = heat[y][x];
      const colour = v < 0 ? AGAINST : FOR;
      const alpha = Math.min(1, Math.abs(v) * 0.9);
      const base = (under ? under[y][x] : 0) * 200;
      const at = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) image.data[at + c] = Math.round(base * (1 - alpha) + colour[c] * alpha);
      image.data[at + 3] = 255;
    }
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

export class ExplainOverlay {
  /** `root`: templates/partials/why_panel.html's [data-role=why]; `bars`: the probability bars'
   *  container; `image()`: the drawing as a data URL, or null when the pad is empty. */
  constructor(root, { bars, image, padHeat = null }) {
    this.root = root;
    this.bars = bars;
    this.image = image;
    this.padHeat = padHeat; // a canvas over the drawing pad
    this.runId = null;
    this.method = "saliency";
    this.target = null; // null: the answer
    this.shown = null; // the last explanation shown
    this.labels = [];
    this.flight = { busy: false, again: false };
    const q = (selector) => root.querySelector(selector);
    this.canvas = q("[data-testid=why-overlay]");
    this.caption = q("[data-testid=why-caption]");
    this.targetName = q("[data-testid=why-target]");
    this.back = q("[data-testid=why-back]");
    this.layers = q("[data-role=why-layers]");
    this.message = q("[data-role=why-message]");
    this.gradcam = q("[data-testid=why-method-gradcam]");
    this.gradcamNote = q("[data-testid=why-gradcam-note]");
    this.onPad = q("[data-testid=why-on-pad]");
    this.onPad.addEventListener("change", () => this.paintPad());
    for (const input of root.querySelectorAll("input[name=why-method]")) {
      input.addEventListener("change", () => {
        if (!input.checked) return;
        this.method = input.value;
        this.ask();
      });
    }
    this.back.addEventListener("click", () => {
      this.target = null;
      this.ask();
    });
    bars.classList.add("pickable");
    bars.addEventListener("click", (event) => this.pick(event));
    bars.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      this.pick(event);
    });
  }

  /** Explain this run's answers from now on (null: none). */
  setRun(runId) {
    this.runId = runId;
    this.target = null;
    this.setConv(true);
    this.reset();
  }

  /** A new answer for the newest drawing (a prediction): explain it too. */
  update(answer, labels) {
    this.labels = labels;
    if (Array.isArray(answer.reconstruction)) {
      this.root.hidden = true; // an autoencoder: no class to explain
      this.paintPad();
      return;
    }
    this.root.hidden = false;
    if (Array.isArray(answer.activations)) this.setConv(answer.activations.length > 0);
    this.markBars();
    this.ask();
  }

  /** Grad-CAM needs a conv layer: without one its switch is off, with the reason. */
  setConv(has) {
    this.gradcam.disabled = !has;
    this.gradcamNote.hidden = has;
    this.gradcamNote.textContent = has ? "" : "Grad-CAM needs a conv layer, and this network has none.";
    if (!has && this.method === "gradcam") {
      this.root.querySelector("[data-testid=why-method-saliency]").checked = true;
      this.method = "saliency";
    }
  }

  /** A click (or Enter) on a class's bar: explain that class; on the answer's: back to it. */
  pick(event) {
    const cell = event.target.closest(".bars > *");
    if (!cell || cell.parentElement !== this.bars) return;
    const index = Math.floor([...this.bars.children].indexOf(cell) / 3);
    this.target = index === this.shown?.prediction ? null : index;
    this.ask();
  }

  async ask() {
    const image = this.image();
    if (!this.runId || !image) return;
    if (this.flight.busy) {
      this.flight.again = true;
      return;
    }
    this.flight.busy = true;
    const runId = this.runId;
    const body = { image, method: this.method };
    if (this.target !== null) body.target = this.target;
    this.root.dataset.busy = "true";
    if (!this.shown) this.caption.textContent = "Working out why… (the first answer takes a few seconds)";
    try {
      const answer = await api.explain(runId, body);
      if (runId === this.runId && this.image()) this.show(answer);
    } catch (error) {
      if (runId === this.runId) say(this.message, error.message, "error");
    } finally {
      this.flight.busy = false;
      delete this.root.dataset.busy;
      if (this.flight.again) {
        this.flight.again = false;
        this.ask();
      }
    }
  }

  label(index) {
    return this.labels[index] ?? String(index);
  }

  show(answer) {
    say(this.message, "");
    this.shown = answer;
    paintHeat(this.canvas, answer.heatmap, grey(answer.input));
    this.paintPad();
    Object.assign(this.canvas.dataset, { method: answer.method, target: String(answer.target) });
    const layer = answer.layer ? ` at layer ${answer.layer}` : "";
    const key = answer.signed ? " (red: for it, blue: against it)" : "";
    this.caption.textContent = `${NAMES[answer.method]} for “${this.label(answer.target)}”${layer}${key}`;
    const why = answer.target === answer.prediction ? "the answer" : `the answer is ${this.label(answer.prediction)}`;
    this.targetName.textContent = `${this.label(answer.target)} (${why})`;
    this.back.hidden = answer.target === answer.prediction;
    this.back.textContent = `Back to the answer (${this.label(answer.prediction)})`;
    this.layers.replaceChildren(
      ...(answer.layers ?? []).map((layerCam) => {
        const small = h("canvas", { class: "why-layer", role: "img", "aria-label": `Grad-CAM at layer ${layerCam.path}` });
        paintHeat(small, layerCam.cam);
        const size = `${layerCam.cam.length}×${layerCam.cam[0]?.length ?? 0}`;
        return h("figure", { class: "why-layer-fig" }, small, h("figcaption", {}, `layer ${layerCam.path} · ${size}`));
      }),
    );
    this.markBars();
  }

  /** Mark the class explained in the bars, and make each class reachable by keyboard. */
  markBars() {
    const cells = [...this.bars.children];
    const target = this.shown ? this.shown.target : null;
    cells.forEach((cell, i) => {
      const index = Math.floor(i / 3);
      cell.classList.toggle("is-target", index === target);
      if (i % 3 === 0) {
        cell.removeAttribute("aria-hidden"); // the class's name becomes a button: "why 7?"
        cell.tabIndex = 0;
        cell.setAttribute("role", "button");
        cell.setAttribute("aria-label", `why ${this.label(index)}?`);
      }
    });
  }

  /** The heatmap over the drawing itself too, if asked for. */
  paintPad() {
    if (!this.padHeat) return;
    const shown = this.shown && this.onPad.checked && !this.root.hidden;
    this.padHeat.hidden = !shown;
    if (shown) paintOnDrawing(this.padHeat, this.shown.heatmap, this.shown.placement);
  }

  reset() {
    this.shown = null;
    this.paintPad();
    this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
    delete this.canvas.dataset.method;
    delete this.canvas.dataset.target;
    this.caption.textContent = "Draw a digit to see which pixels made the answer.";
    this.targetName.textContent = "—";
    this.back.hidden = true;
    this.layers.replaceChildren();
    say(this.message, "");
    this.markBars();
  }
}
