/**
 * The sidebar's content, rendered with React from the SidebarModel.
 *
 * Everything from the store (messages, names, summaries, reasons) goes through
 * React's text nodes and attributes, which escape it: nothing is set as HTML.
 */
import { refreshIcon, VDomRenderer } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ISnapshot, ISnapshotDetail, IVariable } from './api';
import {
  absoluteTime,
  formatBytes,
  formatMetric,
  formatValue,
  relativeTime
} from './format';
import { SidebarModel } from './model';

/** What the view asks of the outside world (commands live in index.ts). */
export interface IViewActions {
  commit(): void;
  openNotebook(ref: string): void;
  /** Open a comparison tab: `b` is a snapshot id or "current". */
  compare(a: string, b: string): void;
}

export class SnapshotView extends VDomRenderer<SidebarModel> {
  constructor(
    model: SidebarModel,
    private readonly actions: IViewActions
  ) {
    super(model);
    this.addClass('jp-mlvc-view');
  }

  protected onAfterShow(): void {
    // Catch up at once with what happened while the panel was hidden.
    void this.model.poll();
  }

  protected render(): React.ReactElement {
    return <Sidebar model={this.model} actions={this.actions} />;
  }
}

interface IProps {
  model: SidebarModel;
  actions: IViewActions;
}

function Sidebar({ model, actions }: IProps): React.ReactElement {
  if (!model.path) {
    return (
      <div className="jp-mlvc-empty">
        Open a notebook to see its snapshots: the variables, models and notebook
        content you committed.
      </div>
    );
  }
  return (
    <div className="jp-mlvc-sidebar">
      <Header model={model} actions={actions} />
      <Notice model={model} />
      <Filters model={model} />
      <CompareBar model={model} actions={actions} />
      <SnapshotList model={model} actions={actions} />
      {model.selectedId && <Details model={model} actions={actions} />}
    </div>
  );
}

function Header({ model, actions }: IProps): React.ReactElement {
  return (
    <div className="jp-mlvc-header">
      <div className="jp-mlvc-notebook" title={model.path ?? ''}>
        {model.panel?.context.localPath.split('/').pop()}
        {model.currentBranch && (
          <span className="jp-mlvc-badge jp-mlvc-branch">
            {model.currentBranch}
          </span>
        )}
      </div>
      <div className="jp-mlvc-header-actions">
        <button
          className="jp-mlvc-button jp-mod-accept"
          onClick={() => actions.commit()}
          disabled={!!model.busy}
          title="Commit the kernel's variables and the notebook as it is in the editor"
        >
          Commit
        </button>
        <button
          className="jp-mlvc-icon-button"
          onClick={() => void model.reload()}
          title="Refresh"
          aria-label="Refresh"
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
    </div>
  );
}

function Notice({ model }: { model: SidebarModel }): React.ReactElement | null {
  if (model.busy) {
    return (
      <div className="jp-mlvc-notice jp-mlvc-busy" role="status">
        {model.busy}
      </div>
    );
  }
  const notice = model.notice;
  if (!notice) {
    return null;
  }
  return (
    <div
      className={`jp-mlvc-notice jp-mlvc-notice-${notice.kind}`}
      role={notice.kind === 'error' ? 'alert' : 'status'}
    >
      <div className="jp-mlvc-notice-title">
        <span>{notice.title}</span>
        <button
          className="jp-mlvc-link"
          onClick={() => model.dismissNotice()}
          aria-label="Dismiss"
        >
          ×
        </button>
      </div>
      <div className="jp-mlvc-notice-text">{notice.text}</div>
      {notice.lists?.map(list => (
        <div key={list.label} className="jp-mlvc-notice-list">
          <span className="jp-mlvc-notice-label">{list.label}:</span>{' '}
          {list.items.join(', ')}
        </div>
      ))}
    </div>
  );
}

