/**
 * The commit graph's layout: which lane (column) each snapshot sits in, and the
 * line segments each row draws, computed once per change of the data.
 *
 * Rows are the snapshots newest first, one per row. Walking down the rows, each
 * lane waits for one snapshot: the parent of the row that opened it. A row takes
 * the leftmost lane waiting for it (the other lanes waiting for it end there:
 * a fork point), its first parent goes on in the same lane and each further
 * parent (a merge) joins the lane already waiting for it or opens a free one.
 * Every row is visited once and touches only the lanes, so the layout costs
 * O(rows × lanes) — linear in the history for the few lanes a notebook has.
 *
 * Automatic snapshots can be folded: they get no row, and an edge that went
 * through them goes to their nearest shown ancestors instead. HEAD and branch
 * tips are never folded.
 *
 * This module imports nothing at run time, so node can load it on its own.
 */
import type { IGraphNode } from './api';

/** How many colours the lanes cycle through (style/base.css: .jp-mlvc-graph-c0 ...). */
export const GRAPH_COLORS = 6;

/** A line crossing or ending in a row, in a lane, in a colour. */
export interface ILaneLine {
  lane: number;
  color: number;
}

/** The line from a row's node down to the lane that leads to one of its parents. */
export interface IGraphEdge extends ILaneLine {
  /** The parent's id. */
  to: string;
}

export interface IGraphRow {
  node: IGraphNode;
  lane: number;
  color: number;
  /** The shown parents, first parent first (folded snapshots passed through). */
  parents: string[];
  /** Lanes that cross the row from top to bottom without touching its node. */
  through: ILaneLine[];
  /** Lanes from above that end at the node: its children's edges. */
  incoming: ILaneLine[];
  /** Lines from the node down to its parents' lanes. */
  edges: IGraphEdge[];
  /** Some parent is not in the graph (older than the oldest node loaded). */
  dangling: boolean;
  /** Branches whose tip this is. */
  branches: string[];
  /** How many folded snapshots were passed through to reach the parents. */
  folded: number;
}

export interface IGraphLayout {
  rows: IGraphRow[];
  /** How many lanes the widest row uses. */
  lanes: number;
  /** Row index by snapshot id (shown snapshots only). */
  index: Map<string, number>;
  /** How many automatic snapshots are folded away. */
  hidden: number;
}

export interface IGraphOptions {
  /** Show automatic snapshots (else fold them). */
  showAuto: boolean;
  head: string | null;
  /** Branch name -> tip id. */
  branches: { [name: string]: string };
  /** The snapshot whose first-parent line keeps the leftmost lane (the current branch's tip). */
  main: string | null;
}

/** A stable colour for a branch name. */
export function branchColor(branch: string | null): number {
  let hash = 0;
  for (const char of branch ?? '') {
    hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  }
  return hash % GRAPH_COLORS;
}

/** No lane to draw: the leftmost lane kept free for the current branch until its tip. */
const RESERVED = -1;

export function layoutGraph(
  nodes: IGraphNode[],
  options: IGraphOptions
): IGraphLayout {
  const tips = new Map<string, string[]>();
  for (const [name, id] of Object.entries(options.branches)) {
    tips.set(id, [...(tips.get(id) ?? []), name].sort());
  }
  const isShown = (node: IGraphNode): boolean =>
    options.showAuto ||
    !node.auto ||
    node.id === options.head ||
    tips.has(node.id);

  const position = new Map<string, number>();
  nodes.forEach((node, i) => position.set(node.id, i));

  // Where a folded snapshot's edges lead: its nearest shown ancestors. Parents
  // are older, so walking oldest first finds theirs already worked out.
  const through = new Map<string, { ids: string[]; folded: number }>();
  const shown: IGraphNode[] = [];
  const resolved: { ids: string[]; folded: number; dangling: boolean }[] = [];
  const resolve = (node: IGraphNode) => {
    const ids: string[] = [];
    let folded = 0;
    let dangling = false;
    const self = position.get(node.id) ?? -1;
    for (const parent of node.parents) {
      const at = position.get(parent);
      if (at === undefined || at <= self) {
        // Not loaded, or (clock skew) listed above its child: no edge to draw.
        dangling = true;
        continue;
      }
      const hidden = through.get(parent);
      if (hidden) {
        folded += 1 + hidden.folded;
        ids.push(...hidden.ids);
      } else {
        ids.push(parent);
      }
    }
    return { ids: [...new Set(ids)], folded, dangling };
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const parents = resolve(node);
    if (isShown(node)) {
      shown.push(node);
      resolved.push(parents);
    } else {
      through.set(node.id, { ids: parents.ids, folded: parents.folded });
    }
  }
  shown.reverse();
  resolved.reverse();

  const index = new Map<string, number>();
  shown.forEach((node, i) => index.set(node.id, i));

  // lanes[l]: the id lane l waits for (null: free); colors[l]: its colour.
  const lanes: (string | null)[] = [];
  const colors: number[] = [];
  const waiting = new Map<string, number[]>();
  const wait = (lane: number, id: string, color: number): void => {
    lanes[lane] = id;
    colors[lane] = color;
    waiting.set(id, [...(waiting.get(id) ?? []), lane]);
  };
  const freeLane = (): number => {
    const free = lanes.indexOf(null);
    return free === -1 ? lanes.length : free;
  };
  if (options.main !== null && index.has(options.main)) {
    wait(0, options.main, RESERVED);
  }

  let width = 1;
  const rows: IGraphRow[] = shown.map((node, i) => {
    const { ids, folded, dangling } = resolved[i];
    const color = branchColor(node.branch);
    const mine = (waiting.get(node.id) ?? []).sort((a, b) => a - b);
    waiting.delete(node.id);
    const lane = mine.length ? mine[0] : freeLane();
    const incoming: ILaneLine[] = [];
    const crossing: ILaneLine[] = [];
    lanes.forEach((id, l) => {
      if (id === null || colors[l] === RESERVED) {
        return;
      }
      (mine.includes(l) ? incoming : crossing).push({
        lane: l,
        color: colors[l]
      });
    });
    for (const l of mine) {
      lanes[l] = null;
    }
    const parents = ids.filter(id => index.get(id)! > i);
    const edges: IGraphEdge[] = [];
    parents.forEach((parent, k) => {
      const open = waiting.get(parent);
      if (k > 0 && open?.length) {
        // A merge's other parent already has a lane: join it.
        edges.push({ to: parent, lane: open[0], color: colors[open[0]] });
        return;
      }
      const target = k === 0 ? lane : freeLane();
      wait(
        target,
        parent,
        k === 0 ? color : branchColor(shown[index.get(parent)!].branch)
      );
      edges.push({ to: parent, lane: target, color: colors[target] });
    });
    while (lanes.length && lanes[lanes.length - 1] === null) {
      lanes.pop();
    }
    width = Math.max(width, lane + 1, lanes.length);
    return {
      node,
      lane,
      color,
      parents,
      through: crossing,
      incoming,
      edges,
      dangling,
      branches: tips.get(node.id) ?? [],
      folded
    };
  });
  return { rows, lanes: width, index, hidden: nodes.length - shown.length };
}
