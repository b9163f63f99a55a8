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
  getChart,
  getGraph,
  getHead,
  getRefs,
  getSnapshot,
  getSnapshotNotebook,
  IChart,
  IGraph,
  ISnapshot,
  ISnapshotDetail,
  listSnapshots
} from './api';
import { MAX_COMPARED } from './comparisonTypes';
import { IGraphLayout, layoutGraph } from './graph';
import { commitInKernel, mergeInKernel, restoreInKernel } from './kernel';
import { LiveSync } from './live';
import {
  commitNotice,
  INotice,
  mergeNotice,
  restoreNotice,
  upToDateNotice
} from './notices';
import { IMergeResult, MergeSide } from './protocol';
import { untrustedNotebook } from './trust';

/** How the history is shown: a paged list, the whole commit graph, or its metrics as a chart. */
export type HistoryView = 'list' | 'graph' | 'chart';

/** The options users tune in the settings editor (schema/plugin.json). */
export interface ISidebarSettings {
  refreshInterval: number;
  pageSize: number;
  showAutoSnapshots: boolean;
  confirmRestore: boolean;
  historyView: HistoryView;
}

export const DEFAULT_SETTINGS: ISidebarSettings = {
  refreshInterval: 1500,
  pageSize: 50,
  showAutoSnapshots: true,
  confirmRestore: true,
  historyView: 'list'
};

