/**
 * Tells each notebook's kernel which file it belongs to, after a rename too.
 *
 * The `%mlvc` magic finds its notebook through `__session__` in the kernel's
 * namespace, which jupyter_server sets once, when it starts the kernel. After
 * a rename the kernel would go on committing under the old path until it is
 * restarted. The frontend always knows the path, so it sets `__session__`
 * itself: when a panel gets a kernel, when the notebook is renamed or moved,
 * and after the kernel restarts. The code runs silently: no execution count,
 * no history, no output, and IPython's cell hooks (auto-snapshots) do not run.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';

/**
 * A Python string literal for `value`: JSON string syntax is valid Python
 * string syntax with the same meaning, so the value stays data.
 */
function pyString(value: string): string {
  return JSON.stringify(value);
}

/**
 * The absolute path of `localPath` (relative to the server's root) as the
 * kernel sees it; the relative path when the server does not say its root.
 */
export function kernelPath(localPath: string, serverRoot: string): string {
  const relative = localPath.replace(/^\/+/, '');
  if (!serverRoot) {
    return relative;
  }
  return `${serverRoot.replace(/\/+$/, '')}/${relative}`;
}

/** Python code that names the notebook `path` in the kernel (`~` expanded there). */
export function sessionCode(path: string): string {
  return `__session__ = __import__("os").path.expanduser(${pyString(path)})`;
}

export class KernelPathSync {
  constructor(tracker: INotebookTracker) {
    tracker.widgetAdded.connect((_, panel) => this.watch(panel));
    tracker.forEach(panel => this.watch(panel));
  }

  /** Set `__session__` in the kernel of `panel` to its notebook's path now. */
  async update(panel: NotebookPanel): Promise<void> {
    const kernel = panel.sessionContext.session?.kernel;
    if (panel.isDisposed || !kernel) {
      return;
    }
    const path = kernelPath(
      panel.context.localPath,
      PageConfig.getOption('serverRoot')
    );
    if (this._sent.get(kernel.id) === path) {
      return;
    }
    if (!(await isPython(kernel))) {
      return;
    }
    const future = kernel.requestExecute({
      code: sessionCode(path),
      silent: true,
      store_history: false,
      allow_stdin: false,
      stop_on_error: false
    });
    const reply = await future.done;
    if (reply.content.status === 'ok') {
      this._sent.set(kernel.id, path);
    }
  }

  private watch(panel: NotebookPanel): void {
    const context = panel.sessionContext;
    const update = (): void => {
      this.update(panel).catch(reason =>
        console.warn(
          'jupyter_mlvc: could not tell the kernel its notebook',
          reason
        )
      );
    };
    let restarted = false;
    const onStatus = (_: ISessionContext, status: Kernel.Status): void => {
      if (status === 'restarting' || status === 'autorestarting') {
        // The restarted kernel starts from JPY_SESSION_NAME again.
        const id = context.session?.kernel?.id;
        if (id) {
          this._sent.delete(id);
        }
        restarted = true;
      } else if (status === 'idle' && restarted) {
        restarted = false;
        update();
      }
    };
    context.kernelChanged.connect(update);
    context.statusChanged.connect(onStatus);
    panel.context.pathChanged.connect(update);
    void context.ready.then(update);
    panel.disposed.connect(() => {
      context.kernelChanged.disconnect(update);
      context.statusChanged.disconnect(onStatus);
    });
  }

  /** The path last set in each kernel, by kernel id: a rename sends it once. */
  private _sent = new Map<string, string>();
}

/** Whether the kernel runs Python (an R or Julia kernel is left alone). */
async function isPython(kernel: Kernel.IKernelConnection): Promise<boolean> {
  const info = await kernel.info;
  return info.language_info?.name === 'python';
}
