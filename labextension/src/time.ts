/**
 * Times as the sidebar shows them, in the user's locale (JupyterLab's `Time`).
 *
 * Kept apart from format.ts so that the pure formatters load without
 * JupyterLab, e.g. in node for the test that compares them with Python's.
 */
import { Time } from '@jupyterlab/coreutils';

/** `3 minutes ago`, `yesterday`, ... */
export function relativeTime(iso: string): string {
  return Time.formatHuman(iso);
}

/** The full local date and time, for tooltips. */
export function absoluteTime(iso: string): string {
  return Time.format(iso);
}
