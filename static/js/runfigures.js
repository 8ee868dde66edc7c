// The figures a run is judged by, per kind of dataset: classification runs by accuracy (higher is
// better), regression runs by their loss, the mean squared error (lower is better; they have no
// accuracy: the server sends null); a deep Q-learning run (kind RETURNS) by the returns of its
// episodes (higher is better). Pure functions, no DOM: tests/js/runfigures.test.mjs.
import * as fmt from "./format.js";

export const CLASSIFICATION = "classification";
export const REGRESSION = "regression";
export const RETURNS = "returns"; // rewards per episode (deep Q-learning)
export const GAN = "gan"; // a generator against a discriminator: their losses, no best or test figure

/** A number worth showing (null, undefined and NaN are not). */
function finite(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/** The highest (`lower`: the lowest) finite value; null when there is none. */
export function best(values, { lower = false } = {}) {
  const kept = (values ?? []).filter(finite);
  if (!kept.length) return null;
  return lower ? Math.min(...kept) : Math.max(...kept);
}

/**
 * What a run learns: the dataset's kind when it is known (a GET /api/datasets entry), else what
 * its events say (a regression run's accuracies are null), else classification.
 */
export function runKind(info, events = []) {
  if (info?.kind === REGRESSION || info?.kind === CLASSIFICATION) return info.kind;
  for (const event of events ?? []) {
    const key = ["val_accuracy", "test_accuracy", "accuracy"].find((k) => event && event[k] !== undefined);
    if (!key) continue;
    const loss = ["val_loss", "test_loss", "loss"].some((k) => finite(event[k]));
    return event[key] === null && loss ? REGRESSION : CLASSIFICATION;
  }
  return CLASSIFICATION;
}

// kind → how its headline figures are read from the events and the run record
const FIGURES = {
  [CLASSIFICATION]: ({ epochs, done, run }) => ({
    best: done?.best_val_accuracy ?? run?.best_val_accuracy ?? best(epochs.map((e) => e.val_accuracy)),
    test: done?.test_accuracy ?? run?.test_accuracy ?? null,
  }),
  [REGRESSION]: ({ epochs, done }) => ({
    best: best(epochs.map((e) => e.val_loss), { lower: true }) ?? (finite(done?.val_loss) ? done.val_loss : null),
    test: finite(done?.test_loss) ? done.test_loss : null,
  }),
  // best: the mean return of the last 100 episodes; test: the best return of one episode
  [RETURNS]: ({ episodes, done }) => ({
    best: done?.mean_return ?? episodes.at(-1)?.mean_return ?? null,
    test: done?.best_return ?? best(episodes.map((e) => e.return)),
  }),
  [GAN]: () => ({ best: null, test: null }), // its losses and health show instead (ganview.js)
};

/**
 * The run's headline figures, by kind: {best, test} as numbers or null.
 * `epochs`: its epoch events; `episodes`: its episode events (deep Q-learning); `done`: its
 * done event (null while it trains); `run`: its record.
 */
export function runFigures(kind, { epochs = [], episodes = [], done = null, run = null } = {}) {
  const figures = (FIGURES[kind] ?? FIGURES[CLASSIFICATION])({ epochs: epochs ?? [], episodes: episodes ?? [], done, run });
  return { best: finite(figures.best) ? figures.best : null, test: finite(figures.test) ? figures.test : null };
}

/** A figure as text: "98.12%" for accuracies, "0.01234" for losses, "—" for none. */
export function figureText(kind, value) {
  if (!finite(value)) return "—";
  if (kind === RETURNS) return returnText(value);
  return kind === REGRESSION ? fmt.real(value) : fmt.percent(value, 2);
}

/** A return: whole numbers as they are, others with one decimal ("23.5"). */
export function returnText(value) {
  if (!finite(value)) return "—";
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

const WORDS = {
  [CLASSIFICATION]: { best: "Best val. accuracy", test: "Test accuracy", better: "share of right answers: higher is better" },
  [REGRESSION]: { best: "Best val. loss", test: "Test loss", better: "mean squared error: lower is better" },
  [RETURNS]: { best: "Mean return (last 100)", test: "Best return", better: "reward per episode: higher is better" },
  // no best or test figure: those stats hide; `loss` names the step loss (the generator's)
  [GAN]: { best: null, test: null, loss: "Generator loss", better: "the generator's loss: lower fools the discriminator more" },
};

/** The words for a run's figures: {best, test, better} for the stats' labels and titles. */
export function figureWords(kind) {
  return WORDS[kind] ?? WORDS[CLASSIFICATION];
}

/** Whether runs of this kind have an accuracy (the parts marked data-accuracy show). */
export function hasAccuracy(kind) {
  return !(kind in WORDS) || kind === CLASSIFICATION;
}

/** The run page's last words: its test figure on the test samples it never saw. */
export function finishText(kind, done, noun = "samples") {
  if (kind === RETURNS) return returnsFinishText(done);
  if (kind === GAN) return ganFinishText(done, noun);
  const count = `${fmt.int(done?.test_count)} test ${noun}`;
  if (kind === REGRESSION) {
    const early = done?.early_stopped ? " Stopped early: the validation loss had stopped improving." : "";
    return `Finished: a test loss (mean squared error) of ${figureText(kind, done?.test_loss)} on the ${count} it never saw; lower is better.${early}`;
  }
  const early = done?.early_stopped ? " Stopped early: validation accuracy had stopped improving." : "";
  return `Finished: ${figureText(kind, done?.test_accuracy)} on the ${count} it never saw.${early}`;
}

/** A deep Q-learning run's last words: its returns while learning, then played greedily. */
function returnsFinishText(done) {
  const played = `${fmt.int(done?.episodes)} episodes in ${fmt.int(done?.steps)} environment steps`;
  const learning = `a mean return of ${returnText(done?.mean_return)} over the last 100 (best episode ${returnText(done?.best_return)})`;
  const greedy = finite(done?.greedy_return)
    ? ` Played greedily (always the best-valued action, no exploring), it scored ${returnText(done.greedy_return)} on average over ${fmt.int(done?.test_count)} episodes.`
    : "";
  const solved = finite(done?.solved_episode) ? ` Solved at episode ${fmt.int(done.solved_episode)}: the mean over 100 episodes reached the target.` : "";
  const early = done?.early_stopped ? " Stopped once solved." : "";
  return `Finished: ${played}, ${learning}.${greedy}${solved}${early}`;
}

/** A GAN run's last words: its last epoch's losses and D's means, and its health. */
function ganFinishText(done, noun) {
  const d = (value) => (finite(value) ? value.toFixed(2) : "—");
  const losses = `generator loss ${fmt.real(done?.g_loss, 3)}, discriminator loss ${fmt.real(done?.d_loss, 3)}`;
  const scores = `D(real) ${d(done?.d_real)}, D(fake) ${d(done?.d_fake)}`;
  const ratio = finite(done?.diversity) && done?.real_diversity ? done.diversity / done.real_diversity : null;
  const variety = finite(ratio) ? `; its samples' variety is ${ratio.toFixed(2)} of the real ${noun}'` : "";
  const health = done?.health ? ` Health: ${done.health}${variety}.` : "";
  return `Finished after ${fmt.int(done?.epochs)} epochs: ${losses} (${scores}).${health}`;
}

/** An epoch in the confusion matrix's picker: "epoch 3 · 97.2%" ("epoch 3" without accuracy). */
export function epochLabel(epoch) {
  return finite(epoch?.val_accuracy) ? `epoch ${epoch.epoch} · ${fmt.percent(epoch.val_accuracy)}` : `epoch ${epoch?.epoch}`;
}

/** A regression run's losses from its history (GET /api/runs/{id}/metrics): {best, test}. */
export function historyLosses(metrics) {
  return runFigures(REGRESSION, { epochs: metrics?.epochs ?? [], done: metrics?.done ?? null });
}

/** A deep Q-learning run's returns from its history: {best: mean of the last 100, test: greedy}. */
export function historyReturns(metrics) {
  const done = metrics?.done ?? null;
  const episodes = metrics?.episodes ?? [];
  const mean = done?.mean_return ?? episodes.at(-1)?.mean_return ?? null;
  return { best: finite(mean) ? mean : null, test: finite(done?.greedy_return) ? done.greedy_return : null };
}

/** A GAN run's figures from its history: {health, ratio, g, d} (the last verdict, the last
 *  epoch's losses; null where none). */
export function historyGan(metrics) {
  const done = metrics?.done ?? null;
  const verdict = (metrics?.gan_health ?? []).at(-1) ?? null;
  const epoch = (metrics?.epochs ?? []).at(-1) ?? null;
  const ratio = verdict?.ratio ?? (finite(done?.diversity) && done?.real_diversity ? done.diversity / done.real_diversity : null);
  return {
    health: verdict?.state ?? done?.health ?? null,
    ratio: finite(ratio) ? ratio : null,
    g: done?.g_loss ?? epoch?.train_loss ?? null,
    d: done?.d_loss ?? epoch?.d_loss ?? null,
  };
}

/** A GAN's row: its health and variety; its last losses (the latest epoch's while it trains). */
function ganRow(run, figures) {
  const latest = run?.latest?.epoch;
  const g = figures?.g ?? latest?.train_loss;
  const d = figures?.d ?? latest?.d_loss;
  const variety = finite(figures?.ratio) ? ` · variety ${figures.ratio.toFixed(2)}` : "";
  return {
    best: figures?.health ? `${figures.health}${variety}` : "—",
    test: finite(g) && finite(d) ? `G ${fmt.real(g, 3)} · D ${fmt.real(d, 3)}` : "—",
    title: "a GAN: its health (ok, collapsed or oscillating) and its samples' variety against the real images'; its last losses, generator (G) and discriminator (D)",
  };
}

/**
 * A runs-list row's figures as text: {best, test, title}. Accuracies for classification
 * ("98.12%"); for regression the losses ("MSE 0.0123") read from its history (`losses`,
 * null until read), the latest epoch's validation loss standing in while it trains; for deep
 * Q-learning the returns read from its history ("return 182.4", "greedy 500").
 */
export function rowFigures(kind, run, losses = null) {
  if (kind === GAN) return ganRow(run, losses);
  if (kind === RETURNS) {
    const text = (label, value) => (finite(value) ? `${label} ${returnText(value)}` : "—");
    return {
      best: text("return", losses?.best),
      test: text("greedy", losses?.test),
      title: "mean return of the last 100 training episodes; test: mean return played greedily after training (higher is better)",
    };
  }
  if (kind !== REGRESSION) {
    return { best: figureText(kind, run?.best_val_accuracy), test: figureText(kind, run?.test_accuracy), title: null };
  }
  const text = (value) => (finite(value) ? `MSE ${fmt.real(value)}` : "—");
  const latest = run?.latest?.epoch?.val_loss;
  return {
    best: text(losses?.best ?? latest),
    test: text(losses?.test),
    title: !losses && finite(latest) ? "so far: the latest epoch's validation loss (lower is better)" : figureWords(REGRESSION).better,
  };
}
