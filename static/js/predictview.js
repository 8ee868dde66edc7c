// What a model says about a digit: the top digit, ten probability bars, the 28×28 it saw.
import { h } from "./dom.js";
import { paintDigit } from "./featuremaps.js";

/** Ten bars; each track is a meter with data-testid `${prefix}${digit}` and data-value. */
export class ProbBars {
  constructor(container, { testidPrefix = "prob-" } = {}) {
    this.rows = [];
    container.replaceChildren();
    for (let digit = 0; digit < 10; digit++) {
      const fill = h("div", { class: "fill" });
      const track = h(
        "div",
        {
          class: "track",
          role: "meter",
          "aria-label": `probability of ${digit}`,
          "aria-valuemin": "0",
          "aria-valuemax": "1",
          "aria-valuenow": "0",
          dataset: { testid: `${testidPrefix}${digit}`, value: "0" },
        },
        fill,
      );
      const label = h("span", { class: "digit-label", "aria-hidden": "true" }, String(digit));
      const pct = h("span", { class: "pct", "aria-hidden": "true" }, "—");
      container.append(label, track, pct);
      this.rows.push({ label, track, fill, pct });
    }
  }

  update(probabilities) {
    const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    this.rows.forEach((row, digit) => {
      const p = probabilities ? probabilities[digit] : 0;
      row.fill.style.width = `${(p * 100).toFixed(2)}%`;
      row.track.dataset.value = String(p);
      row.track.setAttribute("aria-valuenow", p.toFixed(4));
      row.track.setAttribute("aria-valuetext", `${(p * 100).toFixed(1)}%`);
      row.pct.textContent = probabilities ? `${(p * 100).toFixed(1)}%` : "—";
      for (const el of [row.label, row.track, row.pct]) el.classList.toggle("is-top", digit === top);
    });
  }
}

/** The whole answer: big digit, confidence, bars, and the model's view of the input. */
export class PredictionView {
  constructor({ digit, confidence, bars, saw, testidPrefix = "prob-" }) {
    this.digit = digit;
    this.confidence = confidence;
    this.bars = new ProbBars(bars, { testidPrefix });
    this.saw = saw;
  }

  show(answer) {
    const p = answer.probabilities;
    const best = p[answer.prediction];
    this.digit.textContent = String(answer.prediction);
    this.digit.classList.toggle("unsure", best < 0.5);
    this.confidence.textContent =
      best < 0.5 ? `not sure: ${(best * 100).toFixed(0)}%` : `${(best * 100).toFixed(1)}% sure`;
    this.bars.update(p);
    if (this.saw && answer.input) paintDigit(this.saw, answer.input);
  }

  reset() {
    this.digit.textContent = "?";
    this.digit.classList.add("unsure");
    this.confidence.textContent = "";
    this.bars.update(null);
    if (this.saw) paintDigit(this.saw, new Uint8Array(28 * 28));
  }
}
