/** The graph's drawing for one row: lines crossing it, edges to the parents, the node. */
import * as React from 'react';

import { IGraphRow } from '../graph';

/** The width of a lane and the height of a row, in pixels. */
export const LANE_WIDTH = 14;
export const ROW_HEIGHT = 44;

const MIDDLE = ROW_HEIGHT / 2;

function x(lane: number): number {
  return LANE_WIDTH / 2 + lane * LANE_WIDTH;
}

/** A line from (x1, y1) down to (x2, y2): straight in one lane, a smooth bend between two. */
function path(x1: number, y1: number, x2: number, y2: number): string {
  if (x1 === x2) {
    return `M${x1} ${y1}V${y2}`;
  }
  const bend = (y2 - y1) / 2;
  return `M${x1} ${y1}C${x1} ${y1 + bend} ${x2} ${y2 - bend} ${x2} ${y2}`;
}

export function GraphLanes(props: {
  row: IGraphRow;
  lanes: number;
  head: boolean;
}): React.ReactElement {
  const { row, lanes, head } = props;
  const id = row.node.id;
  const merge = row.parents.length > 1;
  const cx = x(row.lane);
  return (
    <svg
      className="jp-mlvc-graph-lanes"
      width={lanes * LANE_WIDTH}
      height={ROW_HEIGHT}
      aria-hidden="true"
    >
      {row.through.map(line => (
        <path
          key={`t${line.lane}`}
          className={`jp-mlvc-graph-line jp-mlvc-graph-c${line.color}`}
          d={path(x(line.lane), 0, x(line.lane), ROW_HEIGHT)}
        />
      ))}
      {row.incoming.map(line => (
        <path
          key={`i${line.lane}`}
          className={`jp-mlvc-graph-line jp-mlvc-graph-c${line.color}`}
          d={path(x(line.lane), 0, cx, MIDDLE)}
        />
      ))}
      {row.edges.map(edge => (
        <path
          key={`e${edge.to}`}
          className={`jp-mlvc-graph-line jp-mlvc-graph-edge jp-mlvc-graph-c${edge.color}`}
          data-from={id}
          data-to={edge.to}
          d={path(cx, MIDDLE, x(edge.lane), ROW_HEIGHT)}
        />
      ))}
      {row.dangling && (
        <path
          className={`jp-mlvc-graph-line jp-mlvc-graph-dangling jp-mlvc-graph-c${row.color}`}
          d={path(cx, MIDDLE, cx, ROW_HEIGHT)}
        />
      )}
      {head && (
        <circle className="jp-mlvc-graph-head" cx={cx} cy={MIDDLE} r={7.5} />
      )}
      <circle
        className={`jp-mlvc-graph-node jp-mlvc-graph-c${row.color}${merge ? ' jp-mlvc-graph-merge' : ''}${row.node.auto ? ' jp-mlvc-graph-auto' : ''}`}
        cx={cx}
        cy={MIDDLE}
        r={merge ? 5 : 4}
      />
    </svg>
  );
}