function Filters({ model }: { model: SidebarModel }): React.ReactElement {
  const [search, setSearch] = React.useState(model.search);
  React.useEffect(() => setSearch(model.search), [model.search, model.path]);
  React.useEffect(() => {
    // Search as the user types, once they pause.
    const timer = window.setTimeout(
      () => model.setFilter(search, model.branch),
      300
    );
    return () => window.clearTimeout(timer);
  }, [search]);
  return (
    <div className="jp-mlvc-filters">
      <input
        className="jp-mlvc-search jp-InputGroup"
        type="search"
        placeholder="Search messages"
        aria-label="Search messages"
        value={search}
        onChange={event => setSearch(event.target.value)}
      />
      <select
        className="jp-mlvc-branch-filter"
        aria-label="Branch"
        value={model.branch}
        onChange={event => model.setFilter(search, event.target.value)}
      >
        <option value="">All branches</option>
        {model.branches.map(name => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      <label
        className="jp-mlvc-auto-toggle"
        title="List the snapshots made automatically (before a checkout or a restore)"
      >
        <input
          type="checkbox"
          checked={model.settings.showAutoSnapshots}
          onChange={event => model.setShowAuto(event.target.checked)}
        />
        auto
      </label>
    </div>
  );
}

function shortOf(model: SidebarModel, id: string): string {
  return model.snapshots.find(s => s.id === id)?.short_id ?? id.slice(0, 8);
}

/** What to do with the snapshots ticked for comparison. */
function CompareBar({ model, actions }: IProps): React.ReactElement | null {
  const ids = model.compareIds;
  if (!ids.length) {
    return null;
  }
  const pair = model.comparePair;
  return (
    <div className="jp-mlvc-compare-bar" aria-label="Compare snapshots">
      {pair ? (
        <button
          className="jp-mlvc-button jp-mod-accept"
          onClick={() => actions.compare(pair[0], pair[1])}
          title="Open the differences between the two ticked snapshots"
        >
          Compare {shortOf(model, pair[0])} ↔ {shortOf(model, pair[1])}
        </button>
      ) : (
        <span className="jp-mlvc-dim">Tick a second snapshot, or</span>
      )}
      {ids.length === 1 && (
        <button
          className="jp-mlvc-button"
          onClick={() => actions.compare(ids[0], 'current')}
          title="Compare the ticked snapshot with the kernel's variables and the editor's notebook"
        >
          Compare with current
        </button>
      )}
      <button
        className="jp-mlvc-link"
        onClick={() => model.clearCompare()}
        title="Untick the snapshots"
      >
        Clear
      </button>
    </div>
  );
}

function SnapshotList({ model }: IProps): React.ReactElement {
  if (model.loadError) {
    return (
      <div className="jp-mlvc-error">
        Could not load the snapshots: {model.loadError}
      </div>
    );
  }
  if (model.snapshots.length === 0) {
    if (model.loading) {
      return <div className="jp-mlvc-empty">Loading…</div>;
    }
    if (model.filtered) {
      return <div className="jp-mlvc-empty">No snapshot matches.</div>;
    }
    return (
      <div className="jp-mlvc-empty jp-mlvc-first">
        <p>No snapshots of this notebook yet.</p>
        <p>
          Press <b>Commit</b> above, or run in a cell:
        </p>
        <pre>{'%load_ext jupyter_mlvc\n%mlvc commit -m "first"'}</pre>
        <p>The first commit creates a .mlvc store in the notebook's folder.</p>
      </div>
    );
  }
  const more = model.total - model.snapshots.length;
  return (
    <div className="jp-mlvc-list-section">
      <div className="jp-mlvc-count">
        {model.total} snapshot{model.total === 1 ? '' : 's'}
      </div>
      <ul className="jp-mlvc-list" role="listbox" aria-label="Snapshots">
        {model.snapshots.map(snap => (
          <SnapshotItem
            key={snap.id}
            snap={snap}
            head={snap.id === model.head}
            selected={snap.id === model.selectedId}
            ticked={model.compareIds.includes(snap.id)}
            onSelect={() =>
              void model.select(snap.id === model.selectedId ? null : snap.id)
            }
            onTick={() => model.toggleCompare(snap.id)}
          />
        ))}
      </ul>
      {more > 0 && (
        <button
          className="jp-mlvc-button jp-mlvc-more"
          onClick={() => void model.loadMore()}
        >
          Show {Math.min(more, model.settings.pageSize)} more of {more}
        </button>
      )}
    </div>
  );
}

function Metrics({
  metrics
}: {
  metrics: { [name: string]: number };
}): React.ReactElement | null {
  const names = Object.keys(metrics).sort();
  if (!names.length) {
    return null;
  }
  return (
    <span className="jp-mlvc-metrics">
      {names.map(name => (
        <span key={name} className="jp-mlvc-metric">
          {name} {formatMetric(metrics[name])}
        </span>
      ))}
    </span>
  );
}

function SnapshotItem(props: {
  snap: ISnapshot;
  head: boolean;
  selected: boolean;
  ticked: boolean;
  onSelect: () => void;
  onTick: () => void;
}): React.ReactElement {
  const { snap, head, selected, ticked, onSelect, onTick } = props;
  return (
    <li
      className={`jp-mlvc-item${selected ? ' jp-mod-selected' : ''}${snap.auto ? ' jp-mlvc-auto' : ''}${ticked ? ' jp-mlvc-ticked' : ''}`}
      role="option"
      aria-selected={selected}
      tabIndex={0}
      data-id={snap.id}
      onClick={event => {
        // Ctrl/Cmd-click ticks for comparison, as a multiple selection would.
        if (event.ctrlKey || event.metaKey) {
          onTick();
        } else {
          onSelect();
        }
      }}
      onKeyDown={event => {
        if (event.target !== event.currentTarget) {
          return;
        }
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onSelect();
        }
      }}
    >
      <div className="jp-mlvc-item-top">
        <input
          type="checkbox"
          className="jp-mlvc-compare-tick"
          checked={ticked}
          aria-label={`Compare ${snap.short_id}`}
          title="Tick two snapshots to compare them, or one to compare it with the current state"
          onClick={event => event.stopPropagation()}
          onChange={onTick}
        />
        <div className="jp-mlvc-message" title={snap.message}>
          {snap.message || <span className="jp-mlvc-dim">(no message)</span>}
        </div>
      </div>
      <div className="jp-mlvc-meta">
        <code className="jp-mlvc-id">{snap.short_id}</code>
        <span title={absoluteTime(snap.created_at)}>
          {relativeTime(snap.created_at)}
        </span>
        {head && <span className="jp-mlvc-badge jp-mlvc-head">HEAD</span>}
        {snap.branch && (
          <span className="jp-mlvc-badge jp-mlvc-branch">{snap.branch}</span>
        )}
        {snap.tags.map(tag => (
          <span key={tag} className="jp-mlvc-badge jp-mlvc-tag">
            {tag}
          </span>
        ))}
        {snap.auto && <span className="jp-mlvc-badge">auto</span>}
        {!snap.trusted && (
          <span
            className="jp-mlvc-badge jp-mlvc-untrusted"
            title="Not made with your key: %mlvc trust to load it"
          >
            untrusted
          </span>
        )}
      </div>
      <div className="jp-mlvc-meta">
        <span>
          {snap.n_variables} variable{snap.n_variables === 1 ? '' : 's'},{' '}
          {formatBytes(snap.nbytes)}
        </span>
        <Metrics metrics={snap.metrics} />
      </div>
    </li>
  );
}

function Details({ model, actions }: IProps): React.ReactElement {
  const detail = model.detail;
  if (model.detailError) {
    return (
      <div className="jp-mlvc-details jp-mlvc-error">{model.detailError}</div>
    );
  }
  if (!detail) {
    return <div className="jp-mlvc-details jp-mlvc-empty">Loading…</div>;
  }
  const chosen = [...model.chosen].sort();
  const names = Object.keys(detail.variables).sort();
  return (
    <div className="jp-mlvc-details" aria-label="Snapshot details">
      <div className="jp-mlvc-details-title">
        {detail.message || '(no message)'}
      </div>
      <dl className="jp-mlvc-facts">
        <dt>id</dt>
        <dd>
          <code className="jp-mlvc-id">{detail.id}</code>
        </dd>
        <dt>time</dt>
        <dd>
          {absoluteTime(detail.created_at)} ({relativeTime(detail.created_at)})
        </dd>
        {detail.parents.length > 0 && (
          <>
            <dt>parent</dt>
            <dd>
              <code>{detail.parents.map(p => p.slice(0, 8)).join(', ')}</code>
            </dd>
          </>
        )}
        {(detail.refs.head ||
          detail.refs.branches.length > 0 ||
          detail.refs.tags.length > 0) && (
          <>
            <dt>refs</dt>
            <dd>
              {detail.refs.head && (
                <span className="jp-mlvc-badge jp-mlvc-head">HEAD</span>
              )}
              {detail.refs.branches.map(b => (
                <span key={b} className="jp-mlvc-badge jp-mlvc-branch">
                  {b}
                </span>
              ))}
              {detail.refs.tags.map(t => (
                <span key={t} className="jp-mlvc-badge jp-mlvc-tag">
                  {t}
                </span>
              ))}
            </dd>
          </>
        )}
        <dt>size</dt>
        <dd>
          {formatBytes(detail.nbytes)} ({formatBytes(detail.bytes_written)} new)
        </dd>
        {detail.notebook_source && (
          <>
            <dt>notebook</dt>
            <dd>from the {detail.notebook_source}</dd>
          </>
        )}
      </dl>
      {!detail.trusted && (
        <div className="jp-mlvc-error">
          This snapshot was not made with your key. Run %mlvc trust{' '}
          {detail.short_id} in the notebook before restoring its variables.
        </div>
      )}
      <div className="jp-mlvc-actions">
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
      <Section title={`Variables (${names.length})`}>
        {names.length === 0 ? (
          <div className="jp-mlvc-dim">No variables.</div>
        ) : (
          <VariableTable detail={detail} names={names} model={model} />
        )}
      </Section>
      {Object.keys(detail.skipped).length > 0 && (
        <Section title={`Skipped (${Object.keys(detail.skipped).length})`}>
          <table className="jp-mlvc-table">
            <tbody>
              {Object.entries(detail.skipped)
                .sort()
                .map(([name, reason]) => (
                  <tr key={name}>
                    <td className="jp-mlvc-name">{name}</td>
                    <td>{reason}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </Section>
      )}
      {Object.keys(detail.metrics).length > 0 && (
        <Section title="Metrics">
          <table className="jp-mlvc-table">
            <tbody>
              {Object.keys(detail.metrics)
                .sort()
                .map(name => (
                  <tr key={name}>
                    <td className="jp-mlvc-name">{name}</td>
                    <td>{formatMetric(detail.metrics[name])}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </Section>
      )}
      <Environment environment={detail.environment} />
    </div>
  );
}

/** A titled block of the details pane and of the compare tab. */
export function Section(props: {
  title: string;
  className?: string;
  children: React.ReactNode;
}): React.ReactElement {
  const className = props.className
    ? `jp-mlvc-section ${props.className}`
    : 'jp-mlvc-section';
  return (
    <section className={className}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

function VariableTable(props: {
  detail: ISnapshotDetail;
  names: string[];
  model: SidebarModel;
}): React.ReactElement {
  const { detail, names, model } = props;
  const all = names.length > 0 && names.every(n => model.chosen.has(n));
  return (
    <table className="jp-mlvc-table jp-mlvc-variables">
      <thead>
        <tr>
          <th>
            <input
              type="checkbox"
              checked={all}
              aria-label="Choose all variables"
              onChange={() => model.setChosen(all ? [] : names)}
            />
          </th>
          <th>name</th>
          <th>type</th>
          <th>summary</th>
        </tr>
      </thead>
      <tbody>
        {names.map(name => (
          <VariableRow
            key={name}
            variable={detail.variables[name]}
            chosen={model.chosen.has(name)}
            onToggle={() => model.toggleChosen(name)}
          />
        ))}
      </tbody>
    </table>
  );
}

function VariableRow(props: {
  variable: IVariable;
  chosen: boolean;
  onToggle: () => void;
}): React.ReactElement {
  const { variable, chosen, onToggle } = props;
  const repr = formatValue(variable.summary['repr']);
  return (
    <tr
      className={variable.changed ? 'jp-mlvc-changed' : ''}
      data-name={variable.name}
    >
      <td>
        <input
          type="checkbox"
          checked={chosen}
          onChange={onToggle}
          aria-label={`Choose ${variable.name}`}
        />
      </td>
      <td
        className="jp-mlvc-name"
        title={
          variable.changed
            ? 'changed since the parent snapshot'
            : 'same as in the parent snapshot'
        }
      >
        {variable.changed && <span className="jp-mlvc-changed-mark">●</span>}
        {variable.name}
      </td>
      <td className="jp-mlvc-type">{variable.type}</td>
      <td className="jp-mlvc-summary">
        <div>
          {variable.text}{' '}
          <span className="jp-mlvc-dim">{formatBytes(variable.nbytes)}</span>
        </div>
        {repr && repr !== variable.text && (
          <div className="jp-mlvc-repr" title={repr}>
            {repr}
          </div>
        )}
      </td>
    </tr>
  );
}

function Environment({
  environment
}: {
  environment: { [key: string]: unknown };
}): React.ReactElement | null {
  const keys = Object.keys(environment).sort();
  if (!keys.length) {
    return null;
  }
  return (
    <details className="jp-mlvc-section jp-mlvc-environment">
      <summary>Environment</summary>
      <table className="jp-mlvc-table">
        <tbody>
          {keys.flatMap(key => {
            const value = environment[key];
            if (value && typeof value === 'object' && !Array.isArray(value)) {
              return Object.entries(value as { [k: string]: unknown })
                .sort()
                .map(([sub, v]) => (
                  <tr key={`${key}.${sub}`}>
                    <td className="jp-mlvc-name">{`${key}.${sub}`}</td>
                    <td>{formatValue(v)}</td>
                  </tr>
                ));
            }
            return [
              <tr key={key}>
                <td className="jp-mlvc-name">{key}</td>
                <td>{formatValue(value)}</td>
              </tr>
            ];
          })}
        </tbody>
      </table>
    </details>
  );
}
