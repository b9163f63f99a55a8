/** A snapshot's short id, age, refs and flags, on one line of the list. */
import * as React from 'react';

import { ISnapshot } from '../api';
import { absoluteTime, relativeTime } from '../time';

export function SnapshotMeta({
  snap,
  head
}: {
  snap: ISnapshot;
  head: boolean;
}): React.ReactElement {
  return (
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
  );
}
