// The run page's figures: the latest step's loss, accuracy, throughput and learning rate, and the
// run's headline figures, which follow what it learns: accuracies for classification, losses
// (lower is better) for regression, returns for deep Q-learning; the accuracy-only parts of the
// page are hidden for the kinds without an accuracy.
import { need } from "./dom.js";
import * as fmt from "./format.js";
import { REGRESSION, figureText, figureWords, hasAccuracy, runFigures } from "./runfigures.js";

export class RunStats {
  constructor(root = document) {
    this.kind = null;
    this.root = root;
    this.els = {
      loss: need("#stat-loss", root),
      lossLabel: need("#stat-loss-label", root),
      acc: need("#stat-acc", root),
      best: need("#stat-best", root),
      bestLabel: need("#stat-best-label", root),
      test: need("#stat-test", root),
      testLabel: need("#stat-test-label", root),
      sps: need("#stat-sps", root),
      lr: need("#stat-lr", root),
      note: need("#stats-note", root),
    };
  }

  get regression() {
    return this.kind === REGRESSION;
  }

  /** Whether the run's kind has an accuracy (and a confusion matrix, and a milestone). */
  get accuracy() {
    return hasAccuracy(this.kind);
  }

  /** Show the figures of `kind` (classification, regression, returns or a GAN's); hide what
   *  has no meaning for it (every element marked data-accuracy: accuracy stats, charts and the
   *  confusion matrix; the best and test figures of a kind without them). */
  setKind(kind) {
    if (kind === this.kind) return;
    this.kind = kind;
    const words = figureWords(kind);
    this.els.lossLabel.textContent = words.loss ?? "Loss";
    this.els.bestLabel.textContent = words.best;
    this.els.testLabel.textContent = words.test;
    this.els.best.closest(".stat").hidden = !words.best;
    this.els.test.closest(".stat").hidden = !words.test;
    for (const el of [this.els.best, this.els.test]) el.title = words.better;
    for (const el of this.root.querySelectorAll("[data-accuracy]")) el.hidden = !this.accuracy;
    this.els.note.hidden = this.accuracy;
  }

  /** The newest step's figures (a step event, or a run record's `latest` point). */
  showLatest(latest) {
    if (latest.loss !== undefined) this.els.loss.textContent = fmt.real(latest.loss);
    if (latest.accuracy !== undefined) this.els.acc.textContent = fmt.percent(latest.accuracy);
    if (latest.samples_per_s !== undefined) this.els.sps.textContent = `${fmt.int(latest.samples_per_s)} /s`;
  }

  showLr(lr) {
    this.els.lr.textContent = fmt.real(lr, 3);
  }

  /** The best validation and the test figure so far, from the events and the run record
   *  (a figure not known yet keeps what is shown). */
  showFigures({ epochs = [], episodes = [], done = null, run = null }) {
    const figures = runFigures(this.kind, { epochs, episodes, done, run });
    if (figures.best !== null) this.els.best.textContent = figureText(this.kind, figures.best);
    if (figures.test !== null) this.els.test.textContent = figureText(this.kind, figures.test);
    if (done?.samples_per_s !== undefined) this.els.sps.textContent = `${fmt.int(done.samples_per_s)} /s`;
  }
}
