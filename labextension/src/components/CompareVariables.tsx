/** The variables that differ, and how each changed. */
import * as React from 'react';

import { describeChange, describeInfo } from '../describe';
import { IVariablesDiff, IVariableChange } from '../diffTypes';
import { formatBytes } from '../format';
import { Section } from './CompareSection';
import { ImageDiff } from './ImageDiff';

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
              <React.Fragment key={v.name}>
                <tr data-name={v.name} className={`jp-mlvc-${kind}`}>
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
                {v.change?.kind === 'figure' && (
                  <tr className="jp-mlvc-figure-row" data-figure={v.name}>
                    <td></td>
                    <td colSpan={4}>
                      <ImageDiff
                        image={v.change.image}
                        before={v.change.before}
                        after={v.change.after}
                        label={`figure ${v.name}`}
                      />
                    </td>
                  </tr>
                )}
              </React.Fragment>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
