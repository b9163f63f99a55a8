"""Text and HTML of a merge, a bisect and the history graph, for ``%mlvc`` and ``mlvc``.

Names, messages and summaries come from snapshots: the HTML escapes all of them.
"""

from __future__ import annotations

from typing import Any

from .format import one_line
from .graph import Node, draw
from .render import DiffView, View, esc, html_table, text_table


def _names(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


class MergeView(View):
    """A merge's result (or its preview): what came from where, and the conflicts."""

    def __init__(self, result: Any):
        self.result = result

    def lines(self) -> list[str]:
        r = self.result
        lines = [r.summary_line()]
        if r.saved is not None:
            lines.append(
                f"Saved the previous state first as {r.saved.short_id} ({r.saved.message})."
            )
        if r.from_theirs:
            lines.append("from theirs: " + _names(r.from_theirs))
        if r.removed:
            lines.append("removed (theirs removed them): " + _names(r.removed))
        if r.kept_ours:
            lines.append("kept ours (changed here only): " + _names(r.kept_ours))
        if r.imports:
            lines.append("imports from theirs: " + _names(r.imports))
        if r.notebook_conflicts:
            lines.append(
                f"The merged notebook marks {r.notebook_conflicts} conflicts in its cells "
                "(<<<<<<< local / >>>>>>> remote). It is stored with the merge snapshot: "
                "the sidebar's Restore notebook loads it into the editor."
            )
        return lines

    def conflict_rows(self) -> list[list[str]]:
        return [
            [
                ", ".join(c.names),
                c.base or "(absent)",
                f"{c.ours_change}: {c.ours}" if c.ours else c.ours_change,
                f"{c.theirs_change}: {c.theirs}" if c.theirs else c.theirs_change,
                c.resolution or "unresolved",
            ]
            for c in self.result.conflicts
        ]

    HEADERS = ("variable", "base", "ours", "theirs", "taken")

    def text(self) -> str:
        out = "\n".join(self.lines())
        rows = [[one_line(x, 48) for x in row] for row in self.conflict_rows()]
        if rows:
            out += "\nconflicts:\n" + text_table(self.HEADERS, rows)
        return out

    def html(self) -> str:
        lines = self.lines()
        out = f"<p><b>{esc(lines[0])}</b></p>" + "".join(f"<div>{esc(x)}</div>" for x in lines[1:])
        if self.result.conflicts:
            out += html_table(self.HEADERS, self.conflict_rows())
        return out


class BisectView(View):
    """A bisect's answer: the first failing snapshot, the ones tested, what changed there."""

    def __init__(self, result: Any):
        self.result = result

    def rows(self) -> list[list[str]]:
        return [
            [v.id[:8], "passes" if v.passed else "fails", one_line(v.value, 60)]
            for v in self.result.visited
        ]

    def text(self) -> str:
        r = self.result
        out = r.summary_line() + "\n" + text_table(("snapshot", "test", "value"), self.rows())
        if r.diff is not None:
            out += f"\n\nWhat changed from {r.last_good[:8]} to {r.first_bad[:8]}:\n"
            out += DiffView(r.diff.to_dict()).text()
        return out

    def html(self) -> str:
        r = self.result
        out = f"<p><b>{esc(r.summary_line())}</b></p>"
        out += html_table(("snapshot", "test", "value"), self.rows())
        if r.diff is not None:
            out += f"<p>What changed from {esc(r.last_good[:8])} to {esc(r.first_bad[:8])}:</p>"
            out += DiffView(r.diff.to_dict()).html()
        return out


class GraphView(View):
    """The history as a graph (see ``graph``): ``snapshots`` newest first."""

    def __init__(
        self,
        snapshots: list[Any],
        all_parents: dict[str, list[str]],
        head: str | None,
        branches: dict[str, str],
    ):
        self.snapshots = snapshots
        self.all_parents = all_parents
        self.head = head
        self.tips: dict[str, list[str]] = {}
        for name, sid in sorted(branches.items()):
            self.tips.setdefault(sid, []).append(name)

    def lines(self) -> list[str]:
        nodes = []
        for s in self.snapshots:
            refs = self.tips.get(s.id, []) + list(s.tags)
            if s.id == self.head:
                refs.insert(0, "HEAD")
            label = s.short_id + (f" ({', '.join(refs)})" if refs else "")
            label += " " + one_line(s.message or "", 60)
            if getattr(s, "auto", False):
                label += " [auto]"
            nodes.append(Node(s.id, tuple(s.parents), label))
        return draw(nodes, self.all_parents) or ["(no snapshots yet)"]

    def text(self) -> str:
        return "\n".join(self.lines())

    def html(self) -> str:
        return "<pre class='mlvc-graph'>" + esc(self.text()) + "</pre>"


def graph_view(repo: Any, notebook_path: Any, limit: int | None, include_auto: bool) -> GraphView:
    """The graph of the newest ``limit`` snapshots of a notebook in ``repo`` (a ``Repo``;
    ``notebook_path`` as its methods take it: None for its own notebook)."""
    snapshots, _ = repo.list(notebook_path, limit=limit, include_auto=include_auto)
    head = repo.head_id(notebook_path)
    return GraphView(snapshots, repo.parent_map(), head, repo.branches(notebook_path))
