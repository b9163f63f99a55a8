/**
 * A merge being previewed: what comes from the other branch, what is removed,
 * the conflicts with a side to choose for each, and the notebook's conflicts.
 */
import * as React from 'react';

import { ISnapshot } from '../api';
import { SidebarModel } from '../model';
import { MergeConflictTable } from './MergeConflictTable';
import { NameList } from './NameList';

/** "3f2a9c1b “message”", for a snapshot record (or a bare id). */
function label(snap: ISnapshot | string | null): string {
  if (snap === null) {
    return 'none (no common history)';
  }
  if (typeof snap === 'string') {
    return snap.slice(0, 8);
  }
  return snap.message ? `${snap.short_id} “${snap.message}”` : snap.short_id;
}

export function MergePanel({
  model
}: {
  model: SidebarModel;
}): React.ReactElement | null {
  const merge = model.merge;
  if (!merge) {
    return null;
  }
  const { preview, choices, ref } = merge;
  const open = choices.filter(choice => !choice).length;
  const into = model.currentBranch ?? 'the current state';
  const cells = preview.notebook.conflicts;
  return (
    <div
      className="jp-mlvc-merge"
      role="dialog"
      aria-label={`Merge ${ref} into ${into}`}
    >
      <div className="jp-mlvc-merge-title">
        Merge <span className="jp-mlvc-badge jp-mlvc-branch">{ref}</span> into{' '}
        <span className="jp-mlvc-badge jp-mlvc-branch">{into}</span>
      </div>
      <dl className="jp-mlvc-facts">
        <dt>theirs</dt>
        <dd>{label(preview.theirs)}</dd>
        <dt>ours</dt>
        <dd>{label(preview.ours)}</dd>
        <dt>base</dt>
        <dd>{label(preview.base)}</dd>
      </dl>
      <NameList label={`from ${ref}`} names={preview.from_theirs} />
      <NameList label="removed" names={preview.removed} />
      <NameList label="kept as they are here" names={preview.kept_ours} />
      {preview.conflicts.length > 0 && (
        <>
          <div className="jp-mlvc-merge-heading">
            Changed on both sides ({preview.conflicts.length}): choose which
            value to keep
            <button
              className="jp-mlvc-link"
              onClick={() => model.chooseMergeSide(null, 'ours')}
              title="Keep the current value of every conflicting variable"
            >
              all ours
            </button>
            <button
              className="jp-mlvc-link"
              onClick={() => model.chooseMergeSide(null, 'theirs')}
              title={`Take the value of ${ref} for every conflicting variable`}
            >
              all theirs
            </button>
          </div>
          <div className="jp-mlvc-merge-table">
            <MergeConflictTable
              conflicts={preview.conflicts}
              choices={choices}
              onChoose={(row, side) => model.chooseMergeSide(row, side)}
            />
          </div>
        </>
      )}
      <div className="jp-mlvc-merge-notebook">
        {preview.notebook.merged === null
          ? 'The notebook is not merged: a side holds none. The editor stays as it is.'
          : cells
            ? `Notebook: ${cells} cell${cells === 1 ? '' : 's'} changed on both sides will hold conflict markers to fix by hand.`
            : 'Notebook: merges cleanly; the editor will hold the merged notebook.'}
      </div>
      <div className="jp-mlvc-actions">
        <button
          className="jp-mlvc-button jp-mod-accept"
          disabled={!!model.busy || open > 0}
          onClick={() => void model.confirmMerge()}
          title={
            open
              ? `Choose a side for ${open} conflict${open === 1 ? '' : 's'} first`
              : `Merge ${ref} into ${into}: a snapshot with two parents`
          }
        >
          Merge
        </button>
        <button
          className="jp-mlvc-button"
          disabled={!!model.busy}
          onClick={() => model.cancelMerge()}
        >
          Cancel
        </button>
        {open > 0 && (
          <span className="jp-mlvc-dim">
            {open} conflict{open === 1 ? '' : 's'} to decide
          </span>
        )}
      </div>
    </div>
  );
}
