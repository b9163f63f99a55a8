/** A snapshot's id, time, parents, refs, size and where its notebook came from. */
import * as React from 'react';

import { ISnapshotDetail } from '../api';
import { formatBytes } from '../format';
import { absoluteTime, relativeTime } from '../time';

export function DetailsFacts({
  detail
}: {
  detail: ISnapshotDetail;
}): React.ReactElement {
  return (
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
  );
}
