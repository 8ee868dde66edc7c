// The datasets page: every dataset with its facts, uploading your own (a ZIP of class folders
// or a CSV), sharing and deleting uploads, and a way to train on one. Opened by a share link
// (?dataset=ds_…&share=TOKEN) it also shows that dataset, someone else's, and trains on it.
import * as api from "../api.js";
import * as ds from "../datasets.js";
import { h, need, say } from "../dom.js";

const els = {
  form: need("[data-testid=upload-form]"),
  file: need("[data-testid=upload-file]"),
  name: need("[data-testid=upload-name]"),
  size: need("[data-testid=upload-size]"),
  channels: need("[data-testid=upload-channels]"),
  label: need("[data-testid=upload-label]"),
  submit: need("[data-testid=upload-submit]"),
  progress: need("[data-testid=upload-progress]"),
  progressText: need("#upload-progress-text"),
  message: need("[data-testid=upload-message]"),
  next: need("[data-testid=upload-next]"),
  train: need("[data-testid=upload-train]"),
  list: need("[data-testid=dataset-list]"),
  listMessage: need("[data-testid=list-message]"),
  count: need("#list-count"),
  shared: need("[data-testid=shared-panel]"),
  sharedMessage: need("[data-testid=shared-message]"),
  sharedDataset: need("[data-testid=shared-dataset]"),
  sharedTrain: need("[data-testid=shared-train]"),
  sharedForm: need("[data-testid=shared-train-form]"),
  sharedModel: need("[data-testid=shared-model]"),
  sharedStart: need("[data-testid=shared-start]"),
  sharedFit: need("[data-testid=shared-fit]"),
  sharedTrainMessage: need("[data-testid=shared-train-message]"),
  recipe: need("#shared-recipe"),
};

const state = { datasets: [], highlight: null, sharedInfo: null, models: [] };

// The link that opened this page, if any: an upload someone shared.
const query = new URLSearchParams(location.search);
const link = { dataset: query.get("dataset") ?? "", share: query.get("share") ?? "" };

// ---- the list ----

function fact(term, ...value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, ...value));
}

/** The facts a person needs to fit a model to the dataset, as a definition list. */
function factsList(info) {
  const facts = ds.datasetFacts(info);
  const classes = facts.classes ? h("span", { class: "muted" }, ` (${facts.classes})`) : null;
  return h(
    "dl",
    { class: "ds-facts" },
    fact("Input", h("b", {}, facts.input)),
    fact(facts.kind === "regression" ? "Outputs" : "Classes", h("b", {}, facts.outputs), classes),
    fact("Samples", facts.splits),
    fact("Name", h("code", {}, info.name)),
  );
}

/** Share (a link to your upload) or, once shared, Stop sharing (the link stops working). */
function shareButton(info, message) {
  const on = !info.share;
  const button = h(
    "button",
    {
      type: "button",
      class: "btn small",
      dataset: { testid: on ? "dataset-share" : "dataset-unshare" },
      "aria-label": `${on ? "Share" : "Stop sharing"} ${info.title}`,
    },
    on ? "Share" : "Stop sharing",
  );
  button.addEventListener("click", () => changeShare(info, on, button, message));
  return button;
}

/** Your shared upload's link, to copy. */
function shareLink(info, message) {
  const inputId = `share-${info.name.replace(/[^\w-]/g, "_")}`;
  const url = h("input", {
    type: "text",
    id: inputId,
    class: "grow",
    readonly: true,
    value: new URL(info.share.url, location.origin).href,
    dataset: { testid: "dataset-share-url" },
  });
  const copy = h("button", { type: "button", class: "btn small", "aria-label": `Copy the link to ${info.title}` }, "Copy");
  copy.addEventListener("click", () => copyLink(url, message));
  return h(
    "div",
    { class: "mt-l" },
    h("label", { for: inputId, class: "small" }, "Anyone with this link can see it and train on it:"),
    h("div", { class: "row" }, url, copy),
  );
}

function card(info) {
  const why = ds.unavailableReason(info);
  const message = h("div", { class: "msg", role: "alert" });
  const actions = h("div", { class: "row ds-actions" });
  if (!why) {
    actions.append(
      h("a", { class: "btn small", href: ds.trainHref(info.name), "aria-label": `Train on ${info.title}` }, "Train on it"),
    );
  }
  if (info.source === "upload") {
    const remove = h(
      "button",
      { type: "button", class: "btn small danger", dataset: { testid: "dataset-delete" }, "aria-label": `Delete ${info.title}` },
      "Delete",
    );
    remove.addEventListener("click", () => removeDataset(info, remove, message));
    if ("share" in info) actions.append(shareButton(info, message)); // your own uploads carry it
    actions.append(remove);
  }
  const titleId = `ds-${info.name.replace(/[^\w-]/g, "_")}`;
  return h(
    "article",
    {
      class: `ds-card${why ? " unavailable" : ""}${state.highlight === info.name ? " fresh" : ""}`,
      "aria-labelledby": titleId,
      dataset: { testid: "dataset-card", dataset: info.name },
    },
    h(
      "div",
      { class: "ds-head" },
      h("h4", { id: titleId }, info.title),
      h("span", { class: `badge ds-${info.source}` }, info.source),
      why ? h("span", { class: "badge failed" }, "not available") : null,
    ),
    info.description ? h("p", { class: "small muted" }, info.description) : null,
    factsList(info),
    why ? h("p", { class: "small ds-note" }, why) : null,
    actions,
    info.share ? shareLink(info, message) : null,
    message,
  );
}

