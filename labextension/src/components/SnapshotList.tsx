/** The list of snapshots, or why there is none yet. */
import * as React from 'react';

import { IProps } from './props';
import { SnapshotItem } from './SnapshotItem';

export function SnapshotList({ model }: IProps): React.ReactElement {
  if (model.loadError) {
    return (
      <div className="jp-mlvc-error">
        Could not load the snapshots: {model.loadError}
      </div>
    );
  }
  if (model.snapshots.length === 0) {
    if (model.loading) {
      return <div className="jp-mlvc-empty">Loading…</div>;
    }
    if (model.filtered) {
      return <div className="jp-mlvc-empty">No snapshot matches.</div>;
    }
    return (
      <div className="jp-mlvc-empty jp-mlvc-first">
        <p>No snapshots of this notebook yet.</p>
        <p>
          Press <b>Commit</b> above, or run in a cell:
        </p>
        <pre>{'%load_ext jupyter_mlvc\n%mlvc commit -m "first"'}</pre>
        <p>The first commit creates a .mlvc store in the notebook's folder.</p>
      </div>
    );
  }
  const more = model.total - model.snapshots.length;
  return (
    <div className="jp-mlvc-list-section">
      <div className="jp-mlvc-count">
        {model.total} snapshot{model.total === 1 ? '' : 's'}
      </div>
      <ul className="jp-mlvc-list" role="listbox" aria-label="Snapshots">
        {model.snapshots.map(snap => (
          <SnapshotItem
            key={snap.id}
            snap={snap}
            head={snap.id === model.head}
            selected={snap.id === model.selectedId}
            ticked={model.compareIds.includes(snap.id)}
            onSelect={() =>
              void model.select(snap.id === model.selectedId ? null : snap.id)
            }
            onTick={() => model.toggleCompare(snap.id)}
          />
        ))}
      </ul>
      {more > 0 && (
        <button
          className="jp-mlvc-button jp-mlvc-more"
          onClick={() => void model.loadMore()}
        >
          Show {Math.min(more, model.settings.pageSize)} more of {more}
        </button>
      )}
    </div>
  );
}
