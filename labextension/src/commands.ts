/**
 * The extension's commands: commit, refresh, restore, open a snapshot's
 * notebook, compare. Each group is added by one function; index.ts wires them.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import {
  INotebookTracker,
  NotebookPanel,
  NotebookWidgetFactory
} from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { CompareWidget, CURRENT } from './compare';
import { CompareManyWidget } from './compareMany';
import { MAX_COMPARED } from './comparisonTypes';
import { snapshotsIcon } from './icons';
import { SidebarModel } from './model';
import { openSnapshotNotebook, SnapshotNotebookViewer } from './viewer';

export const SIDEBAR_ID = 'jp-mlvc-sidebar';
const CATEGORY = 'Snapshots (mlvc)';

export namespace CommandIDs {
  export const commit = 'mlvc:commit';
  export const refresh = 'mlvc:refresh';
  export const show = 'mlvc:show-sidebar';
  export const restoreKernel = 'mlvc:restore-kernel';
  export const restoreChosen = 'mlvc:restore-chosen';
  export const restoreNotebook = 'mlvc:restore-notebook';
  export const openNotebook = 'mlvc:open-snapshot-notebook';
  export const compare = 'mlvc:compare';
  export const compareCurrent = 'mlvc:compare-current';
  export const compareMany = 'mlvc:compare-many';
}

/** What opening a snapshot's notebook read-only needs. */
export interface IViewerServices {
  rendermime: IRenderMimeRegistry;
  contentFactory: NotebookPanel.IContentFactory;
  editorServices: IEditorServices;
  factory: NotebookWidgetFactory.IFactory;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Commit, refresh, show the sidebar, and the three restores. */
export function addSidebarCommands(
  app: JupyterFrontEnd,
  model: SidebarModel
): void {
  const { commands, shell } = app;
  const hasSelection = (): boolean => !!model.detail && !model.busy;
  commands.addCommand(CommandIDs.commit, {
    label: 'Commit Kernel State and Notebook…',
    caption:
      "Snapshot the kernel's variables and the notebook as it is in the editor",
    icon: args => (args.isPalette ? undefined : snapshotsIcon),
    isEnabled: () => !!model.panel && !model.busy,
    execute: args => model.commit(str(args.message))
  });
  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Snapshots',
    isEnabled: () => !!model.panel,
    execute: () => model.reload()
  });
  commands.addCommand(CommandIDs.show, {
    label: 'Show Snapshots Sidebar',
    execute: () => shell.activateById(SIDEBAR_ID)
  });
  commands.addCommand(CommandIDs.restoreKernel, {
    label: 'Restore All Variables of the Selected Snapshot',
    isEnabled: hasSelection,
    execute: () => model.restoreKernel()
  });
  commands.addCommand(CommandIDs.restoreChosen, {
    label: 'Restore the Chosen Variables of the Selected Snapshot',
    isEnabled: () => hasSelection() && model.chosen.size > 0,
    execute: () => model.restoreKernel([...model.chosen].sort())
  });
  commands.addCommand(CommandIDs.restoreNotebook, {
    label: 'Restore Notebook from the Selected Snapshot',
    isEnabled: () => hasSelection() && !!model.detail?.has_notebook,
    execute: () => model.restoreNotebook()
  });
}

/** Open a snapshot's notebook read-only; returns the tracker of those tabs. */
export function addViewerCommand(
  app: JupyterFrontEnd,
  model: SidebarModel,
  services: IViewerServices
): WidgetTracker<SnapshotNotebookViewer> {
  const { commands, shell } = app;
  const viewers = new WidgetTracker<SnapshotNotebookViewer>({
    namespace: 'mlvc-snapshot'
  });
  commands.addCommand(CommandIDs.openNotebook, {
    label: args =>
      typeof args.ref === 'string'
        ? `Open Snapshot ${args.ref.slice(0, 8)} Read-Only`
        : 'Open Snapshot Notebook Read-Only',
    isEnabled: args =>
      (typeof args.ref === 'string' && typeof args.path === 'string') ||
      !!model.detail?.has_notebook,
    execute: async args => {
      const path = str(args.path) ?? model.path;
      const ref = str(args.ref) ?? model.detail?.id;
      if (!path || !ref) {
        return;
      }
      const open = viewers.find(w => w.path === path && w.ref === ref);
      if (open) {
        shell.activateById(open.id);
        return open;
      }
      const viewer = await openSnapshotNotebook(services, path, ref);
      await viewers.add(viewer);
      shell.add(viewer, 'main', { mode: 'split-right' });
      shell.activateById(viewer.id);
      return viewer;
    }
  });
  return viewers;
}

/**
 * Show a comparison tab: beside the notebook, and next to the other comparisons of
 * its kind.
 */
async function openBeside<T extends Widget>(
  shell: JupyterFrontEnd.IShell,
  tabs: WidgetTracker<T>,
  widget: T
): Promise<T> {
  const beside = tabs.currentWidget;
  await tabs.add(widget);
  shell.add(
    widget,
    'main',
    beside && beside.isAttached
      ? { mode: 'tab-after', ref: beside.id }
      : { mode: 'split-right' }
  );
  shell.activateById(widget.id);
  return widget;
}

