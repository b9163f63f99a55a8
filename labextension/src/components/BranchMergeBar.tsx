/** Offered when the branch filter names a branch other than the current one: merge it. */
import * as React from 'react';

import { SidebarModel } from '../model';

export function BranchMergeBar({
  model
}: {
  model: SidebarModel;
}): React.ReactElement | null {
  const branch = model.branch;
  if (!branch || branch === model.currentBranch) {
    return null;
  }
  const into = model.currentBranch ?? 'the current state';
  return (
    <div className="jp-mlvc-branch-bar">
      <span className="jp-mlvc-dim">
        Branch <span className="jp-mlvc-badge jp-mlvc-branch">{branch}</span>
      </span>
      <button
        className="jp-mlvc-button"
        disabled={!!model.busy}
        onClick={() => void model.previewMerge(branch)}
        title={`Bring the changes of ${branch} into ${into}: see what would change first`}
      >
        Merge into current…
      </button>
    </div>
  );
}
