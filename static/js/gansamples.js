// The run page's samples grid of a GAN run: what the generator makes of the same 64 noise
// vectors all run long, drawn from the newest gan_samples frame (live), or from the frame kept
// at the end of an epoch picked in the epoch picker.
import { imageRgba } from "./autoencoder.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { decodeSamples, gridLayout } from "./gan.js";

const LIVE = "live";

export class GanSamples {
  /** `els`: {canvas, caption, select}. */
  constructor(els) {
    this.els = els;
    this.live = null; // the newest frame
    this.kept = new Map(); // epoch → its at_epoch_end frame
    this.picked = LIVE; // LIVE, or an epoch number
    this.queued = false;
    els.select.addEventListener("change", () => {
      this.picked = els.select.value === LIVE ? LIVE : Number(els.select.value);
      this.schedule();
    });
  }

  /** A gan_samples frame (history or live). */
  add(frame) {
    if (!this.live || frame.step >= this.live.step) this.live = frame;
    if (frame.at_epoch_end) {
      const known = this.kept.has(frame.epoch);
      this.kept.set(frame.epoch, frame);
      if (!known) this.options();
    }
    this.schedule();
  }

  /** The picker: the newest frame, then each epoch's kept frame. */
  options() {
    const epochs = [...this.kept.keys()].sort((a, b) => a - b);
    this.els.select.replaceChildren(
      h("option", { value: LIVE }, "newest"),
      ...epochs.map((epoch) => h("option", { value: String(epoch) }, `after epoch ${epoch}`)),
    );
    this.els.select.value = String(this.picked);
    this.els.select.disabled = false;
  }

  get shown() {
    return this.picked === LIVE ? this.live : this.kept.get(this.picked) ?? this.live;
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  draw() {
    const frame = this.shown;
    if (!frame) return;
    const { bytes, shape, count } = decodeSamples(frame);
    const [, height, width] = shape;
    const grid = gridLayout(count, height, width);
    const canvas = this.els.canvas;
    if (canvas.width !== grid.width || canvas.height !== grid.height) {
      canvas.width = grid.width;
      canvas.height = grid.height;
    }
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, grid.width, grid.height);
    for (let i = 0; i < count; i++) {
      const { x, y } = grid.at(i);
      ctx.putImageData(new ImageData(imageRgba(bytes, shape, i), width, height), x, y);
    }
    const when = `step ${fmt.int(frame.step)}, epoch ${frame.epoch}`;
    const which = this.picked === LIVE ? "" : ` (kept after epoch ${frame.epoch})`;
    this.els.caption.textContent = `${count} images the generator made of the same noise at ${when}${which}.`;
    canvas.setAttribute("aria-label", `${count} images the generator made at ${when}, in a ${grid.columns}×${grid.rows} grid`);
    canvas.dataset.step = String(frame.step);
  }
}
