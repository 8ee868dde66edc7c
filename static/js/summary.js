// A model summary as the API gives it: {layers: [{path, type, input_shape, output_shape, params,
// macs, formula, layers?}], output_shape, total_params, total_macs}, a block's rows nested in its
// own `layers`. Pure functions, no DOM.
import * as fmt from "./format.js";

/** Every row of a summary, nested ones included, by layer path ("5.1"); empty for no summary. */
export function summaryRows(summary) {
  const rows = new Map();
  const walk = (list) => {
    for (const row of list ?? []) {
      rows.set(row.path, row);
      walk(row.layers);
    }
  };
  walk(summary?.layers);
  return rows;
}

/** A label for the layer at `path`: "layer 0 · conv2d → 6×28×28", or "layer 0" without its row. */
export function describeLayer(rows, path) {
  const row = rows.get(path);
  return row ? `layer ${path} · ${row.type} → ${fmt.shape(row.output_shape)}` : `layer ${path}`;
}
