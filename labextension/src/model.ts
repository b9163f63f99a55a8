/**
 * The sidebar's state and actions: which notebook it follows, its snapshots,
 * the selected one, and commit / restore through the notebook's kernel (the
 * kernel protocol, docs/kernel-protocol.md).
 */
import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { VDomModel } from '@jupyterlab/ui-components';

import {
  ApiError,
  getHead,
  getRefs,
  getSnapshot,
  getSnapshotNotebook,
  ISnapshot,
  ISnapshotDetail,
  listSnapshots
} from './api';
import { commitInKernel, restoreInKernel } from './kernel';
import { LiveSync } from './live';
import { commitNotice, INotice, restoreNotice } from './notices';
import { untrustedNotebook } from './trust';

/** The options users tune in the settings editor (schema/plugin.json). */
export interface ISidebarSettings {
  refreshInterval: number;
  pageSize: number;
  showAutoSnapshots: boolean;
  confirmRestore: boolean;
}

export const DEFAULT_SETTINGS: ISidebarSettings = {
  refreshInterval: 1500,
  pageSize: 50,
  showAutoSnapshots: true,
  confirmRestore: true
};

function messageOf(error: unknown): string {
  if (error instanceof ApiError || error instanceof Error) {
    return error.message;
  }
  return String(error);
}

function describe(snap: ISnapshot): string {
  return snap.message ? `${snap.short_id} “${snap.message}”` : snap.short_id;
}

export class SidebarModel extends VDomModel {
  constructor(private readonly live: LiveSync) {
    super();
  }

  settings: ISidebarSettings = { ...DEFAULT_SETTINGS };

  panel: NotebookPanel | null = null;
  snapshots: ISnapshot[] = [];
  total = 0;
  head: string | null = null;
  currentBranch: string | null = null;
  hint: string | null = null;
  branches: string[] = [];
  loading = false;
  loadError: string | null = null;

  search = '';
  branch = '';

  /** Snapshots ticked for comparison (at most two; the latest ticks win). */
  compareIds: string[] = [];

  /** Persists `showAutoSnapshots` (set by index.ts to write the setting). */
  saveShowAuto: ((show: boolean) => void) | null = null;

  selectedId: string | null = null;
  detail: ISnapshotDetail | null = null;
  detailError: string | null = null;
  chosen = new Set<string>();

  /** The label of the action under way, e.g. "Committing…". */
  busy: string | null = null;
  notice: INotice | null = null;

  /** The notebook's path relative to the server root, as the API names it. */
  get path(): string | null {
    return this.panel && !this.panel.isDisposed
      ? this.panel.context.path
      : null;
  }

  get filtered(): boolean {
    return this.search !== '' || this.branch !== '';
  }

  get selected(): ISnapshot | null {
    return this.snapshots.find(s => s.id === this.selectedId) ?? null;
  }

  changed(): void {
    this.stateChanged.emit(void 0);
  }

