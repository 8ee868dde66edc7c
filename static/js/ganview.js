// A GAN run's own parts of the run page: the generator's and the discriminator's losses and
// D(real), D(fake) per step, their losses per epoch, the latest figures of both, the health
// verdicts (mode collapse, oscillation) with the samples' variety, the samples grid, and a walk
// between two noise vectors.
import { LiveChart } from "./charts.js";
import { h, need } from "./dom.js";
import * as fmt from "./format.js";
import { GanSteps, epochColumns, healthDetail, healthState, verdictText } from "./gan.js";
import { GanInterpolation } from "./ganinterp.js";
import { GanSamples } from "./gansamples.js";

const G_COLOUR = "#2457c5";
const D_COLOUR = "#c2410c";

function score(u, v) {
  return v === null || v === undefined ? "—" : v.toFixed(3);
}

export class GanView {
  /** `noun`: what the dataset's samples are called ("digits"). */
  constructor(runId, { noun = "digits" } = {}, root = document) {
    this.noun = noun;
    this.steps = new GanSteps();
    this.losses = new LiveChart(need("#chart-gan-loss", root), {
      yLabel: "loss",
      series: [
        { label: "generator", color: G_COLOUR, width: 1.5 },
        { label: "discriminator", color: D_COLOUR, width: 1.5 },
      ],
    });
    this.scores = new LiveChart(need("#chart-gan-scores", root), {
      yLabel: "D's probability of real",
      yRange: [0, 1],
      series: [
        { label: "D(real)", color: "#4d7c0f", width: 1.5, value: score },
        { label: "D(fake)", color: "#a21caf", width: 1.5, value: score },
        { label: "0.5", color: "#9ca3af", width: 1, dash: [6, 4], value: score },
      ],
    });
    this.epochLosses = new LiveChart(need("#chart-gan-epoch-loss", root), {
      xLabel: "epoch",
      xWhole: true,
      yLabel: "loss",
      series: [
        { label: "generator", color: G_COLOUR, points: true },
        { label: "discriminator", color: D_COLOUR, points: true, dash: [6, 4] },
      ],
    });
    this.samples = new GanSamples({
      canvas: need("#gan-samples", root),
      caption: need("#gan-samples-caption", root),
      select: need("#gan-samples-epoch", root),
    });
    this.walk = new GanInterpolation(runId, {
      seedA: need("#gan-seed-a", root),
      seedB: need("#gan-seed-b", root),
      newA: need("#gan-new-a", root),
      newB: need("#gan-new-b", root),
      method: need("#gan-method", root),
      slider: need("#gan-slider", root),
      row: need("#gan-path", root),
      image: need("#gan-point", root),
      note: need("#gan-walk-note", root),
    });
    this.els = {
      dLoss: need("#stat-d-loss", root),
      dReal: need("#stat-d-real", root),
      dFake: need("#stat-d-fake", root),
      sps: need("#stat-sps", root),
      health: need("#gan-health", root),
      healthBadge: need("#gan-health-badge", root),
      healthText: need("#gan-health-text", root),
      verdicts: need("#gan-verdicts", root),
    };
    this.els.sps.title = "real images per second";
    this.verdicts = [];
    // the generic loss chart would only repeat the generator's loss drawn here
    need("#chart-loss", root).closest(".chart").hidden = true;
  }

  setModel(model) {
    this.walk.setModel(model);
  }

  /** A step point: both losses, D's means, the latest figures. */
  step(event) {
    if (this.steps.add(event)) this.redrawSteps();
    else {
      this.losses.push(event.step, event.loss ?? null, event.d_loss ?? null);
      this.scores.push(event.step, event.d_real ?? null, event.d_fake ?? null, 0.5);
    }
    this.figures(event);
  }

  redrawSteps() {
    const c = this.steps.cols;
    this.losses.setData(c.x, [c.g, c.d]);
    this.scores.setData(c.x, [c.real, c.fake, c.x.map(() => 0.5)]);
  }

  /** The discriminator's latest figures (the generator's loss is the page's Loss stat). */
  figures(event) {
    const text = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : null);
    this.els.dLoss.textContent = text(event.d_loss, 4) ?? this.els.dLoss.textContent;
    this.els.dReal.textContent = text(event.d_real, 3) ?? this.els.dReal.textContent;
    this.els.dFake.textContent = text(event.d_fake, 3) ?? this.els.dFake.textContent;
  }

  /** The epochs so far (a new epoch's weights: the walk's images are redrawn). */
  epochs(history) {
    const cols = epochColumns(history.epochs);
    this.epochLosses.setData(cols.x, [cols.g, cols.d]);
  }

  /** A samples frame: the run publishes its weights with each, so the walk can start. */
  frame(event) {
    this.samples.add(event);
    this.walk.enable();
    if (event.at_epoch_end) this.walk.refresh();
  }

  /** A health verdict: the line shows the newest, the list keeps them all. */
  health(event) {
    this.verdicts = this.verdicts.filter((v) => v.step !== event.step || v.state !== event.state);
    this.verdicts.push(event);
    this.verdicts.sort((a, b) => a.step - b.step);
    const latest = this.verdicts[this.verdicts.length - 1];
    const { label, tone } = healthState(latest.state);
    this.els.health.dataset.state = latest.state;
    this.els.healthBadge.textContent = label;
    this.els.healthBadge.className = `badge gan-health-${tone}`;
    this.els.healthText.textContent = healthDetail(latest, this.noun);
    this.els.verdicts.replaceChildren(
      ...this.verdicts.map((v) => h("li", { class: `gan-verdict-${healthState(v.state).tone}` }, verdictText(v))),
    );
    this.els.verdicts.closest("details").hidden = this.verdicts.length < 2;
  }

  /** The run's end: its last figures; its images can still be walked through. */
  done(event) {
    this.figures({ d_loss: event.d_loss, d_real: event.d_real, d_fake: event.d_fake });
    if (typeof event.samples_per_s === "number") this.els.sps.textContent = `${fmt.int(event.samples_per_s)} /s`;
    this.walk.enable();
  }
}
