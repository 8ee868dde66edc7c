// The run page's walk between two noise vectors of a GAN: two seeds (each its own noise), a
// row of images along the path between them, and a slider whose point the generator draws with
// the run's latest weights; at most one request in flight (LatestOnly).
import * as api from "./api.js";
import { LatestOnly } from "./autoencoder.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { INTERPOLATIONS, noiseVector, path, unitRgba } from "./gan.js";

const ROW = 8; // images along the path
const SEEDS = 2 ** 31;

function randomSeed() {
  return Math.floor(Math.random() * SEEDS);
}

export class GanInterpolation {
  /** `els`: {seedA, seedB, newA, newB, method, slider, row, image, note}. */
  constructor(runId, els) {
    this.els = els;
    this.latent = 0; // the generator's noise size, from the model's spec
    this.ready = false; // the run has weights to generate with
    this.rowKey = null; // the endpoints and method of the row drawn
    this.cells = Array.from({ length: ROW }, (_, i) =>
      h("canvas", { class: "gan-cell", width: 28, height: 28, role: "img", "aria-label": `point ${i + 1} of ${ROW} on the path`, dataset: { testid: "gan-path-image" } }),
    );
    els.row.replaceChildren(...this.cells);
    this.throttle = new LatestOnly((job) => api.generate(runId, job.noise), {
      onResult: (answer, job) => this.show(answer, job),
      onError: (error) => {
        els.note.textContent = `No image: ${error.message}`;
      },
    });
    els.seedA.value = String(randomSeed());
    els.seedB.value = String(randomSeed());
    els.newA.addEventListener("click", () => this.reseed(els.seedA));
    els.newB.addEventListener("click", () => this.reseed(els.seedB));
    for (const el of [els.seedA, els.seedB, els.method]) el.addEventListener("change", () => this.request());
    els.slider.addEventListener("input", () => this.request());
  }

  /** The run's model: its spec's input is the noise. */
  setModel(model) {
    this.latent = Number(model?.spec?.input_shape?.[0]) || 0;
    this.request();
  }

  /** The run has weights (published just before its first samples frame, or it ended). */
  enable() {
    if (this.ready) return;
    this.ready = true;
    this.request();
  }

  /** New weights are worth a look: redraw the row and the slider's image. */
  refresh() {
    this.rowKey = null;
    this.request();
  }

  reseed(input) {
    input.value = String(randomSeed());
    this.request();
  }

  seed(input) {
    const value = Math.floor(Number(input.value));
    return Number.isFinite(value) ? ((value % SEEDS) + SEEDS) % SEEDS : 0;
  }

  /** Ask for what is not drawn yet: the row when the endpoints or the method changed, and the
   *  slider's image. */
  request() {
    const { els } = this;
    const disabled = !this.ready || !this.latent;
    for (const el of [els.seedA, els.seedB, els.newA, els.newB, els.method, els.slider]) el.disabled = disabled;
    if (disabled) return;
    const seeds = [this.seed(els.seedA), this.seed(els.seedB)];
    const method = INTERPOLATIONS[els.method.value] ? els.method.value : "slerp";
    const key = `${seeds.join(":")}:${method}:${this.latent}`;
    const [a, b] = seeds.map((seed) => noiseVector(this.latent, seed));
    const t = Number(els.slider.value);
    const point = INTERPOLATIONS[method](a, b, t);
    const row = key === this.rowKey ? [] : path(a, b, ROW, method);
    this.throttle.request({ key, t, method, noise: [...row, point] });
  }

  show(answer, job) {
    const [, height, width] = answer.shape;
    const paint = (canvas, image) => {
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d").putImageData(new ImageData(unitRgba(image), width, height), 0, 0);
    };
    const images = answer.images;
    if (images.length > 1) {
      this.cells.forEach((canvas, i) => paint(canvas, images[i]));
      this.rowKey = job.key;
    }
    paint(this.els.image, images[images.length - 1]);
    const way = job.method === "slerp" ? "along the sphere" : "on the straight line";
    this.els.image.setAttribute("aria-label", `the image of the noise ${Math.round(job.t * 100)}% of the way from A to B`);
    this.els.image.dataset.t = String(job.t);
    this.els.note.textContent = `${Math.round(job.t * 100)}% of the way from A to B, ${way}; made with the weights of step ${fmt.int(answer.step)}.`;
  }
}
