"""A commit: a namespace becomes a snapshot, in the store's fixed write order.

Chunks of every unit, the notebook and the random state go to the object store
first (flushed to disk), then the manifest that names them, then the index rows in
one transaction together with the branch and HEAD. A commit that fails at any point
leaves the store as it was; the lease keeps a concurrent ``gc`` off its objects.

Variables a caller knows were not touched since this process's last commit or
restore (``assume_unchanged``) are taken over from HEAD's manifest without being
pickled again: the automatic snapshot after a cell costs what the cell changed.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, UnknownRef, WriteFailed
from ..snapshot import Snapshot, Status
from ..state import capture as capture_mod
from ..state.environment import environment
from ..state.rng import capture_rng, dumps_rng
from ..store import catalog, durability, leases, refs, trust
from ..store.failures import write_errors
from ..store.index import dumps
from ..store.manifest import manifest_objects
from ..store.objects import CHUNK_SIZE, compresses_well, hash_bytes
from .recovery import recover_after_crash

if TYPE_CHECKING:
    from ..repo import Repo

#: The manifest format a commit writes.
FORMAT = 1

Progress = Callable[[int, int], None]

_staged_metrics: dict[str, float] = {}


# -- metrics and the notebook, as given ----------------------------------------------


def check_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    """``{name: float}``, or ``BadInput`` naming the metric that is no number."""
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
    _staged_metrics.update(check_metrics(metrics))


def clear_metrics() -> None:
    """Drop the metrics staged with ``log_metrics`` that no commit took yet."""
    _staged_metrics.clear()


def staged_metrics() -> dict[str, float]:
    """The metrics ``log_metrics`` staged for the next commit."""
    return dict(_staged_metrics)


def notebook_bytes(notebook: Any) -> bytes | None:
    """The notebook as the store keeps it (canonical JSON), or ``BadInput``."""
    if notebook is None:
        return None
    if isinstance(notebook, (bytes, str)):
        try:
            notebook = json.loads(notebook)
        except ValueError as exc:
            raise BadInput(f"the notebook is not valid JSON ({exc})")
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise BadInput("the notebook must be nbformat JSON (a dict with a 'cells' list)")
    notebook = rejoin_lines(json.loads(json.dumps(notebook)))
    return json.dumps(notebook, sort_keys=True, ensure_ascii=False).encode()


def rejoin_lines(nb: dict[str, Any]) -> dict[str, Any]:
    """Join the line lists of a notebook as saved (``"source": ["a\\n", "b"]``) into
    strings, as nbformat's reader does, so that a saved notebook, the editor's content
    and what the API is given are stored in the same shape (in place; returned)."""

    def joined(value: Any) -> Any:
        return (
            "".join(value)
            if isinstance(value, list) and all(isinstance(v, str) for v in value)
            else value
        )

    for cell in nb.get("cells", []):
        if not isinstance(cell, dict):
            continue
        cell["source"] = joined(cell.get("source", ""))
        outputs = cell.get("outputs", [])
        for out in outputs if isinstance(outputs, list) else []:
            if not isinstance(out, dict):
                continue
            if "text" in out:
                out["text"] = joined(out["text"])
            data = out.get("data")
            if isinstance(data, dict):
                for mime, value in data.items():
                    if not mime.endswith("json"):
                        data[mime] = joined(value)
    return nb


class Unchanged(Exception):
    """Raised by ``commit_captured(if_changed=True)`` when the state is HEAD's."""


# -- the commit ----------------------------------------------------------------------


def commit(
    repo: Repo,
    namespace: dict[str, Any],
    message: str,
    *,
    notebook: Any = None,
    nb: str = "",
    metrics: dict[str, Any] | None = None,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    assume_unchanged: Iterable[str] | None = None,
    if_changed: bool = False,
    auto: bool = False,
    notebook_source: str | None = None,
    progress: Progress | None = None,
    rng: bool = True,
) -> Snapshot | None:
    """``Repo.commit`` for the notebook key ``nb``; see its docstring."""
    if not isinstance(message, str):
        raise BadInput("the message must be a string")
    if not isinstance(namespace, dict):
        raise BadInput("the namespace must be a dict (for example globals())")
    merged = check_metrics({**_staged_metrics, **(metrics or {})})
    nb_bytes = notebook_bytes(notebook)
    skip, reuse_from = _reusable(repo, nb, namespace, assume_unchanged)
    captured = capture_mod.capture(namespace, only, exclude, skip=skip)
    if reuse_from is not None:
        _take_over(captured, reuse_from, skip)
    nothing = not captured.variables and not captured.reused
    if if_changed and nothing and refs.head_id(repo.index.conn, nb) is None:
        return None
    if if_changed and repo.read_only:
        # Nothing can be written, but an unchanged state is still nothing to commit.
        current = {**hashes(captured), **{n: e["hash"] for n, e in captured.reused.items()}}
        if _same_as_head(repo, current, nb):
            return None
    try:
        snap = commit_captured(
            repo,
            captured,
            message,
            nb,
            nb_bytes,
            merged,
            auto=auto,
            notebook_source=notebook_source,
            progress=progress,
            rng=rng,
            if_changed=if_changed,
        )
    except Unchanged:
        return None
    for name in merged:
        _staged_metrics.pop(name, None)
    return snap


