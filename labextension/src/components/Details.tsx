/** The selected snapshot in full: facts, actions, variables, skipped names, metrics. */
import * as React from 'react';

import { formatMetric } from '../format';
import { DetailsActions } from './DetailsActions';
import { DetailsFacts } from './DetailsFacts';
import { Environment } from './Environment';
import { IProps } from './props';
import { Section } from './Section';
import { VariableTable } from './VariableTable';

export function Details({ model, actions }: IProps): React.ReactElement {
  const detail = model.detail;
  if (model.detailError) {
    return (
      <div className="jp-mlvc-details jp-mlvc-error">{model.detailError}</div>
    );
  }
  if (!detail) {
    return <div className="jp-mlvc-details jp-mlvc-empty">Loading…</div>;
  }
  const names = Object.keys(detail.variables).sort();
  return (
    <div className="jp-mlvc-details" aria-label="Snapshot details">
      <div className="jp-mlvc-details-title">
        {detail.message || '(no message)'}
      </div>
      <DetailsFacts detail={detail} />
      {!detail.trusted && (
        <div className="jp-mlvc-error">
          This snapshot was not made with your key. Run %mlvc trust{' '}
          {detail.short_id} in the notebook before restoring its variables.
        </div>
      )}
      <DetailsActions model={model} actions={actions} detail={detail} />
      <Section title={`Variables (${names.length})`}>
        {names.length === 0 ? (
          <div className="jp-mlvc-dim">No variables.</div>
        ) : (
          <VariableTable detail={detail} names={names} model={model} />
        )}
      </Section>
      {Object.keys(detail.skipped).length > 0 && (
        <Section title={`Skipped (${Object.keys(detail.skipped).length})`}>
          <table className="jp-mlvc-table">
            <tbody>
              {Object.entries(detail.skipped)
                .sort()
                .map(([name, reason]) => (
                  <tr key={name}>
                    <td className="jp-mlvc-name">{name}</td>
                    <td>{reason}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </Section>
      )}
      {Object.keys(detail.metrics).length > 0 && (
        <Section title="Metrics">
          <table className="jp-mlvc-table">
            <tbody>
              {Object.keys(detail.metrics)
                .sort()
                .map(name => (
                  <tr key={name}>
                    <td className="jp-mlvc-name">{name}</td>
                    <td>{formatMetric(detail.metrics[name])}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </Section>
      )}
      <Environment environment={detail.environment} />
    </div>
  );
}
