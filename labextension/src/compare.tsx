/**
 * A main-area tab comparing two snapshots, or a snapshot and the current state.
 *
 * The top part is React (metrics, variables, environment: everything from the
 * store goes through text nodes, so it is escaped; output images and figures are
 * drawn by <img> from `data:` URIs only, see imageSource.ts). With a kernel, the
 * models of both sides can be run on data the kernel holds (the kernel protocol's
 * `diff` with data names; the snapshots are read by the kernel, its namespace is
 * left alone). Below it, the notebook diff
 * is drawn by nbdime's own JupyterLab widgets from the first notebook and
 * nbdime's diff to the second; nbdime renders outputs untrusted and sanitized
 * unless the reader trusts them with its own button, which is taken away when
 * a notebook compared was not signed with the user's key.
 */
import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  refreshIcon,
  VDomModel,
  VDomRenderer
} from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import * as React from 'react';

import { diffWithNotebook, getDiff } from './api';
import { CompareBody } from './components/CompareBody';
import { IModelsControl } from './components/CompareModels';
import { IDiff, IModelsOnData } from './diffTypes';
import { snapshotsIcon } from './icons';
import { diffInKernel, modelsInKernel, variablesInKernel } from './kernel';
import { IKernelVariable } from './protocol';
import { forbidOutputTrust, outputsTrusted } from './trust';

/** Set on the notebook part once nbdime has drawn every cell (and trust was settled). */
const RENDERED_CLASS = 'jp-mlvc-rendered';

/** The `b` of a comparison with the kernel's variables and the editor's notebook. */
export const CURRENT = 'current';

/** What the tab needs from the outside. */
export interface ICompareOptions {
  /** The notebook, relative to the server's root. */
  path: string;
  /** Full ids; `b` may be CURRENT. */
  a: string;
  b: string;
  rendermime: IRenderMimeRegistry;
  /** The open notebook, for comparing with its current state. */
  findPanel: () => NotebookPanel | null;
}

