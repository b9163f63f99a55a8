/** The two sides of a comparison, before and after. */
import * as React from 'react';

import { IDiffSide } from '../diffTypes';
import { Side } from './CompareSide';

export function Sides(props: {
  a: IDiffSide;
  b: IDiffSide;
  loading: boolean;
}): React.ReactElement {
  return (
    <div className="jp-mlvc-sides">
      <Side side={props.a} label="before" />
      <Side side={props.b} label="after" />
      {props.loading && <span className="jp-mlvc-dim">Comparing…</span>}
    </div>
  );
}
