/** For a merge snapshot: which parent each change came from. */
import * as React from 'react';

import { IMergeOrigin } from '../diffTypes';

export function MergeOrigin(props: {
  merge: IMergeOrigin;
}): React.ReactElement {
  const { merge } = props;
  const [first, second] = merge.parents.map(id => id.slice(0, 8));
  return (
    <div className="jp-mlvc-merge-origin jp-mlvc-dim">
      <div>
        B merges <code>{second}</code> into <code>{first}</code>.
      </div>
      {merge.from_second.length > 0 && (
        <div>
          from <code>{second}</code>: {merge.from_second.join(', ')}
        </div>
      )}
      {merge.from_first.length > 0 && (
        <div>
          from <code>{first}</code>: {merge.from_first.join(', ')}
        </div>
      )}
    </div>
  );
}
