import * as React from 'react';

import { SidebarModel } from '../model';
import { IProps } from './props';

function shortOf(model: SidebarModel, id: string): string {
  return model.snapshots.find(s => s.id === id)?.short_id ?? id.slice(0, 8);
}

/** What to do with the snapshots ticked for comparison. */
export function CompareBar({
  model,
  actions
}: IProps): React.ReactElement | null {
  const ids = model.compareIds;
  if (!ids.length) {
    return null;
  }
  const pair = model.comparePair;
  return (
    <div className="jp-mlvc-compare-bar" aria-label="Compare snapshots">
      {pair ? (
        <button
          className="jp-mlvc-button jp-mod-accept"
          onClick={() => actions.compare(pair[0], pair[1])}
          title="Open the differences between the two ticked snapshots"
        >
          Compare {shortOf(model, pair[0])} ↔ {shortOf(model, pair[1])}
        </button>
      ) : (
        <span className="jp-mlvc-dim">Tick a second snapshot, or</span>
      )}
      {ids.length === 1 && (
        <button
          className="jp-mlvc-button"
          onClick={() => actions.compare(ids[0], 'current')}
          title="Compare the ticked snapshot with the kernel's variables and the editor's notebook"
        >
          Compare with current
        </button>
      )}
      <button
        className="jp-mlvc-link"
        onClick={() => model.clearCompare()}
        title="Untick the snapshots"
      >
        Clear
      </button>
    </div>
  );
}
