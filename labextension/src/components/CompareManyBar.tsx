/** What to do with three or more snapshots ticked: see them side by side. */
import * as React from 'react';

import { MAX_COMPARED } from '../comparisonTypes';
import { IProps } from './props';

export function CompareManyBar({ model }: IProps): React.ReactElement | null {
  const ids = model.compareMany;
  const open = model.openComparison;
  if (!ids) {
    return null;
  }
  return (
    <div className="jp-mlvc-compare-bar" aria-label="Compare snapshots">
      <button
        className="jp-mlvc-button jp-mod-accept"
        disabled={!open}
        onClick={() => open?.(ids)}
        title={`Open the ${ids.length} ticked snapshots side by side: metrics, and the variables that differ (up to ${MAX_COMPARED})`}
      >
        Compare {ids.length}
      </button>
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
