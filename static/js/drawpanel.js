// The drawing panel: pad + live predictions + the views of the answer. Used by the draw page
// (with feature maps) and beside a run's charts (without). MNIST runs are asked over
// /ws/predict (the drawing is prepared as MNIST's digits were); runs on other image datasets
// over REST, which stretches the drawing to their size and answers with their class names.
// An autoencoder run answers with what it rebuilds from the drawing and the code it made.
import * as api from "./api.js";
import { DrawCanvas } from "./canvas.js";
import { ExplainOverlay } from "./explainoverlay.js";
import { classLabels, isImage, isMnist } from "./datasets.js";
import { say } from "./dom.js";
import { MapGrids } from "./featuremaps.js";
import { PredictionView } from "./predictview.js";
import { PredictSocket } from "./socket.js";
import { UnitMath } from "./unitmath.js";

const REFRESH_MS = 1500; // while a run trains, ask again so the answer follows the new weights

export class DrawPanel {
  /** `root` holds the elements of templates/partials/draw_panel.html. */
  constructor(root, { describeLayer = null } = {}) {
    this.root = root;
    this.runId = null;
    this.dataset = null; // the run's GET /api/datasets entry; null: MNIST
    this.live = false;
    this.refresh = null;
    this.rest = { inFlight: false, again: false };
    this.message = root.querySelector("[data-role=draw-message]");
    this.view = new PredictionView({
      digit: root.querySelector("[data-testid=prediction]"),
      confidence: root.querySelector("[data-role=confidence]"),
      bars: root.querySelector("[data-role=bars]"),
      saw: root.querySelector("[data-role=saw]"),
      rebuilt: root.querySelector("[data-role=rebuilt]"),
      code: root.querySelector("[data-role=code]"),
    });
    const maps = root.querySelector("[data-role=maps]");
    this.maps = maps ? new MapGrids(maps, { describe: describeLayer }) : null;
    this.mapsNote = root.querySelector("[data-role=maps-note]");
    const canvas = root.querySelector("[data-testid=draw-canvas]");
    this.hint = root.querySelector(".draw-pad .muted");
    this.words = { canvas: canvas.getAttribute("aria-label"), hint: this.hint?.textContent ?? "" };
    this.pad = new DrawCanvas(canvas, {
      onChange: () => this.ask(),
    });
    const drawing = () => (this.pad.hasInk ? this.pad.toDataURL() : null);
    const why = root.querySelector("[data-role=why]"); // the draw page's "why did it say that?"
    const padHeat = root.querySelector("[data-testid=why-pad]");
    const bars = root.querySelector("[data-role=bars]");
    this.why = why ? new ExplainOverlay(why, { bars, image: drawing, padHeat }) : null;
    const unit = root.querySelector("[data-testid=unit-math]");
    this.unit = unit && maps ? new UnitMath(unit, maps, { image: drawing }) : null;
    root.querySelector("[data-testid=draw-clear]").addEventListener("click", () => {
      this.pad.clear();
      this.pad.canvas.focus();
    });
    this.socket = new PredictSocket({
      onResult: (answer) => this.show(answer),
      onError: (detail) => this.fail(detail),
      fallback: (message) =>
        api.predict(message.run_id, { image: message.image }, Boolean(message.activations)),
    });
    this.view.reset();
  }

  /** Predict with this run's weights from now on (null: none chosen). `dataset` is the run's
   *  dataset entry (null or MNIST: digits over the socket). */
  setRun(runId, dataset = null) {
    this.runId = runId;
    this.dataset = dataset && !isMnist(dataset) ? dataset : null;
    this.view.setLabels(classLabels(this.dataset?.outputs ?? 10, this.dataset?.classes));
    const canvas = this.pad.canvas;
    if (this.dataset) {
      const shape = this.dataset.input_shape ?? [];
      const size = shape.length === 3 ? ` (it is stretched to ${shape[1]}×${shape[2]})` : "";
      canvas.setAttribute("aria-label", `Drawing pad: draw something like a ${this.dataset.title} sample. Press Delete to clear.`);
      if (this.hint) this.hint.textContent = `Draw something like a ${this.dataset.title} sample${size}.`;
    } else {
      canvas.setAttribute("aria-label", this.words.canvas);
      if (this.hint) this.hint.textContent = this.words.hint;
    }
    this.maps?.clear();
    this.why?.setRun(runId);
    this.unit?.setRun(runId);
    this.root.classList.remove("rebuilds");
    this.view.reset();
    this.ask();
  }

  /** While true, the current drawing is re-predicted every REFRESH_MS. */
  setLive(live) {
    this.live = live;
    clearInterval(this.refresh);
    this.refresh = live ? setInterval(() => this.ask(), REFRESH_MS) : null;
  }

  ask() {
    if (!this.pad.hasInk) {
      this.view.reset();
      this.maps?.clear();
      this.why?.reset();
      this.unit?.hide();
      if (this.mapsNote) this.mapsNote.hidden = false;
      say(this.message, "");
      return;
    }
    if (!this.runId) {
      say(this.message, "Pick a trained run to ask its opinion.", "info");
      return;
    }
    if (this.dataset && this.dataset.input_shape && !isImage(this.dataset)) {
      say(this.message, `This run trains on ${this.dataset.title}, whose samples are not pictures: a drawing cannot stand in for one.`, "info");
      return;
    }
    const message = { run_id: this.runId, image: this.pad.toDataURL(), activations: Boolean(this.maps) };
    if (this.dataset) this.askRest(message);
    else this.socket.predict(message);
  }

  /** One REST request at a time; the newest drawing is asked once the last answer is in. */
  async askRest(message) {
    if (this.rest.inFlight) {
      this.rest.again = true;
      return;
    }
    this.rest.inFlight = true;
    try {
      const answer = await api.predict(message.run_id, { image: message.image }, message.activations);
      this.show({ ...answer, run_id: message.run_id });
    } catch (error) {
      if (message.run_id === this.runId) this.fail(error.message);
    } finally {
      this.rest.inFlight = false;
      if (this.rest.again) {
        this.rest.again = false;
        this.ask();
      }
    }
  }

  show(answer) {
    if (answer.run_id !== undefined && answer.run_id !== this.runId) return;
    if (!this.pad.hasInk) return; // cleared while the answer was on its way
    say(this.message, "");
    this.root.classList.toggle("rebuilds", PredictionView.rebuilds(answer));
    this.view.show(answer);
    this.why?.update(answer, this.view.bars.labels);
    if (this.maps) {
      this.maps.update(answer.activations ?? []);
      if (this.mapsNote) this.mapsNote.hidden = (answer.activations ?? []).length > 0;
    }
  }

  fail(detail) {
    const text = /no weights|not started|no checkpoint/i.test(detail)
      ? "This run has no weights yet: wait for its first training steps."
      : detail;
    say(this.message, text, "error");
  }
}
