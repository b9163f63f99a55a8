/**
 * Snapshots side by side in one table, one column each: their metrics (the best
 * of a row marked), then the variables that differ, each followed by the model
 * hyperparameters that differ (`model.C`).
 */
import * as React from 'react';

import {
  IComparedMetric,
  IComparedValue,
  IComparedVariable,
  IComparison
} from '../comparisonTypes';
import { formatMetric, formatValue } from '../format';
import { CompareManyColumn } from './CompareManyColumn';

/** Where a snapshot has no such metric or variable. */
const ABSENT = '—';

function isRecord(x: unknown): x is { [key: string]: unknown } {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * A variable in one line; a model is named by its card, as `%mlvc compare` does
 * (present/render.py `model_line`): its hyperparameters have rows of their own.
 */
function valueText(value: IComparedValue): string {
  const card = value.summary['model'];
  if (!isRecord(card)) {
    return value.text;
  }
  const parts = [typeof card['class'] === 'string' ? card['class'] : 'model'];
  if (typeof card['fitted'] === 'boolean') {
    parts.push(card['fitted'] ? 'fitted' : 'not fitted');
  }
  const features = card['n_features_in'];
  if (typeof features === 'number') {
    parts.push(`${features} feature${features === 1 ? '' : 's'}`);
  }
  const weights = card['n_parameters'];
  if (typeof weights === 'number') {
    parts.push(`${weights.toLocaleString('en-US')} parameters`);
  }
  return parts.join(', ');
}

/** A hyperparameter as Python writes it (JSON cannot tell 1.0 from 1). */
function paramText(value: unknown): string {
  if (value === null) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'string') {
    return `'${value}'`;
  }
  return formatValue(value);
}

function heading(title: string, span: number): React.ReactElement {
  return (
    <tr className="jp-mlvc-compare-many-heading">
      <th colSpan={span} scope="colgroup">
        <span>{title}</span>
      </th>
    </tr>
  );
}

function metricRow(metric: IComparedMetric): React.ReactElement {
  return (
    <tr key={metric.name} data-metric={metric.name}>
      <th scope="row" className="jp-mlvc-name">
        {metric.name}
      </th>
      {metric.values.map((v, i) => (
        <td
          key={i}
          data-column={i}
          className={`jp-mlvc-num${i === metric.best ? ' jp-mlvc-best' : ''}`}
          title={i === metric.best ? 'the highest' : undefined}
        >
          {v === null ? ABSENT : formatMetric(v)}
        </td>
      ))}
    </tr>
  );
}

function variableRows(variable: IComparedVariable): React.ReactElement[] {
  const { name, values } = variable;
  const rows = [
    <tr key={name} data-name={name} className="jp-mlvc-compare-many-variable">
      <th scope="row" className="jp-mlvc-name">
        {name}
      </th>
      {values.map((v, i) => (
        <td
          key={i}
          data-column={i}
          className={v ? 'jp-mlvc-summary' : 'jp-mlvc-absent'}
          title={
            v
              ? `${v.type}: ${formatValue(v.summary['repr']) || v.text}`
              : 'not in this snapshot'
          }
        >
          {v ? valueText(v) : ABSENT}
        </td>
      ))}
    </tr>
  ];
  for (const param of variable.params) {
    const key = `${name}.${param.name}`;
    rows.push(
      <tr key={key} data-name={key} className="jp-mlvc-param">
        <th scope="row" className="jp-mlvc-name">
          <span className="jp-mlvc-dim">{name}.</span>
          {param.name}
        </th>
        {param.values.map((v, i) => (
          <td key={i} data-column={i} className="jp-mlvc-summary">
            {values[i] ? paramText(v) : ABSENT}
          </td>
        ))}
      </tr>
    );
  }
  return rows;
}

export function CompareManyTable(props: {
  comparison: IComparison;
  onSelect: (id: string) => void;
}): React.ReactElement {
  const { snapshots, metrics, variables } = props.comparison;
  const span = snapshots.length + 1;
  return (
    <div className="jp-mlvc-compare-many-scroll">
      <table className="jp-mlvc-table jp-mlvc-compare-many-table">
        <thead>
          <tr>
            <th />
            {snapshots.map((snap, i) => (
              <CompareManyColumn
                key={snap.id}
                snap={snap}
                index={i}
                onSelect={props.onSelect}
              />
            ))}
          </tr>
        </thead>
        <tbody className="jp-mlvc-compare-many-metrics">
          {metrics.length > 0 && heading('Metrics', span)}
          {metrics.map(metricRow)}
        </tbody>
        <tbody className="jp-mlvc-compare-many-variables">
          {heading('Variables that differ', span)}
          {variables.flatMap(variableRows)}
          {!variables.length && (
            <tr>
              <td colSpan={span} className="jp-mlvc-dim">
                (no variable differs)
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
