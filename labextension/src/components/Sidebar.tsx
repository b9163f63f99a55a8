/** The sidebar: header, notice, merge preview, filters, comparison bar, list, graph or chart, and details. */
import * as React from 'react';

import { BranchMergeBar } from './BranchMergeBar';
import { CompareBar } from './CompareBar';
import { CompareManyBar } from './CompareManyBar';
import { Details } from './Details';
import { Filters } from './Filters';
import { Header } from './Header';
import { MergePanel } from './MergePanel';
import { MetricChart } from './MetricChart';
import { Notice } from './Notice';
import { IProps } from './props';
import { SnapshotGraph } from './SnapshotGraph';
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
      <MergePanel model={model} />
      <Filters model={model} />
      <BranchMergeBar model={model} />
      {model.compareMany ? (
        <CompareManyBar model={model} actions={actions} />
      ) : (
        <CompareBar model={model} actions={actions} />
      )}
      {model.view === 'graph' ? (
        <SnapshotGraph model={model} actions={actions} />
      ) : model.view === 'chart' ? (
        <MetricChart model={model} actions={actions} />
      ) : (
        <SnapshotList model={model} actions={actions} />
      )}
      {model.selectedId && <Details model={model} actions={actions} />}
    </div>
  );
}
