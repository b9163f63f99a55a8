/** The packages whose versions differ. */
import * as React from 'react';

import { IPackageEntry } from '../diffTypes';
import { formatValue } from '../format';
import { Section } from './CompareSection';

export function EnvironmentTable({
  environment
}: {
  environment: IPackageEntry[];
}): React.ReactElement | null {
  if (!environment.length) {
    return null;
  }
  return (
    <Section title="Environment">
      <table className="jp-mlvc-table jp-mlvc-compare-environment">
        <thead>
          <tr>
            <th>package</th>
            <th>before</th>
            <th>after</th>
          </tr>
        </thead>
        <tbody>
          {environment.map(e => (
            <tr key={e.name} data-name={e.name}>
              <td className="jp-mlvc-name">{e.name}</td>
              <td>{formatValue(e.before) || '—'}</td>
              <td>{formatValue(e.after) || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
