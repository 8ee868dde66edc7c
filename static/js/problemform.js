// The Build page's settings of a 2-D problem: noise, points, the train/test split, the seed and
// the input features, as the training config's schema describes them ($defs.PlanarParams).
// The defaults are the dataset list's `params`; `value()` is what the run config sends.
import { h } from "./dom.js";
import { schemaFields } from "./schemaform.js";

const NUMBERS = ["noise", "points", "train_ratio", "seed"];
const LABELS = { noise: "Noise", points: "Points", train_ratio: "Share to train", seed: "Data seed" };
const HINTS = {
  noise: "0 (clean) to 0.5",
  points: "train + test",
  train_ratio: "the rest is for testing",
  seed: "same seed, same points",
};
// how the features read as maths
const FEATURE_TEXT = { "x1^2": "x1²", "x2^2": "x2²", x1x2: "x1·x2", sin_x1: "sin(x1)", sin_x2: "sin(x2)" };

/** The schema of a 2-D problem's parameters in the training config's schema, or null. */
export function paramsSchema(trainSchema) {
  const options = trainSchema?.properties?.dataset?.anyOf ?? [];
  const ref = options.find((o) => typeof o.$ref === "string")?.$ref;
  const schema = ref ? trainSchema.$defs?.[ref.split("/").pop()] : null;
  return schema?.properties ? schema : null;
}

export class ProblemForm {
  /** `container`: where the fields go; `schema`: paramsSchema(…); `onChange()`: after an edit. */
  constructor(container, schema, { onChange = () => {} } = {}) {
    this.container = container;
    this.schema = schema;
    this.onChange = onChange;
    this.defaults = {};
    this.params = {};
    this.numbers = null;
    this.boxes = new Map(); // feature name → its checkbox
  }

  /** Show the fields with `params` (the dataset's listed defaults, then any changes on top). */
  show(defaults, params = {}) {
    this.defaults = { ...defaults };
    if (!this.numbers) this.build();
    this.set(params);
  }

  build() {
    const onChange = (key, value) => {
      this.params[key] = value === undefined ? this.defaults[key] : value;
      this.onChange();
    };
    const numbers = NUMBERS.filter((key) => this.schema.properties[key]);
    this.numbers = schemaFields(this.schema, this.defaults, { onChange, labels: LABELS, hints: HINTS, order: numbers, idPrefix: "ds" });
    const names = this.schema.properties.features?.items?.enum ?? [];
    const boxes = names.map((name) => {
      const box = h("input", { type: "checkbox", id: `ds-feature-${name}`, dataset: { feature: name } });
      box.addEventListener("change", () => {
        this.params.features = names.filter((n) => this.boxes.get(n).checked);
        this.lockLast();
        this.onChange();
      });
      this.boxes.set(name, box);
      return h("div", { class: "field check" }, box, h("label", { for: box.id }, FEATURE_TEXT[name] ?? name));
    });
    const features = names.length
      ? h(
          "div",
          { role: "group", "aria-labelledby": "ds-features-title", class: "mt-xs" },
          h("p", { class: "small", id: "ds-features-title" }, "Input features (the network takes one input per feature)"),
          h("div", { class: "fields" }, ...boxes),
        )
      : null;
    this.container.replaceChildren(this.numbers.element, ...(features ? [features] : []));
  }

  /** Put `params` (a run config's or a preset's) over the defaults. */
  set(params = {}) {
    this.params = { ...this.defaults, ...params };
    for (const [key, input] of this.numbers.inputs) {
      const value = this.params[key];
      input.value = value === null || value === undefined ? "" : String(value);
    }
    const features = this.params.features ?? [];
    for (const [name, box] of this.boxes) box.checked = features.includes(name);
    this.lockLast();
    this.markErrors({});
  }

  /** The last checked feature cannot be unticked: a network needs an input. */
  lockLast() {
    const checked = [...this.boxes.values()].filter((box) => box.checked);
    for (const box of this.boxes.values()) box.disabled = checked.length === 1 && box.checked;
  }

  /** The parameters as the run config sends them (without the name). */
  value() {
    return { ...this.params };
  }

  /** Mark the fields a 422 names ({noise: "must be ≤ 0.5, got 0.9"}). */
  markErrors(byField) {
    this.numbers?.markErrors(byField);
  }
}
