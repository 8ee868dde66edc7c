// The run page's confusion matrix: the epoch picker (the newest epoch until one is picked), the
// matrix of that epoch, and the samples of a clicked cell by the run's latest weights.
import * as api from "./api.js";
import { ConfusionView, digitFigures } from "./confusion.js";
import * as ds from "./datasets.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { epochLabel } from "./runfigures.js";

export class ConfusionPanel {
  /** `els`: {select, matrix, cellInfo, cellDigits}. */
  constructor(runId, els) {
    this.runId = runId;
    this.els = els;
    this.epochs = [];
    this.labels = ds.classLabels(10);
    this.dataset = null; // the run's dataset entry (null: MNIST)
    this.follow = true; // show the newest epoch until another is picked
    this.shown = null; // the epoch shown
    this.asked = null; // the cell whose samples are being fetched
    this.view = new ConfusionView(els.matrix, { onSelect: (label, prediction) => this.showCell(label, prediction) });
    els.select.addEventListener("change", () => {
      const value = Number(els.select.value);
      this.follow = this.epochs.length > 0 && value === this.epochs[this.epochs.length - 1].epoch;
      this.show(value);
    });
  }

  /** The run's dataset (null: MNIST) and its class names. */
  setDataset(dataset, labels) {
    this.dataset = dataset;
    this.labels = labels;
  }

  /** The epochs so far; `newest` just arrived. Epochs without a matrix (regression) are skipped. */
  update(epochs, newest) {
    this.epochs = epochs.filter((e) => Array.isArray(e.confusion) && e.confusion.length);
    if (!this.epochs.length) return;
    const select = this.els.select;
    select.replaceChildren(...this.epochs.map((e) => h("option", { value: String(e.epoch) }, epochLabel(e))));
    select.disabled = false;
    select.value = String(this.follow ? newest : this.shown ?? newest);
    this.show(Number(select.value));
  }

  show(epoch) {
    const event = this.epochs.find((e) => e.epoch === epoch);
    if (!event) return;
    this.shown = epoch;
    this.view.update(event.confusion, this.labels.length === event.confusion.length ? this.labels : null);
    if (this.view.selected) this.showCell(...this.view.selected);
  }

  async showCell(label, prediction) {
    const event = this.epochs.find((e) => e.epoch === this.shown);
    if (!event) return;
    const { cellInfo, cellDigits } = this.els;
    const count = event.confusion[label]?.[prediction] ?? 0;
    const said = ds.cellSentence({ label, prediction, count, epoch: event.epoch, labels: this.labels });
    cellInfo.textContent = said;
    cellDigits.replaceChildren();
    if (!count) return;
    if (this.dataset && !ds.isMnist(this.dataset)) {
      // GET /api/runs/{id}/confusion reads MNIST's validation digits: it has none of this dataset
      cellInfo.textContent = `${said} (The samples of a cell are shown for MNIST runs only.)`;
      return;
    }
    const asked = [label, prediction].join();
    this.asked = asked;
    try {
      const cell = await api.confusionCell(this.runId, label, prediction);
      if (this.asked !== asked) return; // another cell was clicked meanwhile
      const examples = cell.examples.map((example) => ({
        ...example,
        probability: example.probabilities[example.prediction],
      }));
      cellInfo.textContent =
        `${said} With the latest weights (step ${fmt.int(cell.step)}) ${fmt.int(cell.count)} ` +
        `digit${cell.count === 1 ? " is" : "s are"} in this cell` +
        (examples.length < cell.count ? `; the ${examples.length} most confident:` : ":");
      digitFigures(cellDigits, examples);
    } catch (error) {
      if (this.asked === asked) cellInfo.textContent = `${said} (${error.message})`;
    }
  }
}
