/** What can be done with the selected snapshot: restore, view, compare. */
import * as React from 'react';

import { ISnapshotDetail } from '../api';
import { IProps } from './props';

export function DetailsActions({
  model,
  actions,
  detail
}: IProps & { detail: ISnapshotDetail }): React.ReactElement {
  const chosen = [...model.chosen].sort();
  return (
    <div className="jp-mlvc-actions">
      <button
        className="jp-mlvc-button jp-mod-accept"
        disabled={!!model.busy}
        onClick={() => void model.restoreKernel()}
        title="Make the kernel's variables those of this snapshot"
      >
        Restore all variables
      </button>
      <button
        className="jp-mlvc-button"
        disabled={!!model.busy || chosen.length === 0}
        onClick={() => void model.restoreKernel(chosen)}
        title="Restore only the ticked variables; the others stay as they are"
      >
        Restore {chosen.length || ''} chosen
      </button>
      <button
        className="jp-mlvc-button"
        disabled={!!model.busy || !detail.has_notebook}
        onClick={() => void model.restoreNotebook()}
        title="Replace the editor's content with this snapshot's notebook (the current state is committed first)"
      >
        Restore notebook
      </button>
      <button
        className="jp-mlvc-button"
        disabled={!detail.has_notebook}
        onClick={() => actions.openNotebook(detail.id)}
        title="Open this snapshot's notebook, read-only, in the main area"
      >
        View notebook
      </button>
      <button
        className="jp-mlvc-button"
        onClick={() => actions.compare(detail.id, 'current')}
        title="Compare this snapshot with the kernel's variables and the editor's notebook"
      >
        Compare with current
      </button>
      {detail.parents.length > 0 && (
        <button
          className="jp-mlvc-button"
          onClick={() => actions.compare(detail.parents[0], detail.id)}
          title="What changed since the parent snapshot"
        >
          Compare with parent
        </button>
      )}
    </div>
  );
}
