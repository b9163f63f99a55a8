/** A snapshot's variables, each with a box to choose it for a partial restore. */
import * as React from 'react';

import { ISnapshotDetail } from '../api';
import { SidebarModel } from '../model';
import { VariableRow } from './VariableRow';

export function VariableTable(props: {
  detail: ISnapshotDetail;
  names: string[];
  model: SidebarModel;
}): React.ReactElement {
  const { detail, names, model } = props;
  const all = names.length > 0 && names.every(n => model.chosen.has(n));
  return (
    <table className="jp-mlvc-table jp-mlvc-variables">
      <thead>
        <tr>
          <th>
            <input
              type="checkbox"
              checked={all}
              aria-label="Choose all variables"
              onChange={() => model.setChosen(all ? [] : names)}
            />
          </th>
          <th>name</th>
          <th>type</th>
          <th>summary</th>
        </tr>
      </thead>
      <tbody>
        {names.map(name => (
          <VariableRow
            key={name}
            variable={detail.variables[name]}
            chosen={model.chosen.has(name)}
            onToggle={() => model.toggleChosen(name)}
          />
        ))}
      </tbody>
    </table>
  );
}
