/**
 * The user's settings (schema/plugin.json) applied to the sidebar's model and
 * to the live sync of the editor's content, now and whenever they change.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { LiveSync } from './live';
import {
  DEFAULT_SETTINGS,
  HistoryView,
  ISidebarSettings,
  SidebarModel
} from './model';

/** What applying the settings may have to restart. */
export interface ISettingsTargets {
  model: SidebarModel;
  live: LiveSync;
  /** Start polling again (after the refresh interval went from off to on). */
  schedule: () => void;
}

const HISTORY_VIEWS: HistoryView[] = ['list', 'graph', 'chart'];

function apply(
  settings: ISettingRegistry.ISettings,
  { model, live, schedule }: ISettingsTargets
): void {
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
    confirmRestore: read('confirmRestore'),
    historyView: HISTORY_VIEWS.find(v => v === read('historyView')) ?? 'list'
  };
  live.enabled = settings.get('syncEditorContent').composite !== false;
  live.delay = (settings.get('syncDelay').composite as number) ?? 1000;
  if (before.refreshInterval <= 0 && model.settings.refreshInterval > 0) {
    schedule();
  }
  if (
    before.showAutoSnapshots !== model.settings.showAutoSnapshots ||
    before.historyView !== model.settings.historyView
  ) {
    // The graph is fetched again only if the store changed since it was loaded.
    void model.reload();
  }
}

/** Load the plugin's settings once the app is restored, and follow them. */
export function connectSettings(
  app: JupyterFrontEnd,
  registry: ISettingRegistry,
  pluginId: string,
  targets: ISettingsTargets
): void {
  void Promise.all([registry.load(pluginId), app.restored])
    .then(([settings]) => {
      apply(settings, targets);
      settings.changed.connect(() => apply(settings, targets));
      const save = (key: string, value: boolean | string): void => {
        settings
          .set(key, value)
          .catch(reason =>
            console.error('jupyter_mlvc: cannot save the setting', reason)
          );
      };
      targets.model.saveShowAuto = show => save('showAutoSnapshots', show);
      targets.model.saveView = view => save('historyView', view);
    })
    .catch(reason =>
      console.error('jupyter_mlvc: cannot load the settings', reason)
    );
}
