// A deep Q-learning run's episodes, from its `episode` events: the return of each, the moving
// mean over the last 100 and the records. Pure data: tests/js/dqn.test.mjs.

export const WINDOW = 100; // episodes in the moving mean (and in "solved")

/** The mean of each value with the `window - 1` before it (fewer at the start). */
export function movingMean(values, window = WINDOW) {
  const means = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    means.push(sum / Math.min(i + 1, window));
  }
  return means;
}

export class EpisodeLog {
  constructor() {
    this.episodes = []; // episode events, by episode number
  }

  /** Fold one episode event in; a resumed run replays from its last checkpoint, so an episode
   *  number already seen drops it and those after it. Returns whether it cut the log. */
  add(event) {
    const last = this.episodes.at(-1);
    let cut = false;
    if (last && event.episode <= last.episode) {
      this.episodes = this.episodes.filter((e) => e.episode < event.episode);
      cut = true;
    }
    this.episodes.push(event);
    return cut;
  }

  get count() {
    return this.episodes.length;
  }

  /** {x: episode numbers, returns, means}: the mean each event carries, else computed. */
  columns() {
    const returns = this.episodes.map((e) => e.return);
    const computed = movingMean(returns);
    return {
      x: this.episodes.map((e) => e.episode),
      returns,
      means: this.episodes.map((e, i) => (typeof e.mean_return === "number" ? e.mean_return : computed[i])),
    };
  }

  /** The mean return of the last WINDOW episodes (null before the first). */
  get meanReturn() {
    const last = this.episodes.at(-1);
    if (!last) return null;
    if (typeof last.mean_return === "number") return last.mean_return;
    return movingMean(this.episodes.map((e) => e.return)).at(-1);
  }

  /** The best return of one episode (null before the first). */
  get bestReturn() {
    return this.episodes.length ? this.episodes.reduce((top, e) => Math.max(top, e.return), -Infinity) : null;
  }
}
