"""``Repo``: commit, list, show, restore and maintain the snapshots of a store.

A store is a ``.mlvc/`` folder::

    .mlvc/
      index.sqlite      what exists (snapshots, parents, variables, metrics, refs)
      objects/ab/cd...  immutable content-addressed objects (chunks, notebooks, manifests)
      tmp/              objects being written

A commit writes in a fixed order: the chunks of every variable, then the
notebook, then the snapshot's manifest (which names all of them), then the index
rows in one transaction. A snapshot exists once its index rows do, and by then
everything it points to is on disk; a crash before that leaves only unreferenced
objects, which ``gc`` removes.

Example::

    >>> repo = Repo.init("project")                                   # doctest: +SKIP
    >>> snap = repo.commit({"x": 1}, "first", notebook_path="a.ipynb")  # doctest: +SKIP
    >>> repo.checkout(snap.id)                                         # doctest: +SKIP
    {'x': 1}
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import math
import mmap
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import (
    BadInput,
    DamagedStore,
    MlvcError,
    NoStore,
    ReadOnlyStore,
    RestoreError,
    StoreExists,
    UnknownRef,
    UnknownVariable,
    Untrusted,
    WriteFailed,
)
from .ops.maintenance import Rebuilt, manifest_objects
from .snapshot import RestoreReport, Snapshot, Status, VariableInfo
from .state import capture as capture_mod
from .state import pickling
from .state.environment import environment
from .state.rng import capture_rng, dumps_rng, restore_rng
from .state.summary import summarize
from .store import leases, refs, signing, trust
from .store.index import Index, dumps
from .store.manifest import parse_manifest
from .store.objects import (
    CHUNK_SIZE,
    MAX_MANIFEST,
    MAX_NOTEBOOK,
    MAX_RNG,
    ObjectStore,
    compresses_well,
    hash_bytes,
)
from .store.refs import DEFAULT_BRANCH, check_name

# ``Repo.list`` shadows the builtin inside the class body.
List = list

#: The columns of ``Repo.log`` that are not metrics.
_LOG_COLUMNS = frozenset(
    {
        "id",
        "short_id",
        "message",
        "created_at",
        "notebook",
        "branch",
        "tags",
        "n_variables",
        "nbytes",
        "auto",
    }
)

STORE_DIR = ".mlvc"
FORMAT = 1
Progress = Callable[[int, int], None]

_staged_metrics: dict[str, float] = {}
_RECENT: dict[str, dict[str, tuple[str, dict[str, int]]]] = {}


def _check_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in (metrics or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise BadInput(f"a metric name must be a non-empty string, not {name!r}")
        if isinstance(value, bool):
            value = float(value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"metric {name!r} must be a number, not {value!r}")
        if math.isnan(number) and not isinstance(value, float):
            raise BadInput(f"metric {name!r} must be a number, not {value!r}")
        out[name.strip()] = number
    return out


def log_metrics(**metrics: float) -> None:
    """Stage metrics for the next commit made in this process.

    >>> log_metrics(acc=0.93, f1=0.91)  # doctest: +SKIP
    """
    _staged_metrics.update(_check_metrics(metrics))


def sort_log(frame: Any, sort: str, limit: int | None = None) -> Any:
    """A log ordered by a metric: ``"acc"`` highest first, ``"-loss"`` lowest first;
    snapshots without it come last, and ``limit`` keeps the best."""
    column = sort[1:] if sort.startswith("-") else sort
    recorded = [c for c in frame.columns if c not in _LOG_COLUMNS]
    if column not in recorded:
        known = ", ".join(recorded) if recorded else "none recorded yet"
        raise BadInput(f"cannot sort by {column!r}: no such metric (metrics: {known})")
    frame = frame.sort_values(
        column, ascending=sort.startswith("-"), na_position="last", kind="stable"
    )
    return frame.head(limit) if limit is not None else frame


def clear_metrics() -> None:
    """Drop the metrics staged with ``log_metrics`` that no commit took yet."""
    _staged_metrics.clear()


def load(ref: str, name: str, path: str | os.PathLike = ".") -> Any:
    """One variable of a snapshot, in a plain Python process (same trust rules as checkout).

    >>> model = load("best", "model", path="project")  # doctest: +SKIP
    """
    return Repo.open(path).load(ref, name)


def _notebook_bytes(notebook: Any) -> bytes | None:
    if notebook is None:
        return None
    if isinstance(notebook, (bytes, str)):
        try:
            notebook = json.loads(notebook)
        except ValueError as exc:
            raise BadInput(f"the notebook is not valid JSON ({exc})")
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise BadInput("the notebook must be nbformat JSON (a dict with a 'cells' list)")
    return json.dumps(notebook, sort_keys=True, ensure_ascii=False).encode()


class _HashOnly:
    """Stands in for a write batch when only the hashes are wanted (status, diff)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mlvc-hash")

    def put_async(self, data, compress=None) -> Future:
        return self.pool.submit(hash_bytes, data)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _chunks(view: memoryview) -> Iterable[memoryview]:
    for start in range(0, len(view), CHUNK_SIZE):
        yield view[start : start + CHUNK_SIZE]


def _describe_names(names: list[str]) -> str:
    if len(names) == 1:
        return f"variable {names[0]!r}"
    return "variables " + ", ".join(repr(n) for n in names)


