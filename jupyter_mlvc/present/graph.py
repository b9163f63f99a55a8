"""The history as a text graph (``%mlvc log --graph``, ``mlvc log --graph``).

One column ("lane") per line of history, newest first, as ``git log --graph`` draws
it: ``*`` is a snapshot, ``|`` a lane passing by, ``\\`` a merge's second parent
opening a lane, ``/`` a lane joining another where a branch forked::

    *   3f2a9c1b (main, HEAD) Merge feature (8ef2b3b8) into main
    |\\
    | * 8ef2b3b8 (feature) try a new feature
    * | 89fc3c75 more trees
    |/
    * 83ec4ab6 baseline

Snapshots left out of the listing (automatic ones, when folded) are passed through:
an edge goes to the nearest listed snapshot before them.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    """One listed snapshot: its id, its parents (first first) and the words after it."""

    id: str
    parents: tuple[str, ...]
    label: str


def shown_parents(
    nodes: Sequence[Node], all_parents: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Each node's parents among the listed nodes: a parent not listed is replaced by
    the nearest listed snapshot before it (along its first parents)."""
    listed = {n.id for n in nodes}
    nearest: dict[str, str | None] = {}

    def first_listed(sid: str) -> str | None:
        walked: list[str] = []
        cur: str | None = sid
        while cur is not None and cur not in listed and cur not in nearest:
            walked.append(cur)
            parents = all_parents.get(cur, ())
            cur = parents[0] if parents else None
        found = cur if cur is None or cur in listed else nearest[cur]
        for w in walked:
            nearest[w] = found
        return found

    out: dict[str, tuple[str, ...]] = {}
    for node in nodes:
        found = [first_listed(p) for p in node.parents]
        out[node.id] = tuple(dict.fromkeys(p for p in found if p is not None))
    return out


def topological(nodes: Sequence[Node], parents: Mapping[str, Sequence[str]]) -> list[Node]:
    """``nodes`` (given newest first) reordered so that every child comes before its
    parents, keeping the given order otherwise."""
    position = {n.id: i for i, n in enumerate(nodes)}
    children: dict[str, int] = {n.id: 0 for n in nodes}
    for n in nodes:
        for p in parents.get(n.id, ()):
            children[p] += 1
    ready = [position[n.id] for n in nodes if children[n.id] == 0]
    heapq.heapify(ready)
    out: list[Node] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        out.append(node)
        for p in parents.get(node.id, ()):
            children[p] -= 1
            if children[p] == 0:
                heapq.heappush(ready, position[p])
    return out


def draw(
    nodes: Sequence[Node], all_parents: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """The graph's lines for ``nodes``, given newest first."""
    parents = shown_parents(nodes, all_parents or {n.id: n.parents for n in nodes})
    lanes: list[str | None] = []
    lines: list[str] = []

    def row(marks: dict[int, str]) -> str:
        """The lanes as a line: ``marks`` where given, else a lane passing by."""
        return " ".join(marks.get(i, "|" if lane else " ") for i, lane in enumerate(lanes)).rstrip()

    for node in topological(nodes, parents):
        if node.id in lanes:
            col = lanes.index(node.id)
        elif None in lanes:
            col = lanes.index(None)
            lanes[col] = node.id
        else:
            col = len(lanes)
            lanes.append(node.id)
        ps = parents[node.id]
        # Lanes that also waited for this snapshot (branches forked here) join first.
        joined = [i for i, lane in enumerate(lanes) if lane == node.id and i != col]
        if joined:
            lines.append(row(dict.fromkeys(joined, "/")))
            for i in joined:
                lanes[i] = None
        star = row({col: "*"})
        pad = "  " if len(ps) > 1 else ""
        lines.append(f"{star}{pad} {node.label}".rstrip())
        lanes[col] = ps[0] if ps else None
        opened: list[int] = []
        for p in ps[1:]:
            if p in lanes:
                continue
            slot = next((i for i in range(col + 1, len(lanes)) if lanes[i] is None), None)
            if slot is None:
                lanes.append(p)
                slot = len(lanes) - 1
            else:
                lanes[slot] = p
            opened.append(slot)
        if opened:
            lines.append(row(dict.fromkeys(opened, "\\")))
        while lanes and lanes[-1] is None:
            lanes.pop()
    return lines
