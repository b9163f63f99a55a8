/** A snapshot's short id, age, refs and flags, on one line of the list. */
import * as React from 'react';

import { ISnapshot } from '../api';
import { absoluteTime, relativeTime } from '../time';
import { SnapshotBadges } from './SnapshotBadges';

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
      <SnapshotBadges
        branch={snap.branch}
        tags={snap.tags}
        auto={snap.auto}
        trusted={snap.trusted}
        untrustedTitle="Not made with your key: %mlvc trust to load it"
      />
    </div>
  );
}
