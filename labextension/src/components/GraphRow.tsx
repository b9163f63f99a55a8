/** One snapshot of the commit graph: its lanes, then its message and refs on two lines. */
import * as React from 'react';

import { IGraphRow } from '../graph';
import { absoluteTime, relativeTime } from '../time';
import { GraphLanes, ROW_HEIGHT } from './GraphLanes';

export function GraphRow(props: {
  row: IGraphRow;
  /** Index of the row, from the top of the graph. */
  index: number;
  lanes: number;
  head: boolean;
  selected: boolean;
  ticked: boolean;
  /** Left out by the search or the branch filter: shown faint. */
  dim: boolean;
  onSelect: () => void;
  onTick: () => void;
}): React.ReactElement {
  const { row, index, lanes, head, selected, ticked, dim, onSelect, onTick } =
    props;
  const node = row.node;
  const classes = ['jp-mlvc-graph-row'];
  if (selected) {
    classes.push('jp-mod-selected');
  }
  if (node.auto) {
    classes.push('jp-mlvc-auto');
  }
  if (ticked) {
    classes.push('jp-mlvc-ticked');
  }
  if (dim) {
    classes.push('jp-mlvc-dimmed');
  }
  return (
    <div
      className={classes.join(' ')}
      role="option"
      aria-selected={selected}
      aria-rowindex={index + 1}
      data-id={node.id}
      data-lane={row.lane}
      data-parents={row.parents.join(' ')}
      data-merge={row.parents.length > 1 ? 'true' : undefined}
      data-fork={row.incoming.length > 1 ? 'true' : undefined}
      data-head={head ? 'true' : undefined}
      style={{ top: index * ROW_HEIGHT, height: ROW_HEIGHT }}
      onClick={event => {
        // Ctrl/Cmd-click ticks for comparison, as in the list.
        if (event.ctrlKey || event.metaKey) {
          onTick();
        } else {
          onSelect();
        }
      }}
    >
      <GraphLanes row={row} lanes={lanes} head={head} />
      <div className="jp-mlvc-graph-text">
        <div className="jp-mlvc-message" title={node.message}>
          {node.message || <span className="jp-mlvc-dim">(no message)</span>}
        </div>
        <div className="jp-mlvc-graph-meta">
          <code className="jp-mlvc-id">{node.short_id}</code>
          <span title={absoluteTime(node.created_at)}>
            {relativeTime(node.created_at)}
          </span>
          {head && <span className="jp-mlvc-badge jp-mlvc-head">HEAD</span>}
          {row.branches.map(name => (
            <span
              key={name}
              className="jp-mlvc-badge jp-mlvc-branch"
              title={`The tip of branch ${name}`}
            >
              {name}
            </span>
          ))}
          {node.tags.map(tag => (
            <span key={tag} className="jp-mlvc-badge jp-mlvc-tag">
              {tag}
            </span>
          ))}
          {node.auto && <span className="jp-mlvc-badge">auto</span>}
          {row.folded > 0 && (
            <span
              className="jp-mlvc-dim jp-mlvc-graph-folded"
              title="Automatic snapshots folded between this one and its parent: tick auto to show them"
            >
              +{row.folded} auto
            </span>
          )}
        </div>
      </div>
    </div>
  );
}
