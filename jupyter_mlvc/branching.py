"""``Repo``'s methods for bringing histories together and searching them: the merge
base of two snapshots, a three-way merge of a branch into the kernel's state, and a
bisect for the first snapshot where a result went wrong. Part of ``Repo``'s public API
(``Repo`` inherits them); the work is done in ``ops.merge`` and ``ops.bisect``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from .errors import BadInput
from .store import catalog, refs

if TYPE_CHECKING:
    from .repo import Repo


class Branching:
    """merge_base, merge, bisect, and the parents of every snapshot (the DAG)."""

    def parent_map(self) -> dict[str, list[str]]:
        """``{snapshot: [parent, ...]}`` of every snapshot with parents, first parent first."""
        return refs.parent_map(cast("Repo", self).index.conn)

    def graph(
        self, notebook_path: Any = None, *, limit: int | None = None, include_auto: bool = True
    ) -> list[dict[str, Any]]:
        """The notebook's snapshots as the nodes of a commit graph, newest first: id,
        short_id, parents, message, created_at (ISO), branch, tags, auto. Reads only the
        index, in three queries, so that thousands lay out at once."""
        repo = cast("Repo", self)
        which = catalog.Filter(repo.scope(notebook_path), include_auto=include_auto)
        return catalog.graph_rows(repo.index.conn, which, limit)

    def merge_base(self, a: str, b: str, notebook_path: Any = None) -> str | None:
        """The lowest common ancestor of the snapshots ``a`` and ``b`` name (refs), or
        None when they share no history; the newest one after criss-cross merges."""
        from .ops.merge import merge_base

        repo = cast("Repo", self)
        return merge_base(repo, repo.resolve(a, notebook_path), repo.resolve(b, notebook_path))

    def merge(
        self,
        ref: str,
        namespace: dict[str, Any],
        *,
        strategy: str | None = None,
        resolve: dict[str, str] | None = None,
        message: str | None = None,
        notebook: Any = None,
        notebook_source: str | None = None,
        notebook_path: Any = None,
        exclude: Iterable[str] | None = None,
        preview: bool = False,
    ):
        """Merge snapshot or branch ``ref`` into the notebook's HEAD state held in
        ``namespace``, variable by variable against their merge base.

        A variable changed on one side only takes that side's value; changed on both
        sides differently it is a conflict, which ``resolve={"name": "ours"|"theirs"}``
        or ``strategy="ours"|"theirs"`` decides. With a conflict left, nothing changes
        and ``MergeConflict`` names each one. Otherwise the namespace takes the merged
        state and a snapshot with two parents (HEAD, ``ref``) is committed, holding the
        notebook merged by nbdime (``notebook``: ours, the editor's; default HEAD's).
        ``preview=True`` only says what would happen. Returns a ``MergeResult``.
        """
        from .ops.merge import merge

        repo = cast("Repo", self)
        theirs = repo.resolve(ref, notebook_path)
        nb = repo.notebook_key(notebook_path) if notebook_path is not None else repo.scope(None)
        return merge(
            repo,
            theirs,
            namespace,
            nb=nb,
            strategy=strategy,
            resolve=resolve,
            message=message,
            notebook=notebook,
            notebook_source=notebook_source,
            exclude=list(exclude or ()),
            preview=preview,
            ref=ref,
        )

    def bisect(
        self,
        good: str,
        bad: str,
        test: str | None = None,
        *,
        metric: str | None = None,
        notebook_path: Any = None,
    ):
        """The first snapshot after ``good`` on the first-parent path to ``bad`` where
        the test fails, with as few loads as binary search allows.

        ``metric="acc >= 0.9"`` decides from the index; ``test="model.score(X, y) >= 0.9"``
        evaluates the expression on the variables it names, loaded from each visited
        snapshot into a scratch namespace (no caller's namespace is touched). Returns a
        ``BisectResult``; ``.diff`` compares the first bad snapshot with its parent.
        """
        from .ops import bisect as bisect_op

        repo = cast("Repo", self)
        if (test is None) == (metric is None):
            raise BadInput("bisect needs one test: an expression (test=) or a metric condition")
        good_id = repo.resolve(good, notebook_path)
        bad_id = repo.resolve(bad, notebook_path)
        if metric is not None:
            check, label = bisect_op.metric_test(repo, metric), metric
        else:
            check, label = bisect_op.expression_test(repo, str(test)), str(test)
        result = bisect_op.bisect(repo, good_id, bad_id, check, label)
        result.diff = repo.diff(result.last_good, result.first_bad)
        return result
