/** Switch between the paged list of snapshots, the commit graph and the metric chart. */
import * as React from 'react';

import { HistoryView, SidebarModel } from '../model';

const VIEWS: { view: HistoryView; label: string; title: string }[] = [
  {
    view: 'list',
    label: 'List',
    title: 'The snapshots as a list, newest first'
  },
  {
    view: 'graph',
    label: 'Graph',
    title:
      'Every snapshot as a commit graph: branches as lanes, forks and merges drawn'
  },
  {
    view: 'chart',
    label: 'Chart',
    title:
      'Each metric over the snapshots, one line per branch: hover a point for its snapshot, click to select it'
  }
];

export function ViewToggle({
  model
}: {
  model: SidebarModel;
}): React.ReactElement {
  return (
    <div className="jp-mlvc-view-toggle" role="group" aria-label="History view">
      {VIEWS.map(({ view, label, title }) => (
        <button
          key={view}
          className={`jp-mlvc-toggle${model.view === view ? ' jp-mod-active' : ''}`}
          aria-pressed={model.view === view}
          title={title}
          onClick={() => model.setView(view)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}
