/**
 * Running `%mlvc` in a notebook's kernel on behalf of the sidebar.
 *
 * The kernel holds the variables, so commits and restores run there, through
 * the same magic a user would type. The code runs silently (no execution count,
 * no history) and its output is collected to report what it did.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { KernelMessage } from '@jupyterlab/services';

/** What a magic printed, and whether it failed. */
export interface IKernelResult {
  ok: boolean;
  /** Everything it printed and displayed, as text. */
  text: string;
  /** The error's one-line message when it failed. */
  error: string;
}

/** A Python string literal for `value`: JSON string syntax is valid Python. */
export function pyString(value: string): string {
  return JSON.stringify(value);
}

/**
 * Python code that runs `%mlvc <argv>`, loading the extension first.
 *
 * Arguments are quoted in the kernel with shlex, so a message may hold any
 * character, quotes included.
 */
export function magicCode(argv: string[]): string {
  const args = argv.map(pyString).join(', ');
  return [
    'get_ipython().extension_manager.load_extension("jupyter_mlvc")',
    `get_ipython().run_line_magic("mlvc", __import__("shlex").join([${args}]))`
  ].join('\n');
}

/** A one-line message from an error text: "UsageError: ..." lines, else the last line. */
function lastLine(text: string): string {
  const lines = text
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.length > 0);
  return lines.length ? lines[lines.length - 1] : '';
}

/** Run `%mlvc <argv>` in the session's kernel and collect what it printed. */
export async function runMagic(
  sessionContext: ISessionContext,
  argv: string[]
): Promise<IKernelResult> {
  const kernel = sessionContext.session?.kernel;
  if (!kernel) {
    return {
      ok: false,
      text: '',
      error: 'The notebook has no running kernel: start it first.'
    };
  }
  const out: string[] = [];
  const err: string[] = [];
  let errorLine = '';
  const future = kernel.requestExecute({
    code: magicCode(argv),
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  future.onIOPub = (msg: KernelMessage.IIOPubMessage): void => {
    if (KernelMessage.isStreamMsg(msg)) {
      (msg.content.name === 'stderr' ? err : out).push(msg.content.text);
    } else if (
      KernelMessage.isDisplayDataMsg(msg) ||
      KernelMessage.isExecuteResultMsg(msg)
    ) {
      const plain = msg.content.data['text/plain'];
      // Progress bars are widgets: their text/plain is noise here.
      if (
        typeof plain === 'string' &&
        !msg.content.data['application/vnd.jupyter.widget-view+json']
      ) {
        out.push(plain + '\n');
      }
    } else if (KernelMessage.isErrorMsg(msg)) {
      errorLine = `${msg.content.ename}: ${msg.content.evalue}`;
    }
  };
  const reply = await future.done;
  const content = reply.content;
  const text = out.join('').trim();
  if (content.status === 'ok') {
    return { ok: true, text, error: '' };
  }
  if (content.status === 'error') {
    errorLine = errorLine || `${content.ename}: ${content.evalue}`;
  }
  // IPython prints a UsageError as "UsageError: <message>" on stderr.
  const usage = lastLine(err.join(''));
  const error = usage.startsWith('UsageError')
    ? usage
    : errorLine || usage || 'The kernel could not run the command.';
  return { ok: false, text, error: error.replace(/^UsageError: /, '') };
}

/** The mime type the kernel-side helper displays its answer as (kernel_snippets.MIME). */
export const DIFF_MIME = 'application/vnd.jupyter-mlvc.diff+json';

/**
 * Compare snapshot `ref` with the kernel's variables, in the kernel.
 *
 * The helper displays its JSON answer (or an error) as `DIFF_MIME`; it comes
 * back on the iopub stream of this silent request and never reaches the
 * notebook's outputs.
 */
export async function diffInKernel(
  sessionContext: ISessionContext,
  ref: string
): Promise<any> {
  const kernel = sessionContext.session?.kernel;
  if (!kernel) {
    throw new Error('The notebook has no running kernel: start it first.');
  }
  let answer: any = null;
  let errorLine = '';
  const future = kernel.requestExecute({
    code: [
      '__import__("jupyter_mlvc.server.kernel_snippets", fromlist=["_"])',
      `.publish_current_diff(get_ipython(), ${pyString(ref)})`
    ].join(''),
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  future.onIOPub = (msg: KernelMessage.IIOPubMessage): void => {
    if (KernelMessage.isDisplayDataMsg(msg) && DIFF_MIME in msg.content.data) {
      answer = msg.content.data[DIFF_MIME];
    } else if (KernelMessage.isErrorMsg(msg)) {
      errorLine = `${msg.content.ename}: ${msg.content.evalue}`;
    }
  };
  const reply = await future.done;
  if (answer && typeof answer.error === 'string') {
    throw new Error(answer.message);
  }
  if (!answer) {
    const content = reply.content;
    if (!errorLine && content.status === 'error') {
      errorLine = `${content.ename}: ${content.evalue}`;
    }
    throw new Error(
      errorLine.startsWith('ModuleNotFoundError')
        ? 'jupyter_mlvc is not installed in the kernel’s environment.'
        : errorLine || 'The kernel could not compare its variables.'
    );
  }
  return answer;
}
