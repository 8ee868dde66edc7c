// The spec tree: a network spec is {input_shape, layers}, and a block layer (residual) holds its
// own `layers`. A layer is named by its path, the indices from the top joined by dots ("5.1" is
// the second layer inside the sixth). Pure data: no DOM, no network. The editing functions
// change the spec in place (the builder's forms hold references to its layer objects) and return
// the path that should be selected afterwards.

/** A readable JSON text of a spec: one line per layer, blocks spread over lines. */
export function formatSpec(spec) {
  const pad = (depth) => "  ".repeat(depth);
  const layerLines = (layers, depth) =>
    layers.map((layer, i) => {
      const comma = i < layers.length - 1 ? "," : "";
      if (layer && typeof layer === "object" && Array.isArray(layer.layers)) {
        const { layers: inner, ...rest } = layer;
        const head = JSON.stringify(rest).slice(0, -1);
        const sep = head.length > 1 ? ", " : "";
        return [
          `${pad(depth)}${head}${sep}"layers": [`,
          ...layerLines(inner, depth + 1),
          `${pad(depth)}]}${comma}`,
        ].join("\n");
      }
      return `${pad(depth)}${JSON.stringify(layer).replace(/,"/g, ', "').replace(/":/g, '": ')}${comma}`;
    });
  if (!spec || typeof spec !== "object" || !Array.isArray(spec.layers)) {
    return JSON.stringify(spec, null, 2);
  }
  const { layers, ...rest } = spec;
  const lines = ["{"];
  for (const [key, value] of Object.entries(rest)) {
    lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value).replace(/,/g, ", ")},`);
  }
  lines.push('  "layers": [', ...layerLines(layers, 2), "  ]", "}");
  return lines.join("\n");
}

// ---- paths ----

/** Parent path and index of a layer path ("5.1" → ["5", 1]; "3" → ["", 3]). */
export function splitPath(path) {
  const parts = path.split(".");
  const index = Number(parts.pop());
  return [parts.join("."), index];
}

/** The path of the `index`th layer of `parent` ("" is the top level). */
export function childPath(parent, index) {
  return parent ? `${parent}.${index}` : String(index);
}

/** The path of the list holding a layer ("5.1" → "5"; "3" → ""). */
export function parentPath(path) {
  return splitPath(path)[0];
}

// ---- reading the tree ----

/** A deep copy of `spec` that always has a `layers` array (what the builder edits). */
export function normalizeSpec(spec) {
  const copy = structuredClone(spec ?? {});
  if (!Array.isArray(copy.layers)) copy.layers = [];
  return copy;
}

/** The layer at `path`, or null when there is none. */
export function layerAt(spec, path) {
  let list = spec.layers;
  let layer = null;
  for (const part of path.split(".")) {
    layer = Array.isArray(list) ? list[Number(part)] : undefined;
    if (!layer) return null;
    list = layer.layers;
  }
  return layer;
}

/** The list of layers of the block at `parent` ("" is the top level), or null if it has none. */
export function listAt(spec, parent) {
  if (!parent) return spec.layers;
  const layer = layerAt(spec, parent);
  return layer && Array.isArray(layer.layers) ? layer.layers : null;
}

// ---- layer kinds and defaults ----

function squash(name) {
  return String(name).toLowerCase().replace(/[\s_-]/g, "");
}

/** The kind of a layer type from `kinds` (a Map type → kind), accepting PyTorch spellings. */
export function findKind(kinds, type) {
  if (kinds.has(type)) return kinds.get(type);
  for (const [name, kind] of kinds) if (squash(name) === squash(type)) return kind;
  return null;
}

/**
 * A new layer with defaults that make it valid straight away: `atEnd` (the network's last layer)
 * makes a linear layer the 10-way classifier; `schema` (the kind's JSON Schema) fills in any
 * other required integer with its minimum.
 */
export function newLayer(type, { atEnd = false, schema = null } = {}) {
  const layer = { type };
  if (type === "linear") layer.out_features = atEnd ? 10 : 64;
  if (type === "conv2d") Object.assign(layer, { out_channels: 8, kernel_size: 3, padding: 1 });
  if (type === "residual") {
    layer.layers = [
      { type: "conv2d", out_channels: 8, kernel_size: 3, padding: 1 },
      { type: "relu" },
    ];
  }
  for (const key of schema?.required ?? []) {
    if (layer[key] === undefined && schema.properties?.[key]?.type === "integer") {
      layer[key] = Math.max(1, schema.properties[key].minimum ?? 1);
    }
  }
  return layer;
}

// ---- editing (in place) ----

/**
 * Where a new layer goes: at the end of block `parent` when one is given, else right after the
 * `selected` layer (when it exists), else at the end. `atEnd`: it would be the network's last layer.
 */
export function insertionPoint(spec, selected, parent = null) {
  let list;
  let index;
  let at;
  if (parent !== null) {
    at = parent;
    list = listAt(spec, parent);
    index = list.length;
  } else if (selected && layerAt(spec, selected)) {
    [at, index] = splitPath(selected);
    list = listAt(spec, at);
    index += 1;
  } else {
    at = "";
    list = spec.layers;
    index = list.length;
  }
  return { parent: at, index, atEnd: at === "" && index === list.length };
}

/** Put `layer` at `index` of block `parent`; returns its path. */
export function insertLayer(spec, parent, index, layer) {
  listAt(spec, parent).splice(index, 0, layer);
  return childPath(parent, index);
}

/**
 * Take out the layer at `path`; returns the path to select next: the layer now in its place, else
 * the one before it, else its block (null at the top level).
 */
export function removeLayer(spec, path) {
  const [parent, index] = splitPath(path);
  const list = listAt(spec, parent);
  list.splice(index, 1);
  return list.length ? childPath(parent, Math.min(index, list.length - 1)) : parent || null;
}

/** Move the layer at `path` by `delta` places in its list; returns its new path, or null past either end. */
export function moveLayer(spec, path, delta) {
  const [parent, index] = splitPath(path);
  const list = listAt(spec, parent);
  const target = index + delta;
  if (target < 0 || target >= list.length) return null;
  const [layer] = list.splice(index, 1);
  list.splice(target, 0, layer);
  return childPath(parent, target);
}

/**
 * Move within one list: the layer at `from` goes before (or `after`) the one at `to`. Returns its
 * new path, or null (no move) when the two are the same or in different lists.
 */
export function moveLayerTo(spec, from, to, after) {
  const [parent, i] = splitPath(from);
  const [parentTo, j] = splitPath(to);
  if (parent !== parentTo || from === to) return null;
  const list = listAt(spec, parent);
  const [layer] = list.splice(i, 1);
  let target = j > i ? j - 1 : j;
  if (after) target += 1;
  list.splice(target, 0, layer);
  return childPath(parent, target);
}

/** Set one argument of a layer; `undefined` removes it (the default applies). */
export function setArgument(layer, key, value) {
  if (value === undefined) delete layer[key];
  else layer[key] = value;
}

// ---- what the API said about it ----

/**
 * Sort the API's spec errors ({layer, field, msg}) by layer: `byLayer` maps each path that
 * `isLayer(path)` accepts to its errors; `loose` holds the messages of the others.
 */
export function groupErrors(errors, isLayer) {
  const byLayer = new Map();
  const loose = [];
  for (const error of errors) {
    const path = error.layer ?? null;
    if (path !== null && isLayer(path)) {
      if (!byLayer.has(path)) byLayer.set(path, []);
      byLayer.get(path).push(error);
    } else {
      loose.push(error.msg ?? String(error));
    }
  }
  return { byLayer, loose };
}
