/** The variables that differ, and how each changed. */
import * as React from 'react';

import { describeChange, describeInfo } from '../describe';
import { IVariablesDiff, IVariableChange } from '../diffTypes';
import { formatBytes } from '../format';
import { Section } from './CompareSection';

/** Which list a variable is in, and the variable. */
type Row = ['changed' | 'added' | 'removed', IVariableChange];

export function VariablesTable({
  variables
}: {
  variables: IVariablesDiff;
}): React.ReactElement {
  const rows: Row[] = [
    ...variables.changed.map((v): Row => ['changed', v]),
    ...variables.added.map((v): Row => ['added', v]),
    ...variables.removed.map((v): Row => ['removed', v])
  ];
  const unchanged = variables.unchanged.length;
  return (
    <Section
      title={`Variables (${rows.length} differ, ${unchanged} unchanged)`}
    >
      {rows.length === 0 ? (
        <div className="jp-mlvc-dim">The variables are the same.</div>
      ) : (
        <table className="jp-mlvc-table jp-mlvc-compare-variables">
          <thead>
            <tr>
              <th></th>
              <th>name</th>
              <th>before</th>
              <th>after</th>
              <th>how it changed</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([kind, v]) => (
              <tr key={v.name} data-name={v.name} className={`jp-mlvc-${kind}`}>
                <td>
                  <span className={`jp-mlvc-badge jp-mlvc-kind-${kind}`}>
                    {kind}
                  </span>
                </td>
                <td className="jp-mlvc-name">{v.name}</td>
                <td className="jp-mlvc-summary">
                  {describeInfo(v.before)}
                  {v.before && (
                    <span className="jp-mlvc-dim">
                      {' '}
                      {formatBytes(v.before.nbytes)}
                    </span>
                  )}
                </td>
                <td className="jp-mlvc-summary">
                  {describeInfo(v.after)}
                  {v.after && (
                    <span className="jp-mlvc-dim">
                      {' '}
                      {formatBytes(v.after.nbytes)}
                    </span>
                  )}
                </td>
                <td className="jp-mlvc-change">
                  {describeChange(v.change).map((line, i) => (
                    <div key={i}>{line}</div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