/** A merge being previewed: what the kernel said would happen, and the user's choices. */
export interface IMergeState {
  /** The branch (or snapshot) merged into the current state. */
  ref: string;
  preview: IMergeResult;
  /** The side each conflict (by its row in `preview.conflicts`) takes; null: not chosen yet. */
  choices: (MergeSide | null)[];
}

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

  /** Snapshots ticked for comparison (at most MAX_COMPARED; the latest ticks win). */
  compareIds: string[] = [];
  /** Opens the side-by-side tab of three or more snapshots (set by index.ts). */
  openComparison: ((ids: string[]) => void) | null = null;

  /** Persists `showAutoSnapshots` (set by index.ts to write the setting). */
  saveShowAuto: ((show: boolean) => void) | null = null;
  /** Persists `historyView` (set by index.ts to write the setting). */
  saveView: ((view: HistoryView) => void) | null = null;

  /** Every snapshot of the notebook, for the graph view (loaded only in that view). */
  graph: IGraph | null = null;
  /** Its layout, worked out once per change of `graph` or of the folding. */
  graphLayout: IGraphLayout | null = null;
  /** Show the automatic snapshots in the graph (they are folded by default). */
  graphShowAuto = false;

  /** The metrics over the history as a Vega-Lite spec (loaded only in the chart view). */
  chart: IChart | null = null;

  /** The merge being previewed, if any. */
  merge: IMergeState | null = null;
  /** A full restore also removes the variables the snapshot could not save. */
  dropSkipped = false;

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

  get view(): HistoryView {
    return this.settings.historyView;
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
    this.graph = null;
    this.graphLayout = null;
    this.graphVersion = null;
    this.chart = null;
    this.chartVersion = null;
    this.merge = null;
    this.dropSkipped = false;
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
      // The whole graph is fetched again only when the store changed.
      const graph =
        this.view === 'graph' &&
        (!this.graph || this.graphVersion !== head.version)
          ? await getGraph(path)
          : null;
      // So is the chart, or when it should draw the automatic snapshots or not.
      const chartVersion = `${head.version} ${this.settings.showAutoSnapshots}`;
      const chart =
        this.view === 'chart' &&
        (!this.chart || this.chartVersion !== chartVersion)
          ? await getChart(path, this.settings.showAutoSnapshots)
          : null;
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
      if (graph) {
        this.graph = graph;
        this.graphVersion = head.version;
        this.relayout();
      }
      if (chart) {
        this.chart = chart;
        this.chartVersion = chartVersion;
      }
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
    this.dropSkipped = false;
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

  /** Tick or untick a snapshot for comparison; a tick past MAX_COMPARED drops the oldest. */
  toggleCompare(id: string): void {
    this.compareIds = this.compareIds.includes(id)
      ? this.compareIds.filter(x => x !== id)
      : [...this.compareIds, id].slice(-MAX_COMPARED);
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
  /** A snapshot listed in the list or in the graph: its id, short id and time. */
  findSnapshot(
    id: string
  ): Pick<ISnapshot, 'id' | 'short_id' | 'created_at'> | null {
    const listed = this.snapshots.find(s => s.id === id);
    if (listed) {
      return listed;
    }
    const row = this.graphLayout?.index.get(id);
    return row === undefined ? null : this.graphLayout!.rows[row].node;
  }

  get comparePair(): [string, string] | null {
    if (this.compareIds.length !== 2) {
      return null;
    }
    const time = (id: string): number =>
      Date.parse(this.findSnapshot(id)?.created_at ?? '') || 0;
    const [x, y] = this.compareIds;
    return time(x) <= time(y) ? [x, y] : [y, x];
  }

  /** Three or more ticked snapshots, oldest first (as comparePair orders two); else null. */
  get compareMany(): string[] | null {
    if (this.compareIds.length < 3) {
      return null;
    }
    const time = (id: string): number =>
      Date.parse(this.findSnapshot(id)?.created_at ?? '') || 0;
    // Array.sort is stable: snapshots no longer listed come first, in their order of ticking.
    return [...this.compareIds].sort((x, y) => time(x) - time(y));
  }

  /** Show the paged list, the commit graph or the chart, and remember it in the settings. */
  setView(view: HistoryView): void {
    if (view === this.view) {
      return;
    }
    this.settings = { ...this.settings, historyView: view };
    this.changed();
    if (view !== 'list') {
      void this.reload();
    }
    // Writing the setting calls back with the same value: nothing more happens.
    this.saveView?.(view);
  }

  /** Unfold or fold the automatic snapshots of the graph. */
  setGraphShowAuto(show: boolean): void {
    if (show === this.graphShowAuto) {
      return;
    }
    this.graphShowAuto = show;
    this.relayout();
    this.changed();
  }

  /** Work out the graph's lanes again: after new data, or a change of the folding. */
  private relayout(): void {
    const graph = this.graph;
    if (!graph) {
      this.graphLayout = null;
      return;
    }
    const main =
      (graph.current_branch && graph.branches[graph.current_branch]) ||
      graph.head;
    this.graphLayout = layoutGraph(graph.nodes, {
      showAuto: this.graphShowAuto,
      head: graph.head,
      branches: graph.branches,
      main
    });
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

  setDropSkipped(drop: boolean): void {
    this.dropSkipped = drop;
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
    const unsaved = Object.keys(snap.skipped).sort();
    const skipped =
      !names.length && unsaved.length && this.dropSkipped ? 'remove' : 'keep';
    if (this.settings.confirmRestore) {
      const what = names.length
        ? `Restore ${names.join(', ')} from ${describe(snap)}? Other variables stay as they are.`
        : `Restore every variable of ${describe(snap)}? Variables created since are removed. ` +
          'The current state is committed first if it changed, so it can be brought back.' +
          (skipped === 'remove'
            ? ` ${unsaved.join(', ')} (not saved in the snapshot) will be removed too.`
            : '');
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
          await restoreInKernel(panel.sessionContext, snap.id, names, skipped)
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

  // -- merging a branch into the current state ---------------------------------------

  /** Ask the kernel what merging `ref` would do, and show it for the user to decide. */
  async previewMerge(ref: string): Promise<boolean> {
    const panel = this.panel;
    if (!panel || this.busy) {
      return false;
    }
    this.busy = `Looking at what merging ${ref} would do…`;
    this.notice = null;
    this.merge = null;
    this.changed();
    try {
      await this.live.flush(panel);
      const preview = await mergeInKernel(panel.sessionContext, {
        ref,
        preview: true
      });
      if (panel !== this.panel) {
        return false;
      }
      if (preview.up_to_date) {
        this.notice = upToDateNotice(preview);
      } else {
        this.merge = {
          ref,
          preview,
          choices: preview.conflicts.map(c => c.resolution)
        };
      }
      return true;
    } catch (error) {
      this.notify('error', 'Cannot merge', messageOf(error));
      return false;
    } finally {
      this.busy = null;
      this.changed();
    }
  }

  /** Choose the side of conflict `row` of the merge being previewed (every row if null). */
  chooseMergeSide(row: number | null, side: MergeSide): void {
    const merge = this.merge;
    if (!merge) {
      return;
    }
    this.merge = {
      ...merge,
      choices: merge.choices.map((choice, i) =>
        row === null || i === row ? side : choice
      )
    };
    this.changed();
  }

  cancelMerge(): void {
    this.merge = null;
    this.changed();
  }

  /**
   * Merge as previewed, each conflict taking the side chosen for it; then load
   * the merged notebook into the editor. A conflict left open is refused by the
   * kernel, and then nothing changes.
   */
  async confirmMerge(): Promise<boolean> {
    const panel = this.panel;
    const merge = this.merge;
    if (!panel || !merge) {
      return false;
    }
    const resolve: { [name: string]: MergeSide } = {};
    merge.preview.conflicts.forEach((conflict, i) => {
      const side = merge.choices[i];
      if (side) {
        for (const name of conflict.names) {
          resolve[name] = side;
        }
      }
    });
    const ok = await this.act('Merging…', 'Merge failed', panel, async () => {
      await this.live.flush(panel);
      const result = await mergeInKernel(panel.sessionContext, {
        ref: merge.ref,
        resolve
      });
      const merged = result.notebook.merged;
      if (merged && !panel.isDisposed && panel.model) {
        // The merged notebook holds cells of both sides: trusted only if both were.
        const trusted = result.ours.trusted && result.theirs.trusted;
        panel.model.fromJSON(trusted ? merged : untrustedNotebook(merged));
        await this.live.flush(panel);
      }
      return mergeNotice(result, merged !== null);
    });
    if (ok && this.merge === merge) {
      this.merge = null;
      this.changed();
    }
    return ok;
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
  /** The store's version the graph was loaded at. */
  private graphVersion: string | null = null;
  /** The store's version (and whether automatic snapshots were drawn) of the chart. */
  private chartVersion: string | null = null;
  private ticket = 0;
}
