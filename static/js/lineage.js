// A branch's lineage: the curves of the run it branched from, up to the branch point, drawn before
// its own (the run page and compare show a branch as going on from its parent's run).
import * as api from "./api.js";

const MAX_DEPTH = 8; // a branch of a branch of …: how many ancestors are followed
const NONE = Object.freeze({ steps: [], epochs: [] });

/** The step and epoch events of `run`'s ancestors up to its branch point, oldest first (none
 *  for a run that is no branch, or whose parent is gone or not readable here). */
export async function ancestorEvents(run, depth = 0) {
  if (!run?.parent_run_id || depth >= MAX_DEPTH) return NONE;
  let parent;
  let metrics;
  try {
    [parent, metrics] = await Promise.all([api.run(run.parent_run_id), api.metrics(run.parent_run_id)]);
  } catch {
    return NONE;
  }
  const at = run.branch_epoch ?? 0;
  const epochs = (metrics.epochs ?? []).filter((e) => e.epoch <= at);
  const cut = epochs.find((e) => e.epoch === at)?.step ?? Infinity; // the branch point's step
  const steps = (metrics.steps ?? []).filter((s) => s.step <= cut);
  const older = await ancestorEvents(parent, depth + 1);
  return { steps: [...older.steps, ...steps], epochs: [...older.epochs, ...epochs] };
}

/** The run's metrics (GET /api/runs/{id}/metrics) with its ancestors' curves in front. */
export async function lineageMetrics(run) {
  const [metrics, before] = await Promise.all([api.metrics(run.id), ancestorEvents(run)]);
  return {
    ...metrics,
    steps: [...before.steps, ...(metrics.steps ?? [])],
    epochs: [...before.epochs, ...(metrics.epochs ?? [])],
  };
}

/** Hand a branch's ancestors' step and epoch events to `onEvent`, before its own arrive. */
export async function replayAncestors(run, onEvent) {
  const before = await ancestorEvents(run);
  for (const event of before.steps) onEvent({ ...event, type: "step" });
  for (const event of before.epochs) onEvent({ ...event, type: "epoch" });
}
