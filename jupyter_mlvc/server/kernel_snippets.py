"""What the sidebar runs inside a notebook's kernel, where the variables are.

Comparing a snapshot with the current state needs the kernel's namespace, which
only the kernel holds. The sidebar runs one silent line in the kernel::

    __import__("jupyter_mlvc.server.kernel_snippets", fromlist=["_"]).publish_current_diff(
        get_ipython(), "3f2a9c1b")

and reads the answer, a display of :data:`MIME`, from the kernel's iopub
stream. :func:`namespace_diff` does the work and is a plain function of a
notebook path, a ref and a namespace. Nothing here imports jupyter_server.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BadInput, MlvcError
from .queries import _owned, _require, finite

#: The mime type of the display that carries the answer to the sidebar.
MIME = "application/vnd.jupyter-mlvc.diff+json"


def namespace_diff(
    notebook: str | os.PathLike,
    ref: str,
    namespace: Mapping[str, Any],
    *,
    exclude: Iterable[str] = (),
) -> dict[str, Any]:
    """``repo.diff(ref, namespace).to_dict()`` for the store above ``notebook``, as JSON data.

    ``ref`` must name a snapshot of ``notebook``. Names matching ``exclude`` are
    left out on both sides (the core leaves them out of the namespace only, so a
    name committed before it was excluded would otherwise show as removed). The
    notebook part is left to the caller (``notebook`` is ``None``): the sidebar
    compares the editor's content on the server.

    >>> namespace_diff("project/analysis.ipynb", "HEAD", {"x": 2})  # doctest: +SKIP
    {'a': {'id': ..., 'short_id': ...}, 'b': {'current': True}, 'variables': {...}, ...}
    """
    path = Path(notebook).expanduser().resolve()
    patterns = list(exclude)
    with _require(path) as repo:
        snap = _owned(repo, repo.show(ref, path))
        data = repo.diff(snap.id, dict(namespace), notebook_path=path, exclude=patterns).to_dict()

    def kept(name: str) -> bool:
        return not any(fnmatch.fnmatchcase(name, p) for p in patterns)

    data["variables"] = {
        kind: [e for e in entries if kept(e if isinstance(e, str) else e["name"])]
        for kind, entries in data["variables"].items()
    }
    data["notebook"] = None
    return finite(data)


def publish_current_diff(shell: Any, ref: str) -> None:
    """Compare ``ref`` with ``shell``'s namespace and display the result as :data:`MIME`.

    The notebook, the store and the excluded names are those the ``%mlvc`` magic
    uses, so the comparison matches what ``%mlvc status`` and a commit would see.
    An error is displayed the same way, as ``{"error", "message", "status"}``.
    """
    from IPython.display import publish_display_data

    try:
        shell.extension_manager.load_extension("jupyter_mlvc")
        magics = shell.magics_manager.registry.get("MlvcMagics")
        notebook = magics.notebook_path() if magics is not None else None
        if notebook is None:
            raise BadInput(
                "this kernel does not know its notebook: set %config MLVC.notebook = 'path.ipynb'"
            )
        exclude = magics.exclude() if hasattr(magics, "exclude") else []
        data = namespace_diff(notebook, ref, shell.user_ns, exclude=exclude)
    except MlvcError as exc:
        data = {"error": type(exc).__name__, "message": str(exc), "status": exc.status}
    publish_display_data({MIME: data})
