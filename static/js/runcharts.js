// The run page's learning curves: loss and accuracy per step (raw and smoothed), and training and
// validation loss and accuracy per epoch, fed from a RunHistory. A regression run's accuracies
// are null: its accuracy charts stay empty (the page hides them).
import { LiveChart } from "./charts.js";
import { need } from "./dom.js";
import * as fmt from "./format.js";

function pctValue(u, v) {
  return v === null || v === undefined ? "—" : fmt.percent(v, 2);
}

export class RunCharts {
  constructor(root = document) {
    this.loss = new LiveChart(need("#chart-loss", root), {
      yLabel: "loss",
      series: [
        { label: "loss", color: "#9fb6e6", width: 1 },
        { label: "smoothed", color: "#2457c5", width: 2.25 },
      ],
    });
    this.acc = new LiveChart(need("#chart-acc", root), {
      yLabel: "accuracy",
      series: [
        { label: "accuracy", color: "#f1b592", width: 1, value: pctValue },
        { label: "smoothed", color: "#c2410c", width: 2.25, value: pctValue },
      ],
    });
    this.epochLoss = new LiveChart(need("#chart-epoch-loss", root), {
      xLabel: "epoch",
      xWhole: true,
      yLabel: "loss",
      series: [
        { label: "training", color: "#2457c5", points: true },
        { label: "validation", color: "#c2410c", points: true, dash: [6, 4] },
      ],
    });
    this.epochAcc = new LiveChart(need("#chart-epoch-acc", root), {
      xLabel: "epoch",
      xWhole: true,
      yLabel: "accuracy",
      series: [
        { label: "training", color: "#2457c5", points: true, value: pctValue },
        { label: "validation", color: "#c2410c", points: true, dash: [6, 4], value: pctValue },
      ],
    });
  }

  /** The history's newest step point. */
  step(history) {
    const s = history.steps;
    const n = s.x.length - 1;
    this.loss.push(s.x[n], s.loss[n], s.lossSmooth[n]);
    this.acc.push(s.x[n], s.acc[n], s.accSmooth[n]);
  }

  /** Every step point again (a resumed run replays from its last checkpoint). */
  steps(history) {
    const s = history.steps;
    this.loss.setData(s.x, [s.loss, s.lossSmooth]);
    this.acc.setData(s.x, [s.acc, s.accSmooth]);
  }

  /** The epochs so far. */
  epochs(history) {
    const cols = history.epochColumns();
    this.epochLoss.setData(cols.x, [cols.trainLoss, cols.valLoss]);
    this.epochAcc.setData(cols.x, [cols.trainAcc, cols.valAcc]);
  }
}
