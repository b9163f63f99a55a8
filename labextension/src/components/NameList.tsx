/** Variable names under a label, e.g. "removed: x, y"; nothing when there are none. */
import * as React from 'react';

export function NameList(props: {
  label: string;
  names: string[];
}): React.ReactElement | null {
  if (!props.names.length) {
    return null;
  }
  return (
    <div className="jp-mlvc-notice-list" data-list={props.label}>
      <span className="jp-mlvc-notice-label">{props.label}:</span>{' '}
      {props.names.join(', ')}
    </div>
  );
}