function shortRef(ref: string): string {
  return ref === CURRENT ? 'current' : ref.slice(0, 8);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class CompareModel extends VDomModel {
  diff: IDiff | null = null;
  error: string | null = null;
  loading = false;
  hideUnchanged = true;

  /** A kernel is running: the models can be run on its data. */
  kernel = false;
  /** The kernel's variables, once listed for choosing data. */
  variables: IKernelVariable[] | null = null;
  /** The data the models were last run on. */
  data: { x: string; y: string | null } | null = null;
  models: IModelsOnData | null = null;
  /** Listing the kernel's variables, running the models: under way. */
  listing = false;
  running = false;
  modelsError: string | null = null;

  changed(): void {
    this.stateChanged.emit(void 0);
  }
}

export class CompareWidget extends MainAreaWidget<Panel> {
  constructor(readonly options: ICompareOptions) {
    const content = new Panel();
    super({ content });
    this.addClass('jp-mlvc-compare');
    content.addClass('jp-mlvc-compare-content');
    this.id = `jp-mlvc-compare-${Private.counter++}`;
    this.title.icon = snapshotsIcon;
    this.title.closable = true;
    this.title.label = `Compare ${shortRef(options.a)} ↔ ${shortRef(options.b)}`;
    this.title.caption =
      `${options.path}: snapshot ${options.a} compared with ` +
      (options.b === CURRENT
        ? 'the current variables and notebook'
        : `snapshot ${options.b}`);

    this._summary = new CompareSummary(this._model, {
      list: () => void this.listVariables(),
      run: (x, y) => void this.runModelsOn(x, y)
    });
    this._notebook = new Panel();
    // nbdime's stylesheet is scoped to .nbdime-root.
    this._notebook.addClass('nbdime-root');
    this._notebook.addClass('jp-mlvc-compare-notebook');
    this._notebook.addClass('jp-mlvc-hide-unchanged');
    content.addWidget(this._summary);
    content.addWidget(this._notebook);

    const toggle = document.createElement('label');
    toggle.className = 'jp-mlvc-toolbar-toggle';
    const box = toggle.appendChild(document.createElement('input'));
    box.type = 'checkbox';
    box.checked = this._model.hideUnchanged;
    box.onchange = () => {
      this._model.hideUnchanged = box.checked;
      this._notebook.toggleClass('jp-mlvc-hide-unchanged', box.checked);
      this._model.changed();
    };
    toggle.appendChild(document.createElement('span')).textContent =
      'Hide unchanged cells';
    this.toolbar.addItem('hide-unchanged', new Widget({ node: toggle }));
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip:
          options.b === CURRENT
            ? 'Compare again with the current state'
            : 'Compare again',
        onClick: () => void this.refresh()
      })
    );
    void this.refresh();
  }

  get path(): string {
    return this.options.path;
  }

  /** (Re)compute the comparison and redraw it. */
  async refresh(): Promise<void> {
    const { path, a, b } = this.options;
    const ticket = ++this._ticket;
    this._model.loading = true;
    this._model.error = null;
    this._model.kernel = this.kernelPanel() !== null;
    this._model.changed();
    // What was asked of the kernel is asked again: its variables may have changed.
    if (this._model.variables) {
      void this.listVariables();
    }
    if (this._model.data) {
      void this.runModels();
    }
    try {
      const diff =
        b === CURRENT ? await this.withCurrent() : await getDiff(path, a, b);
      if (ticket !== this._ticket || this.isDisposed) {
        return;
      }
      this._model.diff = diff;
      await this.renderNotebook(diff);
    } catch (error) {
      if (ticket === this._ticket) {
        this._model.error = messageOf(error);
      }
    } finally {
      if (ticket === this._ticket && !this.isDisposed) {
        this._model.loading = false;
        this._model.changed();
      }
    }
  }

  /** Variables from the kernel, the notebook from the editor: the two halves at once. */
  private async withCurrent(): Promise<IDiff> {
    const panel = this.options.findPanel();
    if (!panel || !panel.model) {
      throw new Error(
        `Open ${this.options.path} to compare with its current state.`
      );
    }
    const notebook = panel.model.toJSON();
    const [variables, cells] = await Promise.all([
      diffInKernel(panel.sessionContext, this.options.a),
      diffWithNotebook(this.options.path, this.options.a, notebook)
    ]);
    return {
      ...variables,
      notebook: cells.notebook,
      // Outputs the editor holds untrusted (a restored notebook's) stay so here.
      nbdime: cells.nbdime && {
        ...cells.nbdime,
        trusted: cells.nbdime.trusted && outputsTrusted(notebook)
      }
    };
  }

  /** The notebook's panel, if its kernel is running. */
  private kernelPanel(): NotebookPanel | null {
    const panel = this.options.findPanel();
    return panel?.sessionContext.session?.kernel ? panel : null;
  }

  /** Ask the kernel for its variables, to choose the data among them. */
  async listVariables(): Promise<void> {
    const model = this._model;
    const panel = this.kernelPanel();
    model.kernel = panel !== null;
    if (!panel) {
      model.changed();
      return;
    }
    const ticket = ++this._listTicket;
    model.listing = true;
    model.modelsError = null;
    model.changed();
    try {
      const { variables } = await variablesInKernel(panel.sessionContext);
      if (ticket === this._listTicket) {
        model.variables = variables;
      }
    } catch (error) {
      if (ticket === this._listTicket) {
        model.modelsError = messageOf(error);
      }
    } finally {
      if (ticket === this._listTicket && !this.isDisposed) {
        model.listing = false;
        model.changed();
      }
    }
  }

  /** Run the models of both sides on `x` (scored on `y`), now and at each refresh. */
  async runModelsOn(x: string, y: string | null): Promise<void> {
    this._model.data = { x, y };
    await this.runModels();
  }

  private async runModels(): Promise<void> {
    const model = this._model;
    const data = model.data;
    if (!data) {
      return;
    }
    const ticket = ++this._modelsTicket;
    const panel = this.kernelPanel();
    model.kernel = panel !== null;
    model.running = true;
    model.modelsError = null;
    model.changed();
    try {
      if (!panel) {
        throw new Error(
          `Open ${this.options.path} with a running kernel to run the models on its data.`
        );
      }
      const { a, b } = this.options;
      const models = await modelsInKernel(
        panel.sessionContext,
        a,
        b === CURRENT ? null : b,
        data.x,
        data.y
      );
      if (ticket === this._modelsTicket) {
        model.models = models;
      }
    } catch (error) {
      if (ticket === this._modelsTicket) {
        model.models = null;
        model.modelsError = messageOf(error);
      }
    } finally {
      if (ticket === this._modelsTicket && !this.isDisposed) {
        model.running = false;
        model.changed();
      }
    }
  }

  private async renderNotebook(diff: IDiff): Promise<void> {
    this._notebook.removeClass(RENDERED_CLASS);
    while (this._notebook.widgets.length) {
      this._notebook.widgets[0].dispose();
    }
    if (!diff.nbdime) {
      this._notebook.addClass(RENDERED_CLASS);
      return;
    }
    const model = new NotebookDiffModel(diff.nbdime.base, diff.nbdime.diff);
    const widget = new NotebookDiffWidget({
      model,
      rendermime: this.options.rendermime
    });
    const trusted = diff.nbdime.trusted === true;
    if (!trusted) {
      forbidOutputTrust(widget);
    }
    this._notebook.addWidget(widget);
    await widget.init();
    if (!trusted) {
      forbidOutputTrust(widget);
    }
    this._notebook.addClass(RENDERED_CLASS);
  }

  private _model = new CompareModel();
  private _modelsTicket = 0;
  private _listTicket = 0;
  private _summary: CompareSummary;
  private _notebook: Panel;
  private _ticket = 0;
}

class CompareSummary extends VDomRenderer<CompareModel> {
  constructor(
    model: CompareModel,
    private readonly actions: Pick<IModelsControl, 'list' | 'run'>
  ) {
    super(model);
    this.addClass('jp-mlvc-compare-summary');
  }

  protected render(): React.ReactElement {
    const m = this.model;
    const control: IModelsControl = {
      kernel: m.kernel,
      variables: m.variables,
      chosen: m.data,
      busy: m.listing || m.running,
      error: m.modelsError,
      ...this.actions
    };
    return (
      <CompareBody
        diff={m.diff && m.models ? { ...m.diff, models: m.models } : m.diff}
        error={m.error}
        loading={m.loading}
        hideUnchanged={m.hideUnchanged}
        models={control}
      />
    );
  }
}

namespace Private {
  export let counter = 0;
}
