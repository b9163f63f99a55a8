"""What each REST route asks of the core, as plain functions returning JSON data.

Each function opens the notebook's store, asks it one thing and closes it again,
all in the calling thread: the handlers run them in a worker thread (SQLite
connections stay in the thread that made them) so the event loop never waits on
a store a kernel is writing to. Nothing here imports tornado or jupyter_server.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import NoStore, UnknownRef
from ..live import write_live_notebook
from ..present.chart import MetricChart, history_chart
from ..repo import Repo
from ..snapshot import Snapshot
from .notebook_body import comparable_notebook

#: Shown when a notebook has no store above it yet.
NO_STORE_HINT = (
    "No snapshots yet. Press Commit, or run %load_ext jupyter_mlvc and "
    '%mlvc commit -m "first" in a cell: the first commit creates a .mlvc store '
    "in the notebook's folder."
)


class NoNotebook(UnknownRef):
    """A snapshot committed without its notebook."""


def _open(notebook: Path) -> Repo | None:
    return Repo.find(notebook.parent, notebook_path=notebook)


def _require(notebook: Path) -> Repo:
    repo = _open(notebook)
    if repo is None:
        raise NoStore(f"no .mlvc store in the folder of {notebook.name} or above it")
    return repo


def _display_path(path: Path, root_dir: Path) -> str:
    """``path`` relative to the server's root when it is inside, else absolute."""
    try:
        return path.relative_to(root_dir).as_posix() or "."
    except ValueError:
        return os.fspath(path)


def _owned(repo: Repo, snap: Snapshot) -> Snapshot:
    """``snap`` if it belongs to the repo's notebook; a ref must not reach other notebooks."""
    if (snap.notebook_path or "") != (repo.notebook_path or ""):
        raise UnknownRef(f"{snap.short_id} is not a snapshot of this notebook")
    return snap


def _store_info(repo: Repo, root_dir: Path) -> dict[str, Any]:
    return {
        "root": _display_path(Path(os.path.realpath(repo.root)), root_dir),
        "notebook": repo.notebook_path,
    }


def snapshots_page(
    notebook: Path,
    root_dir: Path,
    *,
    limit: int,
    offset: int,
    search: str | None,
    branch: str | None,
    include_auto: bool,
) -> dict[str, Any]:
    """A page of the notebook's snapshots, newest first (an empty page if no store)."""
    page: dict[str, Any] = {"limit": limit, "offset": offset, "snapshots": [], "total": 0}
    repo = _open(notebook)
    if repo is None:
        return {**page, "store": None, "head": None, "current_branch": None, "hint": NO_STORE_HINT}
    with repo:
        snaps, total = repo.list(
            notebook,
            limit=limit,
            offset=offset,
            search=search,
            branch=branch,
            include_auto=include_auto,
        )
        head = repo.head_id(notebook)
        return {
            **page,
            "snapshots": [s.to_dict() for s in snaps],
            "total": total,
            "store": _store_info(repo, root_dir),
            "head": head,
            "current_branch": repo.current_branch(notebook),
            "hint": None if head else NO_STORE_HINT,
        }


def snapshot_detail(notebook: Path, ref: str) -> dict[str, Any]:
    """One snapshot with its variables, skipped variables, metrics, environment and refs."""
    with _require(notebook) as repo:
        snap = _owned(repo, repo.show(ref, notebook))
        head = repo.head_id(notebook)
        data = snap.to_dict()
        data["refs"] = {
            "head": snap.id == head,
            "branches": sorted(n for n, t in repo.branches(notebook).items() if t == snap.id),
            "tags": sorted(snap.tags),
        }
        return data


def snapshot_notebook(notebook: Path, ref: str) -> tuple[dict[str, Any], bool]:
    """The notebook (nbformat JSON) stored with a snapshot, and whether the snapshot is trusted.

    The notebook of a snapshot not signed with the user's key comes untrusted
    (:func:`untrusted_notebook`), whatever trust it claims.
    """
    with _require(notebook) as repo:
        snap = _owned(repo, repo.show(ref, notebook))
        nb = repo.notebook(snap.id, notebook)
        if nb is None:
            raise NoNotebook(f"snapshot {snap.short_id} holds no notebook")
        nb = json.loads(json.dumps(nb))
        return (nb if snap.trusted else untrusted_notebook(nb)), snap.trusted


def untrusted_notebook(nb: Any) -> Any:
    """``nb`` with no trust left for Jupyter to honour: outputs render sanitized, scripts never run.

    Whoever made the snapshot wrote its ``trusted`` flags; a frontend loading it
    as it is would run its HTML and JavaScript outputs with the page's token.
    Every cell says ``trusted: false``, so that saving it does not sign it either.
    """
    if isinstance(nb, dict):
        if isinstance(nb.get("metadata"), dict):
            nb["metadata"].pop("trusted", None)
        for cell in nb.get("cells") or []:
            if isinstance(cell, dict):
                if not isinstance(cell.get("metadata"), dict):
                    cell["metadata"] = {}
                cell["metadata"]["trusted"] = False
    return nb


def head_state(notebook: Path) -> dict[str, Any]:
    """A cheap summary that changes whenever the sidebar's list would: polled by it."""
    repo = _open(notebook)
    if repo is None:
        return {"store": False, "head": None, "latest": None, "total": 0, "version": "none"}
    with repo:
        newest, total = repo.list(notebook, limit=1)
        head = repo.head_id(notebook)
        latest = newest[0].id if newest else None
        refs = [repo.branches(notebook), repo.tags(), repo.current_branch(notebook)]
        version = hashlib.sha256(
            json.dumps([total, latest, head, refs], sort_keys=True).encode()
        ).hexdigest()[:16]
        return {"store": True, "head": head, "latest": latest, "total": total, "version": version}


