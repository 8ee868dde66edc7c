// The run page's "Code space" of an autoencode run: the test images placed by their code after
// an epoch (the newest until another epoch is picked), coloured by class; a click or a drag on
// the scatter (or the arrow keys) decodes that point with the run's latest weights.
import * as api from "./api.js";
import {
  LatestOnly,
  classColour,
  codeCaption,
  decodePoints,
  pointToCode,
  scatterBounds,
  toPixel,
  toPoint,
} from "./autoencoder.js";
import * as ds from "./datasets.js";
import { h } from "./dom.js";
import { paintSample } from "./featuremaps.js";
import * as fmt from "./format.js";

const SIDE = 480; // canvas pixels; CSS scales it to the layout
const KEY_STEP = 1 / 40; // of the view's side, per arrow key press

export class CodeScatter {
  /** `els`: {select, canvas, caption, legend, decoded, decodedNote}. */
  constructor(runId, els) {
    this.runId = runId;
    this.els = els;
    this.labels = ds.classLabels(10);
    this.events = []; // codes events by epoch, in order
    this.follow = true; // show the newest epoch until another is picked
    this.shown = null; // {event, points, bounds}
    this.picked = null; // {x, y}: the point last decoded
    this.pointer = null;
    this.decodes = 0;
    els.canvas.width = SIDE;
    els.canvas.height = SIDE;
    this.throttle = new LatestOnly((code) => api.decode(runId, code), {
      onResult: (answer, code) => this.showDecoded(answer, code),
      onError: (error) => {
        els.decodedNote.textContent = `Could not decode this point: ${error.message}`;
      },
    });
    els.select.addEventListener("change", () => {
      const epoch = Number(els.select.value);
      this.follow = epoch === this.events[this.events.length - 1]?.epoch;
      this.show(epoch);
    });
    els.canvas.addEventListener("pointerdown", (e) => this.down(e));
    els.canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      els.canvas.addEventListener(type, (e) => {
        if (e.pointerId === this.pointer) this.pointer = null;
      });
    }
    els.canvas.addEventListener("keydown", (e) => this.key(e));
  }

  /** The dataset's class names, for the legend. */
  setLabels(labels) {
    this.labels = labels;
    if (this.shown) this.legend(this.shown.points);
  }

  /** A codes event arrived (history or live); an epoch seen again (a resumed run) is replaced. */
  add(event) {
    this.events = this.events.filter((e) => e.epoch !== event.epoch);
    this.events.push(event);
    this.events.sort((a, b) => a.epoch - b.epoch);
    const select = this.els.select;
    select.replaceChildren(...this.events.map((e) => h("option", { value: String(e.epoch) }, `epoch ${e.epoch}`)));
    select.disabled = false;
    const newest = this.events[this.events.length - 1].epoch;
    const epoch = this.follow || !this.shown ? newest : this.shown.event.epoch;
    select.value = String(epoch);
    this.show(epoch);
  }

  show(epoch) {
    const event = this.events.find((e) => e.epoch === epoch);
    if (!event) return;
    const points = decodePoints(event);
    this.shown = { event, points, bounds: scatterBounds(points) };
    this.els.caption.textContent = `Epoch ${event.epoch}: ${fmt.int(points.count)} test images placed by ${codeCaption(event)}.`;
    this.els.canvas.dataset.points = String(points.count);
    this.els.canvas.setAttribute(
      "aria-label",
      `code space after epoch ${event.epoch}: ${points.count} test images, coloured by class; click or use the arrow keys to decode a point`,
    );
    this.legend(points);
    this.draw();
  }

  /** Swatches of the classes present in the scatter. */
  legend(points) {
    const present = [...new Set(points.labels)].sort((a, b) => a - b);
    this.els.legend.replaceChildren(
      ...present.map((label) =>
        h(
          "li",
          {},
          h("span", { class: "swatch", style: `background: ${classColour(label)}`, "aria-hidden": "true" }),
          this.labels[label] ?? String(label),
        ),
      ),
    );
  }

  draw() {
    const ctx = this.els.canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, SIDE, SIDE);
    if (!this.shown) return;
    const { points, bounds } = this.shown;
    ctx.strokeStyle = "#e5e7eb";
    ctx.lineWidth = 1;
    const origin = toPixel(bounds, SIDE, 0, 0);
    ctx.beginPath();
    ctx.moveTo(origin.px, 0);
    ctx.lineTo(origin.px, SIDE);
    ctx.moveTo(0, origin.py);
    ctx.lineTo(SIDE, origin.py);
    ctx.stroke();
    ctx.globalAlpha = 0.75;
    for (let i = 0; i < points.count; i++) {
      const { px, py } = toPixel(bounds, SIDE, points.x[i], points.y[i]);
      ctx.fillStyle = classColour(points.labels[i]);
      ctx.fillRect(px - 2, py - 2, 4, 4);
    }
    ctx.globalAlpha = 1;
    if (this.picked) {
      const { px, py } = toPixel(bounds, SIDE, this.picked.x, this.picked.y);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#111";
      ctx.beginPath();
      ctx.arc(px, py, 8, 0, 2 * Math.PI);
      ctx.moveTo(px - 13, py);
      ctx.lineTo(px + 13, py);
      ctx.moveTo(px, py - 13);
      ctx.lineTo(px, py + 13);
      ctx.stroke();
    }
  }

  down(event) {
    if (this.pointer !== null || event.button > 0 || !this.shown) return;
    event.preventDefault();
    this.pointer = event.pointerId;
    this.els.canvas.setPointerCapture?.(event.pointerId);
    this.pickAt(event);
  }

  move(event) {
    if (event.pointerId !== this.pointer) return;
    event.preventDefault();
    this.pickAt(event);
  }

  pickAt(event) {
    const rect = this.els.canvas.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * SIDE;
    const py = ((event.clientY - rect.top) / rect.height) * SIDE;
    const { x, y } = toPoint(this.shown.bounds, SIDE, px, py);
    this.pick(x, y);
  }

  key(event) {
    if (!this.shown) return;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const move = moves[event.key];
    if (!move && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    const { bounds } = this.shown;
    const from = this.picked ?? { x: bounds.cx, y: bounds.cy };
    const step = 2 * bounds.half * KEY_STEP;
    this.pick(from.x + (move?.[0] ?? 0) * step, from.y + (move?.[1] ?? 0) * step);
  }

  /** Decode the point (x, y) of the scatter shown. */
  pick(x, y) {
    this.picked = { x, y };
    this.draw();
    this.throttle.request(pointToCode(this.shown.event, x, y));
  }

  showDecoded(answer, code) {
    paintSample(this.els.decoded, answer.reconstruction);
    this.decodes += 1;
    this.els.decoded.dataset.decoded = String(this.decodes);
    const numbers = code.length <= 2 ? `(${code.map((v) => v.toFixed(2)).join(", ")})` : `of ${code.length} numbers`;
    this.els.decodedNote.textContent = `The code ${numbers} decoded with the weights of step ${fmt.int(answer.step)}.`;
  }
}
