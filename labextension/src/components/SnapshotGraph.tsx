/**
 * Every snapshot of the notebook as a commit graph. Only the rows in view (and a
 * few either side) are in the DOM: thousands of snapshots scroll as fast as ten.
 */
import * as React from 'react';

import { IGraphNode } from '../api';
import { ROW_HEIGHT } from './GraphLanes';
import { GraphRow } from './GraphRow';
import { IProps } from './props';

/** Rows drawn beyond each edge of the view, so a quick scroll shows no gap. */
const OVERSCAN = 6;

/** Whether the search box and the branch filter keep `node`. */
function matches(node: IGraphNode, search: string, branch: string): boolean {
  return (
    (!search || node.message.toLowerCase().includes(search.toLowerCase())) &&
    (!branch || node.branch === branch)
  );
}

export function SnapshotGraph({ model }: IProps): React.ReactElement {
  // The scrolling element, kept in state so that measuring starts once it exists.
  const [viewport, setViewport] = React.useState<HTMLDivElement | null>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(400);
  React.useEffect(() => {
    if (!viewport) {
      return;
    }
    setHeight(viewport.clientHeight);
    const observer = new ResizeObserver(() => setHeight(viewport.clientHeight));
    observer.observe(viewport);
    return () => observer.disconnect();
  }, [viewport]);

  const layout = model.graphLayout;
  const graph = model.graph;
  if (model.loadError) {
    return (
      <div className="jp-mlvc-error">
        Could not load the snapshots: {model.loadError}
      </div>
    );
  }
  if (!layout || !graph) {
    return <div className="jp-mlvc-empty">Loading…</div>;
  }
  if (!graph.nodes.length) {
    return (
      <div className="jp-mlvc-empty">
        No snapshots of this notebook yet: press <b>Commit</b>.
      </div>
    );
  }
  const rows = layout.rows;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(
    rows.length,
    Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN
  );
  const selectedRow =
    model.selectedId === null ? undefined : layout.index.get(model.selectedId);

  /** Select the row `index` rows away from the selection, and keep it in view. */
  const step = (by: number): void => {
    const element = viewport;
    const next = Math.min(
      rows.length - 1,
      Math.max(0, (selectedRow ?? -1) + by)
    );
    void model.select(rows[next].node.id);
    if (element) {
      const top = next * ROW_HEIGHT;
      if (top < element.scrollTop) {
        element.scrollTop = top;
      } else if (top + ROW_HEIGHT > element.scrollTop + element.clientHeight) {
        element.scrollTop = top + ROW_HEIGHT - element.clientHeight;
      }
    }
  };

  return (
    <div className="jp-mlvc-graph-section">
      <div className="jp-mlvc-count">
        {graph.total} snapshot{graph.total === 1 ? '' : 's'}
        {layout.hidden > 0 && `, ${layout.hidden} automatic folded`}
        {graph.truncated && ` (the newest ${graph.nodes.length} drawn)`}
      </div>
      <div
        className="jp-mlvc-graph"
        ref={setViewport}
        role="listbox"
        aria-label="Snapshot graph"
        aria-rowcount={rows.length}
        tabIndex={0}
        onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
        onKeyDown={event => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault();
            step(event.key === 'ArrowDown' ? 1 : -1);
          }
        }}
      >
        <div
          className="jp-mlvc-graph-canvas"
          style={{ height: rows.length * ROW_HEIGHT }}
        >
          {rows.slice(first, last).map((row, k) => {
            const id = row.node.id;
            return (
              <GraphRow
                key={id}
                row={row}
                index={first + k}
                lanes={layout.lanes}
                head={id === graph.head}
                selected={id === model.selectedId}
                ticked={model.compareIds.includes(id)}
                dim={!matches(row.node, model.search, model.branch)}
                onSelect={() =>
                  void model.select(id === model.selectedId ? null : id)
                }
                onTick={() => model.toggleCompare(id)}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}
