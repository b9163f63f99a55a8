"""A restore: a snapshot's variables come back into a namespace.

Only trusted snapshots are unpickled. Variables whose current value already equals
the snapshot's (same hash) are not read; every other unit's chunks are read in
parallel, verified, and unpickled in order. A full restore first commits the current
state when it differs from HEAD (so it can be undone), removes the variables the
snapshot did not have, brings back its imports and random state, and moves HEAD.
"""

from __future__ import annotations

import contextlib
import importlib
import mmap
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import (
    BadInput,
    DamagedStore,
    ReadOnlyStore,
    RestoreError,
    UnknownVariable,
    Untrusted,
)
from ..snapshot import RestoreReport, Status
from ..state import capture as capture_mod
from ..state import pandas_cow, pickling
from ..state.rng import restore_rng
from ..state.summary import summarize
from ..store import catalog, refs
from ..store.objects import CHUNK_SIZE, MAX_RNG
from .commit import commit_captured, hashes, notebook_bytes, status_of

if TYPE_CHECKING:
    from ..repo import Repo

Progress = Callable[[int, int], None]

#: Per store and stored hash: the hash of that value once restored, where they differ
#: (see :func:`same_once_restored`). Kept for the life of the process.
_RESTORED_HASHES: dict[tuple[str, str], str] = {}
#: Units whose pickle is at most this size (and holds no out-of-band buffer) are read
#: in the restoring thread rather than the pool.
SMALL_UNIT = 64 * 2**10
#: The most bytes one status reads back to recognise restored values.
MAX_RECHECK_BYTES = 64 * 2**20

#: What a full restore does with the variables the snapshot skipped at commit (open
#: files, generators, ...): keep today's values, named in the report, or remove them.
SKIPPED_CHOICES = ("keep", "remove")


def plan(
    repo: Repo, sid: str, names: Iterable[str] | None, manifest: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The manifest of ``sid`` (read unless given) and the variables to restore
    (``UnknownVariable`` if one of ``names`` is not in it, saying why when it was
    skipped at commit)."""
    if manifest is None:
        manifest = repo.manifest(sid)
    variables = manifest["variables"]
    if names is None:
        return manifest, list(variables)
    wanted = list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in variables]
    if missing:
        why = manifest["skipped"].get(missing[0])
        if why:
            raise UnknownVariable(f"{missing[0]!r} was not saved in snapshot {sid[:8]}: {why}")
        have = ", ".join(sorted(variables)[:10]) or "nothing"
        raise UnknownVariable(f"snapshot {sid[:8]} has no variable {missing[0]!r} (it has: {have})")
    return manifest, wanted


def load_units(
    repo: Repo,
    manifest: dict[str, Any],
    unit_ids: Iterable[int],
    namespace: dict,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, errors)`` of the units ``unit_ids`` of a (trusted) manifest."""
    units = [manifest["units"][i] for i in sorted(set(unit_ids))]
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    total = sum(_unit_size(u) for u in units) or 1
    done = 0
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="mlvc-read") as pool:
        # Every read of every unit is queued first (reading and verifying run in the
        # pool), then the units are unpickled in order as their bytes arrive.
        planned = [_queue_reads(repo, pool, unit) for unit in units]
        for unit, streams, buffers, jobs in planned:
            try:
                value = _unpickle(streams, buffers, jobs, namespace)
            except DamagedStore as exc:
                errors.update(dict.fromkeys(unit["names"], str(exc)))
                continue
            except Exception as exc:
                reason = f"cannot be restored: {type(exc).__name__}: {exc}"
                errors.update(dict.fromkeys(unit["names"], reason.splitlines()[0][:300]))
                continue
            finally:
                done += _unit_size(unit)
                if progress is not None:
                    progress(done, total)
            if len(unit["names"]) == 1:
                values[unit["names"][0]] = value
            else:
                pandas_cow.separate(value)
                values.update(value)
    return values, errors


def _unit_size(unit: dict[str, Any]) -> int:
    return unit["stream_size"] + sum(b["nbytes"] for b in unit["buffers"])


def _queue_reads(
    repo: Repo, pool: ThreadPoolExecutor, unit: dict[str, Any]
) -> tuple[dict[str, Any], list[Future], list[Any], list[Future]]:
    what = _describe_names(unit["names"])
    if not unit["buffers"] and unit["stream_size"] <= SMALL_UNIT:
        # Handing a small read to the pool costs more than the read: hundreds of small
        # variables restore faster read here, one after the other.
        return (
            unit,
            [_read_now(repo.objects.get, oid, what, CHUNK_SIZE) for oid in unit["stream"]],
            [],
            [],
        )
    streams = [pool.submit(repo.objects.get, oid, what, CHUNK_SIZE) for oid in unit["stream"]]
    buffers: list[Any] = []
    jobs: list[Future] = []
    for b in unit["buffers"]:
        buf = _buffer(b["nbytes"])
        view = memoryview(buf)
        for i, oid in enumerate(b["chunks"]):
            part = view[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE]
            jobs.append(pool.submit(repo.objects.read_into, oid, part, what))
        buffers.append(buf)
    return unit, streams, buffers, jobs


