/** One variable of a snapshot: its name, type and summary. */
import * as React from 'react';

import { IVariable } from '../api';
import { formatBytes, formatValue } from '../format';

export function VariableRow(props: {
  variable: IVariable;
  chosen: boolean;
  onToggle: () => void;
}): React.ReactElement {
  const { variable, chosen, onToggle } = props;
  const repr = formatValue(variable.summary['repr']);
  return (
    <tr
      className={variable.changed ? 'jp-mlvc-changed' : ''}
      data-name={variable.name}
    >
      <td>
        <input
          type="checkbox"
          checked={chosen}
          onChange={onToggle}
          aria-label={`Choose ${variable.name}`}
        />
      </td>
      <td
        className="jp-mlvc-name"
        title={
          variable.changed
            ? 'changed since the parent snapshot'
            : 'same as in the parent snapshot'
        }
      >
        {variable.changed && <span className="jp-mlvc-changed-mark">●</span>}
        {variable.name}
      </td>
      <td className="jp-mlvc-type">{variable.type}</td>
      <td className="jp-mlvc-summary">
        <div>
          {variable.text}{' '}
          <span className="jp-mlvc-dim">{formatBytes(variable.nbytes)}</span>
        </div>
        {repr && repr !== variable.text && (
          <div className="jp-mlvc-repr" title={repr}>
            {repr}
          </div>
        )}
      </td>
    </tr>
  );
}
