/**
 * jupyter-mlvc: a sidebar that lists the snapshots of the active notebook and
 * commits and restores its kernel's state.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import {
  INotebookTracker,
  INotebookWidgetFactory,
  NotebookPanel,
  NotebookWidgetFactory
} from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { CompareWidget, CURRENT } from './compare';
import { snapshotsIcon } from './icons';
import { LiveSync } from './live';
import { DEFAULT_SETTINGS, ISidebarSettings, SidebarModel } from './model';
import { KernelPathSync } from './session';
import { SnapshotView } from './view';
import { openSnapshotNotebook, SnapshotNotebookViewer } from './viewer';

const PLUGIN_ID = 'jupyter-mlvc:plugin';
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
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Lists the snapshots of the active notebook; commits and restores its kernel state and content.',
  autoStart: true,
  requires: [
    INotebookTracker,
    INotebookWidgetFactory,
    IRenderMimeRegistry,
    NotebookPanel.IContentFactory,
    IEditorServices
  ],
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    factory: NotebookWidgetFactory.IFactory,
    rendermime: IRenderMimeRegistry,
    contentFactory: NotebookPanel.IContentFactory,
    editorServices: IEditorServices,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const { commands, shell } = app;
    const live = new LiveSync(tracker);
    // Keeps the magic committing under the right notebook after a rename.
    new KernelPathSync(tracker);
    const model = new SidebarModel(live);

    const view = new SnapshotView(model, {
      commit: () => void commands.execute(CommandIDs.commit),
      openNotebook: ref => {
        if (model.path) {
          void commands.execute(CommandIDs.openNotebook, {
            path: model.path,
            ref
          });
        }
      },
      compare: (a, b) => {
        if (model.path) {
          void commands.execute(CommandIDs.compare, { path: model.path, a, b });
        }
      }
    });
    const sidebar = view;
    sidebar.id = SIDEBAR_ID;
    sidebar.addClass('jp-mlvc-panel');
    sidebar.title.icon = snapshotsIcon;
    sidebar.title.caption = 'Snapshots';
    shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, 'jupyter-mlvc-sidebar');

    model.setNotebook(tracker.currentWidget);
    tracker.currentChanged.connect((_, panel) => model.setNotebook(panel));

    // Refresh by polling a cheap route while the sidebar is in view: it catches
    // commits made from cells, from other tabs and from scripts alike.
    const schedule = (): void => {
      const interval = model.settings.refreshInterval;
      if (interval > 0) {
        window.setTimeout(tick, interval);
      }
    };
    const tick = (): void => {
      if (sidebar.isDisposed) {
        return;
      }
      if (sidebar.isVisible && document.visibilityState === 'visible') {
        void model.poll().finally(schedule);
      } else {
        schedule();
      }
    };
    schedule();

    const viewers = new WidgetTracker<SnapshotNotebookViewer>({
      namespace: 'mlvc-snapshot'
    });
    const hasSelection = (): boolean => !!model.detail && !model.busy;

    commands.addCommand(CommandIDs.commit, {
      label: 'Commit Kernel State and Notebook…',
      caption:
        "Snapshot the kernel's variables and the notebook as it is in the editor",
      icon: args => (args.isPalette ? undefined : snapshotsIcon),
      isEnabled: () => !!model.panel && !model.busy,
      execute: args =>
        model.commit(
          typeof args.message === 'string' ? args.message : undefined
        )
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
    commands.addCommand(CommandIDs.openNotebook, {
      label: args =>
        typeof args.ref === 'string'
          ? `Open Snapshot ${args.ref.slice(0, 8)} Read-Only`
          : 'Open Snapshot Notebook Read-Only',
      isEnabled: args =>
        (typeof args.ref === 'string' && typeof args.path === 'string') ||
        !!model.detail?.has_notebook,
      execute: async args => {
        const path = typeof args.path === 'string' ? args.path : model.path;
        const ref = typeof args.ref === 'string' ? args.ref : model.detail?.id;
        if (!path || !ref) {
          return;
        }
        const open = viewers.find(w => w.path === path && w.ref === ref);
        if (open) {
          shell.activateById(open.id);
          return open;
        }
        const viewer = await openSnapshotNotebook(
          { rendermime, contentFactory, editorServices, factory },
          path,
          ref
        );
        await viewers.add(viewer);
        shell.add(viewer, 'main', { mode: 'split-right' });
        shell.activateById(viewer.id);
        return viewer;
      }
    });

    const comparisons = new WidgetTracker<CompareWidget>({
      namespace: 'mlvc-compare'
    });
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
        const path = typeof args.path === 'string' ? args.path : model.path;
        const pair = model.comparePair;
        const a = typeof args.a === 'string' ? args.a : pair?.[0];
        const b = typeof args.b === 'string' ? args.b : pair?.[1];
        if (!path || !a || !b) {
          return;
        }
        const open = comparisons.find(
          w => w.path === path && w.options.a === a && w.options.b === b
        );
        if (open) {
          shell.activateById(open.id);
          if (b === CURRENT) {
            void open.refresh();
          }
          return open;
        }
        const widget = new CompareWidget({
          path,
          a,
          b,
          rendermime,
          findPanel: () => tracker.find(p => p.context.path === path) ?? null
        });
        // Comparisons open beside the notebook, and next to each other.
        const beside = comparisons.currentWidget;
        await comparisons.add(widget);
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
    });
    commands.addCommand(CommandIDs.compareCurrent, {
      label: 'Compare the Selected Snapshot with the Current State',
      isEnabled: hasSelection,
      execute: () =>
        model.detail && model.path
          ? commands.execute(CommandIDs.compare, {
              path: model.path,
              a: model.detail.id,
              b: CURRENT
            })
          : undefined
    });

    if (restorer) {
      void restorer.restore(viewers, {
        command: CommandIDs.openNotebook,
        args: w => ({ path: w.path, ref: w.ref }),
        name: w => `${w.path}@${w.ref}`
      });
    }

    if (palette) {
      for (const command of [
        CommandIDs.commit,
        CommandIDs.refresh,
        CommandIDs.show,
        CommandIDs.restoreKernel,
        CommandIDs.restoreChosen,
        CommandIDs.restoreNotebook,
        CommandIDs.openNotebook,
        CommandIDs.compare,
        CommandIDs.compareCurrent
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }

    model.stateChanged.connect(() => commands.notifyCommandChanged());

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings): void => {
        const read = <K extends keyof ISidebarSettings>(
          key: K
        ): ISidebarSettings[K] =>
          (settings.get(key).composite as ISidebarSettings[K]) ??
          DEFAULT_SETTINGS[key];
        const before = model.settings;
        model.settings = {
          refreshInterval: read('refreshInterval'),
          pageSize: read('pageSize'),
          showAutoSnapshots: read('showAutoSnapshots'),
          confirmRestore: read('confirmRestore')
        };
        live.enabled = settings.get('syncEditorContent').composite !== false;
        live.delay = (settings.get('syncDelay').composite as number) ?? 1000;
        if (before.refreshInterval <= 0 && model.settings.refreshInterval > 0) {
          schedule();
        }
        if (before.showAutoSnapshots !== model.settings.showAutoSnapshots) {
          void model.reload();
        }
      };
      void Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
        .then(([settings]) => {
          apply(settings);
          settings.changed.connect(apply);
          model.saveShowAuto = show => {
            settings
              .set('showAutoSnapshots', show)
              .catch(reason =>
                console.error('jupyter_mlvc: cannot save the setting', reason)
              );
          };
        })
        .catch(reason =>
          console.error('jupyter_mlvc: cannot load the settings', reason)
        );
    }
  }
};

export default plugin;
