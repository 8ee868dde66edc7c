// Number, shape and time formatting shared by the pages. Pure functions, no DOM.

const INT = new Intl.NumberFormat("en-US");

/** 1234567 → "1,234,567". */
export function int(value) {
  return value === null || value === undefined ? "—" : INT.format(Math.round(value));
}

/** 1234567 → "1.23M"; small numbers stay whole. */
export function compact(value) {
  if (value === null || value === undefined) return "—";
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  return INT.format(Math.round(value));
}

/** [6, 28, 28] → "6×28×28". */
export function shape(dims) {
  return Array.isArray(dims) && dims.length ? dims.join("×") : "—";
}

/** 0.9812 → "98.1%". */
export function percent(value, digits = 1) {
  return value === null || value === undefined || Number.isNaN(value)
    ? "—"
    : `${(value * 100).toFixed(digits)}%`;
}

/** A loss or other real number with 3–4 significant digits. */
export function real(value, digits = 4) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e5)) {
    return value.toExponential(2);
  }
  return Number(value.toPrecision(digits)).toString();
}

/** Seconds → "42 s", "3 min 05 s", "1 h 02 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** Unix seconds → a short local date and time. */
export function when(unixSeconds) {
  if (!unixSeconds) return "—";
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** 1 → "1st", 2 → "2nd", 11 → "11th". */
export function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th"}`;
}

/** A run's short name for lists and legends. */
export function runLabel(run) {
  const name = run.model_name ?? "run";
  return `${name} · ${String(run.id).slice(0, 6)}`;
}
