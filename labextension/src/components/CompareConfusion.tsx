/** Where two classifiers disagree: A's predictions (rows) against B's (columns). */
import * as React from 'react';

import { IConfusion } from '../diffTypes';
import { formatValue } from '../format';

export function CompareConfusion({
  confusion
}: {
  confusion: IConfusion;
}): React.ReactElement {
  const labels = confusion.labels.map(label => formatValue(label));
  return (
    <table
      className="jp-mlvc-table jp-mlvc-confusion"
      aria-label="Predictions before (rows) against after (columns)"
    >
      <thead>
        <tr>
          <th className="jp-mlvc-dim">before ↓ after →</th>
          {labels.map((label, j) => (
            <th key={j} scope="col">
              {label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {confusion.matrix.map((row, i) => (
          <tr key={i} data-label={labels[i]}>
            <th scope="row">{labels[i]}</th>
            {row.map((count, j) => (
              <td
                key={j}
                className={
                  i === j
                    ? 'jp-mlvc-agree'
                    : count
                      ? 'jp-mlvc-disagree'
                      : 'jp-mlvc-dim'
                }
              >
                {count}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
