/**
 * The kernel protocol's requests and replies (docs/kernel-protocol.md), as
 * jupyter_mlvc/kernel_protocol.py validates and answers them.
 */
import { ISnapshot } from './api';
import { IDiff } from './diffTypes';

/** The mime type of the display that carries a reply. */
export const REPLY_MIME = 'application/vnd.jupyter-mlvc.reply+json';

/** Commit the kernel's variables and the notebook. */
export interface ICommitRequest {
  op: 'commit';
  message: string;
  metrics?: { [name: string]: number };
}

/**
 * What a full restore does with the variables the snapshot could not save at
 * commit (open files, generators): keep today's values (the default), or remove them.
 */
export type SkippedChoice = 'keep' | 'remove';

/** Restore a snapshot's variables: all of them, or only `names` (Python identifiers). */
export interface IRestoreRequest {
  op: 'restore';
  ref: string;
  names?: string[];
  skipped?: SkippedChoice;
}

/** Compare a snapshot with the kernel's variables. */
export interface IDiffRequest {
  op: 'diff';
  ref: string;
  /** With data: compare with snapshot `b` instead, and run the models of both sides. */
  b?: string;
  /** Names of the kernel's variables to run the models on (`y` scores them). */
  x?: string;
  y?: string;
}

/** Which side a merge conflict takes. */
export type MergeSide = 'ours' | 'theirs';

/**
 * Merge snapshot or branch `ref` into the current state (HEAD and the kernel's
 * variables); with `preview`, only say what would happen.
 */
export interface IMergeRequest {
  op: 'merge';
  ref: string;
  preview?: boolean;
  strategy?: MergeSide;
  /** The side each conflicting variable takes, by name. */
  resolve?: { [name: string]: MergeSide };
  message?: string;
}

/** List the kernel's variables (to pick data among them). */
export interface IVariablesRequest {
  op: 'variables';
}

export type IKernelRequest =
  | ICommitRequest
  | IRestoreRequest
  | IDiffRequest
  | IMergeRequest
  | IVariablesRequest;

/** A variable of the kernel, summarized as a snapshot would summarize it. */
export interface IKernelVariable {
  name: string;
  type: string;
  summary: { [key: string]: unknown };
}

export interface IVariablesResult {
  variables: IKernelVariable[];
}

export interface ICommitResult {
  snapshot: ISnapshot;
  /** "Committed 3f2a9c1b on main: 14 variables (1.2 GB), ..." */
  summary: string;
}

export interface IRestoreResult {
  snapshot: ISnapshot;
  /** The automatic snapshot of the state before the restore, if one was made. */
  saved: ISnapshot | null;
  partial: boolean;
  restored: string[];
  removed: string[];
  unchanged: string[];
  /** Names the snapshot could not save when it was made, with the reason. */
  skipped: { [name: string]: string };
  /** Names that could not be restored, with the reason. */
  errors: { [name: string]: string };
  /**
   * Names the snapshot skipped at commit that the kernel still holds, with the
   * reason: their values are today's, not the snapshot's.
   */
  kept: { [name: string]: string };
  rng: string[];
  seconds: number;
  summary: string;
}

/** How a variable changed on one side of a merge, since the merge base. */
export type MergeChange = 'added' | 'changed' | 'removed';

/** Variables changed differently on both sides: one row of the conflicts table. */
export interface IMergeConflict {
  /** Names that share their objects (one conflict, decided together). */
  names: string[];
  /** One-line descriptions of the value at the base and on each side (null: absent). */
  base: string | null;
  ours: string | null;
  theirs: string | null;
  ours_change: MergeChange;
  theirs_change: MergeChange;
  resolution: MergeSide | null;
}

export interface IMergeResult {
  preview: boolean;
  /** Theirs is already in the history of ours: nothing to merge. */
  up_to_date: boolean;
  ours: ISnapshot;
  theirs: ISnapshot;
  base: ISnapshot | null;
  from_theirs: string[];
  removed: string[];
  kept_ours: string[];
  conflicts: IMergeConflict[];
  unresolved: string[];
  notebook: {
    /** The merged notebook (nbformat JSON), or null when there is none to merge. */
    merged: any | null;
    /** Cells holding nbdime's conflict markers. */
    conflicts: number;
  };
  /** The merge snapshot (two parents); null for a preview. */
  snapshot: ISnapshot | null;
  /** The state saved first, if it differed from HEAD. */
  saved: ISnapshot | null;
  summary: string;
}

/** The variables half of a comparison with the current state. */
export type IDiffResult = Pick<
  IDiff,
  'a' | 'b' | 'variables' | 'metrics' | 'environment'
>;

export interface IReplyOk<T> {
  ok: true;
  op: IKernelRequest['op'];
  result: T;
}

export interface IReplyError {
  ok: false;
  op: IKernelRequest['op'] | null;
  /** The error's class, e.g. "BadRequest", "Untrusted", "UnknownRef". */
  error: string;
  message: string;
}

export type IReply<T> = IReplyOk<T> | IReplyError;
