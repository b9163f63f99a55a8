/**
 * A main-area tab comparing two snapshots, or a snapshot and the current state.
 *
 * The top part is React (metrics, variables, environment: everything from the
 * store goes through text nodes, so it is escaped). Below it, the notebook diff
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

import {
  diffWithNotebook,
  getDiff,
  ICellChange,
  IDiff,
  IDiffSide,
  IVariableChange,
  IVariableInfo
} from './api';
import { absoluteTime, formatBytes, formatMetric, formatValue } from './format';
import { snapshotsIcon } from './icons';
import { Section as BaseSection } from './view';
import { diffInKernel } from './kernel';
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

    this._summary = new CompareSummary(this._model);
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
    this._model.changed();
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
  private _summary: CompareSummary;
  private _notebook: Panel;
  private _ticket = 0;
}

class CompareSummary extends VDomRenderer<CompareModel> {
  constructor(model: CompareModel) {
    super(model);
    this.addClass('jp-mlvc-compare-summary');
  }

  protected render(): React.ReactElement {
    const { diff, error, loading } = this.model;
    if (error) {
      return (
        <div className="jp-mlvc-error" role="alert">
          Could not compare: {error}
        </div>
      );
    }
    if (!diff) {
      return <div className="jp-mlvc-empty">{loading ? 'Comparing…' : ''}</div>;
    }
    return (
      <div className="jp-mlvc-compare-body">
        <Sides a={diff.a} b={diff.b} loading={loading} />
        {diff.empty && <div className="jp-mlvc-dim">No differences.</div>}
        <MetricsTable metrics={diff.metrics} />
        <VariablesTable variables={diff.variables} />
        <EnvironmentTable environment={diff.environment} />
        <NotebookHeading diff={diff} hideUnchanged={this.model.hideUnchanged} />
      </div>
    );
  }
}

function Side({
  side,
  label
}: {
  side: IDiffSide;
  label: string;
}): React.ReactElement {
  if (side.current) {
    return (
      <div className="jp-mlvc-side">
        <span className="jp-mlvc-side-label">{label}</span>
        <b>current state</b>
        <span className="jp-mlvc-dim">
          the kernel’s variables and the notebook as it is in the editor
        </span>
      </div>
    );
  }
  return (
    <div className="jp-mlvc-side">
      <span className="jp-mlvc-side-label">{label}</span>
      <code className="jp-mlvc-id">{side.short_id}</code>
      <span className="jp-mlvc-side-message">
        {side.message || <span className="jp-mlvc-dim">(no message)</span>}
      </span>
      {side.branch && (
        <span className="jp-mlvc-badge jp-mlvc-branch">{side.branch}</span>
      )}
      {side.created_at && (
        <span className="jp-mlvc-dim">{absoluteTime(side.created_at)}</span>
      )}
    </div>
  );
}

function Sides(props: {
  a: IDiffSide;
  b: IDiffSide;
  loading: boolean;
}): React.ReactElement {
  return (
    <div className="jp-mlvc-sides">
      <Side side={props.a} label="before" />
      <Side side={props.b} label="after" />
      {props.loading && <span className="jp-mlvc-dim">Comparing…</span>}
    </div>
  );
}

function Section(props: {
  title: string;
  children: React.ReactNode;
}): React.ReactElement {
  return <BaseSection {...props} className="jp-mlvc-compare-section" />;
}

function deltaClass(delta: number | null): string {
  if (delta === null || delta === 0) {
    return '';
  }
  return delta > 0 ? 'jp-mlvc-up' : 'jp-mlvc-down';
}

function MetricsTable({
  metrics
}: {
  metrics: IDiff['metrics'];
}): React.ReactElement | null {
  if (!metrics.length) {
    return null;
  }
  const show = (v: number | null): string =>
    v === null ? '—' : formatMetric(v);
  return (
    <Section title="Metrics">
      <table className="jp-mlvc-table jp-mlvc-compare-metrics">
        <thead>
          <tr>
            <th>metric</th>
            <th>before</th>
            <th>after</th>
            <th>change</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map(m => (
            <tr key={m.name} data-name={m.name}>
              <td className="jp-mlvc-name">{m.name}</td>
              <td>{show(m.before)}</td>
              <td>{show(m.after)}</td>
              <td className={deltaClass(m.delta)}>
                {m.delta === null
                  ? ''
                  : `${m.delta > 0 ? '+' : ''}${formatMetric(m.delta)}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/** A one-line description of a variable from its summary: shape, length, columns or repr. */
