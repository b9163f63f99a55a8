/** The sidebar: header, notice, filters, comparison bar, list and details. */
import * as React from 'react';

import { CompareBar } from './CompareBar';
import { Details } from './Details';
import { Filters } from './Filters';
import { Header } from './Header';
import { Notice } from './Notice';
import { IProps } from './props';
import { SnapshotList } from './SnapshotList';

export function Sidebar({ model, actions }: IProps): React.ReactElement {
  if (!model.path) {
    return (
      <div className="jp-mlvc-empty">
        Open a notebook to see its snapshots: the variables, models and notebook
        content you committed.
      </div>
    );
  }
  return (
    <div className="jp-mlvc-sidebar">
      <Header model={model} actions={actions} />
      <Notice model={model} />
      <Filters model={model} />
      <CompareBar model={model} actions={actions} />
      <SnapshotList model={model} actions={actions} />
      {model.selectedId && <Details model={model} actions={actions} />}
    </div>
  );
}
