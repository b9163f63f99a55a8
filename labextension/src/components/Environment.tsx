/** A snapshot's environment (Python, packages), folded. */
import * as React from 'react';

import { formatValue } from '../format';

export function Environment({
  environment
}: {
  environment: { [key: string]: unknown };
}): React.ReactElement | null {
  const keys = Object.keys(environment).sort();
  if (!keys.length) {
    return null;
  }
  return (
    <details className="jp-mlvc-section jp-mlvc-environment">
      <summary>Environment</summary>
      <table className="jp-mlvc-table">
        <tbody>
          {keys.flatMap(key => {
            const value = environment[key];
            if (value && typeof value === 'object' && !Array.isArray(value)) {
              return Object.entries(value as { [k: string]: unknown })
                .sort()
                .map(([sub, v]) => (
                  <tr key={`${key}.${sub}`}>
                    <td className="jp-mlvc-name">{`${key}.${sub}`}</td>
                    <td>{formatValue(v)}</td>
                  </tr>
                ));
            }
            return [
              <tr key={key}>
                <td className="jp-mlvc-name">{key}</td>
                <td>{formatValue(value)}</td>
              </tr>
            ];
          })}
        </tbody>
      </table>
    </details>
  );
}