def commit_captured(
    repo: Repo,
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
    merged: str | None = None,
    if_changed: bool = False,
) -> Snapshot:
    """Write ``captured`` as a snapshot of notebook ``nb``, in the fixed order. ``merged``
    names the snapshot a merge brought in: the second parent, after HEAD.

    ``if_changed``: ``Unchanged`` is raised, and nothing written, when every variable
    hashes as at HEAD. That is found by the pass that stores the chunks, which writes
    none of an unchanged state (each is stored already): the state is hashed once, not
    once to compare and again to store."""
    started = time.perf_counter()
    created_at = time.time()
    env = environment()
    repo.index.require_writable()
    recover_after_crash(repo)
    deferred = repo.durability == "deferred"
    # The lease keeps a concurrent gc from taking the objects stored (or found
    # stored) before the index rows name them, however long the commit takes.
    with (
        write_errors(repo.path),
        leases.hold(repo.path),
        repo.objects.batch(deferred=deferred) as batch,
    ):
        units, var_entries = _store_units(captured, batch, progress)
        if if_changed and _same_as_head(repo, {n: e["hash"] for n, e in var_entries.items()}, nb):
            raise Unchanged  # the batch is dropped: it holds nothing needed now
        nb_oid = batch.put(nb_bytes, compress=True) if nb_bytes is not None else None
        rng_oid = batch.put(dumps_rng(capture_rng()), compress=True) if rng else None
        batch.flush()
        # Deferred: the index commit does not wait for the disk either; the background
        # flush of the filesystem covers its log with the objects.
        with repo.index.write(flush=not deferred) as db:
            parent = refs.head_id(db, nb)
            branch = refs.branch_for_commit(db, nb)
            manifest = {
                "format": FORMAT,
                "message": message,
                "created_at": created_at,
                "notebook_path": nb,
                "notebook": nb_oid,
                "notebook_source": notebook_source if nb_oid else None,
                "parents": [p for p in (parent, merged) if p],
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
            sid = _record(repo, db, batch, manifest, deferred=deferred)
        written = batch.bytes_written
    if deferred:
        durability.FLUSHER.submit(repo.path, sid, batch.journals)
    repo.recent[nb] = (sid, dict(captured.ids))
    snap = repo.show(sid)
    snap.bytes_written = written
    snap.environment["commit_seconds"] = round(time.perf_counter() - started, 3)
    return snap


def _record(repo: Repo, db: Any, batch: Any, manifest: dict[str, Any], *, deferred: bool) -> str:
    """Store the manifest, then its signature and its index rows, in ``db``'s
    transaction; move the branch and HEAD to it. Returns the snapshot's id."""
    nb, branch = manifest["notebook_path"], manifest["branch"]
    sid = batch.put(dumps(manifest).encode(), compress=True)
    # A manifest holds its time of creation: no other commit will name it, so a
    # damaged one is only ever found through its row (``recovery``).
    batch.flush(journal=False)
    _check_still_stored(repo, sid, manifest)
    # The signature's file goes before the index rows, like the objects: a rebuilt
    # index finds it (``trust``).
    trust.add_signature(db, repo.path, sid, repo.key)
    catalog.insert_snapshot(db, sid, manifest, bytes_written=batch.bytes_written)
    refs.set_branch(db, nb, branch, sid)
    refs.set_head(db, nb, branch=branch)
    if deferred:
        durability.mark(db, sid)
    return sid


def _store_units(
    captured: capture_mod.Captured, batch: Any, progress: Progress | None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Store every unit; the manifest's units and variable entries (reused ones too)."""
    units, var_hashes = serialize(captured, batch, progress)
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
    return units, dict(sorted(var_entries.items()))


def _check_still_stored(repo: Repo, sid: str, manifest: dict[str, Any]) -> None:
    gone = leases.missing(repo.objects, [sid, *manifest_objects(manifest)])
    if gone:
        raise WriteFailed(
            f"nothing was committed: {len(gone)} of the snapshot's objects (first "
            f"{gone[0][:12]}) were removed from the store while it was written; commit again"
        )


# -- what can be taken over from HEAD --------------------------------------------------


def _reusable(
    repo: Repo, nb: str, namespace: dict, assume_unchanged: Iterable[str] | None
) -> tuple[set[str], dict | None]:
    """Which variables can be taken over from HEAD's manifest unserialized."""
    if assume_unchanged is None:
        return set(), None
    recent = repo.recent.get(nb)
    head = refs.head_id(repo.index.conn, nb)
    if recent is None or head is None or recent[0] != head:
        return set(), None
    manifest = repo.manifest(head)
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


def _same_as_head(repo: Repo, current: dict[str, str], nb: str) -> bool:
    """Whether the variables' hashes, as a commit would record them, are HEAD's."""
    head = refs.head_id(repo.index.conn, nb)
    return head is not None and current == catalog.variable_hashes(repo.index.conn, head)


# -- chunking and hashing --------------------------------------------------------------


class _HashOnly:
    """Stands in for a write batch when only the hashes are wanted (status, diff)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mlvc-hash")

    def put_async(self, data, compress=None) -> Future:
        return self.pool.submit(hash_bytes, data)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _chunks(view: memoryview) -> Iterator[memoryview]:
    for start in range(0, len(view), CHUNK_SIZE):
        yield view[start : start + CHUNK_SIZE]


def serialize(
    captured: capture_mod.Captured, sink: Any, progress: Progress | None = None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Chunk, hash and (for a write batch) store every unit.

    Returns ``(units, variable hashes)``: the manifest's description of each unit,
    and for each variable a hash that changes when its value, or the set of
    variables it shares objects with, changes.
    """
    jobs: list[tuple[Future, int]] = []
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
    _wait(jobs, progress)
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
    var_hashes.update(_shared_hashes(captured))
    return units, var_hashes


def _wait(jobs: list[tuple[Future, int]], progress: Progress | None) -> None:
    total = sum(n for _, n in jobs) or 1
    sizes = {id(f): n for f, n in jobs}
    done = 0
    for fut in as_completed([f for f, _ in jobs]):
        fut.result()
        done += sizes[id(fut)]
        if progress is not None:
            progress(done, total)


def _shared_hashes(captured: capture_mod.Captured) -> dict[str, str]:
    """The hash of each variable of a shared unit: its own pickle and buffers, and
    which variables it shares with, so that it changes when either does."""
    out: dict[str, str] = {}
    buffer_hash_cache: dict[tuple[int, int], str] = {}
    for unit in captured.units:
        if len(unit.names) == 1:
            continue
        for name in unit.names:
            var = captured.variables[name]
            buffer_hashes = []
            for pb in var.buffers:
                raw = pb.raw()
                # The memory behind a buffer is identified while the capture keeps it alive.
                key = (id(raw.obj), raw.nbytes)
                if key not in buffer_hash_cache:
                    buffer_hash_cache[key] = hash_bytes(raw)
                buffer_hashes.append(buffer_hash_cache[key])
            out[name] = hash_bytes(
                dumps(
                    {
                        "stream": hash_bytes(var.stream),
                        "buffers": buffer_hashes,
                        "shared": sorted(unit.names),
                    }
                ).encode()
            )
    return out


def hashes(captured: capture_mod.Captured) -> dict[str, str]:
    """Each captured variable's hash, as a commit would record it; nothing is stored."""
    sink = _HashOnly()
    try:
        return serialize(captured, sink)[1]
    finally:
        sink.close()


def status_of(
    repo: Repo,
    captured: capture_mod.Captured,
    base: str | None,
    current: dict[str, str] | None = None,
) -> Status:
    """How ``captured`` differs from snapshot ``base`` (None: from nothing)."""
    if current is None:
        current = hashes(captured)
    stored = catalog.variable_hashes(repo.index.conn, base) if base is not None else {}
    status = Status(base=base, skipped=dict(captured.skipped))
    for name in sorted(current):
        if name not in stored:
            status.added.append(name)
        elif stored[name] != current[name]:
            status.changed.append(name)
        else:
            status.unchanged.append(name)
    status.removed = sorted(n for n in stored if n not in current and n not in captured.skipped)
    return status


def base_for_status(repo: Repo, ref: str, notebook_path: Any = None) -> str | None:
    """The snapshot ``ref`` names, or None when it is HEAD and there is none yet."""
    try:
        return repo.resolve(ref, notebook_path)
    except UnknownRef:
        if str(ref).upper() != "HEAD":
            raise
        return None
