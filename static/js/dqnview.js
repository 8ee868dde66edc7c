// A deep Q-learning run's own parts of the run page: the return of each episode with its moving
// mean and the "solved" line, ε per step, the cart and pole, and the figures of its returns.
import { CartpoleView } from "./cartpoleview.js";
import { LiveChart } from "./charts.js";
import { need } from "./dom.js";
import { EpisodeLog, WINDOW } from "./episodes.js";
import * as fmt from "./format.js";
import { returnText } from "./runfigures.js";
import { taskParams } from "./tasks.js";

const SOLVED_RETURN = 195; // DqnParams' default: CartPole-v0's "solved"

export class DqnView {
  constructor(config, root = document) {
    this.solved = taskParams(config).solved_return ?? SOLVED_RETURN;
    this.log = new EpisodeLog();
    this.returns = new LiveChart(need("#chart-returns", root), {
      xLabel: "episode",
      xWhole: true,
      yLabel: "return",
      series: [
        { label: "return", color: "#9fb6e6", width: 1 },
        { label: `mean of last ${WINDOW}`, color: "#2457c5", width: 2.25 },
        { label: `solved (${returnText(this.solved)})`, color: "#4d7c0f", width: 1.25, dash: [6, 4] },
      ],
    });
    this.epsilon = new LiveChart(need("#chart-epsilon", root), {
      yLabel: "ε",
      yRange: [0, 1],
      height: 160,
      series: [{ label: "ε", color: "#a21caf", width: 1.75 }],
    });
    this.cart = new CartpoleView({
      canvas: need("#cartpole-canvas", root),
      caption: need("#cartpole-caption", root),
      replay: need("#cartpole-replay", root),
    });
    need("#returns-solved", root).textContent = returnText(this.solved);
    this.els = {
      episodes: need("#stat-episodes", root),
      epsilon: need("#stat-epsilon", root),
      envSps: need("#stat-env-sps", root),
    };
  }

  /** A finished episode: a point of the return curve (a resumed run's replayed ones redrawn). */
  episode(event) {
    if (this.log.add(event)) {
      const cols = this.log.columns();
      this.returns.setData(cols.x, [cols.returns, cols.means, cols.x.map(() => this.solved)]);
    } else {
      this.returns.push(event.episode, event.return, this.log.meanReturn, this.solved);
    }
    this.els.episodes.textContent = fmt.int(this.log.count);
  }

  /** A step point: ε and the environment's pace. */
  step(event) {
    if (typeof event.epsilon === "number") {
      this.epsilon.push(event.step, event.epsilon);
      this.els.epsilon.textContent = event.epsilon.toFixed(3);
    }
    if (typeof event.steps_per_s === "number") this.els.envSps.textContent = `${fmt.int(event.steps_per_s)} /s`;
  }

  /** Every step point again (a resumed run replays from its last checkpoint). */
  steps(history) {
    this.epsilon.setData(history.steps.x, [history.steps.eps]);
  }

  frame(event) {
    this.cart.add(event);
  }

  /** The run's end: its counts and its pace over the whole run. */
  done(event) {
    if (typeof event.episodes === "number") this.els.episodes.textContent = fmt.int(event.episodes);
    if (typeof event.steps_per_s === "number") this.els.envSps.textContent = `${fmt.int(event.steps_per_s)} /s`;
  }

  get episodes() {
    return this.log.episodes;
  }
}
