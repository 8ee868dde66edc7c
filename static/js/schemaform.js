// Form fields generated from a JSON Schema (the layer specs and the training config share it
// with the server). Values equal to a field's default are left out of the object, so the JSON
// stays as short as a person would write it.
import { h } from "./dom.js";

let uid = 0;

/** Follow a local "$ref" ("#/$defs/Name") against `root`. */
export function resolve(schema, root) {
  if (schema && typeof schema.$ref === "string") {
    const name = schema.$ref.split("/").pop();
    return root?.$defs?.[name] ?? {};
  }
  return schema ?? {};
}

/** How a property is edited: {kind, ...}. Kinds: enum, bool, int, number, pair, init, list, json. */
export function fieldKind(prop, root) {
  if (prop.const !== undefined) return { kind: "const" };
  if (prop.enum) return { kind: "enum", options: prop.enum };
  if (prop.type === "boolean") return { kind: "bool" };
  if (prop.type === "integer" || prop.type === "number") {
    return { kind: prop.type === "integer" ? "int" : "number", ...bounds(prop), nullable: false };
  }
  if (prop.type === "array") {
    return resolve(prop.items, root).type === "integer" ? { kind: "list" } : { kind: "skip" };
  }
  const options = (prop.anyOf ?? prop.oneOf ?? []).map((o) => resolve(o, root));
  if (options.length) {
    const nullable = options.some((o) => o.type === "null");
    const rest = options.filter((o) => o.type !== "null");
    if (rest.some((o) => o.type === "object" && o.properties)) {
      return { kind: "init", object: rest.find((o) => o.type === "object"), nullable };
    }
    if (rest.some((o) => o.type === "array")) {
      const words = rest.flatMap((o) => o.enum ?? []);
      const number = rest.find((o) => o.type === "integer") ?? {};
      return { kind: "pair", words, nullable, min: number.minimum ?? 0 };
    }
    if (rest.length === 1 && (rest[0].type === "integer" || rest[0].type === "number")) {
      return { kind: rest[0].type === "integer" ? "int" : "number", ...bounds(rest[0]), nullable };
    }
    if (rest.length === 1 && rest[0].enum) return { kind: "enum", options: rest[0].enum, nullable };
  }
  return { kind: "json" };
}

function bounds(prop) {
  return {
    min: prop.minimum ?? prop.exclusiveMinimum,
    max: prop.maximum ?? prop.exclusiveMaximum,
  };
}

/** "3" → 3, "3, 5" / "3x5" / "[3,5]" → [3, 5], a known word → itself, "" → undefined. */
export function parsePair(text, words = []) {
  const t = text.trim();
  if (!t) return undefined;
  if (words.includes(t)) return t;
  if (/^-?\d+$/.test(t)) return Number(t);
  const m = t.match(/^\[?\s*(-?\d+)\s*(?:,|×|x|\s)\s*(-?\d+)\s*\]?$/i);
  if (m) return [Number(m[1]), Number(m[2])];
  return t; // the server explains what is wrong with it
}

