// The draw page's time strip: the current drawing scored by every epoch the run keeps, as a grid
// (a column per epoch, a row per class, darker = more probable) and a line of answers. One
// request at a time; the newest drawing is asked once the last answer is in.
import * as api from "./api.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";

const SETTLE_MS = 250; // after a stroke ends, wait this long for the next before asking
const LIVE_MS = 3000; // while the run trains, new epochs are asked for this often
const LABEL_W = 28;
const AXIS_H = 20;

export class TimeStrip {
  /** `root`: templates/partials/time_strip.html; `pad`: the drawing canvas; `clear`: its button. */
  constructor(root, pad, clear = null) {
    this.root = root;
    this.pad = pad;
    this.canvas = root.querySelector("[data-role=strip-canvas]");
    this.list = root.querySelector("[data-role=strip-epochs]");
    this.state = root.querySelector("[data-role=strip-state]");
    this.runId = null;
    this.timer = null;
    this.live = null;
    this.inFlight = false;
    this.again = false;
    const soon = () => this.schedule();
    for (const type of ["pointerup", "pointercancel", "keyup"]) pad.addEventListener(type, soon);
    clear?.addEventListener("click", soon);
  }

  /** Score drawings with this run's kept epochs from now on (null: none chosen). */
  setRun(runId) {
    this.runId = runId;
    this.root.hidden = !runId;
    this.reset();
    if (runId && this.hasInk()) this.schedule(); // a drawing already there (not one being drawn)
  }

  /** While true (the run trains), the drawing is asked again now and then: new epochs appear. */
  setLive(live) {
    clearInterval(this.live);
    this.live = live ? setInterval(() => this.schedule(), LIVE_MS) : null;
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.ask(), SETTLE_MS);
  }

  /** Whether anything is drawn: some pixel differs from the corner's. */
  hasInk() {
    const { width, height } = this.pad;
    const pixels = this.pad.getContext("2d").getImageData(0, 0, width, height).data;
    for (let i = 4; i < pixels.length; i += 4) {
      if (pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2]) return true;
    }
    return false;
  }

  async ask() {
    if (!this.runId) return;
    if (!this.hasInk()) {
      this.reset();
      return;
    }
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    const runId = this.runId;
    try {
      const answer = await api.throughTime(runId, { image: this.pad.toDataURL("image/png") });
      if (runId === this.runId && this.hasInk()) this.show(answer);
    } catch (error) {
      if (runId === this.runId) this.say(error.message);
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        this.ask();
      }
    }
  }

  reset() {
    this.list.replaceChildren();
    this.say(this.runId ? "Draw to see how each saved epoch reads it." : "");
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
  }

  say(text) {
    this.state.textContent = text;
  }

  show({ epochs, classes }) {
    if (!epochs.length) {
      this.reset();
      this.say("No epoch saved yet: the strip fills as the run saves its epochs.");
      return;
    }
    this.say(`${epochs.length} saved epoch${epochs.length === 1 ? "" : "s"}`);
    this.draw(epochs, classes);
    this.list.replaceChildren(
      ...epochs.map((row) =>
        h(
          "li",
          { dataset: { epoch: String(row.epoch) } },
          `epoch ${row.epoch}: `,
          h("b", {}, classes[row.prediction] ?? String(row.prediction)),
          ` ${fmt.percent(row.probabilities[row.prediction], 0)}`,
        ),
      ),
    );
    const last = epochs[epochs.length - 1];
    this.canvas.setAttribute(
      "aria-label",
      `the softmax of your drawing at ${epochs.length} saved epochs; the last (epoch ${last.epoch}) says ${classes[last.prediction]}`,
    );
  }

  /** The grid: a column per epoch, a row per class; ink = probability. */
  draw(epochs, classes) {
    const rows = classes.length;
    const cell = Math.max(8, Math.min(36, Math.floor(560 / Math.max(epochs.length, 1))));
    const rowH = Math.max(10, Math.min(20, Math.floor(220 / rows)));
    const canvas = this.canvas;
    canvas.width = LABEL_W + cell * epochs.length + 4;
    canvas.height = rowH * rows + AXIS_H;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#4a5468";
    classes.forEach((name, c) => ctx.fillText(String(name).slice(0, 3), 2, c * rowH + rowH / 2));
    epochs.forEach((row, e) => {
      const x = LABEL_W + e * cell;
      row.probabilities.forEach((p, c) => {
        ctx.fillStyle = `rgba(36, 87, 197, ${Math.max(0.04, p).toFixed(3)})`;
        ctx.fillRect(x + 1, c * rowH + 1, cell - 2, rowH - 2);
      });
      ctx.strokeStyle = "#c2410c";
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, row.prediction * rowH + 1, cell - 2, rowH - 2); // the answer
      const every = Math.ceil(24 / cell);
      if (e % every === 0 || e === epochs.length - 1) {
        ctx.fillStyle = "#4a5468";
        ctx.fillText(String(row.epoch), x + 2, rows * rowH + AXIS_H / 2);
      }
    });
  }
}
