/** A snapshot's branch, tags, auto and untrusted marks, as badges. */
import * as React from 'react';

export function SnapshotBadges(props: {
  branch: string | null;
  tags: string[];
  auto: boolean;
  trusted: boolean;
  /** What the untrusted mark says on hover, where it is shown. */
  untrustedTitle: string;
}): React.ReactElement {
  return (
    <>
      {props.branch && (
        <span className="jp-mlvc-badge jp-mlvc-branch">{props.branch}</span>
      )}
      {props.tags.map(tag => (
        <span key={tag} className="jp-mlvc-badge jp-mlvc-tag">
          {tag}
        </span>
      ))}
      {props.auto && <span className="jp-mlvc-badge">auto</span>}
      {!props.trusted && (
        <span
          className="jp-mlvc-badge jp-mlvc-untrusted"
          title={props.untrustedTitle}
        >
          untrusted
        </span>
      )}
    </>
  );
}
