// The REST API. With socket.js, the only module that talks to the server.

/** A non-2xx answer: `status`, and `detail` as the server sent it. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(detail, status));
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }

  /** The entries of a 422 that name a layer (type "spec_error"). */
  get specErrors() {
    return Array.isArray(this.detail)
      ? this.detail.filter((item) => item && item.type === "spec_error")
      : [];
  }

  /** Every message, one per problem. */
  get messages() {
    if (Array.isArray(this.detail)) return this.detail.map(entryText);
    return [this.message];
  }
}

function entryText(item) {
  if (typeof item === "string") return item;
  if (item && typeof item === "object") {
    if (item.msg) {
      const loc = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body") : [];
      return item.type === "spec_error" || !loc.length ? item.msg : `${loc.join(".")}: ${item.msg}`;
    }
    if (item.message) return item.field ? `${item.field}: ${item.message}` : item.message;
  }
  return JSON.stringify(item);
}

function describe(detail, status) {
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) return detail.map(entryText).join("; ");
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return `the server answered ${status}`;
}

/** The share token when this page shows a run someone shared by link (read-only); else "". */
export const shareToken = document.body.dataset.share ?? "";

/** Reads of the shared run (and its model) carry the share token. */
function withShare(path) {
  if (!shareToken || !/^\/api\/(runs|models)\//.test(path)) return path;
  return `${path}${path.includes("?") ? "&" : "?"}share=${encodeURIComponent(shareToken)}`;
}

async function request(method, path, body, { signal } = {}) {
  const init = { method, headers: { Accept: "application/json" }, signal };
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser writes the Content-Type with its boundary
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withShare(path), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "cannot reach the server; is it still running?");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
    throw new ApiError(response.status, detail || response.statusText);
  }
  return data;
}

const enc = encodeURIComponent;

/** Layer catalogue: {layers: [{type, category, description, schema}], spec_schema}. */
export const layers = () => request("GET", "/api/layers");
export const presets = () => request("GET", "/api/presets");
export const preset = (name) => request("GET", `/api/presets/${enc(name)}`);

/** The summary of `spec` (shapes, params, MACs); throws ApiError(422) naming bad layers. */
export const summarize = (spec, options) =>
  request("POST", "/api/specs/summary", { spec }, options);

export const models = () => request("GET", "/api/models");
export const model = (id) => request("GET", `/api/models/${enc(id)}`);
export const saveModel = (name, spec) => request("POST", "/api/models", { name, spec });
export const deleteModel = (id) => request("DELETE", `/api/models/${enc(id)}`);

/** Every dataset a run can train on: [{name, title, kind, input_shape, classes, outputs,
 *  splits, source, description, available, note, params}]. */
export const datasets = () => request("GET", "/api/datasets");
export const dataset = (id) => request("GET", `/api/datasets/${enc(id)}`);
/** Upload a ZIP of class folders or a CSV: `form` holds file, name, size, channels, label…;
 *  answers the new dataset's entry (201), or throws ApiError(413/422) saying what is wrong. */
export const uploadDataset = (form, options) => request("POST", "/api/datasets", form, options);
/** Throws ApiError(409) while a run trains on it. */
export const deleteDataset = (id) => request("DELETE", `/api/datasets/${enc(id)}`);
/** {share_token, url}: a new link to your upload (an older link stops working). */
export const shareDataset = (id) => request("POST", `/api/datasets/${enc(id)}/share`);
export const unshareDataset = (id) => request("DELETE", `/api/datasets/${enc(id)}/share`);
/** Someone else's upload, opened with its share token (ApiError(404) once unshared). */
export const sharedDataset = (id, token) =>
  request("GET", `/api/datasets/${enc(id)}?share=${enc(token)}`);

/** {schema, defaults} of the training configuration. */
export const trainingConfig = () => request("GET", "/api/training/config");

