// The 2-D playground's numbers of a run (DOM): the epoch counter, the validation, training and
// test losses, the test accuracy (a classification's only: a regression's is null and hidden),
// and the loss chart.

import { LiveChart } from "./charts.js";
import * as fmt from "./format.js";
import * as p2 from "./plane2d.js";

export class PlaneFigures {
  /** `els`: {epoch, lossVal, lossTrain, lossTest, testAcc (its parent is the figure's box), chart}. */
  constructor(els) {
    this.els = els;
    this.chart = new LiveChart(els.chart, {
      xLabel: "epoch",
      yLabel: "loss",
      height: 150,
      series: [
        { label: "training", color: "#8a93a6", width: 1.25 },
        { label: "validation", color: "#18202e", width: 2, points: true },
      ],
    });
  }

  /** Blank figures for a run of `settings` (whose task tells whether accuracy means anything). */
  clear(settings) {
    const { els } = this;
    this.chart.setData([], [[], []]);
    els.epoch.textContent = p2.epochText(0);
    for (const el of [els.lossVal, els.lossTrain, els.lossTest, els.testAcc]) el.textContent = "—";
    els.testAcc.parentElement.hidden = p2.taskOf(settings).output === "value";
  }

  /** Take a run's step, epoch or done event (others are ignored). */
  take(event) {
    const { els } = this;
    switch (event.type) {
      case "step":
        this.chart.push(event.epoch - 1 + event.epoch_progress, event.loss, null);
        els.lossTrain.textContent = p2.lossText(event.loss);
        break;
      case "epoch":
        this.chart.push(event.epoch, null, event.val_loss);
        els.lossVal.textContent = p2.lossText(event.val_loss);
        els.epoch.textContent = p2.epochText(event.epoch);
        break;
      case "done":
        els.lossTest.textContent = p2.lossText(event.test_loss);
        els.testAcc.textContent = fmt.percent(event.test_accuracy);
        if (event.test_accuracy === null) els.testAcc.parentElement.hidden = true; // a regression's
        break;
      default:
        break;
    }
  }
}
