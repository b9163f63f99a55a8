/**
 * The sidebar's widget: renders components/Sidebar with React from the SidebarModel.
 *
 * Everything from the store (messages, names, summaries, reasons) goes through
 * React's text nodes and attributes, which escape it: nothing is set as HTML.
 */
import { VDomRenderer } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IViewActions } from './components/props';
import { Sidebar } from './components/Sidebar';
import { SidebarModel } from './model';

export { IViewActions };

export class SnapshotView extends VDomRenderer<SidebarModel> {
  constructor(
    model: SidebarModel,
    private readonly actions: IViewActions
  ) {
    super(model);
    this.addClass('jp-mlvc-view');
  }

  protected onAfterShow(): void {
    // Catch up at once with what happened while the panel was hidden.
    void this.model.poll();
  }

  protected render(): React.ReactElement {
    return <Sidebar model={this.model} actions={this.actions} />;
  }
}
