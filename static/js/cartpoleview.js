// The cart and pole on a canvas, played in real time from a deep Q-learning run's `cartpole`
// frames: the episode in play while the run trains, and on demand the greedy episode played
// after training (a stored frame, so it replays on a finished run's page too).
import { cartGeometry, finished, liveStart, outOfBounds, returnAt, stateAt } from "./cartpole.js";
import * as fmt from "./format.js";
import { returnText } from "./runfigures.js";

const WIDTH = 640; // the canvas's own pixels; CSS scales it to the panel
const HEIGHT = 240;
const FIRST_INTERVAL = 0.5; // seconds between live frames until two have come

export class CartpoleView {
  constructor({ canvas, caption, replay }) {
    this.canvas = canvas;
    this.caption = caption;
    this.replayButton = replay;
    this.canvas.width = WIDTH;
    this.canvas.height = HEIGHT;
    this.ctx = canvas.getContext("2d");
    this.live = null; // the newest live frame
    this.greedy = null; // the stored greedy episode
    this.playing = null; // {frame, from, started} being played
    this.lastArrival = null;
    this.interval = FIRST_INTERVAL;
    this.raf = null;
    this.replayButton.addEventListener("click", () => this.replay());
    this.drawEmpty();
  }

  /** A frame from the run's events: live ones play as they come, the greedy one waits. */
  add(frame) {
    if (frame.mode === "greedy") {
      this.greedy = frame;
      this.replayButton.disabled = false;
      this.replayButton.hidden = false;
      if (this.playing?.frame !== frame && !this.playing?.replay) this.show(frame, 0, { replay: false, still: true });
      return;
    }
    const now = performance.now() / 1000;
    if (this.lastArrival !== null) this.interval = 0.7 * this.interval + 0.3 * Math.min(5, now - this.lastArrival);
    this.lastArrival = now;
    this.live = frame;
    if (this.playing?.replay || this.greedy) return; // a replay is not interrupted; training is over
    this.show(frame, liveStart(frame, this.interval), { replay: false });
  }

  /** Play the greedy episode from its start. */
  replay() {
    if (this.greedy) this.show(this.greedy, 0, { replay: true });
  }

  show(frame, from, { replay, still = false }) {
    this.playing = { frame, from, started: performance.now() / 1000, replay };
    this.canvas.dataset.episode = String(frame.episode);
    this.canvas.dataset.mode = frame.mode;
    if (still) {
      this.draw(frame, from);
      this.stop();
      return;
    }
    this.canvas.dataset.playing = "true";
    if (!this.raf) this.raf = requestAnimationFrame(() => this.tick());
  }

  tick() {
    this.raf = null;
    const playing = this.playing;
    if (!playing) return;
    const seconds = performance.now() / 1000 - playing.started;
    this.draw(playing.frame, stateAt(playing.frame, seconds, playing.from));
    if (finished(playing.frame, seconds, playing.from)) {
      this.stop();
      if (playing.replay) this.playing = { ...playing, replay: false };
      return;
    }
    this.raf = requestAnimationFrame(() => this.tick());
  }

  stop() {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = null;
    this.canvas.dataset.playing = "false";
  }

  drawEmpty() {
    const ctx = this.ctx;
    ctx.fillStyle = "#f7f8fb";
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
  }

  /** State `index` of the frame, and the caption. */
  draw(frame, index) {
    if (index < 0) return;
    const ctx = this.ctx;
    const action = frame.actions?.[index];
    const g = cartGeometry(frame.x[index], frame.theta[index], action, { width: WIDTH, height: HEIGHT, limits: frame.limits });
    const fallen = outOfBounds(frame, index);
    this.drawEmpty();
    // the track, with its ends where the episode stops
    ctx.strokeStyle = "#8a93a6";
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.moveTo(g.track.x0, g.track.y);
    ctx.lineTo(g.track.x1, g.track.y);
    ctx.stroke();
    ctx.fillStyle = "#c2410c";
    for (const end of [g.track.x0, g.track.x1]) ctx.fillRect(end - 2, g.track.y - 14, 4, 28);
    // the cart and its wheels
    ctx.fillStyle = "#2457c5";
    ctx.fillRect(g.cart.x, g.cart.y, g.cart.w, g.cart.h);
    ctx.fillStyle = "#1e293b";
    for (const at of [0.25, 0.75]) {
      ctx.beginPath();
      ctx.arc(g.cart.x + at * g.cart.w, g.track.y - 2, 5, 0, 2 * Math.PI);
      ctx.fill();
    }
    // the pole, red once past the angle that ends the episode
    ctx.strokeStyle = fallen ? "#be123c" : "#b45309";
    ctx.lineWidth = 8;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(g.pole.x0, g.pole.y0);
    ctx.lineTo(g.pole.x1, g.pole.y1);
    ctx.stroke();
    ctx.fillStyle = "#1e293b";
    ctx.beginPath();
    ctx.arc(g.pole.x0, g.pole.y0, 4, 0, 2 * Math.PI);
    ctx.fill();
    if (g.arrow) drawArrow(ctx, g.arrow);
    this.canvas.dataset.index = String(frame.t0 + index);
    this.canvas.setAttribute("aria-label", `cart at ${frame.x[index].toFixed(2)} m, pole at ${((frame.theta[index] * 180) / Math.PI).toFixed(1)}°`);
    this.caption.textContent = captionText(frame, index);
  }
}

function drawArrow(ctx, { x0, x1, y }) {
  const sign = Math.sign(x1 - x0);
  ctx.strokeStyle = "#0f766e";
  ctx.fillStyle = "#0f766e";
  ctx.lineWidth = 3;
  ctx.lineCap = "butt";
  ctx.beginPath();
  ctx.moveTo(x0, y);
  ctx.lineTo(x1 - sign * 7, y);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y);
  ctx.lineTo(x1 - sign * 9, y - 6);
  ctx.lineTo(x1 - sign * 9, y + 6);
  ctx.closePath();
  ctx.fill();
}

/** "Episode 12 (training) · step 40 · return so far 40 · ε 0.85 · pushing right". */
export function captionText(frame, index) {
  const step = frame.t0 + index + 1;
  const push = frame.actions?.[index] === 1 ? "pushing right" : frame.actions?.[index] === 0 ? "pushing left" : "";
  const so = returnAt(frame, index);
  const head =
    frame.mode === "greedy"
      ? `Greedy episode after ${fmt.int(frame.episode)} training episodes (no exploring)`
      : `Episode ${fmt.int(frame.episode)} (training)`;
  const parts = [head, `step ${fmt.int(step)}`, `return so far ${returnText(so)}`, `ε ${Number(frame.epsilon ?? 0).toFixed(2)}`];
  if (push) parts.push(push);
  return parts.join(" · ");
}
