// The training settings form, generated from the TrainConfig JSON Schema the API serves; the
// task (classify, autoencode, dqn…) is a picker of its own, and a preset's task parameters are
// kept as they are.
import { h } from "./dom.js";
import { schemaFields } from "./schemaform.js";
import { CLASSIFY, schemaTaskNames, taskName } from "./tasks.js";

export const LABELS = {
  epochs: "Epochs",
  batch_size: "Batch size",
  optimizer: "Optimizer",
  lr: "Learning rate",
  momentum: "Momentum",
  nesterov: "Nesterov momentum",
  weight_decay: "Weight decay",
  schedule: "LR schedule",
  step_size: "Step size (epochs)",
  gamma: "Decay factor (gamma)",
  loss: "Loss",
  regularization: "Regularization",
  regularization_rate: "Regularization rate",
  label_smoothing: "Label smoothing",
  seed: "Seed",
  train_subset: "Train on first N digits",
  eval_limit: "Evaluate on first N digits",
  early_stopping_patience: "Early stopping patience",
  restore_best: "Keep the best epoch",
  max_steps: "Max steps",
  precision: "Precision",
  channels_last: "Channels-last memory",
  normalize: "Normalise pixels",
  probe_index: "Probe digit (validation #)",
};

const HINTS = {
  lr: "step size of each update",
  early_stopping_patience: "epochs without a new best; empty: off",
  train_subset: "empty: all 50,000",
  eval_limit: "empty: all 10,000",
  max_steps: "empty: no cap",
  epochs: "passes over the data",
  batch_size: "digits per step",
};

// Chosen elsewhere on the page (the Build page's dataset picker) or by a control of its own (the
// task), never as a raw schema field.
const OWN_CONTROLS = ["dataset", "task"];

const TASK_WORDS = {
  classify: "classify (or learn values)",
  autoencode: "autoencode: rebuild the input",
  dqn: "deep Q-learning: play CartPole",
};

const PRIMARY = ["epochs", "batch_size", "optimizer", "lr", "schedule", "loss", "early_stopping_patience"];

export class TrainForm {
  /** `config`: GET /api/training/config ({schema, defaults, default_lr?}); `onTask(name)` is
   *  called when the task changes (a preset's, or the person's choice). */
  constructor(primaryEl, moreEl, config, { onTask = () => {} } = {}) {
    this.schema = config.schema;
    this.defaults = config.defaults ?? {};
    this.defaultLr = config.default_lr ?? null; // optional: {optimizer: lr}
    this.values = {};
    this.chosen = new Set(); // fields the person set (a preset's count too), not the page
    this.setting = false; // the page is setting a field (setInput)
    const keys = Object.keys(this.schema.properties ?? {}).filter((k) => !OWN_CONTROLS.includes(k));
    const more = keys.filter((k) => !PRIMARY.includes(k));
    const onChange = (key, value) => {
      if (value === undefined) delete this.values[key];
      else this.values[key] = value;
      if (this.setting) this.chosen.delete(key);
      else this.chosen.add(key);
      if (key === "optimizer") this.optimizerChanged();
    };
    const common = { onChange, labels: LABELS, hints: HINTS, idPrefix: "cfg" };
    const seed = { ...this.defaults };
    this.primary = schemaFields(this.schema, seed, { ...common, order: PRIMARY.filter((k) => keys.includes(k)) });
    this.more = schemaFields(this.schema, seed, { ...common, order: more });
    primaryEl.replaceChildren(this.primary.element);
    moreEl.replaceChildren(this.more.element);
    this.inputs = new Map([...this.primary.inputs, ...this.more.inputs]);
    this.onTask = onTask;
    this.task = undefined; // the config's task as it will be sent (undefined: classify)
    this.taskSelect = this.taskField(this.schema);
  }

  /** The task picker, first of the primary fields; a preset's task object is kept whole. */
  taskField(schema) {
    const select = h("select", { id: "cfg-task", dataset: { field: "task", testid: "task-select" } });
    for (const name of schemaTaskNames(schema)) select.append(h("option", { value: name }, TASK_WORDS[name] ?? name));
    select.addEventListener("change", () => {
      this.task = select.value === CLASSIFY ? undefined : select.value;
      this.onTask(select.value);
    });
    select.setAttribute("aria-describedby", "cfg-task-hint");
    const hint = h("span", { class: "hint", id: "cfg-task-hint" }, "what the model learns");
    this.primary.element.prepend(h("div", { class: "field", dataset: { key: "task" } }, h("label", { for: "cfg-task" }, "Task"), select, hint));
    return select;
  }

