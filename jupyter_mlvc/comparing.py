"""``Repo``'s methods for comparing snapshots: the diff of two states (what changed and
how, the notebook's cells and images, models run on the same data) and several
snapshots side by side. Part of ``Repo``'s public API (``Repo`` inherits them); the
work is done in ``ops.diff`` and ``ops.compare``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .ops.compare import Comparison
    from .ops.diff import Diff
    from .repo import Repo


class Comparing:
    """diff and compare."""

    def diff(
        self,
        a: str,
        b: str | dict[str, Any] | None = None,
        *,
        notebook_path: Any = None,
        current_notebook: Any = None,
        exclude: Iterable[str] | None = None,
        values: bool = True,
        data: dict[str, Any] | None = None,
        data_names: tuple[str, ...] | None = None,
    ) -> Diff:
        """What changed from snapshot ``a`` to ``b`` (a ref, HEAD by default, or a
        namespace: the current state). Returns a ``Diff``; ``.to_dict()`` is JSON.

        ``values=False`` compares by hashes and summaries only (nothing is unpickled).
        ``data={"X": X, "y": y}`` (named by ``data_names``) runs both sides' models on it.
        """
        from .ops.diff import diff

        return diff(
            cast("Repo", self),
            a,
            b,
            notebook_path=notebook_path,
            current_notebook=current_notebook,
            exclude=exclude,
            values=values,
            data=data,
            data_names=data_names,
        )

    def compare(self, refs: Iterable[str], notebook_path: Any = None) -> Comparison:
        """Two or more snapshots side by side: metrics, then the variables whose content
        differs among them, with the model hyperparameters that differ. Reads no pickle.
        Returns a ``Comparison``; ``.to_dict()`` is JSON."""
        from .ops.compare import compare

        return compare(cast("Repo", self), list(refs), notebook_path)