function render() {
  const groups = ds.groupDatasets(state.datasets);
  const uploads = state.datasets.filter((d) => d.source === "upload").length;
  els.count.textContent = `${state.datasets.length} datasets · ${uploads} upload${uploads === 1 ? "" : "s"}`;
  const sections = groups.map((group) =>
    h(
      "section",
      { class: "ds-group", "aria-label": group.label },
      h("h3", {}, group.label),
      h("div", { class: "ds-grid" }, ...group.items.map(card)),
    ),
  );
  if (!uploads) {
    sections.push(
      h(
        "section",
        { class: "ds-group", "aria-label": "Your uploads" },
        h("h3", {}, "Your uploads"),
        h("p", { class: "small muted" }, "None yet: upload a ZIP of class folders or a CSV above."),
      ),
    );
  }
  els.list.replaceChildren(...sections);
}

async function refresh() {
  try {
    state.datasets = await api.datasets();
    say(els.listMessage, "");
    render();
  } catch (error) {
    say(els.listMessage, `The datasets could not be listed: ${error.message}`, "error");
  }
}

async function changeShare(info, on, button, message) {
  button.disabled = true;
  say(message, "");
  try {
    const share = on ? await api.shareDataset(info.name) : (await api.unshareDataset(info.name), null);
    state.datasets = state.datasets.map((d) => (d.name === info.name ? { ...d, share } : d));
    render();
    const card = els.list.querySelector(`[data-testid=dataset-card][data-dataset="${CSS.escape(info.name)}"]`);
    const after = card?.querySelector(on ? "[data-testid=dataset-share-url]" : "[data-testid=dataset-share]");
    after?.focus();
    if (on) after?.select();
    say(els.listMessage, on ? `“${info.title}” is shared: copy its link.` : `“${info.title}” is no longer shared; its link stopped working.`, "ok");
  } catch (error) {
    button.disabled = false;
    say(message, error.message, "error");
  }
}

async function copyLink(input, message) {
  input.focus();
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    say(message, "Copied the link.", "ok");
  } catch {
    say(message, "Selected: copy it with Ctrl+C (⌘C).", "info"); // no clipboard here (http)
  }
}

async function removeDataset(info, button, message) {
  button.disabled = true;
  say(message, "");
  try {
    await api.deleteDataset(info.name);
    if (state.highlight === info.name) {
      state.highlight = null;
      els.next.hidden = true;
    }
    await refresh();
    say(els.listMessage, `Deleted “${info.title}”.`, "ok");
  } catch (error) {
    button.disabled = false;
    say(message, error.message, "error"); // 409: a run trains on it (the server says so)
  }
}

// ---- uploading ----

function fileChanged() {
  const file = els.file.files?.[0];
  const csv = file ? ds.isCsvFile(file.name) : false;
  for (const field of els.form.querySelectorAll("[data-images]")) field.hidden = csv;
  for (const field of els.form.querySelectorAll("[data-csv]")) field.hidden = !csv;
  els.name.placeholder = file ? ds.nameFromFile(file.name) || "my dataset" : "from the file’s name";
}

function showProgress(text) {
  els.progress.hidden = !text;
  els.progressText.textContent = text ?? "";
}