export function describeInfo(info: IVariableInfo | null): string {
  if (!info) {
    return '';
  }
  const s = info.summary;
  const parts: string[] = [info.type];
  if (Array.isArray(s['shape'])) {
    parts.push((s['shape'] as unknown[]).join('×'));
  }
  if (typeof s['dtype'] === 'string') {
    parts.push(s['dtype'] as string);
  }
  if (typeof s['rows'] === 'number') {
    parts.push(`${s['rows']} rows`);
  }
  if (Array.isArray(s['columns'])) {
    parts.push(`${(s['columns'] as unknown[]).length} columns`);
  } else if (typeof s['len'] === 'number') {
    parts.push(`len ${s['len']}`);
  }
  const repr = formatValue(s['repr']);
  if (repr && parts.length === 1) {
    parts.push(repr.length > 80 ? repr.slice(0, 77) + '…' : repr);
  }
  return parts.join(', ');
}

function list(values: unknown): string[] {
  return Array.isArray(values) ? values.map(v => formatValue(v)) : [];
}

function num(value: unknown): string {
  return typeof value === 'number' ? formatMetric(value) : formatValue(value);
}

/** How a changed value changed, in a few lines (the shape of diff.describe_change). */
export function describeChange(change: IVariableChange['change']): string[] {
  if (!change) {
    return [];
  }
  const c = change as { [key: string]: any };
  const lines: string[] = [];
  const lenChange = (): void => {
    if (c.len_before !== c.len_after) {
      lines.push(`length ${c.len_before} → ${c.len_after}`);
    }
  };
  const addedRemoved = (what: string): void => {
    const added = list(c.added);
    const removed = list(c.removed);
    if (added.length) {
      lines.push(`${what} added: ${added.join(', ')}`);
    }
    if (removed.length) {
      lines.push(`${what} removed: ${removed.join(', ')}`);
    }
  };
  switch (c.kind) {
    case 'scalar':
      lines.push(
        `${formatValue(c.before)} → ${formatValue(c.after)}` +
          (typeof c.delta === 'number'
            ? ` (${c.delta > 0 ? '+' : ''}${formatMetric(c.delta)})`
            : '')
      );
      break;
    case 'array': {
      const sb = list(c.shape_before).join('×');
      const sa = list(c.shape_after).join('×');
      if (sb !== sa) {
        lines.push(`shape ${sb} → ${sa}`);
      }
      if (c.dtype_before !== c.dtype_after) {
        lines.push(`dtype ${c.dtype_before} → ${c.dtype_after}`);
      }
      if (typeof c.n_differ === 'number') {
        lines.push(
          `${c.n_differ} of ${c.n_elements} elements differ` +
            (typeof c.max_abs_diff === 'number'
              ? `, max abs diff ${num(c.max_abs_diff)}`
              : '')
        );
      }
      break;
    }
    case 'frame':
    case 'series': {
      const added = list(c.columns_added);
      const removed = list(c.columns_removed);
      if (added.length) {
        lines.push(`columns added: ${added.join(', ')}`);
      }
      if (removed.length) {
        lines.push(`columns removed: ${removed.join(', ')}`);
      }
      for (const [col, types] of Object.entries(c.dtype_changed ?? {})) {
        lines.push(`${col}: dtype ${list(types).join(' → ')}`);
      }
      if (c.rows_before !== c.rows_after) {
        lines.push(`rows ${c.rows_before} → ${c.rows_after}`);
      }
      const differ = Object.entries(c.rows_differ ?? {});
      if (differ.length) {
        lines.push(
          'rows that differ: ' +
            differ.map(([col, n]) => `${col} ${formatValue(n)}`).join(', ')
        );
      } else if (c.index_equal === false) {
        lines.push('index changed');
      }
      break;
    }
    case 'model': {
      const params = Object.entries(c.params_changed ?? {});
      for (const [name, values] of params) {
        lines.push(`${name}: ${list(values).join(' → ')}`);
      }
      if (
        typeof c.n_parameters_before === 'number' &&
        c.n_parameters_before !== c.n_parameters_after
      ) {
        lines.push(
          `parameters ${c.n_parameters_before} → ${c.n_parameters_after}`
        );
      }
      if (typeof c.max_weight_change === 'number') {
        lines.push(`max weight change ${num(c.max_weight_change)}`);
      }
      const layers = list(c.layers_changed);
      if (layers.length) {
        lines.push(`layers changed: ${layers.join(', ')}`);
      }
      if (!params.length && lines.length === 0) {
        lines.push('weights changed');
      }
      break;
    }
    case 'type':
      lines.push(`type ${c.before_type} → ${c.after_type}`);
      break;
    case 'text':
      lines.push(`text of length ${c.len_before} → ${c.len_after}`);
      break;
    case 'mapping':
      addedRemoved('keys');
      if (list(c.changed).length) {
        lines.push(`values changed: ${list(c.changed).join(', ')}`);
      }
      lenChange();
      break;
    case 'set':
    case 'sequence':
      addedRemoved('items');
      lenChange();
      break;
    default:
      lines.push('contents changed');
  }
  if (typeof c.note === 'string') {
    lines.push(c.note);
  }
  return lines.length ? lines : ['contents changed'];
}

