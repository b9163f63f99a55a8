/** Search, branch and automatic-snapshot filters of the list or graph, and which of the two. */
import * as React from 'react';

import { SidebarModel } from '../model';
import { ViewToggle } from './ViewToggle';

export function Filters({
  model
}: {
  model: SidebarModel;
}): React.ReactElement {
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
  const graph = model.view === 'graph';
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
        title={
          graph
            ? 'Draw the snapshots made automatically (before a checkout or a restore); folded, edges pass through them'
            : 'List the snapshots made automatically (before a checkout or a restore)'
        }
      >
        <input
          type="checkbox"
          checked={
            graph ? model.graphShowAuto : model.settings.showAutoSnapshots
          }
          onChange={event =>
            graph
              ? model.setGraphShowAuto(event.target.checked)
              : model.setShowAuto(event.target.checked)
          }
        />
        auto
      </label>
      <ViewToggle model={model} />
    </div>
  );
}
