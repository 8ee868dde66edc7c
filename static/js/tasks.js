// What a run's task (its config's `task`) shows, as data: the parts of the run page it has
// (elements marked data-view="…"), how its figures are read (null: the dataset decides, as
// for classification and regression), where it learns from, and what its epochs are.
// Pure: tests/js/tasks.test.mjs.
import { GAN as GAN_KIND, REGRESSION, RETURNS } from "./runfigures.js";

export const CLASSIFY = "classify";
export const AUTOENCODE = "autoencode";
export const DQN = "dqn";
export const GAN = "gan";

/** The name of a config's task ("classify" when it has none): a name or {name, ...params}. */
export function taskName(config) {
  const task = config?.task;
  if (typeof task === "string") return task;
  if (task && typeof task === "object" && typeof task.name === "string") return task.name;
  return CLASSIFY;
}

/** A config's task parameters ({} for a task given by its name alone). */
export function taskParams(config) {
  const task = config?.task;
  return task && typeof task === "object" ? task : {};
}

// task → what the run page shows of it. `views`: the data-view parts it has (the others hide);
// `kind`: how its figures are read; `source`: what it learns from when no dataset does;
// `unit`: what its `epoch` counts; `dataset`: whether it trains on the picked dataset;
// `steps(params, lastStep)`: its budget of steps when it knows it better than the run record
// (whose total counts batches of a dataset), from its parameters or its step events; else null.
const TASKS = {
  [CLASSIFY]: { views: ["probe", "draw", "epochs"], kind: null, source: null, unit: "epoch", dataset: true, steps: () => null },
  [AUTOENCODE]: {
    views: ["reconstructions", "codes", "draw", "epochs"],
    kind: REGRESSION,
    source: null,
    unit: "epoch",
    dataset: true,
    steps: () => null,
  },
  [DQN]: {
    views: ["episodes", "cartpole"],
    kind: RETURNS,
    source: "CartPole-v1 (gymnasium)",
    unit: "episode",
    dataset: false,
    steps: (params, lastStep) => params.env_steps ?? lastStep?.total_steps ?? null,
  },
  // a generator against a discriminator: their curves, samples, health and noise walk (ganview.js)
  [GAN]: { views: ["gan"], kind: GAN_KIND, source: null, unit: "epoch", dataset: true, steps: () => null },
};

/** The page's description of a config's task (an unknown task: the classifier's). */
export function taskInfo(config) {
  const name = taskName(config);
  return { name, ...(TASKS[name] ?? TASKS[CLASSIFY]) };
}

/** The data-view parts a config's task has, as a Set. */
export function taskViews(config) {
  return new Set(taskInfo(config).views);
}

/** How a run's figures are read when its task decides (null: its dataset decides). */
export function taskKind(config) {
  return taskInfo(config).kind;
}

/** The run's budget of steps when its task knows it (null: the run record's is right). */
export function totalSteps(config, lastStep = null) {
  return taskInfo(config).steps(taskParams(config), lastStep);
}

/** Whether the run trains on a dataset (a Q-learner plays in its environment instead). */
export function usesDataset(config) {
  return taskInfo(config).dataset;
}

/** The progress line's "epoch 3 of 5" or "episode 42" (a Q-learner's episodes have no total). */
export function epochText(config, epoch) {
  if (!epoch) return "";
  const { unit } = taskInfo(config);
  const of = unit === "epoch" && config?.epochs ? ` of ${config.epochs}` : "";
  return `${unit} ${epoch}${of}`;
}

/** A run's settings as [name, value] rows: a task's parameters each on a row of its own
 *  ("task.env_steps"), and no dataset for a task that learns without one. */
export function configRows(config) {
  const rows = [];
  const own = !taskInfo(config).dataset;
  for (const [key, value] of Object.entries(config ?? {})) {
    if (key === "dataset" && own) continue;
    if (key === "task" && value && typeof value === "object") {
      for (const [name, param] of Object.entries(value)) rows.push([`task.${name}`, param]);
    } else rows.push([key, value]);
  }
  return rows;
}

/** The task names a training form offers: classify, then those of the config schema's
 *  task parameter objects (their `name` field's default or constant). */
export function schemaTaskNames(schema) {
  const options = schema?.properties?.task?.anyOf ?? schema?.properties?.task?.oneOf ?? [];
  const names = [CLASSIFY];
  for (const option of options) {
    const ref = typeof option.$ref === "string" ? schema.$defs?.[option.$ref.split("/").pop()] : option;
    const name = ref?.properties?.name;
    const value = name?.const ?? name?.default ?? name?.enum?.[0];
    if (typeof value === "string" && !names.includes(value)) names.push(value);
  }
  return names;
}
