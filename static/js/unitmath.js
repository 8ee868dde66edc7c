// CNN Explainer's lesson on the person's own model: click a unit of a feature map to see the
// input patch, the kernel and the arithmetic that made its value (patch × kernel + bias).
import * as api from "./api.js";
import { h } from "./dom.js";

const SHOWN_CHANNELS = 3; // input channels drawn out in full; the rest as their sums
const num = (v) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));

/** One k×k grid of numbers as a table; `padded` cells are marked. */
function grid(values, padded, title) {
  const rows = values.map((row, y) =>
    h("tr", {}, row.map((v, x) => h("td", { class: padded?.[y]?.[x] ? "pad" : null, title: padded?.[y]?.[x] ? "padding: 0" : null }, num(v)))),
  );
  return h("table", { class: "unit-grid", "aria-label": title }, h("caption", {}, title), h("tbody", {}, rows));
}

export class UnitMath {
  /** `panel`: [data-testid=unit-math]; `maps`: the feature maps' container (canvases carry
   *  data-path and data-channel); `image()`: the drawing as a data URL, or null. */
  constructor(panel, maps, { image }) {
    this.panel = panel;
    this.image = image;
    this.runId = null;
    this.asked = 0;
    this.where = panel.querySelector("[data-role=unit-where]");
    this.channels = panel.querySelector("[data-role=unit-channels]");
    this.sum = panel.querySelector("[data-testid=unit-sum]");
    this.note = panel.querySelector("[data-role=unit-note]");
    maps.classList.add("unit-pickable");
    maps.addEventListener("click", (event) => this.pick(event));
    panel.querySelector("[data-testid=unit-close]").addEventListener("click", () => this.hide());
  }

  setRun(runId) {
    this.runId = runId;
    this.hide();
  }

  hide() {
    this.panel.hidden = true;
    this.asked++;
  }

  async pick(event) {
    const canvas = event.target.closest("canvas[data-path]");
    const image = this.image();
    if (!canvas || !image || !this.runId) return;
    const box = canvas.getBoundingClientRect();
    const at = (offset, size, cells) => Math.max(0, Math.min(cells - 1, Math.floor((offset / size) * cells)));
    const body = {
      image,
      layer: canvas.dataset.path,
      channel: Number(canvas.dataset.channel),
      y: at(event.clientY - box.top, box.height, canvas.height),
      x: at(event.clientX - box.left, box.width, canvas.width),
      shown: [canvas.height, canvas.width], // maps larger than 28×28 are shown downsampled
    };
    const asked = ++this.asked;
    try {
      const unit = await api.explainUnit(this.runId, body);
      if (asked === this.asked) this.show(unit);
    } catch (error) {
      if (asked !== this.asked) return;
      this.panel.hidden = false;
      this.where.textContent = error.message;
      this.channels.replaceChildren();
      this.sum.textContent = "";
    }
  }

  show(unit) {
    const [kh, kw] = [unit.kernel[0].length, unit.kernel[0][0].length];
    const [oh, ow] = unit.output_size;
    const rows = `${unit.rows[0]}…${unit.rows.at(-1)}`;
    const cols = `${unit.cols[0]}…${unit.cols.at(-1)}`;
    this.where.textContent =
      `Layer ${unit.layer}, channel ${unit.channel + 1}, unit at row ${unit.y}, column ${unit.x} of its ${oh}×${ow} map. ` +
      `Kernel ${kh}×${kw}, stride ${unit.stride.join("×")}, padding ${unit.padding.join("×")}: it reads input rows ${rows}, columns ${cols} ` +
      `of the ${unit.input_size[1]}×${unit.input_size[2]} input` +
      (unit.padded.flat().some(Boolean) ? " (outlined cells lie in the padding: zeros)." : ".");
    const blocks = unit.input_channels.slice(0, SHOWN_CHANNELS).map((channel, i) =>
      h(
        "div",
        { class: "unit-channel" },
        grid(unit.patch[i], unit.padded, `input channel ${channel + 1}: the patch`),
        h("span", { class: "unit-op" }, "×"),
        grid(unit.kernel[i], null, "the kernel"),
        h("span", { class: "unit-op" }, `= ${num(unit.channel_sums[i])}`),
      ),
    );
    const rest = unit.input_channels.length - SHOWN_CHANNELS;
    if (rest > 0) {
      const more = unit.channel_sums.slice(SHOWN_CHANNELS).reduce((a, b) => a + b, 0);
      blocks.push(h("p", { class: "small muted" }, `…and ${rest} more input channels, whose products add up to ${num(more)}.`));
    }
    this.channels.replaceChildren(...blocks);
    this.sum.textContent = `Σ products ${num(unit.sum)} + bias ${num(unit.bias)} = ${num(unit.total)}; the feature map holds ${num(unit.value)}`;
    const source = unit.reads_picture
      ? "The patch is your picture as the network reads it, standardised as in training (black is below 0). "
      : "The patch is the previous layer's output. ";
    this.note.textContent =
      `${source}The value is this layer's output before its activation: a ReLU after it would turn a negative value into 0. ` +
      "The maps above are scaled per channel: dark is the channel's lowest value, bright its highest.";
    this.panel.hidden = false;
    this.panel.dataset.layer = unit.layer;
  }
}