def refs(notebook: Path) -> dict[str, Any]:
    """The notebook's branches and the store's tags."""
    repo = _open(notebook)
    if repo is None:
        return {"branches": {}, "tags": {}, "current_branch": None, "head": None}
    with repo:
        return {
            "branches": repo.branches(notebook),
            "tags": repo.tags(),
            "current_branch": repo.current_branch(notebook),
            "head": repo.head_id(notebook),
        }


#: What the graph keeps of each snapshot: enough to draw and label a node.
GRAPH_FIELDS = ("id", "short_id", "parents", "message", "created_at", "branch", "tags", "auto")


def graph(notebook: Path, *, limit: int) -> dict[str, Any]:
    """The notebook's snapshots as a commit graph's nodes, newest first, with the refs.

    One record per snapshot with only :data:`GRAPH_FIELDS`: the sidebar lays out
    thousands of them at once. At most ``limit`` nodes (the newest); ``truncated``
    says when there were more, and parents beyond the page are simply not in it.
    """
    repo = _open(notebook)
    if repo is None:
        return {
            "nodes": [],
            "total": 0,
            "truncated": False,
            "head": None,
            "current_branch": None,
            "branches": {},
        }
    with repo:
        nodes = repo.graph(notebook, limit=limit)
        total = repo.list(notebook, limit=0)[1]
        return {
            "nodes": nodes,
            "total": total,
            "truncated": total > len(nodes),
            "head": repo.head_id(notebook),
            "current_branch": repo.current_branch(notebook),
            "branches": repo.branches(notebook),
        }


def chart(notebook: Path, *, limit: int, include_auto: bool) -> dict[str, Any]:
    """The notebook's metrics over its newest ``limit`` snapshots as a Vega-Lite spec
    (``present.chart``), with what it holds; an empty chart when there is no store."""
    repo = _open(notebook)
    if repo is None:
        return MetricChart().to_dict()
    with repo:
        return history_chart(repo, notebook, limit=limit, include_auto=include_auto).to_dict()


def save_live_notebook(notebook: Path, content: Any) -> None:
    """Record the editor's content of ``notebook`` for the next commit made in its kernel."""
    write_live_notebook(notebook, content)


# -- comparing two states ---------------------------------------------------------------------


def _ident(snap: Snapshot) -> dict[str, Any]:
    """How a diff names a snapshot (the ``a`` and ``b`` of ``Diff.to_dict()``)."""
    return snap.ident()


def _plain(notebook: Any) -> dict[str, Any]:
    """A notebook node as plain JSON (sources stay single strings, as nbdime's diff expects)."""
    return json.loads(json.dumps(notebook))


def _nbdime_part(nb_a: Any, nb_b: Any, trusted: bool) -> dict[str, Any]:
    """What nbdime's JupyterLab widgets render: the base notebook and the diff to the other.

    ``trusted`` is false when a snapshot notebook in it was not signed with the
    user's key: its outputs must never be rendered trusted.
    """
    import nbdime

    return {
        "base": _plain(nb_a),
        "diff": nbdime.diff_notebooks(nb_a, nb_b),
        "trusted": trusted,
    }


def snapshot_diff(notebook: Path, a: str, b: str) -> dict[str, Any]:
    """``repo.diff(a, b).to_dict()`` of two snapshots of the notebook, plus nbdime's diff."""
    with _require(notebook) as repo:
        snap_a = _owned(repo, repo.show(a, notebook))
        snap_b = _owned(repo, repo.show(b, notebook))
        data = repo.diff(snap_a.id, snap_b.id, notebook_path=notebook).to_dict()
        data["nbdime"] = None
        if snap_a.has_notebook and snap_b.has_notebook:
            nb_a, nb_b = repo.notebook(snap_a.id, notebook), repo.notebook(snap_b.id, notebook)
            if nb_a is not None and nb_b is not None:
                data["nbdime"] = _nbdime_part(nb_a, nb_b, snap_a.trusted and snap_b.trusted)
        return data


def comparison(notebook: Path, refs: list[str]) -> dict[str, Any]:
    """``repo.compare(refs).to_dict()``: snapshots of the notebook side by side."""
    with _require(notebook) as repo:
        ids = [_owned(repo, repo.show(ref, notebook)).id for ref in refs]
        return repo.compare(ids, notebook).to_dict()


def current_notebook_diff(notebook: Path, a: str, content: Any) -> dict[str, Any]:
    """The notebook half of comparing snapshot ``a`` with the editor's content.

    The variables half needs the kernel's namespace: the sidebar computes it in
    the kernel (the ``diff`` op of :mod:`jupyter_mlvc.kernel_protocol`) and puts
    both halves together.
    """
    from ..ops.diff import notebook_diff

    current = comparable_notebook(content)
    with _require(notebook) as repo:
        snap = _owned(repo, repo.show(a, notebook))
        stored = repo.notebook(snap.id, notebook) if snap.has_notebook else None
        if stored is None:
            return {
                "a": _ident(snap),
                "b": {"current": True},
                "notebook": {"available": False, "cells": [], "unchanged": 0},
                "nbdime": None,
            }
        return {
            "a": _ident(snap),
            "b": {"current": True},
            "notebook": notebook_diff(stored, current, trusted=snap.trusted),
            "nbdime": _nbdime_part(stored, current, snap.trusted),
        }
