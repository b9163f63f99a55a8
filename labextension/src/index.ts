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

import {
  addCompareCommands,
  addCompareManyCommand,
  addSidebarCommands,
  addToPalette,
  addViewerCommand,
  CommandIDs,
  SIDEBAR_ID
} from './commands';
import { snapshotsIcon } from './icons';
import { LiveSync } from './live';
import { SidebarModel } from './model';
import { KernelPathSync } from './session';
import { connectSettings } from './settings';
import { SnapshotView } from './view';
import { SnapshotNotebookViewer } from './viewer';

export { CommandIDs, SIDEBAR_ID };

const PLUGIN_ID = 'jupyter-mlvc:plugin';

/** The sidebar in the left area, its buttons bound to the commands. */
function createSidebar(
  app: JupyterFrontEnd,
  model: SidebarModel,
  restorer: ILayoutRestorer | null
): SnapshotView {
  const { commands, shell } = app;
  const sidebar = new SnapshotView(model, {
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
  sidebar.id = SIDEBAR_ID;
  sidebar.addClass('jp-mlvc-panel');
  sidebar.title.icon = snapshotsIcon;
  sidebar.title.caption = 'Snapshots';
  shell.add(sidebar, 'left', { rank: 600 });
  restorer?.add(sidebar, 'jupyter-mlvc-sidebar');
  return sidebar;
}

/**
 * Refresh by polling a cheap route while the sidebar is in view: it catches
 * commits made from cells, from other tabs and from scripts alike. Returns
 * the function that schedules the next poll.
 */
function startPolling(sidebar: SnapshotView, model: SidebarModel): () => void {
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
  return schedule;
}

/** Reopen the read-only snapshot notebooks of the last session. */
function restoreViewers(
  restorer: ILayoutRestorer,
  viewers: WidgetTracker<SnapshotNotebookViewer>
): void {
  void restorer.restore(viewers, {
    command: CommandIDs.openNotebook,
    args: w => ({ path: w.path, ref: w.ref }),
    name: w => `${w.path}@${w.ref}`
  });
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
    const live = new LiveSync(tracker);
    // Keeps the magic committing under the right notebook after a rename.
    new KernelPathSync(tracker);
    const model = new SidebarModel(live);
    const sidebar = createSidebar(app, model, restorer);
    model.setNotebook(tracker.currentWidget);
    tracker.currentChanged.connect((_, panel) => model.setNotebook(panel));
    const schedule = startPolling(sidebar, model);

    addSidebarCommands(app, model);
    const viewers = addViewerCommand(app, model, {
      rendermime,
      contentFactory,
      editorServices,
      factory
    });
    addCompareCommands(app, model, tracker, rendermime);
    addCompareManyCommand(app, model, tracker);
    model.openComparison = ids => {
      if (model.path) {
        void app.commands.execute(CommandIDs.compareMany, {
          path: model.path,
          ids
        });
      }
    };
    if (restorer) {
      restoreViewers(restorer, viewers);
    }
    if (palette) {
      addToPalette(palette);
    }
    model.stateChanged.connect(() => app.commands.notifyCommandChanged());
    if (settingRegistry) {
      connectSettings(app, settingRegistry, PLUGIN_ID, {
        model,
        live,
        schedule
      });
    }
  }
};

export default plugin;
