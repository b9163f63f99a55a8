/**
 * Calling the kernel protocol in a notebook's kernel on behalf of the sidebar.
 *
 * The kernel holds the variables, so commits, restores and comparisons with
 * them run there. The code sent is always the same line; the request travels
 * as its only argument, a string literal of its JSON, so nothing a snapshot
 * holds (names, messages, refs) is ever read as code. The request runs
 * silently (no execution count, no history) and its reply is a display of
 * REPLY_MIME on this request's iopub stream, which never reaches the notebook.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { KernelMessage } from '@jupyterlab/services';

import { IModelsOnData } from './diffTypes';
import {
  ICommitResult,
  IDiffRequest,
  IDiffResult,
  IKernelRequest,
  IMergeRequest,
  IMergeResult,
  IReply,
  IRestoreRequest,
  IRestoreResult,
  IVariablesResult,
  REPLY_MIME,
  SkippedChoice
} from './protocol';

/** The kernel refused or failed a request; `kind` is the error's class. */
export class KernelError extends Error {
  constructor(
    message: string,
    readonly kind: string
  ) {
    super(message);
  }
}

/**
 * JSON of `value` in ASCII only: every other character as a `\uXXXX` escape
 * (a character beyond U+FFFF as its two surrogates, which JSON parsers join).
 */
export function asciiJSON(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    c => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')
  );
}

/**
 * The Python line that answers `request`.
 *
 * JSON string syntax is valid Python string syntax with the same meaning, so
 * the inner JSON makes the document and the outer `JSON.stringify` makes it a
 * literal that the kernel only parses with `json.loads`. The document is kept
 * ASCII so that the line is one plain line to IPython too, which splits a
 * cell into lines at U+2028 and other separators before compiling it.
 */
export function requestCode(request: IKernelRequest): string {
  const literal = JSON.stringify(asciiJSON(request));
  return (
    '__import__("jupyter_mlvc.kernel_protocol", fromlist=["handle"])' +
    `.handle(get_ipython(), ${literal})`
  );
}

/** Send `request` to the session's kernel; its result, or a KernelError. */
export async function callKernel<T>(
  sessionContext: ISessionContext,
  request: IKernelRequest
): Promise<T> {
  const kernel = sessionContext.session?.kernel;
  if (!kernel) {
    throw new KernelError(
      'The notebook has no running kernel: start it first.',
      'NoKernel'
    );
  }
  let answer: IReply<T> | null = null;
  let errorLine = '';
  const future = kernel.requestExecute({
    code: requestCode(request),
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  future.onIOPub = (msg: KernelMessage.IIOPubMessage): void => {
    if (KernelMessage.isDisplayDataMsg(msg) && REPLY_MIME in msg.content.data) {
      answer = msg.content.data[REPLY_MIME] as unknown as IReply<T>;
    } else if (KernelMessage.isErrorMsg(msg)) {
      errorLine = `${msg.content.ename}: ${msg.content.evalue}`;
    }
  };
  const reply = await future.done;
  const received = answer as IReply<T> | null;
  if (received) {
    if (received.ok) {
      return received.result;
    }
    throw new KernelError(received.message, received.error);
  }
  // No reply: the line itself failed, before the protocol could answer.
  const content = reply.content;
  if (!errorLine && content.status === 'error') {
    errorLine = `${content.ename}: ${content.evalue}`;
  }
  if (errorLine.startsWith('ModuleNotFoundError')) {
    throw new KernelError(
      'jupyter_mlvc is not installed in the kernel’s environment.',
      'ModuleNotFoundError'
    );
  }
  throw new KernelError(
    errorLine || 'The kernel did not answer the request.',
    'NoReply'
  );
}

/** Commit the kernel's variables and the notebook as it is in the editor. */
export function commitInKernel(
  sessionContext: ISessionContext,
  message: string
): Promise<ICommitResult> {
  return callKernel<ICommitResult>(sessionContext, { op: 'commit', message });
}

/**
 * Restore snapshot `ref`: every variable, or only `names`. A full restore keeps
 * the variables the snapshot could not save, unless `skipped` is "remove".
 */
export function restoreInKernel(
  sessionContext: ISessionContext,
  ref: string,
  names: string[] = [],
  skipped: SkippedChoice = 'keep'
): Promise<IRestoreResult> {
  const request: IRestoreRequest = names.length
    ? { op: 'restore', ref, names }
    : { op: 'restore', ref };
  if (!names.length && skipped !== 'keep') {
    request.skipped = skipped;
  }
  return callKernel<IRestoreResult>(sessionContext, request);
}

/** Preview or make a merge of `request.ref` into the current state. */
export function mergeInKernel(
  sessionContext: ISessionContext,
  request: Omit<IMergeRequest, 'op'>
): Promise<IMergeResult> {
  return callKernel<IMergeResult>(sessionContext, { op: 'merge', ...request });
}

/** Compare snapshot `ref` with the kernel's variables. */
export function diffInKernel(
  sessionContext: ISessionContext,
  ref: string
): Promise<IDiffResult> {
  return callKernel<IDiffResult>(sessionContext, { op: 'diff', ref });
}

/** The kernel's variables (those a commit would take), each with its summary. */
export function variablesInKernel(
  sessionContext: ISessionContext
): Promise<IVariablesResult> {
  return callKernel<IVariablesResult>(sessionContext, { op: 'variables' });
}

/**
 * Run the models of snapshot `ref` and of `b` (a snapshot, or null for the
 * kernel's variables) on the kernel's variable `x`, scored on `y`.
 */
export async function modelsInKernel(
  sessionContext: ISessionContext,
  ref: string,
  b: string | null,
  x: string,
  y: string | null
): Promise<IModelsOnData> {
  const request: IDiffRequest = { op: 'diff', ref, x };
  if (b !== null) {
    request.b = b;
  }
  if (y !== null) {
    request.y = y;
  }
  const result = await callKernel<
    IDiffResult & { models?: IModelsOnData | null }
  >(sessionContext, request);
  if (!result.models) {
    throw new KernelError(
      'The jupyter_mlvc of this kernel does not run models on data: update it.',
      'NoModels'
    );
  }
  return result.models;
}