/** Compare two snapshots, or the selected one with the current state. */
export function addCompareCommands(
  app: JupyterFrontEnd,
  model: SidebarModel,
  tracker: INotebookTracker,
  rendermime: IRenderMimeRegistry
): void {
  const { commands, shell } = app;
  const comparisons = new WidgetTracker<CompareWidget>({
    namespace: 'mlvc-compare'
  });
  const open = async (path: string, a: string, b: string) => {
    const existing = comparisons.find(
      w => w.path === path && w.options.a === a && w.options.b === b
    );
    if (existing) {
      shell.activateById(existing.id);
      if (b === CURRENT) {
        void existing.refresh();
      }
      return existing;
    }
    const widget = new CompareWidget({
      path,
      a,
      b,
      rendermime,
      findPanel: () => tracker.find(p => p.context.path === path) ?? null
    });
    return openBeside(shell, comparisons, widget);
  };
  commands.addCommand(CommandIDs.compare, {
    label: args =>
      typeof args.a === 'string' && typeof args.b === 'string'
        ? `Compare ${args.a.slice(0, 8)} ↔ ${args.b.slice(0, 8)}`
        : 'Compare the Two Ticked Snapshots',
    caption: 'Variables, metrics, environment and notebook of two snapshots',
    isEnabled: args =>
      (typeof args.a === 'string' && typeof args.b === 'string') ||
      !!model.comparePair,
    execute: async args => {
      const path = str(args.path) ?? model.path;
      const pair = model.comparePair;
      const a = str(args.a) ?? pair?.[0];
      const b = str(args.b) ?? pair?.[1];
      return path && a && b ? open(path, a, b) : undefined;
    }
  });
  commands.addCommand(CommandIDs.compareCurrent, {
    label: 'Compare the Selected Snapshot with the Current State',
    isEnabled: () => !!model.detail && !model.busy,
    execute: () =>
      model.detail && model.path
        ? commands.execute(CommandIDs.compare, {
            path: model.path,
            a: model.detail.id,
            b: CURRENT
          })
        : undefined
  });
}

function idsOf(value: unknown): string[] | undefined {
  return Array.isArray(value) &&
    value.length >= 2 &&
    value.length <= MAX_COMPARED &&
    value.every(id => typeof id === 'string')
    ? value
    : undefined;
}

/** Open several snapshots side by side (three or more ticked); their heads select in the sidebar. */
export function addCompareManyCommand(
  app: JupyterFrontEnd,
  model: SidebarModel,
  tracker: INotebookTracker
): void {
  const { commands, shell } = app;
  const tabs = new WidgetTracker<CompareManyWidget>({
    namespace: 'mlvc-compare-many'
  });
  // The sidebar follows the notebook compared (opened if need be), then selects.
  const select = async (path: string, id: string): Promise<void> => {
    if (model.path !== path) {
      const panel =
        tracker.find(p => p.context.path === path) ??
        (await commands.execute('docmanager:open', { path }));
      if (panel instanceof NotebookPanel) {
        model.setNotebook(panel);
      }
    }
    if (model.path === path) {
      shell.activateById(SIDEBAR_ID);
      await model.select(id);
    }
  };
  const open = async (path: string, ids: string[]) => {
    const existing = tabs.find(w => w.shows(path, ids));
    if (existing) {
      shell.activateById(existing.id);
      void existing.refresh();
      return existing;
    }
    const widget = new CompareManyWidget({
      path,
      ids,
      select: (p, id) => void select(p, id)
    });
    return openBeside(shell, tabs, widget);
  };
  commands.addCommand(CommandIDs.compareMany, {
    label: args => {
      const n = idsOf(args.ids)?.length ?? model.compareMany?.length;
      return n
        ? `Compare the ${n} Ticked Snapshots Side by Side`
        : 'Compare the Ticked Snapshots Side by Side';
    },
    caption:
      'Metrics and the variables that differ of three or more snapshots, one column each',
    isEnabled: args => !!idsOf(args.ids) || !!model.compareMany,
    execute: async args => {
      const path = str(args.path) ?? model.path;
      const ids = idsOf(args.ids) ?? model.compareMany;
      return path && ids ? open(path, ids) : undefined;
    }
  });
}

/** Every command in the palette, under one category. */
export function addToPalette(palette: ICommandPalette): void {
  for (const command of [
    CommandIDs.commit,
    CommandIDs.refresh,
    CommandIDs.show,
    CommandIDs.restoreKernel,
    CommandIDs.restoreChosen,
    CommandIDs.restoreNotebook,
    CommandIDs.openNotebook,
    CommandIDs.compare,
    CommandIDs.compareCurrent,
    CommandIDs.compareMany
  ]) {
    palette.addItem({ command, category: CATEGORY });
  }
}
