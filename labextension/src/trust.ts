/**
 * Keeping the outputs of someone else's notebook inert.
 *
 * JupyterLab renders a cell's HTML unsanitized and runs its JavaScript when
 * the cell says it is trusted, and `model.fromJSON` takes that from the
 * notebook as it is. A snapshot not signed with the user's key was written
 * by someone else, trust flags included: its notebook is loaded with no trust
 * at all, and every cell explicitly untrusted so that a save does not sign it.
 */
import { Widget } from '@lumino/widgets';

/** A copy of `notebook` with no notebook-level trust and every cell untrusted. */
export function untrustedNotebook(notebook: any): any {
  const copy = JSON.parse(JSON.stringify(notebook));
  if (copy.metadata && typeof copy.metadata === 'object') {
    delete copy.metadata.trusted;
  }
  for (const cell of Array.isArray(copy.cells) ? copy.cells : []) {
    if (!cell.metadata || typeof cell.metadata !== 'object') {
      cell.metadata = {};
    }
    cell.metadata.trusted = false;
  }
  return copy;
}

/** Whether every code cell of `notebook` (nbformat JSON) that has outputs is trusted. */
export function outputsTrusted(notebook: any): boolean {
  const cells: any[] = Array.isArray(notebook?.cells) ? notebook.cells : [];
  return cells.every(
    cell =>
      cell.cell_type !== 'code' ||
      !Array.isArray(cell.outputs) ||
      cell.outputs.length === 0 ||
      cell.metadata?.trusted === true
  );
}

/** nbdime's per-output button that re-renders an output trusted. */
const NBDIME_TRUST_BUTTON = '.jp-Diff-trustOutputButton';

/** The class that hides nbdime's trust buttons below a widget (style/base.css). */
export const NO_TRUST_CLASS = 'jp-mlvc-no-output-trust';

/**
 * Take away nbdime's "Trust" buttons below `widget`, so that no output of an
 * untrusted notebook can be rendered trusted from a comparison.
 *
 * The class hides the buttons while nbdime is still adding cells; once it is
 * done, each button is also disabled, so a click cannot reach it, hidden or
 * not. (The nodes stay: they belong to nbdime's widgets, which detach them.)
 */
export function forbidOutputTrust(widget: Widget): void {
  widget.addClass(NO_TRUST_CLASS);
  widget.node
    .querySelectorAll<HTMLButtonElement>(NBDIME_TRUST_BUTTON)
    .forEach(button => {
      button.disabled = true;
      button.hidden = true;
      button.title =
        'This notebook is not from your key: its outputs stay untrusted';
    });
}
