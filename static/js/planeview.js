// The 2-D playground's plane (DOM): the newest frame's output painted over [-6, 6]², the data
// points on it coloured by their target, the legend of what the colours mean and the note that
// says which moment of the run is shown.

import * as fmt from "./format.js";
import * as p2 from "./plane2d.js";
import * as pd from "./planedraw.js";

/** Paint `levels` (side² bytes, one per pixel) through `lut` onto `canvas`, sized side×side. */
export function paintLevels(canvas, levels, side, lut) {
  if (canvas.width !== side) canvas.width = canvas.height = side;
  canvas.getContext("2d").putImageData(new ImageData(pd.paint(levels, lut), side, side), 0, 0);
}

export class PlaneView {
  /**
   * `els`: {canvas, note, legendTitle, legendTicks: [low, middle, high]}; `options`: the
   * {showTest, discretize} checkboxes.
   */
  constructor(els, options) {
    this.els = els;
    this.options = options;
    this.output = document.createElement("canvas"); // the frame's output at its resolution
    this.luts = { smooth: pd.makeLut({ wash: true }), discrete: pd.makeLut({ wash: true, discrete: true }) };
    this.kind = null;
  }

  /**
   * Draw `frame` (or nothing but white: null) and `points` ([{x1, x2, label, value, test}]); `kind` is
   * the frame's output_kind (or, without a frame, what the chosen problem's will be);
   * `finished`: the run has completed.
   */
  draw({ frame, points, kind, finished = false }) {
    const { canvas, note } = this.els;
    const side = canvas.width;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, side, side);
    const legend = this.#legend(frame?.output_kind ?? kind);
    if (frame) {
      const r = frame.resolution;
      const discrete = this.options.discretize.checked;
      paintLevels(this.output, pd.decodeBase64(frame.output), r, discrete ? this.luts.discrete : this.luts.smooth);
      // The frame's values are at the grid's points, edges included: centre each cell on its point.
      const cell = side / (r - 1);
      ctx.imageSmoothingEnabled = !discrete;
      ctx.drawImage(this.output, -cell / 2, -cell / 2, side + cell, side + cell);
      canvas.dataset.step = String(frame.step);
      canvas.dataset.epoch = String(frame.epoch);
      const end = frame.at_epoch_end ? " (end)" : "";
      const done = finished ? " Finished: press play to train again." : "";
      note.textContent = `Epoch ${frame.epoch}${end}, step ${fmt.int(frame.step)}: ${legend.note}.${done}`;
    } else {
      delete canvas.dataset.step;
    }
    const radius = Math.max(2.5, side / 110);
    for (const point of points) {
      if (point.test && !this.options.showTest.checked) continue;
      const [x, y] = pd.toCanvas(point.x1, point.x2, side);
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = pd.cssColor(point.value);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = point.test ? "#000000" : "#ffffff";
      ctx.stroke();
    }
    canvas.dataset.points = String(points.length);
  }

  /** Show the legend of this output kind (once per change); returns it. */
  #legend(kind) {
    const legend = p2.LEGENDS[kind] ?? p2.LEGENDS.probability;
    if (kind === this.kind) return legend;
    this.kind = kind;
    const { canvas, legendTitle, legendTicks } = this.els;
    legendTitle.textContent = legend.title;
    legendTicks.forEach((el, i) => (el.textContent = legend.ticks[i]));
    canvas.dataset.output = kind;
    canvas.setAttribute(
      "aria-label",
      `The plane from -6 to 6 on both axes: ${legend.says} at each point (orange -1, blue +1) and the data points`,
    );
    return legend;
  }
}
