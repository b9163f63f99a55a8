/**
 * The side-by-side tab's content: a headline, the table of snapshots, and how
 * many variables are the same in all of them (`%mlvc compare A B C` in a tab).
 */
import * as React from 'react';

import { IComparison } from '../comparisonTypes';
import { CompareManyTable } from './CompareManyTable';

/** How many of the names that are the same in all are spelled out (all are in the tooltip). */
const SAME_SHOWN = 12;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** As `%mlvc compare` says it (present/render.py `CompareView.headline`). */
function headline(comparison: IComparison): string {
  const differ = comparison.variables.length;
  return (
    `${comparison.snapshots.length} snapshots side by side: ` +
    `${plural(comparison.metrics.length, 'metric')}, ` +
    `${plural(differ, 'variable')} that differ${differ === 1 ? 's' : ''}`
  );
}

export function CompareMany(props: {
  comparison: IComparison | null;
  error: string | null;
  loading: boolean;
  onSelect: (id: string) => void;
}): React.ReactElement {
  const { comparison, error, loading } = props;
  if (error) {
    return (
      <div className="jp-mlvc-error" role="alert">
        Could not compare: {error}
      </div>
    );
  }
  if (!comparison) {
    return <div className="jp-mlvc-empty">{loading ? 'Comparing…' : ''}</div>;
  }
  const same = comparison.same;
  return (
    <div className="jp-mlvc-compare-many-body">
      <div className="jp-mlvc-compare-many-headline">
        {headline(comparison)}
        {loading && <span className="jp-mlvc-dim"> Comparing…</span>}
      </div>
      <CompareManyTable comparison={comparison} onSelect={props.onSelect} />
      <div
        className="jp-mlvc-compare-many-same"
        data-count={same.length}
        title={same.join(', ')}
      >
        <span className="jp-mlvc-same-count">
          {same.length
            ? `${plural(same.length, 'variable')} ${same.length === 1 ? 'is' : 'are'} the same in all ${comparison.snapshots.length} snapshots`
            : `No variable is the same in all ${comparison.snapshots.length} snapshots`}
        </span>
        {same.length > 0 && (
          <span className="jp-mlvc-dim">
            {': '}
            {same.slice(0, SAME_SHOWN).join(', ')}
            {same.length > SAME_SHOWN &&
              ` and ${same.length - SAME_SHOWN} more`}
          </span>
        )}
      </div>
    </div>
  );
}
