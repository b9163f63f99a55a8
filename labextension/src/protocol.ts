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

/** Restore a snapshot's variables: all of them, or only `names` (Python identifiers). */
export interface IRestoreRequest {
  op: 'restore';
  ref: string;
  names?: string[];
}

/** Compare a snapshot with the kernel's variables. */
export interface IDiffRequest {
  op: 'diff';
  ref: string;
}

export type IKernelRequest = ICommitRequest | IRestoreRequest | IDiffRequest;

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