  /** Set the task: a name or {name, ...params}, kept as given (undefined: classify). */
  setTask(task) {
    this.task = task === CLASSIFY ? undefined : task;
    const name = taskName({ task });
    if (![...this.taskSelect.options].some((o) => o.value === name)) this.taskSelect.append(h("option", { value: name }, name));
    this.taskSelect.value = name;
    this.onTask(name);
  }

  /** The task's name now ("classify" when none is set). */
  get taskName() {
    return taskName({ task: this.task });
  }

  /** A new optimizer brings its own default learning rate, unless one was typed. */
  optimizerChanged() {
    const lr = this.inputs.get("lr");
    if (!lr || "lr" in this.values) return;
    const optimizer = this.values.optimizer ?? this.defaults.optimizer;
    const value = this.defaultLr?.[optimizer];
    lr.value = value !== undefined ? String(value) : "";
    lr.placeholder = value !== undefined ? "" : "the optimizer's default";
  }

  /** The settings that differ from the defaults (the server fills in the rest). */
  value() {
    return this.task === undefined ? { ...this.values } : { ...this.values, task: this.task };
  }

  /** Start over from the defaults with `fields` on top (e.g. a preset's training config). */
  reset(fields = {}) {
    this.values = {};
    this.setTask(fields.task);
    for (const key of this.inputs.keys()) {
      if (key === "lr" && !("lr" in fields)) continue; // the optimizer's own default, below
      this.setInput(key, key in fields ? fields[key] : this.defaults[key]);
    }
    if (!("lr" in fields)) this.optimizerChanged();
    this.chosen = new Set(Object.keys(fields));
    if (Object.keys(fields).some((key) => this.more.inputs.has(key))) {
      this.more.element.closest("details")?.setAttribute("open", "");
    }
  }

  /** The field's value now (its default when it was left alone). */
  current(key) {
    return key in this.values ? this.values[key] : this.defaults[key];
  }

  /** Whether the person (or a preset) set the field, rather than the page. */
  isChosen(key) {
    return this.chosen.has(key);
  }

  /** Offer only `options` in a select field (the others stay listed, disabled). */
  limitOptions(key, options) {
    const select = this.inputs.get(key);
    if (select?.tagName !== "SELECT") return;
    for (const option of select.options) option.disabled = option.value !== "" && !options.includes(option.value);
  }

  /** Set fields programmatically (e.g. from a run's config): the page's choice, not the person's. */
  setInput(key, value) {
    const input = this.inputs.get(key);
    if (!input) return;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = value === null || value === undefined ? "" : String(value);
    this.setting = true;
    try {
      input.dispatchEvent(new Event(input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input"));
    } finally {
      this.setting = false;
    }
  }

  /** Replace the hint under a field (e.g. the split sizes of the chosen dataset). */
  setHint(key, text) {
    const input = this.inputs.get(key);
    const hint = input?.getAttribute("aria-describedby");
    const box = hint ? document.getElementById(hint) : null;
    if (box) box.textContent = text;
  }

  /** Mark fields named in a 422's detail; returns the messages. */
  markErrors(detail) {
    const byField = {};
    const messages = [];
    for (const item of Array.isArray(detail) ? detail : [detail]) {
      if (!item) continue;
      const loc = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body" && p !== "config") : [];
      const field = item.field ?? (loc.length ? String(loc[loc.length - 1]) : null);
      const message = item.message ?? item.msg ?? String(item);
      if (field) byField[field] = message;
      messages.push(field && !message.startsWith(field) ? `${LABELS[field] ?? field}: ${message}` : message);
    }
    this.primary.markErrors(byField);
    this.more.markErrors(byField);
    if (Object.keys(byField).some((k) => this.more.inputs.has(k))) {
      this.more.element.closest("details")?.setAttribute("open", "");
    }
    return messages;
  }

  clearErrors() {
    this.primary.markErrors({});
    this.more.markErrors({});
  }
}
