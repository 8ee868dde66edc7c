// The run page's time travel panel: where a branch came from (a link to its parent), and a form
// that starts a new run from one of the epochs this run keeps, with other settings.
import * as api from "./api.js";
import { h, say } from "./dom.js";
import * as fmt from "./format.js";

const REFRESH_MS = 2000; // kept epochs are re-read at most this often while the run trains

/** Summary rows with weights, inner layers of residual blocks included: [{path, type, params}]. */
function weighted(layers, out = []) {
  for (const layer of layers ?? []) {
    if (layer.params > 0) out.push(layer);
    weighted(layer.layers, out);
  }
  return out;
}

export class BranchPanel {
  /** The elements of templates/partials/branch_panel.html (the form is absent for share links). */
  constructor(root = document) {
    const q = (id) => root.querySelector(`#${id}`);
    this.els = {
      section: q("branch-section"),
      kept: q("branch-kept"),
      origin: q("branch-origin"),
      parent: q("branch-parent"),
      epochShown: q("branch-epoch-shown"),
      note: q("branch-note"),
      form: q("branch-form"),
      from: q("branch-from"),
      epochs: q("branch-epochs"),
      lr: q("branch-lr"),
      optimizer: q("branch-optimizer"),
      batch: q("branch-batch"),
      schedule: q("branch-schedule"),
      frozen: q("branch-frozen"),
      start: q("branch-start"),
      message: q("branch-message"),
    };
    this.run = null;
    this.kept = [];
    this.loadedAt = 0;
    this.filled = false;
    this.later = null;
    this.els.form?.addEventListener("submit", (event) => this.submit(event));
    this.els.from?.addEventListener("change", () => this.fitEpochs());
  }

  /** Show the run's origin (a branch) and the epochs it keeps to branch from. */
  async setRun(run, model = null) {
    this.run = run;
    const { origin, parent, epochShown, note } = this.els;
    if (run.parent_run_id) {
      origin.hidden = false;
      parent.href = `/runs/${encodeURIComponent(run.parent_run_id)}`;
      parent.textContent = `run ${run.parent_run_id.slice(0, 8)}`;
      epochShown.textContent = String(run.branch_epoch);
      note.textContent = run.branch_note ? `(${run.branch_note})` : "";
      this.els.section.hidden = false;
    }
    if (model) this.showLayers(model);
    await this.refresh(true);
  }

  /** Read the kept epochs again (at most every REFRESH_MS unless `now`). */
  async refresh(now = false) {
    if (!this.run) return;
    const wait = REFRESH_MS - (Date.now() - this.loadedAt);
    if (!now && wait > 0) {
      this.later ??= setTimeout(() => {
        this.later = null;
        this.refresh(true);
      }, wait); // the newest epoch is read once the wait is over
      return;
    }
    this.loadedAt = Date.now();
    let answer;
    try {
      answer = await api.checkpoints(this.run.id);
    } catch {
      return; // no epochs to show: the panel stays as it is
    }
    this.kept = answer.epochs;
    if (!answer.branches) return; // its task (a GAN, a Q-learner) cannot branch
    this.els.section.hidden = false;
    this.els.kept.textContent = this.kept.length
      ? `${this.kept.length} epoch${this.kept.length === 1 ? "" : "s"} kept (at most ${answer.cap})`
      : "no epoch saved yet";
    if (!this.els.form) return;
    this.els.form.hidden = !this.kept.length;
    this.showEpochs();
    if (!this.filled && this.kept.length) this.fill();
  }

  showEpochs() {
    const { from } = this.els;
    const chosen = from.value;
    from.replaceChildren(
      ...this.kept.map((row) => {
        const acc = typeof row.val_accuracy === "number" ? ` · val. ${fmt.percent(row.val_accuracy, 1)}` : "";
        const best = row.best ? " · best" : "";
        return h("option", { value: String(row.epoch) }, `epoch ${row.epoch}${acc}${best}`);
      }),
    );
    const kept = this.kept.map((row) => String(row.epoch));
    from.value = kept.includes(chosen) ? chosen : kept[kept.length - 1];
    this.fitEpochs();
  }

  /** The form starts from the run's own settings. */
  fill() {
    const config = this.run.config ?? {};
    this.els.lr.value = String(config.lr ?? "");
    this.els.optimizer.value = config.optimizer ?? "adam";
    this.els.batch.value = String(config.batch_size ?? 64);
    this.els.schedule.value = config.schedule ?? "onecycle";
    this.filled = true;
    this.fitEpochs();
  }

  /** "Epochs in all" counts the ones before the branch point: at least one more. */
  fitEpochs() {
    const from = Number(this.els.from.value || 0);
    const least = from + 1;
    this.els.epochs.min = String(least);
    const current = Number(this.els.epochs.value || 0);
    if (current < least) this.els.epochs.value = String(Math.max(least, this.run?.config?.epochs ?? least));
  }

  showLayers(model) {
    if (!this.els.frozen) return;
    const legend = this.els.frozen.querySelector("legend");
    const boxes = weighted(model.summary?.layers).map((layer) =>
      h(
        "label",
        { class: "field check small" },
        h("input", { type: "checkbox", value: layer.path, dataset: { testid: `branch-freeze-${layer.path}` } }),
        `${layer.path} ${layer.type} (${fmt.int(layer.params)})`,
      ),
    );
    this.els.frozen.replaceChildren(legend, ...boxes);
    for (const path of this.run?.config?.frozen ?? []) {
      const box = this.els.frozen.querySelector(`input[value="${CSS.escape(path)}"]`);
      if (box) box.checked = true;
    }
  }

  /** The settings that differ from the run's (and the epochs, always). */
  changes() {
    const config = this.run.config ?? {};
    const out = { epochs: Number(this.els.epochs.value) };
    const lr = Number(this.els.lr.value);
    if (this.els.lr.value && lr !== config.lr) out.lr = lr;
    if (this.els.optimizer.value !== config.optimizer) out.optimizer = this.els.optimizer.value;
    const batch = Number(this.els.batch.value);
    if (this.els.batch.value && batch !== config.batch_size) out.batch_size = batch;
    if (this.els.schedule.value !== config.schedule) out.schedule = this.els.schedule.value;
    const frozen = [...this.els.frozen.querySelectorAll("input:checked")].map((box) => box.value);
    if (frozen.join() !== (config.frozen ?? []).join()) out.frozen = frozen;
    return out;
  }

  async submit(event) {
    event.preventDefault();
    const epoch = Number(this.els.from.value);
    this.els.start.disabled = true;
    try {
      const branch = await api.branchRun(this.run.id, epoch, this.changes());
      say(this.els.message, `Branch started from epoch ${epoch}.`, "ok");
      location.assign(`/runs/${encodeURIComponent(branch.id)}`);
    } catch (error) {
      say(this.els.message, error.message, "error");
      this.els.start.disabled = false;
    }
  }
}
