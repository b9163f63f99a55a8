/**
 * Hands the notebook as it is in the editor to the server, for the kernel.
 *
 * A commit runs in the kernel, which cannot ask the frontend for the editor's
 * content while its cell runs (the answer would only arrive after the cell
 * ends). So the frontend pushes instead: shortly after every change, at once
 * when a cell is scheduled to run, and before any commit from the sidebar.
 */
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

import { putLiveNotebook } from './api';

interface IPending {
  timer: number | null;
  /** The push under way, so that pushes of one notebook never overtake each other. */
  last: Promise<void>;
}

export class LiveSync {
  constructor(private readonly tracker: INotebookTracker) {
    tracker.widgetAdded.connect((_, panel) => this.watch(panel));
    tracker.forEach(panel => this.watch(panel));
    NotebookActions.executionScheduled.connect((_, { notebook }) => {
      const panel = this.tracker.find(p => p.content === notebook);
      if (panel) {
        void this.flush(panel);
      }
    });
  }

  /** Whether to push at all (the `syncEditorContent` setting). */
  enabled = true;

  /** How long to wait after a change before pushing, in ms. */
  delay = 1000;

  /** Push the editor's content of `panel` now; resolves once the server has it. */
  flush(panel: NotebookPanel): Promise<void> {
    const pending = this.pending(panel);
    if (pending.timer !== null) {
      window.clearTimeout(pending.timer);
      pending.timer = null;
    }
    if (!this.enabled || !panel.context.isReady || !panel.model) {
      return pending.last;
    }
    const path = panel.context.path;
    const content = panel.model.toJSON();
    pending.last = pending.last
      .catch(() => undefined)
      .then(() => putLiveNotebook(path, content));
    return pending.last;
  }

  private watch(panel: NotebookPanel): void {
    void panel.context.ready.then(() => {
      panel.context.model.contentChanged.connect(() => this.schedule(panel));
      this.schedule(panel);
    });
    panel.disposed.connect(() => {
      const pending = this._pending.get(panel);
      if (pending?.timer) {
        window.clearTimeout(pending.timer);
      }
      this._pending.delete(panel);
    });
  }

  private schedule(panel: NotebookPanel): void {
    if (!this.enabled || panel.isDisposed) {
      return;
    }
    const pending = this.pending(panel);
    if (pending.timer !== null) {
      window.clearTimeout(pending.timer);
    }
    pending.timer = window.setTimeout(() => {
      pending.timer = null;
      this.flush(panel).catch(error =>
        console.warn(
          'jupyter_mlvc: could not hand the notebook to the server',
          error
        )
      );
    }, this.delay);
  }

  private pending(panel: NotebookPanel): IPending {
    let pending = this._pending.get(panel);
    if (!pending) {
      pending = { timer: null, last: Promise.resolve() };
      this._pending.set(panel, pending);
    }
    return pending;
  }

  private _pending = new Map<NotebookPanel, IPending>();
}