function showPair(value) {
  if (Array.isArray(value)) return value.join(", ");
  return value === undefined || value === null ? "" : String(value);
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Render the editable properties of `schema` for the object `values`.
 * `onChange(key, value)` gets undefined when the key should be removed (default or empty).
 * Returns {element, markErrors(fields: {key: message})}.
 */
export function schemaFields(
  schema,
  values,
  { onChange, labels = {}, hints = {}, skip = [], order = null, idPrefix = "f", secondary = [] },
) {
  const root = schema;
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const keys = order ?? Object.keys(props);
  const element = h("div", { class: "fields" });
  const moreFields = h("div", { class: "fields" });
  const more = h("details", { class: "more-opts" }, h("summary", {}, "more options"), moreFields);
  const inputs = new Map();
  for (const key of keys) {
    const prop = props[key];
    if (!prop || skip.includes(key) || key === "type") continue;
    const info = fieldKind(prop, root);
    if (info.kind === "const" || info.kind === "skip") continue;
    const id = `${idPrefix}-${key}-${++uid}`;
    const hasDefault = "default" in prop;
    const fallback = hasDefault ? prop.default : undefined;
    const emit = (value) => {
      const isDefault = value !== undefined && hasDefault && same(value, fallback);
      onChange(key, isDefault && !required.has(key) ? undefined : value);
    };
    const current = values[key] !== undefined ? values[key] : fallback;
    const hintText = hints[key] ?? prop.description ?? "";
    const label = h("label", { for: id }, labels[key] ?? h("code", {}, key));
    let control;
    let wrap;
    switch (info.kind) {
      case "enum": {
        control = h("select", { id, dataset: { field: key } });
        if (info.nullable) control.append(h("option", { value: "" }, "—"));
        for (const option of info.options) control.append(h("option", { value: option }, String(option)));
        control.value = current === null || current === undefined ? "" : String(current);
        control.addEventListener("change", () => emit(control.value === "" ? undefined : control.value));
        break;
      }
      case "bool": {
        control = h("input", { id, type: "checkbox", dataset: { field: key } });
        control.checked = Boolean(current);
        control.addEventListener("change", () => emit(control.checked));
        wrap = h("div", { class: "field check" }, control, label);
        break;
      }
      case "int":
      case "number": {
        control = h("input", {
          id,
          type: "number",
          inputmode: info.kind === "int" ? "numeric" : "decimal",
          step: info.kind === "int" ? "1" : "any",
          min: info.min,
          max: info.max,
          placeholder: info.nullable ? "off" : "",
          dataset: { field: key },
        });
        control.value = current === null || current === undefined ? "" : String(current);
        control.addEventListener("input", () => {
          const text = control.value.trim();
          emit(text ? Number(text) : undefined);
        });
        break;
      }
      case "pair": {
        const words = info.words.length ? ` or ${info.words.join("/")}` : "";
        control = h("input", {
          id,
          type: "text",
          inputmode: "text",
          spellcheck: "false",
          autocomplete: "off",
          placeholder: current === null || current === undefined ? "auto" : "",
          title: `a number, or height, width${words}`,
          dataset: { field: key },
        });
        control.value = showPair(current);
        control.addEventListener("input", () => emit(parsePair(control.value, info.words)));
        break;
      }
      case "list": {
        control = h("input", { id, type: "text", spellcheck: "false", dataset: { field: key } });
        control.value = Array.isArray(current) ? current.join(", ") : "";
        control.addEventListener("input", () => {
          const parts = control.value.split(/[\s,×x]+/).filter(Boolean);
          emit(parts.length ? parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : undefined);
        });
        break;
      }
      case "init": {
        wrap = initField(id, key, info, current, emit, label);
        control = wrap.querySelector("select");
        break;
      }
      default: {
        control = h("input", { id, type: "text", spellcheck: "false", dataset: { field: key } });
        control.value = current === undefined ? "" : JSON.stringify(current);
        control.addEventListener("input", () => {
          try {
            emit(control.value.trim() ? JSON.parse(control.value) : undefined);
          } catch {
            emit(control.value);
          }
        });
      }
    }
    if (!wrap) {
      wrap = h("div", { class: "field" }, label, control);
    }
    if (hintText) {
      const hintId = `${id}-hint`;
      wrap.append(h("span", { class: "hint", id: hintId }, hintText));
      control.setAttribute("aria-describedby", hintId);
    }
    wrap.dataset.key = key;
    inputs.set(key, control);
    if (secondary.includes(key)) {
      moreFields.append(wrap);
      if (values[key] !== undefined) more.open = true;
    } else {
      element.append(wrap);
    }
  }
  if (moreFields.childElementCount) element.append(more);
  return {
    element,
    inputs,
    markErrors(errors = {}) {
      for (const [key, input] of inputs) {
        if (errors[key] && moreFields.contains(input)) more.open = true;
        if (errors[key]) {
          input.setAttribute("aria-invalid", "true");
          input.title = errors[key];
        } else {
          input.removeAttribute("aria-invalid");
        }
      }
    },
  };
}

/** weight_init: a scheme (or the model's default), plus std / nonlinearity where they apply. */
function initField(id, key, info, current, emit, label) {
  const props = info.object.properties ?? {};
  const value = typeof current === "string" ? { scheme: current } : current ?? null;
  const scheme = h("select", { id, dataset: { field: key } });
  scheme.append(h("option", { value: "" }, info.nullable ? "inherit" : "default"));
  for (const option of props.scheme?.enum ?? []) {
    if (option !== "default" || !info.nullable) scheme.append(h("option", { value: option }, option));
  }
  if (info.nullable && props.scheme?.enum?.includes("default")) {
    scheme.append(h("option", { value: "default" }, "default (PyTorch)"));
  }
  scheme.value = value?.scheme ?? "";
  const std = h("input", { type: "number", step: "any", min: "0", "aria-label": `${key} std`, value: value?.std ?? props.std?.default ?? 0.01 });
  const gain = h("select", { "aria-label": `${key} nonlinearity` });
  for (const option of props.nonlinearity?.enum ?? []) gain.append(h("option", { value: option }, option));
  gain.value = value?.nonlinearity ?? props.nonlinearity?.default ?? "relu";
  const extra = h("div", { class: "row" }, std, gain);
  const sync = () => {
    const s = scheme.value;
    std.hidden = s !== "normal";
    gain.hidden = !/^(xavier|kaiming)/.test(s);
    extra.hidden = std.hidden && gain.hidden;
  };
  const changed = () => {
    sync();
    const s = scheme.value;
    if (!s) return emit(undefined);
    const out = { scheme: s };
    if (s === "normal" && Number(std.value) !== props.std?.default) out.std = Number(std.value);
    if (!gain.hidden && gain.value !== props.nonlinearity?.default) out.nonlinearity = gain.value;
    emit(Object.keys(out).length === 1 ? s : out);
  };
  scheme.addEventListener("change", changed);
  std.addEventListener("input", changed);
  gain.addEventListener("change", changed);
  sync();
  return h("div", { class: "field" }, label, scheme, extra);
}
