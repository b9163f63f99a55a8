/**
 * The messages shown above the snapshot list after an action, made from the
 * kernel protocol's structured results.
 */
import { ICommitResult, IMergeResult, IRestoreResult } from './protocol';

/** Names a result lists under one label, e.g. "restored: x, y". */
export interface INoticeList {
  label: string;
  items: string[];
}

/** A message shown above the list after an action. */
export interface INotice {
  kind: 'info' | 'error';
  title: string;
  text: string;
  lists?: INoticeList[];
}

function withReasons(reasons: { [name: string]: string }): string[] {
  return Object.entries(reasons).map(([name, why]) => `${name} (${why})`);
}

function nonEmpty(lists: INoticeList[]): INoticeList[] {
  return lists.filter(list => list.items.length > 0);
}

export function commitNotice(result: ICommitResult): INotice {
  return { kind: 'info', title: 'Committed', text: result.summary };
}

/** What a restore did; an error if some variables could not be restored. */
export function restoreNotice(result: IRestoreResult): INotice {
  const failed = withReasons(result.errors);
  return {
    kind: failed.length ? 'error' : 'info',
    title: failed.length ? 'Restore incomplete' : 'Kernel state restored',
    text: result.summary,
    lists: nonEmpty([
      { label: 'restored', items: result.restored },
      { label: 'removed', items: result.removed },
      {
        label: "kept with today's values (not saved in the snapshot)",
        items: withReasons(result.kept ?? {})
      },
      { label: 'could not restore', items: failed }
    ])
  };
}

/** Merging a branch already in the current history: nothing to do. */
export function upToDateNotice(result: IMergeResult): INotice {
  return { kind: 'info', title: 'Already up to date', text: result.summary };
}

/** What a merge did; `loaded`: the merged notebook is now in the editor. */
export function mergeNotice(result: IMergeResult, loaded: boolean): INotice {
  const resolved = result.conflicts
    .filter(c => c.resolution)
    .map(c => `${c.names.join(', ')} (${c.resolution})`);
  const cells = result.notebook.conflicts;
  const notebook = loaded
    ? cells
      ? `The editor holds the merged notebook (not saved yet): ${cells} cell${cells === 1 ? '' : 's'} marked with conflicts to fix by hand.`
      : 'The editor holds the merged notebook (not saved yet).'
    : '';
  return {
    kind: 'info',
    title: 'Merged',
    text: [result.summary, notebook].filter(Boolean).join('\n'),
    lists: nonEmpty([
      { label: 'from theirs', items: result.from_theirs },
      { label: 'removed', items: result.removed },
      { label: 'conflicts resolved', items: resolved }
    ])
  };
}