class Repo:
    """A jupyter_mlvc store. See the module docstring."""

    def __init__(self, path: Path, notebook_path: str | os.PathLike | None = None):
        self.path = Path(path)
        self.root = self.path.parent
        # Durability: objects reach the disk before the index names them (survives a
        # power loss). MLVC_FSYNC=0 trades that for speed; a killed process is safe either way.
        self.objects = ObjectStore(
            self.path / "objects", fsync=os.environ.get("MLVC_FSYNC", "1") != "0"
        )
        self.index = Index(self.path / "index.sqlite")
        self._key: bytes | None = None
        # Per notebook: the snapshot this process last committed or restored, and the
        # id() of each variable's value then (see ``commit(assume_unchanged=...)``).
        # Shared by every Repo of this store in the process: the magics open one per command.
        self._recent = _RECENT.setdefault(str(self.path.resolve()), {})
        self.notebook_path = None if notebook_path is None else self.notebook_key(notebook_path)

    def __repr__(self) -> str:
        return f"<Repo {self.path}>"

    # -- opening ---------------------------------------------------------------

    @classmethod
    def init(cls, path: str | os.PathLike = ".") -> Repo:
        """Create a store in ``path``; ``StoreExists`` if there is one already."""
        root = Path(path).resolve()
        store = root / STORE_DIR
        if not root.is_dir():
            raise NoStore(f"cannot create a store in {root}: not a folder")
        if store.exists():
            raise StoreExists(f"there is already a store in {root}")
        # Built aside, then renamed into place: a reader (another kernel, the server)
        # sees no store or a whole one, and of two processes creating it one wins.
        try:
            staging = Path(tempfile.mkdtemp(prefix=".mlvc-new-", dir=root))
        except OSError as exc:
            raise WriteFailed(f"cannot create a store in {root}: {exc.strerror or exc}") from None
        try:
            os.chmod(staging, 0o700)
            for sub in ("objects", "tmp"):
                (staging / sub).mkdir(mode=0o700)
            (staging / "FORMAT").write_text(f"{FORMAT}\n")
            cls(staging).index.ensure()
            try:
                os.rename(staging, store)
            except OSError as exc:
                if store.exists():
                    raise StoreExists(f"there is already a store in {root}") from exc
                raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return cls(store)

    @staticmethod
    def locate(path: str | os.PathLike = ".") -> Path | None:
        """The ``.mlvc`` folder in ``path`` or its nearest parent, without opening it."""
        start = Path(path).resolve()
        if start.is_file():
            start = start.parent
        for folder in (start, *start.parents):
            store = folder / STORE_DIR
            if store.is_dir():
                return store
        return None

    @classmethod
    def find(cls, path: str | os.PathLike = ".", notebook_path: Any = None) -> Repo | None:
        """The store in ``path`` or its nearest parent, or None."""
        store = cls.locate(path)
        return None if store is None else cls._checked(store, notebook_path)

    @classmethod
    def open(cls, path: str | os.PathLike = ".", notebook_path: Any = None) -> Repo:
        """The store in ``path`` or its nearest parent; ``NoStore`` if there is none."""
        repo = cls.find(path, notebook_path)
        if repo is None:
            raise NoStore(f"no jupyter_mlvc store in {Path(path).resolve()} or its parents")
        return repo

    @classmethod
    def _checked(cls, store: Path, notebook_path: Any) -> Repo:
        if not (store / "index.sqlite").is_file():
            raise DamagedStore(
                f"the store {store} has no index (index.sqlite is missing); `mlvc fsck --rebuild-index` recovers it"
            )
        if not (store / "objects").is_dir():
            raise DamagedStore(f"the store {store} has no objects/ folder")
        return cls(store, notebook_path)

    @property
    def read_only(self) -> bool:
        """Whether the store cannot be written (a read-only filesystem or folder).
        Listing, showing and restoring work; committing, trusting and maintenance do not."""
        return self.index.read_only

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = signing.load_key()
        return self._key

    # -- notebooks and refs ------------------------------------------------------

    def notebook_key(self, notebook_path: str | os.PathLike | None) -> str:
        """How the index names a notebook: its path relative to the store's folder
        (POSIX form), or absolute when it lies elsewhere; ``""`` for none."""
        if notebook_path is None or str(notebook_path) == "":
            return ""
        try:
            text = os.fsdecode(notebook_path)
            # A name the file system allows but UTF-8 cannot hold (the index's text) is
            # decoded with surrogates by Python: refuse it before it reaches SQLite.
            text.encode("utf-8")
        except (TypeError, UnicodeError):
            raise BadInput(
                f"the notebook path {os.fsencode(notebook_path)!r} is not valid UTF-8: "
                "rename the notebook"
            )
        p = Path(os.path.realpath(os.path.abspath(text)))
        root = Path(os.path.realpath(self.root))
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            return p.as_posix()

    def scope(self, notebook_path: Any = None) -> str:
        """The notebook key (see ``notebook_key``) whose HEAD and branches a ref refers
        to: ``notebook_path``'s, else this Repo's notebook, else the newest snapshot's."""
        if notebook_path is not None:
            return self.notebook_key(notebook_path)
        if self.notebook_path is not None:
            return self.notebook_path
        row = self.index.one(
            "select notebook from snapshots order by created_at desc, rowid desc limit 1"
        )
        return row["notebook"] if row else ""

    def notebooks(self) -> List[str]:
        return [
            r["notebook"]
            for r in self.index.rows("select distinct notebook from snapshots order by notebook")
        ]

    def head_id(self, notebook_path: Any = None) -> str | None:
        """The id of the notebook's HEAD snapshot, or None before its first commit."""
        return refs.head_id(self.index.conn, self.scope(notebook_path))

    def current_branch(self, notebook_path: Any = None) -> str | None:
        """The branch the next commit goes to, or None when HEAD is detached."""
        state = refs.head(self.index.conn, self.scope(notebook_path))
        if state is None:
            return DEFAULT_BRANCH
        return state[0] or None

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
        check_name(name, "branch")
        nb = self.scope(notebook_path)
        sid = self.resolve(ref, notebook_path)
        owner = self.index.one("select notebook from snapshots where id = ?", [sid])
        nb = owner["notebook"] if owner else nb
        with self.index.write() as db:
            refs.create_branch(db, nb, name, sid)
            if refs.head_id(db, nb) == sid:
                refs.set_head(db, nb, branch=name)
        return sid

    def tag(self, name: str, ref: str = "HEAD", notebook_path: Any = None) -> str:
        """Tag the snapshot ``ref`` names; tags are unique across the store."""
        check_name(name, "tag")
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
        auto: bool = False,
        notebook_source: str | None = None,
        progress: Progress | None = None,
        rng: bool = True,
        assume_unchanged: Iterable[str] | None = None,
        if_changed: bool = False,
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
        if not isinstance(message, str):
            raise BadInput("the message must be a string")
        if not isinstance(namespace, dict):
            raise BadInput("the namespace must be a dict (for example globals())")
        merged = _check_metrics({**_staged_metrics, **(metrics or {})})
        nb_bytes = _notebook_bytes(notebook)
        nb = (
            self.notebook_key(notebook_path)
            if notebook_path is not None
            else (self.notebook_path or "")
        )
        skip, reuse_from = self._reusable(nb, namespace, assume_unchanged)
        captured = capture_mod.capture(namespace, only, exclude, skip=skip)
        if reuse_from is not None:
            self._take_over(captured, reuse_from, skip)
        if if_changed and self._unchanged(captured, nb):
            return None
        snap = self._commit_captured(
            captured,
            message,
            nb,
            nb_bytes,
            merged,
            auto=auto,
            notebook_source=notebook_source,
            progress=progress,
            rng=rng,
        )
        for name in merged:
            _staged_metrics.pop(name, None)
        return snap

    def _reusable(self, nb: str, namespace: dict, assume_unchanged) -> tuple[set[str], dict | None]:
        """Which variables can be taken over from HEAD's manifest unserialized."""
        if assume_unchanged is None:
            return set(), None
        recent = self._recent.get(nb)
        head = refs.head_id(self.index.conn, nb)
        if recent is None or head is None or recent[0] != head:
            return set(), None
        manifest = self._manifest(head)
        ids = recent[1]
        same = {
            n
            for n in assume_unchanged
            if n in manifest["variables"] and n in namespace and ids.get(n) == id(namespace[n])
        }
        skip: set[str] = set()
        for unit in manifest["units"]:
            # A unit is taken over whole or not at all: its variables share objects.
            if all(n in same for n in unit["names"]):
                skip.update(unit["names"])
        return skip, manifest

    @staticmethod
    def _take_over(captured: capture_mod.Captured, manifest: dict, names: set[str]) -> None:
        remap: dict[int, int] = {}
        for name in sorted(names):
            if name not in captured.ids:
                continue
            entry = dict(manifest["variables"][name])
            old = entry["unit"]
            if old not in remap:
                remap[old] = len(captured.reused_units)
                captured.reused_units.append(manifest["units"][old])
            entry["unit"] = remap[old]
            captured.reused[name] = entry

    def _unchanged(self, captured: capture_mod.Captured, nb: str) -> bool:
        head = refs.head_id(self.index.conn, nb)
        if head is None:
            return not captured.variables and not captured.reused
        stored = dict(
            (r["name"], r["hash"])
            for r in self.index.rows("select name, hash from variables where snapshot = ?", [head])
        )
        hashes = self._hashes(captured)
        hashes.update({n: e["hash"] for n, e in captured.reused.items()})
        return hashes == stored

    def _commit_captured(
        self,
        captured: capture_mod.Captured,
        message: str,
        nb: str,
        nb_bytes: bytes | None,
        metrics: dict[str, float],
        *,
        auto: bool = False,
        notebook_source: str | None = None,
        progress: Progress | None = None,
        rng: bool = True,
    ) -> Snapshot:
        started = time.perf_counter()
        created_at = time.time()
        env = environment()
        self.index.require_writable()
        # The lease keeps a concurrent gc from taking the objects stored (or found
        # stored) before the index rows name them, however long the commit takes.
        with _write_errors(self.path), leases.hold(self.path), self.objects.batch() as batch:
            units, var_hashes = self._serialize(captured, batch, progress)
            var_entries = {
                name: {
                    "unit": var.unit,
                    "hash": var_hashes[name],
                    "type": var.type,
                    "summary": var.summary,
                    "nbytes": var.nbytes,
                }
                for name, var in captured.variables.items()
            }
            offset = len(units)
            units.extend(captured.reused_units)
            for name, entry in captured.reused.items():
                var_entries[name] = {**entry, "unit": entry["unit"] + offset}
                var_hashes[name] = entry["hash"]
            var_entries = dict(sorted(var_entries.items()))
            nb_oid = batch.put(nb_bytes, compress=True) if nb_bytes is not None else None
            rng_oid = batch.put(dumps_rng(capture_rng()), compress=True) if rng else None
            batch.flush()
            with self.index.write() as db:
                parent = refs.head_id(db, nb)
                branch, detached_from = self._branch_for_commit(db, nb)
                manifest = {
                    "format": FORMAT,
                    "message": message,
                    "created_at": created_at,
                    "notebook_path": nb,
                    "notebook": nb_oid,
                    "notebook_source": notebook_source if nb_oid else None,
                    "parents": [parent] if parent else [],
                    "branch": branch,
                    "auto": bool(auto),
                    "metrics": metrics,
                    "environment": env,
                    "modules": captured.modules,
                    "imports": captured.imports,
                    "skipped": captured.skipped,
                    "rng": rng_oid,
                    "units": units,
                    "variables": var_entries,
                }
                sid = batch.put(dumps(manifest).encode(), compress=True)
                batch.flush()
                gone = leases.missing(self.objects, [sid, *manifest_objects(manifest)])
                if gone:
                    raise WriteFailed(
                        f"nothing was committed: {len(gone)} of the snapshot's objects (first "
                        f"{gone[0][:12]}) were removed from the store while it was written; "
                        "commit again"
                    )
                # The signature's file goes before the index rows, like the objects: a
                # rebuilt index finds it (``trust``).
                trust.add_signature(db, self.path, sid, self.key)
                parent_hashes = {}
                if parent:
                    parent_hashes = dict(
                        db.execute(
                            "select name, hash from variables where snapshot = ?", [parent]
                        ).fetchall()
                    )
                db.execute(
                    "insert into snapshots (id, notebook, message, created_at, branch, n_variables, nbytes,"
                    " bytes_written, auto, has_notebook, notebook_source, environment, notebook_object)"
                    " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        sid,
                        nb,
                        message,
                        created_at,
                        branch,
                        len(var_entries),
                        captured.nbytes,
                        batch.bytes_written,
                        int(auto),
                        int(nb_oid is not None),
                        manifest["notebook_source"],
                        dumps(env),
                        nb_oid,
                    ],
                )
                if parent:
                    db.execute("insert into parents values (?, ?, 0)", [sid, parent])
                db.executemany(
                    "insert into variables values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            sid,
                            name,
                            e["type"],
                            dumps(e["summary"]),
                            e["nbytes"],
                            int(parent_hashes.get(name) != e["hash"]),
                            e["hash"],
                            e["unit"],
                        )
                        for name, e in var_entries.items()
                    ],
                )
                db.executemany(
                    "insert into skipped values (?, ?, ?)",
                    [(sid, n, r) for n, r in captured.skipped.items()],
                )
                db.executemany(
                    "insert into metrics values (?, ?, ?)",
                    [(sid, n, v) for n, v in metrics.items()],
                )
                db.execute(
                    "insert or replace into refs values (?, 'branch', ?, ?)", [nb, branch, sid]
                )
                refs.set_head(db, nb, branch=branch)
                del detached_from
            written = batch.bytes_written
        self._recent[nb] = (sid, dict(captured.ids))
        snap = self.show(sid)
        snap.bytes_written = written
        snap.environment["commit_seconds"] = round(time.perf_counter() - started, 3)
        return snap

    def _branch_for_commit(self, db, nb: str) -> tuple[str, str | None]:
        row = db.execute(
            "select branch, from_branch from heads where notebook = ?", [nb]
        ).fetchone()
        if row is None:
            return DEFAULT_BRANCH, None
        branch, from_branch = row
        if branch:
            return branch, None
        # Detached (an older snapshot was checked out): start a new branch there.
        base = from_branch or DEFAULT_BRANCH
        taken = {
            r[0]
            for r in db.execute(
                "select name from refs where notebook = ? and kind = 'branch'", [nb]
            ).fetchall()
        }
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}", base

    def _serialize(
        self, captured: capture_mod.Captured, sink: Any, progress: Progress | None = None
    ):
        """Chunk, hash and (for a write batch) store every unit.

        Returns ``(units, variable hashes)``: the manifest's description of each
        unit, and for each variable a hash that changes when its value, or the
        set of variables it shares objects with, changes.
        """
        jobs: List[tuple[Future, int]] = []
        plans = []
        for unit in captured.units:
            stream_view = memoryview(unit.stream)
            stream_futs = [sink.put_async(c, True) for c in _chunks(stream_view)]
            jobs.extend((f, len(c)) for f, c in zip(stream_futs, _chunks(stream_view)))
            buffer_plans = []
            for pb in unit.buffers:
                raw = pb.raw()
                compress = compresses_well(raw)
                futs = [sink.put_async(c, compress) for c in _chunks(raw)]
                jobs.extend((f, len(c)) for f, c in zip(futs, _chunks(raw)))
                buffer_plans.append((raw.nbytes, futs))
            plans.append((unit, len(unit.stream), stream_futs, buffer_plans))
        total = sum(n for _, n in jobs) or 1
        sizes = {id(f): n for f, n in jobs}
        done = 0
        for fut in as_completed([f for f, _ in jobs]):
            fut.result()
            done += sizes[id(fut)]
            if progress is not None:
                progress(done, total)
        units = []
        var_hashes: dict[str, str] = {}
        for unit, stream_size, stream_futs, buffer_plans in plans:
            meta = {
                "names": unit.names,
                "stream": [f.result() for f in stream_futs],
                "stream_size": stream_size,
                "buffers": [
                    {"nbytes": n, "chunks": [f.result() for f in futs]} for n, futs in buffer_plans
                ],
            }
            units.append(meta)
            if len(unit.names) == 1:
                var_hashes[unit.names[0]] = hash_bytes(dumps(meta).encode())
        buffer_hash_cache: dict[tuple[int, int], str] = {}
        for unit in captured.units:
            if len(unit.names) == 1:
                continue
            for name in unit.names:
                var = captured.variables[name]
                buffer_hashes = []
                for pb in var.buffers:
                    raw = pb.raw()
                    key = (_address(raw), raw.nbytes)
                    if key not in buffer_hash_cache:
                        buffer_hash_cache[key] = hash_bytes(raw)
                    buffer_hashes.append(buffer_hash_cache[key])
                var_hashes[name] = hash_bytes(
                    dumps(
                        {
                            "stream": hash_bytes(var.stream),
                            "buffers": buffer_hashes,
                            "shared": sorted(unit.names),
                        }
                    ).encode()
                )
        return units, var_hashes

    def _hashes(self, captured: capture_mod.Captured) -> dict[str, str]:
        sink = _HashOnly()
        try:
            return self._serialize(captured, sink)[1]
        finally:
            sink.close()

    # -- reading ---------------------------------------------------------------

    def _row(self, sid: str) -> dict[str, Any]:
        row = self.index.one("select * from snapshots where id = ?", [sid])
        if row is None:
            raise UnknownRef(f"no snapshot {sid[:12]}")
        return row

    def _snapshot(
        self,
        row: dict[str, Any],
        with_variables: bool = False,
        ring: trust.Keyring | None = None,
    ) -> Snapshot:
        sid = row["id"]
        parents = [
            r["parent"]
            for r in self.index.rows(
                "select parent from parents where snapshot = ? order by position", [sid]
            )
        ]
        tags = [
            r["name"]
            for r in self.index.rows(
                "select name from refs where kind = 'tag' and target = ?", [sid]
            )
        ]
        metrics = {
            r["name"]: r["value"]
            for r in self.index.rows("select name, value from metrics where snapshot = ?", [sid])
        }
        snap = Snapshot(
            id=sid,
            parents=parents,
            message=row["message"],
            created_at=datetime.fromtimestamp(row["created_at"], tz=timezone.utc),
            notebook_path=row["notebook"] or None,
            branch=row["branch"],
            tags=tags,
            metrics=metrics,
            nbytes=row["nbytes"] or 0,
            bytes_written=row["bytes_written"] or 0,
            n_variables=row["n_variables"] or 0,
            auto=bool(row["auto"]),
            has_notebook=bool(row["has_notebook"]),
            notebook_source=row["notebook_source"],
            trusted=trust.is_trusted(self.index, sid, ring or trust.keyring(self.key)),
        )
        if with_variables:
            snap.environment = json.loads(row["environment"] or "{}")
            for r in self.index.rows(
                "select * from variables where snapshot = ? order by name", [sid]
            ):
                snap.variables[r["name"]] = VariableInfo(
                    name=r["name"],
                    type=r["type"],
                    summary=json.loads(r["summary"] or "{}"),
                    nbytes=r["nbytes"] or 0,
                    changed=bool(r["changed"]),
                    group=r["hash"] or "",
                )
            snap.skipped = {
                r["name"]: r["reason"]
                for r in self.index.rows(
                    "select name, reason from skipped where snapshot = ?", [sid]
                )
            }
        return snap

    def show(self, ref: str = "HEAD", notebook_path: Any = None) -> Snapshot:
        """The snapshot ``ref`` names, with its variables' summaries. Reads no pickle."""
        return self._snapshot(self._row(self.resolve(ref, notebook_path)), with_variables=True)

    def head(self, notebook_path: Any = None) -> Snapshot | None:
        sid = self.head_id(notebook_path)
        return None if sid is None else self._snapshot(self._row(sid), with_variables=True)

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
        where, params = self._filters(notebook_path, search, branch, include_auto, all)
        total = self.index.one(f"select count(*) as n from snapshots {where}", params)["n"]  # type: ignore[index]
        sql = f"select * from snapshots {where} order by created_at desc, rowid desc"
        if limit is not None:
            sql += f" limit {int(limit)} offset {max(int(offset), 0)}"
        rows = self.index.rows(sql, params)
        ring = trust.keyring(self.key)
        return [self._snapshot(r, ring=ring) for r in rows], total

    def _filters(self, notebook_path, search, branch, include_auto, all_):
        clauses, params = [], []
        if not all_:
            clauses.append("notebook = ?")
            params.append(self.scope(notebook_path))
        if search:
            clauses.append("message like ? escape '\\'")
            params.append(
                "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
        if branch:
            clauses.append("branch = ?")
            params.append(branch)
        if not include_auto:
            clauses.append("auto = 0")
        return ("where " + " and ".join(clauses)) if clauses else "", params

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
        import pandas as pd

        if sort:
            frame = self.log(
                notebook_path, all=all, include_auto=include_auto, search=search, branch=branch
            )
            return sort_log(frame, sort, limit)

        where, params = self._filters(notebook_path, search, branch, include_auto, all)
        sql = (
            "select id, notebook, message, created_at, branch, n_variables, nbytes, auto from snapshots "
            f"{where} order by created_at desc, rowid desc"
        )
        if limit is not None:
            sql += f" limit {int(limit)}"
        rows = self.index.rows(sql, params)
        ids = [r["id"] for r in rows]
        metrics: dict[str, dict[str, float]] = {}
        tags: dict[str, List[str]] = {}
        if ids:
            marks = ",".join("?" * len(ids)) if len(ids) < 900 else None
            msql = "select snapshot, name, value from metrics" + (
                f" where snapshot in ({marks})" if marks else ""
            )
            for r in self.index.rows(msql, ids if marks else []):
                metrics.setdefault(r["name"], {})[r["snapshot"]] = r["value"]
            for r in self.index.rows("select name, target from refs where kind = 'tag'"):
                tags.setdefault(r["target"], []).append(r["name"])
        df = pd.DataFrame(
            {
                "id": ids,
                "short_id": [i[:8] for i in ids],
                "message": [r["message"] for r in rows],
                "created_at": pd.to_datetime([r["created_at"] for r in rows], unit="s", utc=True),
                "notebook": [r["notebook"] for r in rows],
                "branch": [r["branch"] for r in rows],
                "tags": [", ".join(sorted(tags.get(i, []))) for i in ids],
                "n_variables": pd.array([r["n_variables"] for r in rows], dtype="int64"),
                "nbytes": pd.array([r["nbytes"] for r in rows], dtype="int64"),
                "auto": pd.array([bool(r["auto"]) for r in rows], dtype="bool"),
            }
        )
        if not all:
            df = df.drop(columns=["notebook"])
        for name in sorted(metrics):
            values = metrics[name]
            df[name] = [values.get(i, float("nan")) for i in ids]
        return df

    def _manifest(self, sid: str) -> dict[str, Any]:
        """The manifest of ``sid``, validated: the store may be a copy of someone else's."""
        data = self.objects.get(sid, f"the manifest of snapshot {sid[:8]}", MAX_MANIFEST)
        return parse_manifest(sid, data)

    def notebook(self, ref: str = "HEAD", notebook_path: Any = None):
        """The notebook stored with a snapshot (nbformat), or None. Needs no trust: it is data."""
        import nbformat

        sid = self.resolve(ref, notebook_path)
        row = self._row(sid)
        if not row["notebook_object"]:
            return None
        data = self.objects.get(
            row["notebook_object"], f"the notebook of snapshot {sid[:8]}", MAX_NOTEBOOK
        )
        return nbformat.from_dict(json.loads(data))

    # -- trust -----------------------------------------------------------------

    def _check_trust(self, sid: str) -> None:
        self._row(sid)
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
            ids = [r["id"] for r in self.index.rows("select id from snapshots")]
        else:
            ids = [self.resolve(ref, notebook_path)]
        for sid in ids:
            self._manifest(sid)  # the manifest must still match its id
        with _write_errors(self.path, "nothing was trusted"), self.index.write() as db:
            for sid in ids:
                trust.add_signature(db, self.path, sid, self.key)
        return ids

    # -- restore ---------------------------------------------------------------

    def _plan(self, sid: str, names: Iterable[str] | None) -> tuple[dict[str, Any], List[str]]:
        manifest = self._manifest(sid)
        variables = manifest["variables"]
        if names is None:
            wanted = list(variables)
        else:
            wanted = list(dict.fromkeys(names))
            missing = [n for n in wanted if n not in variables]
            if missing:
                why = manifest["skipped"].get(missing[0])
                if why:
                    raise UnknownVariable(
                        f"{missing[0]!r} was not saved in snapshot {sid[:8]}: {why}"
                    )
                have = ", ".join(sorted(variables)[:10]) or "nothing"
                raise UnknownVariable(
                    f"snapshot {sid[:8]} has no variable {missing[0]!r} (it has: {have})"
                )
        return manifest, wanted

    def _load_units(
        self,
        manifest: dict[str, Any],
        unit_ids: Iterable[int],
        namespace: dict,
        progress: Progress | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        units = [manifest["units"][i] for i in sorted(set(unit_ids))]
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        total = sum(u["stream_size"] + sum(b["nbytes"] for b in u["buffers"]) for u in units) or 1
        done = 0
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="mlvc-read") as pool:
            # Every read of every unit is queued first (reading and verifying run in the
            # pool), then the units are unpickled in order as their bytes arrive.
            planned: List[tuple[dict[str, Any], List[Future], List[Any], List[Future]]] = []
            for unit in units:
                what = _describe_names(unit["names"])
                streams = [
                    pool.submit(self.objects.get, oid, what, CHUNK_SIZE) for oid in unit["stream"]
                ]
                buffers: List[Any] = []
                jobs: List[Future] = []
                for b in unit["buffers"]:
                    buf = _buffer(b["nbytes"])
                    view = memoryview(buf)
                    for i, oid in enumerate(b["chunks"]):
                        part = view[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE]
                        jobs.append(pool.submit(self.objects.read_into, oid, part, what))
                    buffers.append(buf)
                planned.append((unit, streams, buffers, jobs))
            for unit, streams, buffers, jobs in planned:
                try:
                    failure = next(
                        (e for e in (f.exception() for f in [*streams, *jobs]) if e is not None),
                        None,
                    )
                    if failure is not None:
                        raise failure
                    stream = b"".join(f.result() for f in streams)
                    value = pickling.loads(stream, namespace, buffers=buffers)
                except DamagedStore as exc:
                    for n in unit["names"]:
                        errors[n] = str(exc)
                    continue
                except Exception as exc:
                    reason = f"cannot be restored: {type(exc).__name__}: {exc}"
                    for n in unit["names"]:
                        errors[n] = reason.splitlines()[0][:300]
                    continue
                finally:
                    done += unit["stream_size"] + sum(b["nbytes"] for b in unit["buffers"])
                    if progress is not None:
                        progress(done, total)
                if len(unit["names"]) == 1:
                    values[unit["names"][0]] = value
                else:
                    values.update(value)
        return values, errors

    def _values(
        self,
        sid: str,
        names: Iterable[str] | None,
        current: dict | None,
        target: dict,
        progress: Progress | None = None,
        current_hashes: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], List[str], dict[str, str], dict[str, Any]]:
        """``(loaded values, unchanged names, errors, manifest)`` for a checkout of ``sid``.

        ``current_hashes`` (of ``current``'s variables) may come from the caller, who
        computed them anyway; otherwise they are computed here, for the variables whose
        type and summary match the snapshot's (a differing summary means a differing value).
        """
        manifest, wanted = self._plan(sid, names)
        self._check_trust(sid)
        variables = manifest["variables"]
        unchanged: List[str] = []
        if current is not None:
            present = [n for n in wanted if n in current]
            if current_hashes is None and present:
                alike = [n for n in present if _looks_alike(current[n], variables[n])]
                current_hashes = (
                    self._hashes(capture_mod.capture(current, only=alike)) if alike else {}
                )
            if present:
                unchanged = [
                    n for n in present if (current_hashes or {}).get(n) == variables[n]["hash"]
                ]
        # A unit is loaded whole: its variables share objects, so they come back together.
        need_units = {variables[n]["unit"] for n in wanted if n not in unchanged}
        loaded, errors = self._load_units(manifest, need_units, target, progress)
        wanted_set = set(wanted)
        values = {n: v for n, v in loaded.items() if n in wanted_set or names is None}
        unchanged = [n for n in unchanged if n not in values and n not in errors]
        return values, unchanged, {n: e for n, e in errors.items() if n in wanted_set}, manifest

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
        if isinstance(names, str):
            names = [names]
        sid = self.resolve(ref, notebook_path)
        target = current if current is not None else {}
        values, unchanged, errors, manifest = self._values(sid, names, current, target)
        result = {n: current[n] for n in unchanged} if current is not None else {}
        result.update(values)
        if current is None:
            _redo_imports(target, manifest)
            target.update(values)
        if errors:
            raise RestoreError(_errors_line(sid, errors), result, errors)
        return result

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
        """
        started = time.perf_counter()
        if isinstance(names, str):
            names = [names]
        exclude = list(exclude or ())
        rng_restored: List[str] = []
        sid = self.resolve(ref, notebook_path)
        nb = self.notebook_key(notebook_path) if notebook_path is not None else self.scope(None)
        self._plan(sid, names)
        self._check_trust(sid)
        saved = None
        current_hashes = None
        if save:
            captured = capture_mod.capture(namespace, exclude=exclude)
            current_hashes = self._hashes(captured)
            if captured.variables or captured.skipped:
                head = refs.head_id(self.index.conn, nb)
                if head is None or not self._status_of(captured, head, current_hashes).clean:
                    if self.index.read_only:
                        raise ReadOnlyStore(
                            f"the store {self.path} is read-only, so the current state cannot be "
                            f"saved before checking out {sid[:8]}; nothing was changed. To load it "
                            "anyway, without a way back: %mlvc checkout --no-save (save=False)"
                        )
                    saved = self._commit_captured(
                        captured,
                        f"auto: before checkout of {sid[:8]}",
                        nb,
                        _notebook_bytes(notebook),
                        {},
                        auto=True,
                        notebook_source=notebook_source,
                    )
        values, unchanged, errors, manifest = self._values(
            sid, names, namespace, namespace, progress, current_hashes
        )
        removed: List[str] = []
        if names is None:
            current, _, _ = capture_mod.select(namespace, exclude=exclude)
            keep = set(manifest["variables"]) | set(manifest["skipped"])
            removed = sorted(n for n in current if n not in keep)
            for n in removed:
                del namespace[n]
            _redo_imports(namespace, manifest)
            if rng and manifest.get("rng"):
                try:
                    rng_restored = restore_rng(
                        self.objects.get(manifest["rng"], "the random state", MAX_RNG)
                    )
                except Exception as exc:
                    errors["(random state)"] = (
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    )
        namespace.update(values)
        if names is None and self.index.read_only:
            errors["(HEAD)"] = f"HEAD stays where it was: the store {self.path} is read-only"
        elif names is None and not [n for n in errors if not n.startswith("(")]:
            with self.index.write() as db:
                tips = refs.branches_at(db, nb, sid)
                state = refs.head(db, nb)
                self._recent[nb] = (
                    sid,
                    {n: id(namespace[n]) for n in manifest["variables"] if n in namespace},
                )
                if state and state[0] in tips:
                    pass
                elif tips:
                    refs.set_head(db, nb, branch=tips[0])
                else:
                    refs.set_head(db, nb, snapshot=sid, from_branch=manifest.get("branch"))
        return RestoreReport(
            snapshot=self.show(sid),
            restored=sorted(values),
            removed=removed,
            unchanged=sorted(unchanged),
            errors=errors,
            saved=saved,
            seconds=round(time.perf_counter() - started, 3),
            rng=rng_restored,
        )

    # -- status ----------------------------------------------------------------

    def _status_of(
        self, captured: capture_mod.Captured, base: str | None, hashes: dict[str, str] | None = None
    ) -> Status:
        if hashes is None:
            hashes = self._hashes(captured)
        stored: dict[str, str] = {}
        if base is not None:
            stored = {
                r["name"]: r["hash"]
                for r in self.index.rows(
                    "select name, hash from variables where snapshot = ?", [base]
                )
            }
        status = Status(base=base, skipped=dict(captured.skipped))
        for name in sorted(hashes):
            if name not in stored:
                status.added.append(name)
            elif stored[name] != hashes[name]:
                status.changed.append(name)
            else:
                status.unchanged.append(name)
        status.removed = sorted(n for n in stored if n not in hashes and n not in captured.skipped)
        return status

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
        base = None
        if ref is not None:
            try:
                base = self.resolve(ref, notebook_path)
            except UnknownRef:
                if str(ref).upper() != "HEAD":
                    raise
        status = self._status_of(capture_mod.capture(namespace, only, exclude), base)
        if only is not None:
            wanted = set(only)
            status.removed = [n for n in status.removed if n in wanted]
        return status

    # -- diff ------------------------------------------------------------------

    def diff(
        self,
        a: str,
        b: str | dict[str, Any] | None = None,
        *,
        notebook_path: Any = None,
        current_notebook: Any = None,
        exclude: Iterable[str] | None = None,
        values: bool = True,
    ):
        """What changed from snapshot ``a`` to ``b`` (a ref, HEAD by default, or a
        namespace: the current state). Returns a ``Diff``; ``.to_dict()`` is JSON."""
        from .ops.diff import diff

        return diff(
            self,
            a,
            b,
            notebook_path=notebook_path,
            current_notebook=current_notebook,
            exclude=exclude,
            values=values,
        )

    # -- maintenance -----------------------------------------------------------

    def fsck(self):
        """Re-hash every object; list what is missing or corrupt, by snapshot and variable."""
        from .ops.maintenance import fsck

        return fsck(self)

    def gc(self, dry_run: bool = False, grace_seconds: float = 3600.0) -> int:
        """Remove objects no snapshot uses any more; returns the bytes freed (or that would be).

        Objects younger than ``grace_seconds`` are spared: a commit running right now
        may be about to reference them.
        """
        from .ops.maintenance import gc

        return gc(self, dry_run=dry_run, grace_seconds=grace_seconds)

    def rebuild_index(self, rejected: dict[str, str] | None = None) -> Rebuilt:
        """Recover a lost or damaged index from the manifests. Returns a ``Rebuilt``: the
        snapshots recovered, and those no key you accept vouches for (they must be
        trusted before they restore); the others restore as before. Manifests that do
        not validate are left out, each with its reason in ``rejected`` if given."""
        from .ops.maintenance import rebuild_index

        return rebuild_index(self, rejected)

    # -- remotes: sharing snapshots (see jupyter_mlvc/ops/remote.py and docs/remotes.md) ----

    def remotes(self) -> dict[str, Any]:
        """The remotes this store knows: ``{name: RemoteConfig(name, url, options)}``."""
        from .ops.remote import remote_configs

        return remote_configs(self)

    def remote_add(
        self,
        name: str,
        url: str | os.PathLike,
        *,
        endpoint_url: str | None = None,
        profile: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        """Remember a remote: an fsspec URL (``s3://bucket/prefix``, a folder, ...).

        ``endpoint_url`` points s3 at a MinIO-style server, ``profile`` picks an AWS
        profile, ``options`` go to the filesystem (s3fs). Credentials come from the
        environment or the profile and are never stored.

        >>> repo.remote_add("team", "s3://ml/mlvc", endpoint_url="http://minio:9000")  # doctest: +SKIP
        """
        from .ops.remote import add_remote

        return add_remote(
            self, name, url, endpoint_url=endpoint_url, profile=profile, options=options
        )

    def remote_remove(self, name: str) -> None:
        """Forget a remote (what it holds is left as it is)."""
        from .ops.remote import remove_remote

        remove_remote(self, name)

    def push(
        self,
        remote: str | None = None,
        refs: Iterable[str] | str | None = None,
        *,
        all: bool = False,
        notebook_path: Any = None,
        progress: Progress | None = None,
        workers: int = 8,
    ):
        """Upload snapshots (default: the current branch) and their ancestors that the
        remote lacks. Incremental, parallel, resumable. Returns a ``TransferReport``."""
        from .ops.remote import open_remote, push

        return push(
            self,
            open_remote(self, remote),
            refs,
            all=all,
            notebook_path=notebook_path,
            progress=progress,
            workers=workers,
        )

    def pull(
        self,
        remote: str | None = None,
        refs: Iterable[str] | str | None = None,
        *,
        all: bool = False,
        notebook_path: Any = None,
        progress: Progress | None = None,
        workers: int = 8,
    ):
        """Download snapshots from a remote (default: the current branch; everything
        into an empty store). Pulled snapshots restore only once trusted, unless signed
        with your key or a trusted key. Returns a ``TransferReport``."""
        from .ops.remote import open_remote, pull

        return pull(
            self,
            open_remote(self, remote),
            refs,
            all=all,
            notebook_path=notebook_path,
            progress=progress,
            workers=workers,
        )

    def remote_log(
        self,
        remote: str | None = None,
        notebook_path: Any = None,
        *,
        all: bool = False,
        limit: int | None = None,
        include_auto: bool = True,
        sort: str | None = None,
    ):
        """What a remote holds, as ``log`` shows it (a DataFrame, newest first)."""
        from .ops.remote import open_remote, remote_log

        return remote_log(
            self,
            open_remote(self, remote),
            notebook_path,
            all=all,
            limit=limit,
            include_auto=include_auto,
            sort=sort,
        )

    def remote_snapshots(self, remote: str | None = None, notebook_path: Any = None, *, all=False):
        """What a remote holds as ``RemoteSnapshot`` records (with signer, local, trusted_by)."""
        from .ops.remote import open_remote, remote_snapshots

        return remote_snapshots(self, open_remote(self, remote), notebook_path, all=all)

    def trust_key(self, path: str | os.PathLike, name: str | None = None):
        """Trust snapshots signed with a teammate's key file (``trust --key FILE``);
        accepts those already pulled. Returns a ``KeyTrust``."""
        from .ops.remote import trust_key

        return trust_key(self, path, name)

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _address(view: memoryview) -> int:
    """Identifies the memory behind a buffer while the capture keeps it alive."""
    return id(view.obj)


@contextlib.contextmanager
def _write_errors(store: Path, outcome: str = "nothing was committed"):
    """A failed write (disk full, I/O error, read-only store) becomes one clear line.
    The write batch and the index transaction have already undone their part."""
    try:
        yield
    except OSError as exc:
        what = exc.strerror or str(exc)
        code = f" ({errno.errorcode.get(exc.errno, exc.errno)})" if exc.errno else ""
        raise WriteFailed(f"{outcome}: cannot write to the store {store}: {what}{code}") from exc
    except sqlite3.OperationalError as exc:
        raise WriteFailed(f"{outcome}: cannot write the index of {store}: {exc}") from exc


def _buffer(nbytes: int) -> Any:
    """Writable memory for an out-of-band buffer. Large ones are anonymous maps: the
    system hands out zeroed pages as they are first written, where a bytearray would
    first be filled with zeros in full."""
    if nbytes >= CHUNK_SIZE:
        return mmap.mmap(-1, nbytes)
    return bytearray(nbytes)


def _looks_alike(value: Any, stored: dict[str, Any]) -> bool:
    """False when ``value`` surely differs from a stored variable: another type or summary.
    Cheap, so that a checkout hashes only the values that may be equal."""
    type_, summary = summarize(value)
    return type_ == stored["type"] and summary == stored["summary"]


def _redo_imports(namespace: dict[str, Any], manifest: dict[str, Any]) -> None:
    """Bring back the modules and imported names the snapshot's namespace had."""
    for alias, module in manifest.get("modules", {}).items():
        if alias not in namespace:
            with contextlib.suppress(Exception):
                namespace[alias] = importlib.import_module(module)
    for alias, spec in manifest.get("imports", {}).items():
        if alias not in namespace:
            with contextlib.suppress(Exception):
                namespace[alias] = capture_mod.resolve_import(spec)


def _errors_line(sid: str, errors: dict[str, str]) -> str:
    first = next(iter(errors.values()))
    names = ", ".join(repr(n) for n in errors)
    return f"snapshot {sid[:8]}: could not restore {names}: {first}"


__all__ = ["MlvcError", "Repo", "load", "log_metrics"]
