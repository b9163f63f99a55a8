/** One side's value in the merge conflicts table, or what happened to it when there is none. */
import * as React from 'react';

import { MergeChange } from '../protocol';

export function ConflictValue(props: {
  text: string | null;
  change?: MergeChange;
}): React.ReactElement {
  const { text, change } = props;
  return (
    <td className="jp-mlvc-summary">
      {text === null ? (
        <span className="jp-mlvc-dim">
          {change === 'removed' ? 'removed' : '—'}
        </span>
      ) : (
        <span title={text}>{text}</span>
      )}
      {change && change !== 'removed' && (
        <div className="jp-mlvc-dim">{change}</div>
      )}
    </td>
  );
}
