// The run page's "Reconstructions" of an autoencode run: the fixed test images in a row, what
// the model saw when that differs (a denoiser's noisy copies), and what it rebuilt, redrawn from
// reconstructions frames at most four times a second.
import { bytesOf, differ, imageRgba } from "./autoencoder.js";
import * as ds from "./datasets.js";
import { h, need } from "./dom.js";
import * as fmt from "./format.js";

const DRAW_MS = 250;

export class ReconstructionPanel {
  constructor(root = document) {
    this.els = { grid: need("#recon-grid", root), step: need("#recon-step", root), note: need("#recon-note", root) };
    this.labels = ds.classLabels(10);
    this.frame = null;
    this.timer = null;
    this.drawnAt = 0;
    this.rows = null; // {key, cells: {originals, inputs, outputs}: canvases per image}
  }

  setLabels(labels) {
    this.labels = labels;
  }

  /** Draw `frame` (a reconstructions event) soon, at most every DRAW_MS. */
  schedule(frame) {
    this.frame = frame;
    if (this.timer) return;
    const wait = Math.max(0, DRAW_MS - (performance.now() - this.drawnAt));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drawnAt = performance.now();
      requestAnimationFrame(() => this.draw());
    }, wait);
  }

  draw() {
    const frame = this.frame;
    if (!frame) return;
    const shape = frame.shape;
    const count = frame.indices.length;
    const originals = bytesOf(frame.originals);
    const inputs = bytesOf(frame.inputs);
    const outputs = bytesOf(frame.outputs);
    const noisy = differ(originals, inputs);
    const rows = [
      ["originals", "original", originals],
      ...(noisy ? [["inputs", "noisy input", inputs]] : []),
      ["outputs", "rebuilt", outputs],
    ];
    const key = `${count}:${shape.join("x")}:${noisy}`;
    if (this.rows?.key !== key) this.build(frame, rows, key);
    const [, height, width] = shape;
    for (const [name, , bytes] of rows) {
      this.rows.cells[name].forEach((canvas, i) => {
        canvas.getContext("2d").putImageData(new ImageData(imageRgba(bytes, shape, i), width, height), 0, 0);
      });
    }
    this.els.step.textContent = `step ${fmt.int(frame.step)} · epoch ${frame.epoch}`;
    this.els.note.hidden = true;
  }

  /** Canvases for `rows` × the frame's images, with each row's name and each image's class. */
  build(frame, rows, key) {
    const [, height, width] = frame.shape;
    const count = frame.indices.length;
    const cells = {};
    const children = [];
    for (const [name, title] of rows) {
      cells[name] = [];
      children.push(h("div", { class: "recon-label small muted" }, title));
      for (let i = 0; i < count; i++) {
        const label = this.labels[frame.labels[i]] ?? String(frame.labels[i]);
        const canvas = h("canvas", {
          width,
          height,
          role: "img",
          "aria-label": `${title} of test image #${frame.indices[i]} (${label})`,
          dataset: { testid: `recon-${name}` },
        });
        cells[name].push(canvas);
        children.push(canvas);
      }
    }
    this.els.grid.style.setProperty("--recon-columns", String(count));
    this.els.grid.replaceChildren(...children);
    this.rows = { key, cells };
  }
}
