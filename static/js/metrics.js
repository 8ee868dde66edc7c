// A run's history, built from its events (step, epoch, feature_maps, status, done). Pure data:
// the pages decide what to draw. Full resolution is kept; charts decimate only when drawing.

/** The moving average's memory, in steps: 2% of the steps so far, at least 5. */
function timeConstant(step) {
  return Math.max(5, step / 50);
}

export class RunHistory {
  constructor() {
    // eps: a deep Q-learning run's ε (the chance of a random action); null for other runs
    this.steps = { x: [], loss: [], lossSmooth: [], acc: [], accSmooth: [], lr: [], sps: [], eps: [] };
    this.epochs = []; // epoch events, in order
    this.lastStep = null; // the latest step event
    this.featureMaps = null; // the latest feature_maps event
    this.status = null;
    this.reason = null;
    this.done = null;
  }

  /** Fold one event in; returns its type when it changed something worth redrawing. */
  add(event) {
    switch (event.type) {
      case "step":
        this.addStep(event);
        return "step";
      case "epoch":
        this.epochs = this.epochs.filter((e) => e.epoch !== event.epoch);
        this.epochs.push(event);
        return "epoch";
      case "feature_maps":
        this.featureMaps = event;
        return "feature_maps";
      case "status":
        this.status = event.status;
        this.reason = event.reason ?? null;
        return "status";
      case "done":
        this.done = event;
        return "done";
      default:
        return null;
    }
  }

  addStep(event) {
    const s = this.steps;
    if (s.x.length && event.step <= s.x[s.x.length - 1]) {
      // a resumed run replays from its last checkpoint: drop the points it will redo
      const cut = s.x.findIndex((x) => x >= event.step);
      for (const key of Object.keys(s)) s[key].length = cut;
      this.onRewind?.();
    }
    // an exponential moving average over steps (points arrive by time, not every step)
    const n = s.x.length;
    const gap = n ? event.step - s.x[n - 1] : 0;
    const keep = Math.exp(-gap / timeConstant(event.step));
    const smooth = (series, value) => {
      // a regression run's accuracy is null: its average stays null, never 0
      if (value === null || value === undefined) return null;
      const last = series.length ? series[series.length - 1] : null;
      return last === null ? value : keep * last + (1 - keep) * value;
    };
    s.lossSmooth.push(smooth(s.lossSmooth, event.loss));
    s.accSmooth.push(smooth(s.accSmooth, event.accuracy));
    s.x.push(event.step);
    s.loss.push(event.loss);
    s.acc.push(event.accuracy);
    s.lr.push(event.lr);
    s.sps.push(event.samples_per_s);
    s.eps.push(event.epsilon ?? null);
    this.lastStep = event;
  }

  /** Per-epoch columns: {x, trainLoss, valLoss, trainAcc, valAcc}. */
  epochColumns() {
    return {
      x: this.epochs.map((e) => e.epoch),
      trainLoss: this.epochs.map((e) => e.train_loss),
      valLoss: this.epochs.map((e) => e.val_loss),
      trainAcc: this.epochs.map((e) => e.train_accuracy),
      valAcc: this.epochs.map((e) => e.val_accuracy),
    };
  }

  /** The earliest epoch whose validation accuracy reached `accuracy` (0..1), or null. */
  firstReaching(accuracy) {
    const reached = this.epochs.filter((e) => typeof e.val_accuracy === "number" && e.val_accuracy >= accuracy);
    return reached.length ? reached.reduce((a, b) => (b.epoch < a.epoch ? b : a)) : null;
  }

  /** The latest epoch event, or null. */
  get lastEpoch() {
    return this.epochs.length ? this.epochs[this.epochs.length - 1] : null;
  }
}

/** A history from the REST form {steps, epochs, done}. */
export function historyFromMetrics(metrics) {
  const history = new RunHistory();
  for (const event of metrics.steps ?? []) history.add({ ...event, type: "step" });
  for (const event of metrics.epochs ?? []) history.add({ ...event, type: "epoch" });
  if (metrics.done) history.add({ ...metrics.done, type: "done" });
  return history;
}
