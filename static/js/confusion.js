// The confusion matrix of an epoch: rows are true classes (MNIST's digits, or the dataset's class
// names), columns predictions. Each cell is a button, so the keyboard can reach it; selecting one
// asks the page to show those samples.
import { areDigits, classLabels } from "./datasets.js";
import { h } from "./dom.js";
import { paintDigit } from "./featuremaps.js";

const BLUE = [36, 87, 197]; // correct answers
const RED = [180, 35, 24]; // mistakes

/** `colour` at `alpha` over white, and the text colour (black or white) that reads best on it. */
function cellColours(colour, alpha) {
  const rgb = colour.map((c) => Math.round(255 * (1 - alpha) + c * alpha));
  const linear = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
  const onBlack = (luminance + 0.05) / 0.05;
  const onWhite = 1.05 / (luminance + 0.05);
  return { background: `rgb(${rgb.join(" ")})`, text: onBlack >= onWhite ? "#000" : "#fff" };
}

export class ConfusionView {
  constructor(container, { onSelect }) {
    this.container = container;
    this.onSelect = onSelect;
    this.selected = null;
    this.buttons = [];
    this.size = 10;
  }

  /** Draw `matrix` ([label][prediction] counts); `classes` names the rows and columns. */
  update(matrix, classes = null) {
    const n = matrix.length;
    const names = classLabels(n, classes);
    const digits = areDigits(names);
    const unit = digits ? "digit" : "class";
    this.size = n;
    const table = h("table", { class: "confusion" });
    const caption = `rows: the true ${unit} · columns: what the model said`;
    // Digits keep their caption; a table of few classes is too narrow for one, so its words
    // stand above it (and stay the table's caption for screen readers).
    table.append(h("caption", { class: digits ? "small muted" : "visually-hidden" }, caption));
    const upright = names.every((name) => name.length <= 3);
    const head = h("tr", {}, h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, `true ${unit}`)));
    for (let p = 0; p < n; p++) {
      head.append(
        digits || upright
          ? h("th", { scope: "col" }, names[p])
          : h("th", { scope: "col", class: "col-name", title: names[p] }, h("span", {}, names[p])),
      );
    }
    table.append(h("thead", {}, head));
    const body = h("tbody");
    this.buttons = [];
    for (let label = 0; label < n; label++) {
      const row = matrix[label];
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const rowHead = digits
        ? h("th", { scope: "row" }, names[label])
        : h("th", { scope: "row", class: "row-name", title: names[label] }, names[label]);
      const tr = h("tr", {}, rowHead);
      for (let pred = 0; pred < n; pred++) {
        const count = row[pred];
        const share = count / total;
        const diagonal = label === pred;
        const strength = diagonal ? share : Math.min(1, share * 5);
        const colours = cellColours(diagonal ? BLUE : RED, 0.08 + 0.92 * strength);
        const button = h(
          "button",
          {
            type: "button",
            "aria-label": `true ${names[label]}, predicted ${names[pred]}: ${count} ${digits ? "digits" : "samples"}`,
            "aria-pressed": String(this.isSelected(label, pred)),
            onclick: () => this.select(label, pred),
          },
          String(count),
        );
        if (count || diagonal) {
          button.style.background = colours.background;
          button.style.color = colours.text;
        }
        this.buttons.push(button);
        tr.append(h("td", {}, button));
      }
      body.append(tr);
    }
    table.append(body);
    this.container.replaceChildren(
      ...(digits ? [] : [h("p", { class: "small muted confusion-caption", "aria-hidden": "true" }, caption)]),
      table,
    );
  }

  isSelected(label, pred) {
    return this.selected !== null && this.selected[0] === label && this.selected[1] === pred;
  }

  select(label, pred) {
    this.selected = [label, pred];
    this.buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === label * this.size + pred)));
    this.onSelect(label, pred);
  }
}

/** Digits as small canvases with their label, prediction and probability. */
export function digitFigures(container, examples) {
  container.replaceChildren(
    ...examples.map((example) => {
      const canvas = h("canvas", { width: 28, height: 28, role: "img", "aria-label": `a ${example.label}` });
      paintDigit(canvas, example.image);
      return h(
        "figure",
        {},
        canvas,
        h(
          "figcaption",
          {},
          `said ${example.prediction} (${(example.probability * 100).toFixed(0)}%)`,
          h("br"),
          h("span", { class: "muted" }, `digit #${example.index}`),
        ),
      );
    }),
  );
}