async function upload(event) {
  event.preventDefault();
  const file = els.file.files?.[0];
  els.next.hidden = true;
  if (!file) {
    els.file.setAttribute("aria-invalid", "true");
    say(els.message, "Choose a .zip of class folders or a .csv file first.", "error");
    els.file.focus();
    return;
  }
  els.file.removeAttribute("aria-invalid");
  const csv = ds.isCsvFile(file.name);
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("name", els.name.value.trim() || ds.nameFromFile(file.name) || "my dataset");
  if (!csv) {
    form.append("size", els.size.value.trim() || "28x28");
    // Grey is the server's default: sent only for colour (a form field "1" is refused today).
    if (els.channels.value !== "1") form.append("channels", els.channels.value);
  } else if (els.label.value.trim()) {
    form.append("label", els.label.value.trim());
  }
  els.submit.disabled = true;
  say(els.message, "");
  showProgress(`Uploading ${file.name} (${ds.bytesText(file.size)}) and converting it…`);
  try {
    const info = await api.uploadDataset(form);
    state.highlight = info.name;
    say(els.message, `Added “${info.title}”: ${ds.factsLine(info)}.`, "ok");
    els.train.href = ds.trainHref(info.name);
    els.train.setAttribute("aria-label", `Train on ${info.title}`);
    els.next.hidden = false;
    els.form.reset();
    fileChanged();
    await refresh();
  } catch (error) {
    say(els.message, error.message, "error"); // the server's words: what is wrong and where
  } finally {
    els.submit.disabled = false;
    showProgress(null);
  }
}

// ---- a dataset shared with you ----

function sharedCard(info) {
  const titleId = "shared-title-card";
  return h(
    "article",
    { class: "ds-card", "aria-labelledby": titleId, dataset: { testid: "shared-card", dataset: info.name } },
    h("div", { class: "ds-head" }, h("h4", { id: titleId }, info.title), h("span", { class: `badge ds-${info.source}` }, "shared")),
    factsList(info),
  );
}

function modelLabel(model) {
  const summary = model.summary ?? {};
  return `${model.name} · ${ds.shapeText(summary.input_shape)} → ${ds.shapeText(summary.output_shape)}`;
}

function modelProblems() {
  const model = state.models.find((m) => m.id === els.sharedModel.value);
  const problems = model ? ds.fitProblems(state.sharedInfo, model.summary?.input_shape, model.summary?.output_shape) : [];
  els.sharedFit.textContent = problems.join(" ");
}

async function showShared() {
  els.shared.hidden = false;
  if (!link.dataset || !link.share) {
    say(els.sharedMessage, "This link is incomplete: it needs both the dataset and its share token.", "error");
    return;
  }
  let info;
  try {
    info = await api.sharedDataset(link.dataset, link.share);
  } catch (error) {
    const gone = error.status === 404;
    say(els.sharedMessage, gone ? "This link does not work (any more): its owner stopped sharing the dataset, or deleted it." : `The shared dataset could not be read: ${error.message}`, "error");
    return;
  }
  state.sharedInfo = info;
  say(els.sharedMessage, `Someone shared “${info.title}” with you: you can train your own models on it.`, "info");
  els.sharedDataset.replaceChildren(sharedCard(info));
  const body = { model_id: "YOUR_MODEL_ID", config: { dataset: info.name } };
  els.recipe.textContent = `POST /api/runs?dataset_share=${link.share}\n${JSON.stringify(body, null, 2)}`;
  els.recipe.parentElement.style.whiteSpace = "pre-wrap"; // CSSOM: allowed by the CSP
  els.recipe.parentElement.style.overflowWrap = "anywhere";
  els.sharedTrain.hidden = false;
  state.models = await api.models().catch(() => []);
  if (!state.models.length) {
    els.sharedModel.replaceChildren(h("option", { value: "" }, "no saved models yet"));
    els.sharedStart.disabled = true;
    els.sharedFit.replaceChildren(
      "Save a model on the ",
      h("a", { href: "/build" }, "Build page"),
      ` first: it must take ${ds.shapeText(info.input_shape)} and give ${ds.datasetFacts(info).outputs}.`,
    );
    return;
  }
  els.sharedModel.replaceChildren(...state.models.map((m) => h("option", { value: m.id }, modelLabel(m))));
  const fits = state.models.find((m) => !ds.fitProblems(info, m.summary?.input_shape, m.summary?.output_shape).length);
  if (fits) els.sharedModel.value = fits.id;
  modelProblems();
}

async function trainShared(event) {
  event.preventDefault();
  if (!state.sharedInfo || !els.sharedModel.value) return;
  els.sharedStart.disabled = true;
  say(els.sharedTrainMessage, "");
  try {
    const config = { dataset: state.sharedInfo.name };
    const run = await api.startSharedRun(els.sharedModel.value, config, link.share);
    location.assign(`/runs/${encodeURIComponent(run.id)}`);
  } catch (error) {
    els.sharedStart.disabled = false;
    say(els.sharedTrainMessage, error.message, "error"); // e.g. the model does not fit
  }
}

async function main() {
  els.file.addEventListener("change", fileChanged);
  els.form.addEventListener("submit", upload);
  els.sharedModel.addEventListener("change", modelProblems);
  els.sharedForm.addEventListener("submit", trainShared);
  fileChanged();
  const shared = link.dataset || link.share ? showShared() : null;
  await Promise.all([refresh(), shared]);
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  say(els.listMessage, `The datasets page could not start: ${error.message}`, "error");
  throw error;
});
