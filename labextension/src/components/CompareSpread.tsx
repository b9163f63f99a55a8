/** How a regressor's predictions moved: the distribution of after − before. */
import * as React from 'react';

import { ISpread } from '../diffTypes';
import { formatMetric } from '../format';

const QUANTILES = ['5%', '25%', '50%', '75%', '95%'];

export function CompareSpread({
  spread
}: {
  spread: ISpread;
}): React.ReactElement {
  const show = (v: number | null | undefined): string =>
    typeof v === 'number' ? formatMetric(v) : '—';
  const columns: [string, number | null | undefined][] = [
    ['mean', spread.mean],
    ['std', spread.std],
    ['min', spread.min],
    ...QUANTILES.map((q): [string, number | null | undefined] => [
      q,
      spread.quantiles[q]
    ]),
    ['max', spread.max]
  ];
  return (
    <table
      className="jp-mlvc-table jp-mlvc-spread"
      aria-label="After minus before, over the samples"
    >
      <thead>
        <tr>
          <th></th>
          {columns.map(([name]) => (
            <th key={name} scope="col">
              {name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        <tr>
          <th scope="row" className="jp-mlvc-dim">
            after − before
          </th>
          {columns.map(([name, value]) => (
            <td key={name} data-stat={name}>
              {show(value)}
            </td>
          ))}
        </tr>
      </tbody>
    </table>
  );
}