export const runs = () => request("GET", "/api/runs");
export const run = (id) => request("GET", `/api/runs/${enc(id)}`);
export const startRun = (modelId, config) =>
  request("POST", "/api/runs", { model_id: modelId, config });
/** A run on someone else's upload: its share token is checked, not kept in the run. */
export const startSharedRun = (modelId, config, token) =>
  request("POST", `/api/runs?dataset_share=${enc(token)}`, { model_id: modelId, config });
export const metrics = (id) => request("GET", `/api/runs/${enc(id)}/metrics`);
/** How run `b` differs from run `a`: {runs, spec (layer diff, param and MAC deltas), config}. */
export const runDiff = (a, b) => request("GET", `/api/runs/${enc(a)}/diff/${enc(b)}`);
export const pauseRun = (id) => request("POST", `/api/runs/${enc(id)}/pause`);
export const resumeRun = (id) => request("POST", `/api/runs/${enc(id)}/resume`);
export const stopRun = (id) => request("POST", `/api/runs/${enc(id)}/stop`);
/** A new bearer token for scripts, for whoever this browser is: {token, user_id}. */
export const createToken = () => request("POST", "/api/tokens", {});
/** A new read-only link to the run: {share_token, url}. */
export const shareRun = (id) => request("POST", `/api/runs/${enc(id)}/share`);
export const setLearningRate = (id, lr) => request("PATCH", `/api/runs/${enc(id)}`, { lr });
/** Change a running run from its next step: any of {lr, regularization, regularization_rate}. */
export const updateRun = (id, changes) => request("PATCH", `/api/runs/${enc(id)}`, changes);

/** Validation digits of one confusion cell by the run's latest weights: {step, count, examples}. */
export const confusionCell = (id, label, prediction, limit = 24) =>
  request(
    "GET",
    `/api/runs/${enc(id)}/confusion?label=${label}&prediction=${prediction}&limit=${limit}`,
  );

/** An autoencode run's decoder on `code` (a point of its code space), latest weights:
 *  {reconstruction: C×H×W in 0..1, step}; ApiError(422) for another task or a code of the wrong size. */
export const decode = (id, code) => request("POST", `/api/runs/${enc(id)}/decode`, { code });

/** A gan run's generator on noise vectors (each its latent_dim numbers), latest weights:
 *  {images: N×C×H×W in 0..1, shape, step}; ApiError(422) for another task or the wrong size. */
export const generate = (id, noise) => request("POST", `/api/runs/${enc(id)}/generate`, { noise });

/** One prediction over REST (the fallback when the predict socket is unavailable). */
export const predict = (id, input, activations = true) =>
  request("POST", `/api/runs/${enc(id)}/predict${activations ? "?activations=true" : ""}`, input);

/** Why the run says what it says of a drawing: {image, method, target?, layer?} →
 *  {heatmap: H×W, signed, target, prediction, probabilities, input, layers (Grad-CAM per layer)}. */
export const explain = (id, body) => request("POST", `/api/runs/${enc(id)}/explain`, body);

/** One feature-map unit's arithmetic: {image, layer, channel, y, x} →
 *  {patch, kernel, padded, bias, channel_sums, sum, total, value, stride, padding, …}. */
export const explainUnit = (id, body) => request("POST", `/api/runs/${enc(id)}/explain/unit`, body);

/** The epochs a run keeps checkpoints of: {epochs: [{epoch, step, val_accuracy, val_loss, best}],
 *  cap, branches (whether its task can branch)}. */
export const checkpoints = (id) => request("GET", `/api/runs/${enc(id)}/checkpoints`);

/** A new run from the run's kept epoch with changed settings: {epoch, config} → the new run. */
export const branchRun = (id, epoch, config) => request("POST", `/api/runs/${enc(id)}/branch`, { epoch, config });

/** A drawing scored by every kept epoch: {image} → {epochs: [{epoch, step, prediction,
 *  probabilities}], classes}. */
export const throughTime = (id, input, options) =>
  request("POST", `/api/runs/${enc(id)}/through-time`, input, options);
