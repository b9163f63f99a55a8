/** One model variable of both sides run on the same data: how often and how they disagree. */
import * as React from 'react';

import { formatPercent } from '../describe';
import { IModelOnData } from '../diffTypes';
import { formatMetric } from '../format';
import { CompareConfusion } from './CompareConfusion';
import { CompareSpread } from './CompareSpread';

function score(model: IModelOnData): string | null {
  if (!model.metric) {
    return null;
  }
  const show = (v: number | null): string =>
    v === null ? '—' : formatMetric(v);
  const { score_before: before, score_after: after } = model;
  const delta =
    before !== null && after !== null
      ? ` (${after - before > 0 ? '+' : ''}${formatMetric(after - before)})`
      : '';
  return `${model.metric} ${show(before)} → ${show(after)}${delta}`;
}

export function CompareModelCard({
  model
}: {
  model: IModelOnData;
}): React.ReactElement {
  const kind = [model.library, model.task].filter(Boolean).join(', ');
  const scored = score(model);
  return (
    <div className="jp-mlvc-model-on-data" data-name={model.name}>
      <div className="jp-mlvc-model-heading">
        <b className="jp-mlvc-name">{model.name}</b>
        {kind && <span className="jp-mlvc-dim">{kind}</span>}
      </div>
      {model.error ? (
        <div className="jp-mlvc-model-error" role="note">
          Not run: {model.error}
        </div>
      ) : (
        <>
          {model.n_differ !== null && (
            <div
              className="jp-mlvc-model-differ"
              data-differ={model.n_differ}
              data-samples={model.n_samples}
            >
              <b>{model.n_differ}</b> of {model.n_samples} predictions differ
              {model.n_samples > 0 &&
                ` (${formatPercent(model.n_differ / model.n_samples)})`}
            </div>
          )}
          {scored && <div className="jp-mlvc-model-score">{scored}</div>}
          {model.confusion && <CompareConfusion confusion={model.confusion} />}
          {model.difference && <CompareSpread spread={model.difference} />}
        </>
      )}
    </div>
  );
}
