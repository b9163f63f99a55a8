/** How many cells changed; nbdime draws the cells below it. */
import * as React from 'react';

import { ICellEntry, IDiff } from '../diffTypes';
import { Section } from './CompareSection';

function countCells(cells: ICellEntry[], kind: ICellEntry['kind']): number {
  return cells.filter(c => c.kind === kind).length;
}

export function NotebookHeading(props: {
  diff: IDiff;
  hideUnchanged: boolean;
}): React.ReactElement {
  const nb = props.diff.notebook;
  let text: string;
  if (!nb || !nb.available || !props.diff.nbdime) {
    text = 'Not available: one of the two holds no notebook.';
  } else {
    const cells = nb.cells;
    const parts = [
      ['modified', countCells(cells, 'modified')],
      ['added', countCells(cells, 'added')],
      ['removed', countCells(cells, 'removed')],
      ['moved', countCells(cells, 'moved')]
    ]
      .filter(([, n]) => n)
      .map(([kind, n]) => `${n} ${kind}`);
    text =
      (parts.length ? `Cells: ${parts.join(', ')}` : 'No cell changed') +
      `; ${nb.unchanged} unchanged` +
      (props.hideUnchanged && nb.unchanged ? ' (hidden)' : '') +
      '.';
  }
  return (
    <Section title="Notebook">
      <div className="jp-mlvc-dim">{text}</div>
    </Section>
  );
}
