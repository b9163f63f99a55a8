/** A snapshot's metrics on one line of the list. */
import * as React from 'react';

import { formatMetric } from '../format';

export function Metrics({
  metrics
}: {
  metrics: { [name: string]: number };
}): React.ReactElement | null {
  const names = Object.keys(metrics).sort();
  if (!names.length) {
    return null;
  }
  return (
    <span className="jp-mlvc-metrics">
      {names.map(name => (
        <span key={name} className="jp-mlvc-metric">
          {name} {formatMetric(metrics[name])}
        </span>
      ))}
    </span>
  );
}
