/** One snapshot in the list: message, id, time, refs, size and metrics. */
import * as React from 'react';

import { ISnapshot } from '../api';
import { formatBytes } from '../format';
import { Metrics } from './MetricBadges';
import { SnapshotMeta } from './SnapshotMeta';

export function SnapshotItem(props: {
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
          title="Tick two snapshots to compare them, three or more to see them side by side, or one to compare it with the current state"
          onClick={event => event.stopPropagation()}
          onChange={onTick}
        />
        <div className="jp-mlvc-message" title={snap.message}>
          {snap.message || <span className="jp-mlvc-dim">(no message)</span>}
        </div>
      </div>
      <SnapshotMeta snap={snap} head={head} />
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
