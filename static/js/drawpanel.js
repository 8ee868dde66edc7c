// The drawing panel: pad + live predictions over /ws/predict + the views of the answer.
// Used by the draw page (with feature maps) and beside a run's charts (without).
import * as api from "./api.js";
import { DrawCanvas } from "./canvas.js";
import { say } from "./dom.js";
import { MapGrids } from "./featuremaps.js";
import { PredictionView } from "./predictview.js";
import { PredictSocket } from "./socket.js";

const REFRESH_MS = 1500; // while a run trains, ask again so the answer follows the new weights

export class DrawPanel {
  /** `root` holds the elements of templates/partials/draw_panel.html. */
  constructor(root, { describeLayer = null } = {}) {
    this.root = root;
    this.runId = null;
    this.live = false;
    this.refresh = null;
    this.message = root.querySelector("[data-role=draw-message]");
    this.view = new PredictionView({
      digit: root.querySelector("[data-testid=prediction]"),
      confidence: root.querySelector("[data-role=confidence]"),
      bars: root.querySelector("[data-role=bars]"),
      saw: root.querySelector("[data-role=saw]"),
    });
    const maps = root.querySelector("[data-role=maps]");
    this.maps = maps ? new MapGrids(maps, { describe: describeLayer }) : null;
    this.mapsNote = root.querySelector("[data-role=maps-note]");
    this.pad = new DrawCanvas(root.querySelector("[data-testid=draw-canvas]"), {
      onChange: () => this.ask(),
    });
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

  /** Predict with this run's weights from now on (null: none chosen). */
  setRun(runId) {
    this.runId = runId;
    this.maps?.clear();
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
      if (this.mapsNote) this.mapsNote.hidden = false;
      say(this.message, "");
      return;
    }
    if (!this.runId) {
      say(this.message, "Pick a trained run to ask its opinion.", "info");
      return;
    }
    this.socket.predict({
      run_id: this.runId,
      image: this.pad.toDataURL(),
      activations: Boolean(this.maps),
    });
  }

  show(answer) {
    if (answer.run_id !== undefined && answer.run_id !== this.runId) return;
    if (!this.pad.hasInk) return; // cleared while the answer was on its way
    say(this.message, "");
    this.view.show(answer);
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
