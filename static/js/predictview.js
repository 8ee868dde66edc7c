// What a model says about a sample: the top class, one probability bar per class, the input it
// saw. MNIST's digits 0–9 by default; another dataset's class names once they are known. An
// autoencoder answers with what it rebuilt and the code it rebuilt it from instead.
import { codeText } from "./autoencoder.js";
import { areDigits, classLabels } from "./datasets.js";
import { h } from "./dom.js";
import { paint, paintSample } from "./featuremaps.js";

/** One bar per class; each track is a meter with data-testid `${prefix}${index}` and data-value. */
export class ProbBars {
  constructor(container, { testidPrefix = "prob-", labels = null } = {}) {
    this.container = container;
    this.testidPrefix = testidPrefix;
    this.rows = [];
    this.labels = [];
    this.setLabels(labels ?? classLabels(10));
  }

  /** Rebuild the bars for these class names (nothing happens when they are the same). */
  setLabels(labels) {
    if (labels.length === this.labels.length && labels.every((l, i) => l === this.labels[i])) return;
    this.labels = labels.map(String);
    const digits = areDigits(this.labels);
    this.container.classList.toggle("named", !digits);
    this.container.replaceChildren();
    this.rows = this.labels.map((name, index) => {
      const fill = h("div", { class: "fill" });
      const track = h(
        "div",
        {
          class: "track",
          role: "meter",
          "aria-label": `probability of ${name}`,
          "aria-valuemin": "0",
          "aria-valuemax": "1",
          "aria-valuenow": "0",
          dataset: { testid: `${this.testidPrefix}${index}`, value: "0" },
        },
        fill,
      );
      const label = h("span", { class: "digit-label", "aria-hidden": "true", title: digits ? null : name }, name);
      const pct = h("span", { class: "pct", "aria-hidden": "true" }, "—");
      this.container.append(label, track, pct);
      return { label, track, fill, pct };
    });
  }

  update(probabilities) {
    if (probabilities && probabilities.length !== this.rows.length) {
      this.setLabels(classLabels(probabilities.length));
    }
    const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    this.rows.forEach((row, index) => {
      const p = probabilities ? probabilities[index] : 0;
      row.fill.style.width = `${(p * 100).toFixed(2)}%`;
      row.track.dataset.value = String(p);
      row.track.setAttribute("aria-valuenow", p.toFixed(4));
      row.track.setAttribute("aria-valuetext", `${(p * 100).toFixed(1)}%`);
      row.pct.textContent = probabilities ? `${(p * 100).toFixed(1)}%` : "—";
      for (const el of [row.label, row.track, row.pct]) el.classList.toggle("is-top", index === top);
    });
  }
}

/** The whole answer: the top class (big), confidence, bars, and the model's view of the input;
 *  for an autoencoder, its reconstruction and code (`rebuilt`, `code`: optional elements). */
export class PredictionView {
  constructor({ digit, confidence, bars, saw, rebuilt = null, code = null, testidPrefix = "prob-" }) {
    this.digit = digit;
    this.confidence = confidence;
    this.bars = new ProbBars(bars, { testidPrefix });
    this.saw = saw;
    this.rebuilt = rebuilt;
    this.code = code;
  }

  /** Whether an answer is an autoencoder's (a reconstruction and a code, no classes). */
  static rebuilds(answer) {
    return Array.isArray(answer.reconstruction);
  }

  /** Name the classes (an answer's `classes` also does). */
  setLabels(labels) {
    this.bars.setLabels(labels);
  }

  show(answer) {
    if (this.saw && answer.input) paintSample(this.saw, answer.input);
    if (PredictionView.rebuilds(answer)) {
      if (this.rebuilt) paintSample(this.rebuilt, answer.reconstruction);
      if (this.code) this.code.textContent = codeText(answer.code ?? []);
      return;
    }
    const p = answer.probabilities;
    if (Array.isArray(answer.classes) && answer.classes.length === p.length) this.setLabels(answer.classes);
    else if (p.length !== this.bars.labels.length) this.setLabels(classLabels(p.length));
    const best = p[answer.prediction];
    const name = this.bars.labels[answer.prediction] ?? String(answer.prediction);
    this.digit.textContent = name;
    this.digit.classList.toggle("word", !areDigits(this.bars.labels));
    this.digit.classList.toggle("unsure", best < 0.5);
    this.confidence.textContent =
      best < 0.5 ? `not sure: ${(best * 100).toFixed(0)}%` : `${(best * 100).toFixed(1)}% sure`;
    this.bars.update(p);
  }

  reset() {
    this.digit.textContent = "?";
    this.digit.classList.add("unsure");
    this.digit.classList.remove("word");
    this.confidence.textContent = "";
    this.bars.update(null);
    for (const canvas of [this.saw, this.rebuilt]) {
      if (canvas) paint(canvas, new Uint8Array(canvas.width * canvas.height), canvas.width, canvas.height);
    }
    if (this.code) this.code.textContent = "";
  }
}
