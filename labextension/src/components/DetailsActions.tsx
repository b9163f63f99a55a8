/** What can be done with the selected snapshot: restore, view, compare, merge its branch. */
import * as React from 'react';

import { ISnapshotDetail } from '../api';
import { IProps } from './props';

export function DetailsActions({
  model,
  actions,
  detail
}: IProps & { detail: ISnapshotDetail }): React.ReactElement {
  const chosen = [...model.chosen].sort();
  const unsaved = Object.keys(detail.skipped).sort();
  // Branches that end here and are not the one commits go to: they can be merged.
  const mergeable = detail.refs.branches.filter(b => b !== model.currentBranch);
  return (
    <div className="jp-mlvc-actions">
      {unsaved.length > 0 && (
        <label
          className="jp-mlvc-drop-skipped"
          title={`Not saved in the snapshot: ${unsaved.map(n => `${n} (${detail.skipped[n]})`).join(', ')}. Unticked, a full restore keeps them with today's values.`}
        >
          <input
            type="checkbox"
            checked={model.dropSkipped}
            onChange={event => model.setDropSkipped(event.target.checked)}
          />
          Also remove{' '}
          {unsaved.length === 1
            ? 'the variable'
            : `the ${unsaved.length} variables`}{' '}
          this snapshot could not save ({unsaved.join(', ')})
        </label>
      )}
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
      {mergeable.map(branch => (
        <button
          key={branch}
          className="jp-mlvc-button"
          disabled={!!model.busy}
          data-branch={branch}
          onClick={() => void model.previewMerge(branch)}
          title={`Bring the changes of branch ${branch} into ${model.currentBranch ?? 'the current state'}: see what would change first`}
        >
          {mergeable.length > 1
            ? `Merge ${branch} into current…`
            : 'Merge into current…'}
        </button>
      ))}
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
