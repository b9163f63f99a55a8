/**
 * Small text formatters for what the sidebar shows.
 */
import { Time } from '@jupyterlab/coreutils';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** `1536` -> `1.5 KB`. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `3 minutes ago`, `yesterday`, ... */
export function relativeTime(iso: string): string {
  return Time.formatHuman(iso);
}

/** The full local date and time, for tooltips. */
export function absoluteTime(iso: string): string {
  return Time.format(iso);
}

/** A metric value with a sensible number of digits. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6)
    ? value.toExponential(3)
    : String(Number(value.toPrecision(4)));
}

/** Any JSON value as one line of text. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}