  // -- following the notebook -----------------------------------------------------

  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.panel) {
      return;
    }
    if (this.panel) {
      this.panel.context.pathChanged.disconnect(this.onPathChanged, this);
      this.panel.disposed.disconnect(this.onPanelDisposed, this);
    }
    this.panel = panel;
    if (panel) {
      panel.context.pathChanged.connect(this.onPathChanged, this);
      panel.disposed.connect(this.onPanelDisposed, this);
    }
    this.reset();
    void this.reload();
  }

  private onPathChanged(): void {
    this.reset();
    void this.reload();
  }

  private onPanelDisposed(): void {
    this.setNotebook(null);
  }

  private reset(): void {
    this.snapshots = [];
    this.total = 0;
    this.head = null;
    this.currentBranch = null;
    this.hint = null;
    this.branches = [];
    this.loadError = null;
    this.search = '';
    this.branch = '';
    this.selectedId = null;
    this.detail = null;
    this.detailError = null;
    this.chosen = new Set();
    this.compareIds = [];
    this.notice = null;
    this.version = null;
    this.changed();
  }

  // -- reading --------------------------------------------------------------------

  /** Reload the list (as many rows as are shown), the branches and the selection. */
  async reload(): Promise<void> {
    const path = this.path;
    if (!path) {
      this.changed();
      return;
    }
    const ticket = ++this.ticket;
    this.loading = true;
    this.changed();
    try {
      const limit = Math.max(this.settings.pageSize, this.snapshots.length);
      const [page, refs, head] = await Promise.all([
        listSnapshots(path, {
          limit: Math.min(limit, 500),
          search: this.search,
          branch: this.branch,
          includeAuto: this.settings.showAutoSnapshots
        }),
        getRefs(path),
        getHead(path)
      ]);
      if (ticket !== this.ticket || path !== this.path) {
        return;
      }
      this.snapshots = page.snapshots;
      this.total = page.total;
      this.head = page.head;
      this.currentBranch = page.current_branch;
      this.hint = page.hint;
      this.branches = Object.keys(refs.branches).sort();
      this.version = head.version;
      this.loadError = null;
    } catch (error) {
      if (ticket === this.ticket) {
        this.loadError = messageOf(error);
      }
    } finally {
      if (ticket === this.ticket) {
        this.loading = false;
        this.changed();
      }
    }
    if (this.selectedId && ticket === this.ticket) {
      await this.loadDetail(this.selectedId);
    }
  }

  async loadMore(): Promise<void> {
    const path = this.path;
    if (!path || this.snapshots.length >= this.total) {
      return;
    }
    try {
      const page = await listSnapshots(path, {
        limit: this.settings.pageSize,
        offset: this.snapshots.length,
        search: this.search,
        branch: this.branch,
        includeAuto: this.settings.showAutoSnapshots
      });
      if (path !== this.path) {
        return;
      }
      const known = new Set(this.snapshots.map(s => s.id));
      this.snapshots = this.snapshots.concat(
        page.snapshots.filter(s => !known.has(s.id))
      );
      this.total = page.total;
    } catch (error) {
      this.loadError = messageOf(error);
    }
    this.changed();
  }

  /** Reload if the store changed since the last look (a commit from a cell, say). */
  async poll(): Promise<void> {
    const path = this.path;
    if (!path || this.busy || this.loading) {
      return;
    }
    try {
      const head = await getHead(path);
      if (path === this.path && head.version !== this.version) {
        await this.reload();
      }
    } catch {
      // The server may be restarting: the next poll tries again.
    }
  }

  setFilter(search: string, branch: string): void {
    if (search === this.search && branch === this.branch) {
      return;
    }
    this.search = search;
    this.branch = branch;
    this.snapshots = [];
    void this.reload();
  }

  async select(id: string | null): Promise<void> {
    if (id === this.selectedId) {
      return;
    }
    this.selectedId = id;
    this.detail = null;
    this.detailError = null;
    this.chosen = new Set();
    this.changed();
    if (id) {
      await this.loadDetail(id);
    }
  }

  private async loadDetail(id: string): Promise<void> {
    const path = this.path;
    if (!path) {
      return;
    }
    try {
      const detail = await getSnapshot(path, id);
      if (id === this.selectedId && path === this.path) {
        this.detail = detail;
        this.detailError = null;
        // Keep only the chosen names the snapshot still has.
        this.chosen = new Set(
          [...this.chosen].filter(n => n in detail.variables)
        );
      }
    } catch (error) {
      if (id === this.selectedId) {
        this.detail = null;
        this.detailError = messageOf(error);
      }
    }
    this.changed();
  }

  /** Tick or untick a snapshot for comparison; a third tick drops the oldest. */
  toggleCompare(id: string): void {
    this.compareIds = this.compareIds.includes(id)
      ? this.compareIds.filter(x => x !== id)
      : [...this.compareIds, id].slice(-2);
    this.changed();
  }

  clearCompare(): void {
    this.compareIds = [];
    this.changed();
  }

  /**
   * The ticked snapshots as (older, newer), by time; ids of snapshots no longer
   * listed keep their order of ticking.
   */
  get comparePair(): [string, string] | null {
    if (this.compareIds.length !== 2) {
      return null;
    }
    const time = (id: string): number =>
      Date.parse(this.snapshots.find(s => s.id === id)?.created_at ?? '') || 0;
    const [x, y] = this.compareIds;
    return time(x) <= time(y) ? [x, y] : [y, x];
  }

  /** Show or hide automatic snapshots, and remember it in the settings. */
  setShowAuto(show: boolean): void {
    if (show === this.settings.showAutoSnapshots) {
      return;
    }
    this.settings = { ...this.settings, showAutoSnapshots: show };
    this.snapshots = [];
    void this.reload();
    // Writing the setting calls back with the same value: no second reload.
    this.saveShowAuto?.(show);
  }

  toggleChosen(name: string): void {
    const chosen = new Set(this.chosen);
    if (chosen.has(name)) {
      chosen.delete(name);
    } else {
      chosen.add(name);
    }
    this.chosen = chosen;
    this.changed();
  }

  setChosen(names: string[]): void {
    this.chosen = new Set(names);
    this.changed();
  }

  dismissNotice(): void {
    this.notice = null;
    this.changed();
  }

  // -- actions in the kernel --------------------------------------------------------

  /** Commit the kernel's state and the editor's content, asking for a message. */
  async commit(message?: string): Promise<boolean> {
    const panel = this.panel;
    if (!panel) {
      return false;
    }
    if (message === undefined) {
      const answer = await InputDialog.getText({
        title: 'Commit a snapshot',
        label: `Message for the snapshot of ${panel.context.localPath}`,
        placeholder: 'what this state is, e.g. "baseline model"',
        okLabel: 'Commit'
      });
      if (!answer.button.accept) {
        return false;
      }
      message = answer.value ?? '';
    }
    const text = message;
    return this.act('Committing…', 'Commit failed', panel, async () => {
      await this.live.flush(panel);
      return commitNotice(await commitInKernel(panel.sessionContext, text));
    });
  }

  /** Restore the selected snapshot's variables: all of them, or `names`. */
  async restoreKernel(names: string[] = []): Promise<boolean> {
    const panel = this.panel;
    const snap = this.detail;
    if (!panel || !snap) {
      return false;
    }
    if (this.settings.confirmRestore) {
      const what = names.length
        ? `Restore ${names.join(', ')} from ${describe(snap)}? Other variables stay as they are.`
        : `Restore every variable of ${describe(snap)}? Variables created since are removed. ` +
          'The current state is committed first if it changed, so it can be brought back.';
      const answer = await showDialog({
        title: 'Restore kernel state',
        body: what,
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Restore' })
        ]
      });
      if (!answer.button.accept) {
        return false;
      }
    }
    return this.act(
      'Restoring variables…',
      'Restore failed',
      panel,
      async () => {
        await this.live.flush(panel);
        return restoreNotice(
          await restoreInKernel(panel.sessionContext, snap.id, names)
        );
      }
    );
  }

  /** Replace the editor's content with the snapshot's notebook, committing first. */
  async restoreNotebook(): Promise<boolean> {
    const panel = this.panel;
    const snap = this.detail;
    if (!panel || !snap) {
      return false;
    }
    if (!snap.has_notebook) {
      this.notify(
        'error',
        'Restore notebook',
        `Snapshot ${snap.short_id} holds no notebook.`
      );
      return false;
    }
    if (this.settings.confirmRestore) {
      const answer = await showDialog({
        title: 'Restore notebook',
        body:
          `Replace the content of ${panel.context.localPath} with the notebook of ${describe(snap)}? ` +
          'The current notebook and variables are committed first, so this can be undone.',
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Restore' })
        ]
      });
      if (!answer.button.accept) {
        return false;
      }
    }
    return this.act(
      'Restoring the notebook…',
      'Restore failed',
      panel,
      async () => {
        await this.live.flush(panel);
        const saved = await commitInKernel(
          panel.sessionContext,
          `before restoring the notebook to ${snap.short_id}`
        ).catch((error: unknown) => {
          throw new Error(
            `Nothing was restored: committing the current state failed: ${messageOf(error)}`
          );
        });
        const stored = await getSnapshotNotebook(panel.context.path, snap.id);
        if (panel.isDisposed || !panel.model) {
          throw new Error('The notebook was closed.');
        }
        // Someone else's notebook keeps no trust: its outputs must not run here,
        // nor be signed as the user's when the file is saved.
        const trusted = stored.trusted && snap.trusted;
        panel.model.fromJSON(
          trusted ? stored.notebook : untrustedNotebook(stored.notebook)
        );
        await this.live.flush(panel);
        const text =
          `The editor now holds the notebook of ${describe(snap)} (not saved yet).\n` +
          `The previous state: ${saved.summary}` +
          (trusted
            ? ''
            : '\nIt was not made with your key: its outputs are shown untrusted.');
        return { kind: 'info', title: 'Notebook restored', text };
      }
    );
  }

  /** Run an action in the kernel; its notice, or its error's, is shown above the list. */
  private async act(
    label: string,
    failed: string,
    panel: NotebookPanel,
    run: () => Promise<INotice>
  ): Promise<boolean> {
    if (this.busy) {
      return false;
    }
    this.busy = label;
    this.notice = null;
    this.changed();
    let ok = false;
    try {
      const notice = await run();
      ok = notice.kind === 'info';
      this.notice = notice;
    } catch (error) {
      this.notify('error', failed, messageOf(error));
    } finally {
      this.busy = null;
      this.changed();
    }
    if (panel === this.panel) {
      await this.reload();
    }
    return ok;
  }

  private notify(kind: INotice['kind'], title: string, text: string): void {
    this.notice = { kind, title, text };
    this.changed();
  }

  private version: string | null = null;
  private ticket = 0;
}