def _read_now(read: Callable[..., bytes], *args: Any) -> Future:
    """``read(*args)`` done now, as a finished future (its error kept for ``_unpickle``)."""
    done: Future = Future()
    try:
        done.set_result(read(*args))
    except Exception as exc:
        done.set_exception(exc)
    return done


def _unpickle(streams: list[Future], buffers: list[Any], jobs: list[Future], namespace: dict):
    failure = next(
        (e for e in (f.exception() for f in [*streams, *jobs]) if e is not None),
        None,
    )
    if failure is not None:
        raise failure
    stream = b"".join(f.result() for f in streams)
    return pickling.loads(stream, namespace, buffers=buffers)


def values(
    repo: Repo,
    sid: str,
    names: Iterable[str] | None,
    current: dict | None,
    target: dict,
    progress: Progress | None = None,
    current_hashes: dict[str, str] | None = None,
    manifest: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str], dict[str, str], dict[str, Any]]:
    """``(loaded values, unchanged names, errors, manifest)`` for a checkout of ``sid``.

    ``current_hashes`` (of ``current``'s variables) may come from the caller, who
    computed them anyway; otherwise they are computed here, for the variables whose
    type and summary match the snapshot's (a differing summary means a differing value).
    ``manifest`` is ``sid``'s, when the caller has read it already.
    """
    manifest, wanted = plan(repo, sid, names, manifest)
    repo.require_trusted(sid)
    variables = manifest["variables"]
    unchanged: list[str] = []
    if current is not None:
        present = [n for n in wanted if n in current]
        if current_hashes is None and present:
            alike = [n for n in present if _looks_alike(current[n], variables[n])]
            current_hashes = hashes(capture_mod.capture(current, only=alike)) if alike else {}
        unchanged = [n for n in present if (current_hashes or {}).get(n) == variables[n]["hash"]]
    # A unit is loaded whole: its variables share objects, so they come back together.
    need_units = {variables[n]["unit"] for n in wanted if n not in unchanged}
    loaded, errors = load_units(repo, manifest, need_units, target, progress)
    wanted_set = set(wanted)
    out = {n: v for n, v in loaded.items() if n in wanted_set or names is None}
    unchanged = [n for n in unchanged if n not in out and n not in errors]
    return out, unchanged, {n: e for n, e in errors.items() if n in wanted_set}, manifest


def checkout(
    repo: Repo, sid: str, names: Iterable[str] | None, current: dict | None
) -> dict[str, Any]:
    """``Repo.checkout`` of the snapshot ``sid``; see its docstring."""
    target = current if current is not None else {}
    loaded, unchanged, errors, manifest = values(repo, sid, names, current, target)
    result = {n: current[n] for n in unchanged} if current is not None else {}
    result.update(loaded)
    if current is None:
        redo_imports(target, manifest)
        target.update(loaded)
    if errors:
        raise RestoreError(_errors_line(sid, errors), result, errors)
    return result


def restore(
    repo: Repo,
    sid: str,
    namespace: dict[str, Any],
    names: Iterable[str] | None,
    *,
    nb: str,
    save: bool,
    notebook: Any,
    notebook_source: str | None,
    exclude: list[str],
    progress: Progress | None,
    rng: bool,
    skipped: str = "keep",
) -> RestoreReport:
    """``Repo.restore`` of the snapshot ``sid`` into notebook ``nb``; see its docstring."""
    if skipped not in SKIPPED_CHOICES:
        raise BadInput(f"skipped must be one of {', '.join(SKIPPED_CHOICES)}, not {skipped!r}")
    started = time.perf_counter()
    manifest, _ = plan(repo, sid, names)
    repo.require_trusted(sid)
    saved, current_hashes = None, None
    if save and names is not None and _partial_loses_nothing(repo, namespace, names, nb):
        save = False
    if save:
        saved, current_hashes = save_first(
            repo, f"checkout of {sid[:8]}", namespace, nb, exclude, notebook, notebook_source
        )
    loaded, unchanged, errors, manifest = values(
        repo, sid, names, namespace, namespace, progress, current_hashes, manifest
    )
    removed: list[str] = []
    rng_restored: list[str] = []
    kept: dict[str, str] = {}
    if names is None:
        removed = _remove_others(namespace, manifest, exclude)
        kept = {n: why for n, why in manifest["skipped"].items() if n in namespace}
        if skipped == "remove":
            for n in kept:
                del namespace[n]
            removed, kept = sorted([*removed, *kept]), {}
        redo_imports(namespace, manifest)
        if rng and manifest.get("rng"):
            rng_restored = _restore_rng(repo, manifest, errors)
    namespace.update(loaded)
    if names is None:
        _move_head(repo, sid, nb, namespace, manifest, errors)
    return RestoreReport(
        snapshot=repo.show(sid),
        restored=sorted(loaded),
        removed=removed,
        unchanged=sorted(unchanged),
        errors=errors,
        saved=saved,
        seconds=round(time.perf_counter() - started, 3),
        rng=rng_restored,
        kept=kept,
    )


