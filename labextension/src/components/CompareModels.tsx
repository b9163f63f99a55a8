/**
 * The models of both sides run on the same data from the kernel: the picker of
 * the data, then a card per model (or why none was run).
 */
import * as React from 'react';

import { IModelsOnData } from '../diffTypes';
import { IKernelVariable } from '../protocol';
import { Section } from './CompareSection';
import { CompareDataPicker } from './CompareDataPicker';
import { CompareModelCard } from './CompareModelCard';

/** The state of running the models on data, and how to ask for it. */
export interface IModelsControl {
  /** A kernel is there to run them in. */
  kernel: boolean;
  /** The kernel's variables, once listed. */
  variables: IKernelVariable[] | null;
  chosen: { x: string; y: string | null } | null;
  busy: boolean;
  error: string | null;
  list: () => void;
  run: (x: string, y: string | null) => void;
}

export function CompareModels(props: {
  models: IModelsOnData | null | undefined;
  control: IModelsControl;
}): React.ReactElement | null {
  const { models, control } = props;
  if (!control.kernel && !models) {
    return null;
  }
  const title = models
    ? `Models on ${models.x}` + (models.y ? `, scored on ${models.y}` : '')
    : 'Models on data';
  return (
    <Section title={title}>
      <div className="jp-mlvc-compare-models">
        {control.kernel && (
          <CompareDataPicker
            variables={control.variables}
            chosen={control.chosen}
            busy={control.busy}
            onList={control.list}
            onRun={control.run}
          />
        )}
        {control.busy && (
          <div className="jp-mlvc-dim" role="status">
            Working in the kernel…
          </div>
        )}
        {control.error && (
          <div className="jp-mlvc-error" role="alert">
            {control.error}
          </div>
        )}
        {models?.note && (
          <div className="jp-mlvc-notice jp-mlvc-models-note" role="note">
            {models.note}
          </div>
        )}
        {models && !models.note && !models.models.length && (
          <div className="jp-mlvc-dim">
            No model variable is on both sides to run on {models.x}.
          </div>
        )}
        {models?.models.map(m => (
          <CompareModelCard key={m.name} model={m} />
        ))}
      </div>
    </Section>
  );
}
