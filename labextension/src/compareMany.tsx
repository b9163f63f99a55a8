/**
 * A main-area tab with three or more snapshots side by side (GET
 * /mlvc/api/compare, the core's `Repo.compare`): one column per snapshot, its
 * metrics and the variables that differ. The server reads only the index, so
 * this is safe on anyone's snapshots; everything from them is drawn as React
 * text nodes. Clicking a column's head selects its snapshot in the sidebar.
 */
import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import {
  refreshIcon,
  VDomModel,
  VDomRenderer
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { getComparison } from './api';
import { IComparison } from './comparisonTypes';
import { CompareMany } from './components/CompareMany';
import { snapshotsIcon } from './icons';

/** What the tab needs from the outside. */
export interface ICompareManyOptions {
  /** The notebook, relative to the server's root. */
  path: string;
  /** Full ids, in the order of the columns. */
  ids: string[];
  /** Select snapshot `id` of notebook `path` in the sidebar. */
  select: (path: string, id: string) => void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class CompareManyModel extends VDomModel {
  comparison: IComparison | null = null;
  error: string | null = null;
  loading = false;

  changed(): void {
    this.stateChanged.emit(void 0);
  }
}

class CompareManyView extends VDomRenderer<CompareManyModel> {
  constructor(
    model: CompareManyModel,
    private readonly onSelect: (id: string) => void
  ) {
    super(model);
    this.addClass('jp-mlvc-compare-content');
    this.addClass('jp-mlvc-compare-summary');
  }

  protected render(): React.ReactElement {
    const m = this.model;
    return (
      <CompareMany
        comparison={m.comparison}
        error={m.error}
        loading={m.loading}
        onSelect={this.onSelect}
      />
    );
  }
}

export class CompareManyWidget extends MainAreaWidget<CompareManyView> {
  constructor(readonly options: ICompareManyOptions) {
    const model = new CompareManyModel();
    const content = new CompareManyView(model, id =>
      options.select(options.path, id)
    );
    super({ content });
    this._model = model;
    this.addClass('jp-mlvc-compare-many');
    this.id = `jp-mlvc-compare-many-${Private.counter++}`;
    this.title.icon = snapshotsIcon;
    this.title.closable = true;
    this.title.label = `Compare ${options.ids.length} snapshots`;
    this.title.caption =
      `${options.path}: snapshots ` +
      options.ids.map(id => id.slice(0, 8)).join(', ') +
      ' side by side';
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Compare again',
        onClick: () => void this.refresh()
      })
    );
    void this.refresh();
  }

  get path(): string {
    return this.options.path;
  }

  /** The tab shows exactly these snapshots, in this order. */
  shows(path: string, ids: string[]): boolean {
    const own = this.options.ids;
    return (
      path === this.path &&
      ids.length === own.length &&
      ids.every((id, i) => id === own[i])
    );
  }

  /** (Re)read the comparison: tags and branches may have moved since. */
  async refresh(): Promise<void> {
    const ticket = ++this._ticket;
    const model = this._model;
    model.loading = true;
    model.error = null;
    model.changed();
    try {
      const comparison = await getComparison(this.path, this.options.ids);
      if (ticket === this._ticket) {
        model.comparison = comparison;
      }
    } catch (error) {
      if (ticket === this._ticket) {
        model.error = messageOf(error);
      }
    } finally {
      if (ticket === this._ticket && !this.isDisposed) {
        model.loading = false;
        model.changed();
      }
    }
  }

  private _model: CompareManyModel;
  private _ticket = 0;
}

namespace Private {
  export let counter = 0;
}