def _partial_loses_nothing(
    repo: Repo, namespace: dict[str, Any], names: Iterable[str], nb: str
) -> bool:
    """Whether restoring only ``names`` replaces nothing HEAD does not hold: each of them
    is absent, or holds what HEAD holds. Then the whole state need not be saved first
    (only these variables are hashed, whatever the state's size)."""
    head = refs.head_id(repo.index.conn, nb)
    if head is None:
        return False
    present = [n for n in names if n in namespace]
    if not present:
        return True
    stored = catalog.variable_hashes(repo.index.conn, head)
    if any(n not in stored for n in present):
        return False
    captured = capture_mod.capture(namespace, only=present)
    if captured.skipped or set(captured.variables) != set(present):
        return False
    # A variable sharing objects with others hashes with them: compare it alone only
    # when HEAD also held it alone.
    return all(stored.get(n) == h for n, h in hashes(captured).items())


def save_first(
    repo: Repo,
    before: str,
    namespace: dict[str, Any],
    nb: str,
    exclude: list[str],
    notebook: Any,
    notebook_source: str | None,
):
    """Commit the current state when it differs from HEAD, so what comes ``before``
    (``"checkout of 3f2a9c1b"``) can be undone.
    Returns ``(the snapshot saved or None, the current variables' hashes)``."""
    captured = capture_mod.capture(namespace, exclude=exclude)
    current_hashes = hashes(captured)
    if not (captured.variables or captured.skipped):
        return None, current_hashes
    head = refs.head_id(repo.index.conn, nb)
    if head is not None:
        found = status_of(repo, captured, head, current_hashes)
        same = same_once_restored(repo, head, found.changed, current_hashes, namespace)
        if same:
            # Equal to HEAD's values: say so in the hashes, so that a restore of a
            # snapshot holding them leaves them where they are.
            stored = catalog.variable_hashes(repo.index.conn, head)
            current_hashes = {**current_hashes, **{n: stored[n] for n in same}}
            found = status_of(repo, captured, head, current_hashes)
        if found.clean:
            return None, current_hashes
    if repo.read_only:
        raise ReadOnlyStore(
            f"the store {repo.path} is read-only, so the current state cannot be "
            f"saved before the {before}; nothing was changed. To load it "
            "anyway, without a way back: %mlvc checkout --no-save (save=False)"
        )
    saved = commit_captured(
        repo,
        captured,
        f"auto: before {before}",
        nb,
        notebook_bytes(notebook),
        {},
        auto=True,
        notebook_source=notebook_source,
    )
    return saved, current_hashes


def same_once_restored(
    repo: Repo,
    base: str | None,
    changed: Iterable[str],
    current: dict[str, str],
    namespace: dict[str, Any],
) -> list[str]:
    """Those of ``changed`` whose value is what snapshot ``base`` holds, though it
    pickles to other bytes than at commit.

    A restored value can: unpickling shares equal objects that were apart (a
    one-character string comes back as Python's cached one), so pickle's memo writes
    it differently. Such a value is told apart from a changed one by content: its unit
    is read back from ``base`` (trusted snapshots only, at most
    :data:`MAX_RECHECK_BYTES` per call) and hashed again; the two hashes are then
    remembered for the process, so each unit is read back once.
    """
    changed = list(changed)
    if base is None or not changed:
        return []
    manifest = repo.manifest(base)
    variables = manifest["variables"]
    store = str(repo.path)
    todo = {
        variables[n]["unit"]
        for n in changed
        if n in variables and (store, variables[n]["hash"]) not in _RESTORED_HASHES
    }
    if todo and _trusted(repo, base):
        budget = MAX_RECHECK_BYTES
        for unit in sorted(todo, key=lambda u: _unit_size(manifest["units"][u])):
            budget -= _unit_size(manifest["units"][unit])
            if budget < 0:
                break
            loaded, errors = load_units(repo, manifest, [unit], namespace)
            names = manifest["units"][unit]["names"]
            if errors or set(loaded) != set(names):
                continue
            again = hashes(capture_mod.capture(loaded, only=names))
            for n in names:
                if n in again:
                    _RESTORED_HASHES[(store, variables[n]["hash"])] = again[n]
    return [
        n
        for n in changed
        if n in variables
        and n in current
        and _RESTORED_HASHES.get((store, variables[n]["hash"])) == current[n]
    ]


