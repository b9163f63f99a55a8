/**
 * The React part of the compare tab: sides, metrics, variables, models on data,
 * environment, images, notebook.
 */
import * as React from 'react';

import { IDiff } from '../diffTypes';
import { EnvironmentTable } from './CompareEnvironment';
import { CompareImages } from './CompareImages';
import { MetricsTable } from './CompareMetrics';
import { CompareModels, IModelsControl } from './CompareModels';
import { NotebookHeading } from './CompareNotebookHeading';
import { Sides } from './CompareSides';
import { VariablesTable } from './CompareVariables';
import { MergeOrigin } from './MergeOrigin';

export function CompareBody(props: {
  diff: IDiff | null;
  error: string | null;
  loading: boolean;
  hideUnchanged: boolean;
  models: IModelsControl;
}): React.ReactElement {
  const { diff, error, loading, hideUnchanged } = props;
  if (error) {
    return (
      <div className="jp-mlvc-error" role="alert">
        Could not compare: {error}
      </div>
    );
  }
  if (!diff) {
    return <div className="jp-mlvc-empty">{loading ? 'Comparing…' : ''}</div>;
  }
  return (
    <div className="jp-mlvc-compare-body">
      <Sides a={diff.a} b={diff.b} loading={loading} />
      {diff.empty && <div className="jp-mlvc-dim">No differences.</div>}
      {diff.merge && <MergeOrigin merge={diff.merge} />}
      <MetricsTable metrics={diff.metrics} />
      <VariablesTable variables={diff.variables} />
      <CompareModels models={diff.models} control={props.models} />
      <EnvironmentTable environment={diff.environment} />
      <CompareImages notebook={diff.notebook} />
      <NotebookHeading diff={diff} hideUnchanged={hideUnchanged} />
    </div>
  );
}
