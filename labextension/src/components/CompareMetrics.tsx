/** The metrics of both sides and how they moved. */
import * as React from 'react';

import { IMetricEntry } from '../diffTypes';
import { formatMetric } from '../format';
import { Section } from './CompareSection';

function deltaClass(delta: number | null): string {
  if (delta === null || delta === 0) {
    return '';
  }
  return delta > 0 ? 'jp-mlvc-up' : 'jp-mlvc-down';
}

export function MetricsTable({
  metrics
}: {
  metrics: IMetricEntry[];
}): React.ReactElement | null {
  if (!metrics.length) {
    return null;
  }
  const show = (v: number | null): string =>
    v === null ? '—' : formatMetric(v);
  return (
    <Section title="Metrics">
      <table className="jp-mlvc-table jp-mlvc-compare-metrics">
        <thead>
          <tr>
            <th>metric</th>
            <th>before</th>
            <th>after</th>
            <th>change</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map(m => (
            <tr key={m.name} data-name={m.name}>
              <td className="jp-mlvc-name">{m.name}</td>
              <td>{show(m.before)}</td>
              <td>{show(m.after)}</td>
              <td className={deltaClass(m.delta)}>
                {m.delta === null
                  ? ''
                  : `${m.delta > 0 ? '+' : ''}${formatMetric(m.delta)}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
