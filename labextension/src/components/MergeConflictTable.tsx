/** The variables changed differently on both sides of a merge, each with a side to choose. */
import * as React from 'react';

import { IMergeConflict, MergeSide } from '../protocol';
import { ConflictValue } from './ConflictValue';

export function MergeConflictTable(props: {
  conflicts: IMergeConflict[];
  choices: (MergeSide | null)[];
  onChoose: (row: number, side: MergeSide) => void;
}): React.ReactElement {
  const { conflicts, choices, onChoose } = props;
  return (
    <table className="jp-mlvc-table jp-mlvc-merge-conflicts">
      <thead>
        <tr>
          <th>variable</th>
          <th>base</th>
          <th>ours</th>
          <th>theirs</th>
          <th>keep</th>
        </tr>
      </thead>
      <tbody>
        {conflicts.map((conflict, row) => {
          const names = conflict.names.join(', ');
          const group = `jp-mlvc-merge-${row}`;
          return (
            <tr
              key={conflict.names.join(' ')}
              data-names={conflict.names.join(' ')}
              className={choices[row] ? '' : 'jp-mlvc-unresolved'}
            >
              <td className="jp-mlvc-name">{names}</td>
              <ConflictValue text={conflict.base} />
              <ConflictValue
                text={conflict.ours}
                change={conflict.ours_change}
              />
              <ConflictValue
                text={conflict.theirs}
                change={conflict.theirs_change}
              />
              <td className="jp-mlvc-merge-choice">
                {(['ours', 'theirs'] as MergeSide[]).map(side => (
                  <label key={side}>
                    <input
                      type="radio"
                      name={group}
                      value={side}
                      checked={choices[row] === side}
                      aria-label={`Keep ${side} for ${names}`}
                      onChange={() => onChoose(row, side)}
                    />
                    {side}
                  </label>
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
