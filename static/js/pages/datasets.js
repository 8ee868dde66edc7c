// The datasets page: every dataset with its facts, uploading your own (a ZIP of class folders
// or a CSV), deleting uploads, and a way to train on one.
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
};

const state = { datasets: [], highlight: null };

// ---- the list ----

function fact(term, ...value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, ...value));
}

function card(info) {
  const facts = ds.datasetFacts(info);
  const why = ds.unavailableReason(info);
  const message = h("div", { class: "msg", role: "alert" });
  const actions = h("div", { class: "row ds-actions" });
  if (!why && info.kind !== "regression") {
    actions.append(
      h("a", { class: "btn small", href: ds.trainHref(info.name), "aria-label": `Train on ${info.title}` }, "Train on it"),
    );
  } else if (!why) {
    actions.append(h("span", { class: "small muted" }, "Runs train classifiers only, for now."));
  }
  if (info.source === "upload") {
    const remove = h(
      "button",
      { type: "button", class: "btn small danger", dataset: { testid: "dataset-delete" }, "aria-label": `Delete ${info.title}` },
      "Delete",
    );
    remove.addEventListener("click", () => removeDataset(info, remove, message));
    actions.append(remove);
  }
  const classes = facts.classes ? h("span", { class: "muted" }, ` (${facts.classes})`) : null;
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
    h(
      "dl",
      { class: "ds-facts" },
      fact("Input", h("b", {}, facts.input)),
      fact(facts.kind === "regression" ? "Outputs" : "Classes", h("b", {}, facts.outputs), classes),
      fact("Samples", facts.splits),
      fact("Name", h("code", {}, info.name)),
    ),
    why ? h("p", { class: "small ds-note" }, why) : null,
    actions,
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
    els.next.hidden = info.kind === "regression";
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

async function main() {
  els.file.addEventListener("change", fileChanged);
  els.form.addEventListener("submit", upload);
  fileChanged();
  await refresh();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  say(els.listMessage, `The datasets page could not start: ${error.message}`, "error");
  throw error;
});
