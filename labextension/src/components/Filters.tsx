/** Search, branch and automatic-snapshot filters of the list. */
import * as React from 'react';

import { SidebarModel } from '../model';

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