def _trusted(repo: Repo, sid: str) -> bool:
    try:
        repo.require_trusted(sid)
    except Untrusted:
        return False
    return True


def status(
    repo: Repo,
    namespace: dict[str, Any],
    base: str | None,
    *,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> Status:
    """``Repo.status``: how the variables of ``namespace`` (``only`` those, none of
    ``exclude``) differ from snapshot ``base``, a restored value that pickles to other
    bytes counted as unchanged (:func:`same_once_restored`). Writes nothing."""
    captured = capture_mod.capture(namespace, only, exclude)
    current = hashes(captured)
    found = status_of(repo, captured, base, current)
    same = set(same_once_restored(repo, base, found.changed, current, namespace))
    if same:
        found.changed = [n for n in found.changed if n not in same]
        found.unchanged = sorted([*found.unchanged, *same])
    if only is not None:
        wanted = set(only)
        found.removed = [n for n in found.removed if n in wanted]
    return found


def _remove_others(namespace: dict[str, Any], manifest: dict[str, Any], exclude: list[str]):
    """Remove the names the snapshot did not have: variables, and modules and imported
    names too (``from sklearn.linear_model import Lasso`` run after the snapshot)."""
    variables, modules, imports = capture_mod.select(namespace, exclude=exclude)
    keep = {
        *manifest["variables"],
        *manifest["skipped"],
        *manifest.get("modules", {}),
        *manifest.get("imports", {}),
    }
    removed = sorted(n for n in [*variables, *modules, *imports] if n not in keep)
    for n in removed:
        del namespace[n]
    return removed


def _restore_rng(repo: Repo, manifest: dict[str, Any], errors: dict[str, str]) -> list[str]:
    try:
        return restore_rng(repo.objects.get(manifest["rng"], "the random state", MAX_RNG))
    except Exception as exc:
        errors["(random state)"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return []


def _move_head(
    repo: Repo,
    sid: str,
    nb: str,
    namespace: dict[str, Any],
    manifest: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """After a full restore, HEAD names the snapshot: its branch when a branch ends
    there, else detached at it. Not when a variable failed, nor on a read-only store."""
    if repo.read_only:
        errors["(HEAD)"] = f"HEAD stays where it was: the store {repo.path} is read-only"
        return
    if [n for n in errors if not n.startswith("(")]:
        return
    with repo.index.write() as db:
        tips = refs.branches_at(db, nb, sid)
        state = refs.head(db, nb)
        repo.recent[nb] = (
            sid,
            {n: id(namespace[n]) for n in manifest["variables"] if n in namespace},
        )
        if state and state[0] in tips:
            return
        if tips:
            refs.set_head(db, nb, branch=tips[0])
        else:
            refs.set_head(db, nb, snapshot=sid, from_branch=manifest.get("branch"))


def redo_imports(namespace: dict[str, Any], manifest: dict[str, Any]) -> None:
    """Bring back the modules and imported names the snapshot's namespace had, bound as
    they were (``np`` is numpy again if it has been rebound since)."""
    for alias, module in manifest.get("modules", {}).items():
        current = namespace.get(alias)
        if getattr(current, "__name__", None) != module or not isinstance(current, ModuleType):
            with contextlib.suppress(Exception):
                namespace[alias] = importlib.import_module(module)
    for alias, spec in manifest.get("imports", {}).items():
        if alias not in namespace or capture_mod.importable_name(namespace[alias]) != spec:
            with contextlib.suppress(Exception):
                namespace[alias] = capture_mod.resolve_import(spec)


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


def _describe_names(names: list[str]) -> str:
    if len(names) == 1:
        return f"variable {names[0]!r}"
    return "variables " + ", ".join(repr(n) for n in names)


def _errors_line(sid: str, errors: dict[str, str]) -> str:
    first = next(iter(errors.values()))
    names = ", ".join(repr(n) for n in errors)
    return f"snapshot {sid[:8]}: could not restore {names}: {first}"