function VariablesTable({
  variables
}: {
  variables: IDiff['variables'];
}): React.ReactElement {
  const rows: [string, IVariableChange][] = [
    ...variables.changed.map(v => ['changed', v] as [string, IVariableChange]),
    ...variables.added.map(v => ['added', v] as [string, IVariableChange]),
    ...variables.removed.map(v => ['removed', v] as [string, IVariableChange])
  ];
  const unchanged = variables.unchanged.length;
  return (
    <Section
      title={`Variables (${rows.length} differ, ${unchanged} unchanged)`}
    >
      {rows.length === 0 ? (
        <div className="jp-mlvc-dim">The variables are the same.</div>
      ) : (
        <table className="jp-mlvc-table jp-mlvc-compare-variables">
          <thead>
            <tr>
              <th></th>
              <th>name</th>
              <th>before</th>
              <th>after</th>
              <th>how it changed</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([kind, v]) => (
              <tr key={v.name} data-name={v.name} className={`jp-mlvc-${kind}`}>
                <td>
                  <span className={`jp-mlvc-badge jp-mlvc-kind-${kind}`}>
                    {kind}
                  </span>
                </td>
                <td className="jp-mlvc-name">{v.name}</td>
                <td className="jp-mlvc-summary">
                  {describeInfo(v.before)}
                  {v.before && (
                    <span className="jp-mlvc-dim">
                      {' '}
                      {formatBytes(v.before.nbytes)}
                    </span>
                  )}
                </td>
                <td className="jp-mlvc-summary">
                  {describeInfo(v.after)}
                  {v.after && (
                    <span className="jp-mlvc-dim">
                      {' '}
                      {formatBytes(v.after.nbytes)}
                    </span>
                  )}
                </td>
                <td className="jp-mlvc-change">
                  {describeChange(v.change).map((line, i) => (
                    <div key={i}>{line}</div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function EnvironmentTable({
  environment
}: {
  environment: IDiff['environment'];
}): React.ReactElement | null {
  if (!environment.length) {
    return null;
  }
  return (
    <Section title="Environment">
      <table className="jp-mlvc-table jp-mlvc-compare-environment">
        <thead>
          <tr>
            <th>package</th>
            <th>before</th>
            <th>after</th>
          </tr>
        </thead>
        <tbody>
          {environment.map(e => (
            <tr key={e.name} data-name={e.name}>
              <td className="jp-mlvc-name">{e.name}</td>
              <td>{formatValue(e.before) || '—'}</td>
              <td>{formatValue(e.after) || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function countCells(cells: ICellChange[], kind: ICellChange['kind']): number {
  return cells.filter(c => c.kind === kind).length;
}

function NotebookHeading(props: {
  diff: IDiff;
  hideUnchanged: boolean;
}): React.ReactElement {
  const nb = props.diff.notebook;
  let text: string;
  if (!nb || !nb.available || !props.diff.nbdime) {
    text = 'Not available: one of the two holds no notebook.';
  } else {
    const cells = nb.cells;
    const parts = [
      ['modified', countCells(cells, 'modified')],
      ['added', countCells(cells, 'added')],
      ['removed', countCells(cells, 'removed')],
      ['moved', countCells(cells, 'moved')]
    ]
      .filter(([, n]) => n)
      .map(([kind, n]) => `${n} ${kind}`);
    text =
      (parts.length ? `Cells: ${parts.join(', ')}` : 'No cell changed') +
      `; ${nb.unchanged} unchanged` +
      (props.hideUnchanged && nb.unchanged ? ' (hidden)' : '') +
      '.';
  }
  return (
    <Section title="Notebook">
      <div className="jp-mlvc-dim">{text}</div>
    </Section>
  );
}

namespace Private {
  export let counter = 0;
}
