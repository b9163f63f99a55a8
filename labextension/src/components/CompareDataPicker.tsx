/**
 * Choose the data to run the models of both sides on: X (and, to score them, y)
 * among the kernel's variables that hold data (arrays, tables, tensors, lists).
 */
import * as React from 'react';

import { describeInfo } from '../describe';
import { IKernelVariable } from '../protocol';

/** Whether a variable can be fed to a model: it has samples (a shape or a length). */
export function isData(variable: IKernelVariable): boolean {
  const s = variable.summary;
  if (Array.isArray(s['shape'])) {
    return (s['shape'] as unknown[]).length > 0;
  }
  return typeof s['rows'] === 'number' || typeof s['len'] === 'number';
}

/** The likely pair: an X…test and the y that goes with it. */
function guess(names: string[]): [string, string] {
  const x =
    names.find(n => /^x/i.test(n) && /test/i.test(n)) ??
    names.find(n => /^x/i.test(n)) ??
    names[0] ??
    '';
  const y = x ? names.find(n => n !== x && n === x.replace(/^x/i, 'y')) : '';
  return [x, y ?? ''];
}

export function CompareDataPicker(props: {
  /** The kernel's variables; null until listed. */
  variables: IKernelVariable[] | null;
  /** What the models were last run on. */
  chosen: { x: string; y: string | null } | null;
  busy: boolean;
  onList: () => void;
  onRun: (x: string, y: string | null) => void;
}): React.ReactElement {
  const { variables, chosen, busy } = props;
  const data = React.useMemo(
    () => (variables ?? []).filter(isData),
    [variables]
  );
  const names = data.map(v => v.name);
  const [x, setX] = React.useState('');
  const [y, setY] = React.useState('');
  React.useEffect(() => {
    if (!names.length) {
      return;
    }
    const [gx, gy] = chosen ? [chosen.x, chosen.y ?? ''] : guess(names);
    setX(names.includes(gx) ? gx : names[0]);
    setY(names.includes(gy) ? gy : '');
  }, [data]);

  if (variables === null) {
    return (
      <div className="jp-mlvc-data-picker">
        <button
          className="jp-mlvc-button"
          disabled={busy}
          onClick={props.onList}
          title="Run the models of both sides on data from the kernel: how many predictions differ, and their scores"
        >
          Run models on data…
        </button>
      </div>
    );
  }
  if (!data.length) {
    return (
      <div className="jp-mlvc-data-picker jp-mlvc-dim">
        The kernel holds no array, table or list to run the models on.
      </div>
    );
  }
  const option = (v: IKernelVariable) => (
    <option key={v.name} value={v.name}>
      {v.name} — {describeInfo({ ...v, nbytes: 0 })}
    </option>
  );
  return (
    <form
      className="jp-mlvc-data-picker"
      onSubmit={event => {
        event.preventDefault();
        if (x) {
          props.onRun(x, y || null);
        }
      }}
    >
      <label>
        X{' '}
        <select
          aria-label="X: the data to predict from"
          value={x}
          onChange={e => setX(e.currentTarget.value)}
        >
          {data.map(option)}
        </select>
      </label>
      <label>
        y{' '}
        <select
          aria-label="y: the true values, to score the models (optional)"
          value={y}
          onChange={e => setY(e.currentTarget.value)}
        >
          <option value="">(none: do not score)</option>
          {data.filter(v => v.name !== x).map(option)}
        </select>
      </label>
      <button
        type="submit"
        className="jp-mlvc-button jp-mod-accept"
        disabled={busy || !x}
      >
        Run models
      </button>
    </form>
  );
}
