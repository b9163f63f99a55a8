/** One side of a comparison: a snapshot, or the current state. */
import * as React from 'react';

import { IDiffSide } from '../diffTypes';
import { absoluteTime } from '../time';

export function Side({
  side,
  label
}: {
  side: IDiffSide;
  label: string;
}): React.ReactElement {
  if (side.current) {
    return (
      <div className="jp-mlvc-side">
        <span className="jp-mlvc-side-label">{label}</span>
        <b>current state</b>
        <span className="jp-mlvc-dim">
          the kernel’s variables and the notebook as it is in the editor
        </span>
      </div>
    );
  }
  return (
    <div className="jp-mlvc-side">
      <span className="jp-mlvc-side-label">{label}</span>
      <code className="jp-mlvc-id">{side.short_id}</code>
      <span className="jp-mlvc-side-message">
        {side.message || <span className="jp-mlvc-dim">(no message)</span>}
      </span>
      {side.branch && (
        <span className="jp-mlvc-badge jp-mlvc-branch">{side.branch}</span>
      )}
      {side.created_at && (
        <span className="jp-mlvc-dim">{absoluteTime(side.created_at)}</span>
      )}
    </div>
  );
}
