"""``Repo``: the public face of a store — commit, list, show, restore, compare, maintain
and share the snapshots of the notebooks in a project.

A store is a ``.mlvc/`` folder::

    .mlvc/
      index.sqlite      what exists (snapshots, parents, variables, metrics, refs)
      objects/ab/cd...  immutable content-addressed objects (chunks, notebooks, manifests)
      signatures/       each key's signature of each snapshot it trusts
      tmp/              objects being written

``Repo`` holds the store's parts (``objects``, ``index``, the user's ``key``) and
delegates: commits to ``ops.commit``, restores to ``ops.restore``, comparisons to
``ops.diff``, maintenance to ``ops.maintenance``, remotes to ``ops.remote``; the
index's rows are read through ``store.catalog`` and its refs through ``store.refs``.
docs/architecture.md walks a commit and a restore through them.

Example::

    >>> repo = Repo.init("project")                                   # doctest: +SKIP
    >>> snap = repo.commit({"x": 1}, "first", notebook_path="a.ipynb")  # doctest: +SKIP
    >>> repo.checkout(snap.id)                                         # doctest: +SKIP
    {'x': 1}
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .branching import Branching
from .comparing import Comparing
from .errors import MlvcError, NoStore, Untrusted
from .maintaining import Maintaining
from .ops import commit as commit_op
from .ops import restore as restore_op
from .ops.commit import clear_metrics, log_metrics
from .ops.history import log_frame, sort_log
from .sharing import Sharing
from .snapshot import RestoreReport, Snapshot, Status
from .store import catalog, durability, layout, refs, signing, trust
from .store.failures import write_errors
from .store.index import Index
from .store.manifest import parse_manifest
from .store.objects import MAX_MANIFEST, MAX_NOTEBOOK, ObjectStore

# ``Repo.list`` shadows the builtin inside the class body.
List = list

STORE_DIR = ".mlvc"
Progress = Callable[[int, int], None]

#: Per store and notebook: the snapshot this process last committed or restored, and
#: the id() of each variable's value then (``commit(assume_unchanged=...)``). Shared by
#: every Repo of a store in the process: the magics open one per command.
_RECENT: dict[str, dict[str, tuple[str, dict[str, int]]]] = {}


def load(ref: str, name: str, path: str | os.PathLike = ".") -> Any:
    """One variable of a snapshot, in a plain Python process (same trust rules as checkout).

    >>> model = load("best", "model", path="project")  # doctest: +SKIP
    """
    return Repo.open(path).load(ref, name)


class Repo(Sharing, Maintaining, Branching, Comparing):
    """A jupyter_mlvc store. See the module docstring."""

    def __init__(self, path: Path, notebook_path: str | os.PathLike | None = None):
        self.path = Path(path)
        self.root = self.path.parent
        # When a commit's bytes are safe from a power loss (store/durability.py):
        # "deferred" flushes in the background, "sync" before returning, "off" never.
        # A killed process is safe in every mode. MLVC_DURABILITY chooses.
        self.durability = durability.mode_from_env()
        self.objects = ObjectStore(self.path / "objects", fsync=self.durability != "off")
        self.index = Index(self.path / "index.sqlite")
        self._key: bytes | None = None
        self.recent = _RECENT.setdefault(str(self.path.resolve()), {})
        self.notebook_path = None if notebook_path is None else self.notebook_key(notebook_path)

    def __repr__(self) -> str:
        return f"<Repo {self.path}>"

    # -- opening ---------------------------------------------------------------

    @classmethod
    def init(cls, path: str | os.PathLike = ".") -> Repo:
        """Create a store in ``path``; ``StoreExists`` if there is one already."""
        return cls(layout.create(Path(path).resolve()))

    @staticmethod
    def locate(path: str | os.PathLike = ".") -> Path | None:
        """The ``.mlvc`` folder in ``path`` or its nearest parent, without opening it."""
        return layout.locate(path)

    @classmethod
    def find(cls, path: str | os.PathLike = ".", notebook_path: Any = None) -> Repo | None:
        """The store in ``path`` or its nearest parent, or None."""
        store = layout.locate(path)
        if store is None:
            return None
        layout.check(store)
        return cls(store, notebook_path)

    @classmethod
    def open(cls, path: str | os.PathLike = ".", notebook_path: Any = None) -> Repo:
        """The store in ``path`` or its nearest parent; ``NoStore`` if there is none."""
        repo = cls.find(path, notebook_path)
        if repo is None:
            raise NoStore(f"no jupyter_mlvc store in {Path(path).resolve()} or its parents")
        return repo

    @property
    def read_only(self) -> bool:
        """Whether the store cannot be written (a read-only filesystem or folder).
        Listing, showing and restoring work; committing, trusting and maintenance do not."""
        return self.index.read_only

    @property
    def key(self) -> bytes:
        """This user's signing key (created on first use, outside every store)."""
        if self._key is None:
            self._key = signing.load_key()
        return self._key

    # -- notebooks and refs ------------------------------------------------------

    def notebook_key(self, notebook_path: str | os.PathLike | None) -> str:
        """How the index names a notebook: its path relative to the store's folder
        (POSIX form), or absolute when it lies elsewhere; ``""`` for none."""
        return layout.notebook_key(self.root, notebook_path)

    def scope(self, notebook_path: Any = None) -> str:
        """The notebook key (see ``notebook_key``) whose HEAD and branches a ref refers
        to: ``notebook_path``'s, else this Repo's notebook, else the newest snapshot's."""
        if notebook_path is not None:
            return self.notebook_key(notebook_path)
        if self.notebook_path is not None:
            return self.notebook_path
        return catalog.newest_notebook(self.index.conn) or ""

    def notebooks(self) -> List[str]:
        return catalog.notebooks(self.index.conn)

    def head_id(self, notebook_path: Any = None) -> str | None:
        """The id of the notebook's HEAD snapshot, or None before its first commit."""
        return refs.head_id(self.index.conn, self.scope(notebook_path))

    def current_branch(self, notebook_path: Any = None) -> str | None:
        """The branch the next commit goes to, or None when HEAD is detached."""
        state = refs.head(self.index.conn, self.scope(notebook_path))
        return refs.DEFAULT_BRANCH if state is None else state[0] or None

    def resolve(self, ref: str, notebook_path: Any = None) -> str:
        """The full id a ref names: an id or unique prefix, HEAD, HEAD~N, a branch, a tag."""
        return refs.resolve(self.index.conn, ref, self.scope(notebook_path))

    def branches(self, notebook_path: Any = None) -> dict[str, str]:
        return refs.branches(self.index.conn, self.scope(notebook_path))

    def tags(self) -> dict[str, str]:
        return refs.tags(self.index.conn)

    def branch(self, name: str, ref: str = "HEAD", notebook_path: Any = None) -> str:
        """Create branch ``name`` at ``ref``. When ``ref`` is the notebook's HEAD, the
        next commits go to the new branch. Returns the snapshot id."""
        refs.check_name(name, "branch")
        sid = self.resolve(ref, notebook_path)
        nb = catalog.notebook_of(self.index.conn, sid) or self.scope(notebook_path)
        with self.index.write() as db:
            refs.create_branch(db, nb, name, sid)
            if refs.head_id(db, nb) == sid:
                refs.set_head(db, nb, branch=name)
        return sid

    def tag(self, name: str, ref: str = "HEAD", notebook_path: Any = None) -> str:
        """Tag the snapshot ``ref`` names; tags are unique across the store."""
        refs.check_name(name, "tag")
        sid = self.resolve(ref, notebook_path)
        with self.index.write() as db:
            refs.create_tag(db, name, sid)
        return sid

    # -- commit ----------------------------------------------------------------

    def commit(
        self,
        namespace: dict[str, Any],
        message: str,
        notebook: Any = None,
        notebook_path: Any = None,
        metrics: dict[str, Any] | None = None,
        *,
        only: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        assume_unchanged: Iterable[str] | None = None,
        if_changed: bool = False,
        auto: bool = False,
        notebook_source: str | None = None,
        progress: Progress | None = None,
        rng: bool = True,
    ) -> Snapshot | None:
        """Snapshot the state in ``namespace`` (and the notebook, if given).

        Variables that cannot be saved are skipped with their reason
        (``snap.skipped``); everything else is stored. On any error the store is
        left as it was.

        ``assume_unchanged`` names variables the caller knows were not touched since
        this process's last commit or restore of the notebook (the automatic
        snapshots after each cell pass the names a cell's code did not mention).
        Those still bound to the very same object, with HEAD unmoved, are taken over
        from HEAD without being serialized again. ``if_changed`` returns None,
        writing nothing, when the variables equal HEAD's.
        """
        nb = self.notebook_key(notebook_path) if notebook_path is not None else self.notebook_path
        return commit_op.commit(
            self,
            namespace,
            message,
            notebook=notebook,
            nb=nb or "",
            metrics=metrics,
            only=only,
            exclude=exclude,
            assume_unchanged=assume_unchanged,
            if_changed=if_changed,
            auto=auto,
            notebook_source=notebook_source,
            progress=progress,
            rng=rng,
        )

    # -- reading ---------------------------------------------------------------

    def show(self, ref: str = "HEAD", notebook_path: Any = None) -> Snapshot:
        """The snapshot ``ref`` names, with its variables' summaries. Reads no pickle."""
        return self.record(self.resolve(ref, notebook_path), with_variables=True)

    def head(self, notebook_path: Any = None) -> Snapshot | None:
        sid = self.head_id(notebook_path)
        return None if sid is None else self.record(sid, with_variables=True)

    def record(self, sid: str, with_variables: bool = False) -> Snapshot:
        """The ``Snapshot`` of the full id ``sid`` (its variables' summaries if asked)."""
        row = catalog.snapshot_row(self.index.conn, sid)
        trusted = trust.is_trusted(self.index, sid, trust.keyring(self.key))
        return catalog.snapshot(
            self.index.conn, row, trusted=trusted, with_variables=with_variables
        )

    def list(
        self,
        notebook_path: Any = None,
        *,
        limit: int | None = 50,
        offset: int = 0,
        search: str | None = None,
        branch: str | None = None,
        include_auto: bool = True,
        all: bool = False,
    ) -> tuple[List[Snapshot], int]:
        """A page of snapshots, newest first, and how many match in all."""
        which = self._filter(notebook_path, search, branch, include_auto, all)
        db, ring = self.index.conn, trust.keyring(self.key)
        found = [
            catalog.snapshot(db, r, trusted=trust.is_trusted(self.index, r["id"], ring))
            for r in catalog.rows(db, which, limit=limit, offset=offset)
        ]
        return found, catalog.count(db, which)

    def _filter(self, notebook_path, search, branch, include_auto, all_) -> catalog.Filter:
        nb = None if all_ else self.scope(notebook_path)
        return catalog.Filter(nb, search, branch, include_auto)

    def log(
        self,
        notebook_path: Any = None,
        *,
        all: bool = False,
        limit: int | None = None,
        include_auto: bool = True,
        search: str | None = None,
        branch: str | None = None,
        sort: str | None = None,
    ):
        """The history as a pandas DataFrame, newest first, one column per metric.

        ``sort`` orders by a metric instead: ``"acc"`` highest first, ``"-loss"``
        lowest first; snapshots without it come last, and ``limit`` keeps the best.
        """
        which = self._filter(notebook_path, search, branch, include_auto, all)
        if sort:
            return sort_log(log_frame(self.index.conn, which), sort, limit)
        return log_frame(self.index.conn, which, limit)

    def manifest(self, sid: str) -> dict[str, Any]:
        """The manifest of snapshot ``sid`` (a full id), validated: the store may be a
        copy of someone else's. Needs no trust: it is data."""
        data = self.objects.get(sid, f"the manifest of snapshot {sid[:8]}", MAX_MANIFEST)
        return parse_manifest(sid, data)

    def notebook(self, ref: str = "HEAD", notebook_path: Any = None):
        """The notebook stored with a snapshot (nbformat), or None. Needs no trust: it is data."""
        import nbformat

        sid = self.resolve(ref, notebook_path)
        oid = catalog.snapshot_row(self.index.conn, sid)["notebook_object"]
        if not oid:
            return None
        data = self.objects.get(oid, f"the notebook of snapshot {sid[:8]}", MAX_NOTEBOOK)
        return nbformat.from_dict(json.loads(data))

    # -- trust -----------------------------------------------------------------

    def require_trusted(self, sid: str) -> None:
        """``Untrusted`` unless ``sid`` is signed with this user's key or a key they trust."""
        catalog.snapshot_row(self.index.conn, sid)
        if not trust.is_trusted(self.index, sid, trust.keyring(self.key)):
            raise Untrusted(
                f"snapshot {sid[:8]} is not signed with your key or a key you trust (a store from "
                "someone else, or one that was changed); its pickles could run code. Inspect it, "
                f"then trust it: %mlvc trust {sid[:8]}"
            )

    def trust(self, ref: str | None = None, notebook_path: Any = None) -> List[str]:
        """Sign snapshots with this user's key, so that they can be restored.

        ``ref`` None trusts every snapshot in the store. Returns the ids signed. The
        signature is added beside those of other keys: it takes no one else's trust away.
        """
        if ref is None:
            ids = catalog.snapshot_ids(self.index.conn)
        else:
            ids = [self.resolve(ref, notebook_path)]
        for sid in ids:
            self.manifest(sid)  # the manifest must still match its id
        with write_errors(self.path, "nothing was trusted"), self.index.write() as db:
            for sid in ids:
                trust.add_signature(db, self.path, sid, self.key)
        return ids

    # -- restore ---------------------------------------------------------------

    def checkout(
        self,
        ref: str,
        names: Iterable[str] | None = None,
        current: dict | None = None,
        notebook_path: Any = None,
    ) -> dict[str, Any]:
        """The values of a snapshot's variables (all, or ``names``).

        Given ``current`` (the caller's namespace), variables whose current value
        equals the snapshot's are not read: the current object is returned.
        Restored functions are bound to ``current`` (or to the returned values).
        Raises ``RestoreError`` naming the variables that failed, with the others in
        ``.values``. Moves no HEAD: see ``restore`` for that.
        """
        names = [names] if isinstance(names, str) else names
        return restore_op.checkout(self, self.resolve(ref, notebook_path), names, current)

    def load(self, ref: str, name: str, notebook_path: Any = None) -> Any:
        """One variable of a snapshot."""
        return self.checkout(ref, [name], notebook_path=notebook_path)[name]

    def restore(
        self,
        ref: str,
        namespace: dict[str, Any],
        names: Iterable[str] | None = None,
        *,
        save: bool = True,
        notebook: Any = None,
        notebook_source: str | None = None,
        notebook_path: Any = None,
        exclude: Iterable[str] | None = None,
        progress: Progress | None = None,
        rng: bool = True,
        skipped: str = "keep",
    ) -> RestoreReport:
        """Make ``namespace`` hold a snapshot's state (or only ``names`` of it).

        First, unless ``save`` is false, the current state is committed if it
        differs from HEAD, so the restore can be undone. Then only the variables
        that differ are read. A full restore also removes variables the snapshot
        does not have and moves the notebook's HEAD to the snapshot.

        A read-only store cannot take that safety snapshot: the restore is then
        refused (``ReadOnlyStore``) before anything changes, since it would replace
        state that exists nowhere else; ``save=False`` restores anyway. HEAD cannot
        move there either, which the report's ``errors`` say under ``"(HEAD)"``.

        Variables the snapshot skipped at commit (open files, generators, ...) keep
        today's values and are named in ``report.kept``; ``skipped="remove"`` removes them.
        """
        names = [names] if isinstance(names, str) else names
        sid = self.resolve(ref, notebook_path)
        nb = self.notebook_key(notebook_path) if notebook_path is not None else self.scope(None)
        return restore_op.restore(
            self,
            sid,
            namespace,
            names,
            nb=nb,
            save=save,
            notebook=notebook,
            notebook_source=notebook_source,
            exclude=list(exclude or ()),
            progress=progress,
            rng=rng,
            skipped=skipped,
        )

    def status(
        self,
        namespace: dict[str, Any],
        ref: str | None = "HEAD",
        *,
        only: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        notebook_path: Any = None,
    ) -> Status:
        """How ``namespace`` differs from a snapshot (HEAD by default). Writes nothing."""
        base = None if ref is None else commit_op.base_for_status(self, ref, notebook_path)
        return restore_op.status(self, namespace, base, only=only, exclude=exclude)

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["MlvcError", "Repo", "clear_metrics", "load", "log_metrics", "sort_log"]
