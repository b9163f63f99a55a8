/** The head of one column of the side-by-side comparison: which snapshot it is. */
import * as React from 'react';

import { IComparedSnapshot } from '../comparisonTypes';
import { absoluteTime, relativeTime } from '../time';
import { SnapshotBadges } from './SnapshotBadges';

export function CompareManyColumn(props: {
  snap: IComparedSnapshot;
  index: number;
  onSelect: (id: string) => void;
}): React.ReactElement {
  const { snap, index, onSelect } = props;
  return (
    <th
      scope="col"
      className={`jp-mlvc-compare-many-column${snap.trusted ? '' : ' jp-mlvc-untrusted-column'}`}
      data-id={snap.id}
      data-column={index}
      title="Select this snapshot in the sidebar"
      onClick={() => onSelect(snap.id)}
    >
      {/* For the keyboard: its click bubbles up to the header's. */}
      <button type="button" className="jp-mlvc-column-select">
        <code className="jp-mlvc-id">{snap.short_id}</code>
      </button>
      <div className="jp-mlvc-column-message" title={snap.message}>
        {snap.message || (
          <span className="jp-mlvc-dim">
            {snap.auto ? '(auto)' : '(no message)'}
          </span>
        )}
      </div>
      <div className="jp-mlvc-dim" title={relativeTime(snap.created_at)}>
        {absoluteTime(snap.created_at)}
      </div>
      <div className="jp-mlvc-column-refs">
        <SnapshotBadges
          branch={snap.branch}
          tags={snap.tags}
          auto={snap.auto}
          trusted={snap.trusted}
          untrustedTitle="Not made with your key. Nothing of it is loaded here: the comparison reads only the index"
        />
      </div>
    </th>
  );
}
