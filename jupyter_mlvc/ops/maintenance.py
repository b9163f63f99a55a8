"""Keeping a store healthy: ``fsck`` verifies every object, ``gc`` sweeps unused ones,
``rebuild_index`` recovers a lost index from the manifests."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DamagedStore, ReadOnlyStore
from ..store import catalog, durability, leases, refs, trust
from ..store.manifest import named_objects
from .recovery import recover_after_crash

if TYPE_CHECKING:
    from ..repo import Repo


@dataclass
class Problem:
    """One thing ``fsck`` found wrong."""

    kind: str  # "missing", "corrupt", "manifest", "index"
    object: str | None = None
    snapshot: str | None = None
    what: str | None = None

    def __str__(self) -> str:
        where = f"snapshot {self.snapshot[:8]}: " if self.snapshot else ""
        obj = f" (object {self.object[:12]})" if self.object else ""
        return f"{where}{self.what or 'object'} is {self.kind}{obj}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object": self.object,
            "snapshot": self.snapshot,
            "what": self.what,
            "text": str(self),
        }


def fsck(repo: Repo) -> list[Problem]:
    problems: list[Problem] = []
    try:
        if repo.index.intact():
            # Snapshots a crash left unflushed are checked (and removed if damaged) first.
            recover_after_crash(repo)
        else:
            problems.append(Problem("corrupt", what="the index (index.sqlite)"))
        snapshots = [*catalog.snapshot_ids(repo.index.conn)]
    except DamagedStore as exc:
        return [Problem("corrupt", what=f"the index ({exc})")]
    verdicts: dict[str, str | None] = {}

    def verdict(oid: str) -> str | None:
        if oid not in verdicts:
            verdicts[oid] = repo.objects.verify(oid)
        return verdicts[oid]

    for sid in snapshots:
        bad = verdict(sid)
        if bad:
            problems.append(Problem(bad, sid, sid, "the manifest"))
            continue
        try:
            manifest = json.loads(repo.objects.get(sid))
        except ValueError:
            problems.append(Problem("corrupt", sid, sid, "the manifest"))
            continue
        seen = set()
        for oid, what in named_objects(manifest):
            bad = verdict(oid)
            if bad and (oid, what) not in seen:
                seen.add((oid, what))
                problems.append(Problem(bad, oid, sid, what))
    for oid in repo.objects:
        if oid not in verdicts:
            bad = verdict(oid)
            if bad:
                problems.append(Problem(bad, oid, None, "an unused object"))
    return problems


def gc(repo: Repo, dry_run: bool = False, grace_seconds: float = 3600.0) -> int:
    """Mark every object a snapshot of the index uses, sweep the rest; returns the bytes
    freed (or that would be).

    Spared are objects younger than ``grace_seconds`` and every object a running
    commit or pull may still name: those not older than the oldest live lease (see
    ``leases``), however long that writer runs. The sweep holds the index's write
    lock, so a writer's last step (checking that its objects exist, then inserting
    its rows) comes wholly before the sweep, whose mark then sees its rows, or wholly
    after, when a missing object makes it fail rather than name it.
    """
    if not dry_run:
        repo.index.require_writable()
    now = time.time()
    snapshots: set[str] = set()
    live: set[str] = set()
    _mark(repo, catalog.snapshot_ids(repo.index.conn), snapshots, live)
    # Chosen without the lock (reading every object's time takes a while); decided under it.
    candidates = [
        oid
        for oid in repo.objects
        if oid not in live and _mtime(repo.objects.path(oid)) < now - grace_seconds
    ]
    if dry_run:
        cutoff = _cutoff(now, grace_seconds, leases.horizon(repo.path))
        sizes = [_size_if_older(repo.objects.path(oid), cutoff) for oid in candidates]
        return (
            sum(sizes)
            + repo.objects.clean_tmp(older_than=time.time() - cutoff, dry_run=True)
            + trust.sweep_signatures(repo.path, snapshots, cutoff, dry_run=True)
        )
    freed = 0
    with repo.index.write() as db:
        _mark(repo, catalog.snapshot_ids(db), snapshots, live)
        # Each candidate is first moved aside: from then on a writer that looks for it
        # does not find it and stores it again. Its time, read after the move, shows
        # whether a writer found it before; the leases, read after the moves, include
        # every such writer.
        aside = _move_aside(repo, [oid for oid in candidates if oid not in live])
        cutoff = _cutoff(now, grace_seconds, leases.horizon(repo.path, reap=True))
        for oid, moved in aside:
            try:
                st = moved.stat()
            except FileNotFoundError:
                continue
            if st.st_mtime < cutoff:
                freed += st.st_size
                moved.unlink(missing_ok=True)
            else:
                os.replace(moved, repo.objects.path(oid))
        freed += repo.objects.clean_tmp(older_than=time.time() - cutoff)
        freed += trust.sweep_signatures(repo.path, snapshots, cutoff)
    return freed


def _mark(repo: Repo, sids: list[str], snapshots: set[str], live: set[str]) -> None:
    """Add ``sids`` not seen yet, and every object their manifests name, to the sets."""
    for sid in sids:
        if sid in snapshots:
            continue
        snapshots.add(sid)
        live.add(sid)
        try:
            manifest = json.loads(repo.objects.get(sid))
        except (DamagedStore, ValueError):
            continue
        live.update(oid for oid, _ in named_objects(manifest))


def _cutoff(now: float, grace_seconds: float, horizon: float | None) -> float:
    """Objects whose time is before this may go."""
    cutoff = now - grace_seconds
    return cutoff if horizon is None else min(cutoff, horizon)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _size_if_older(path: Path, cutoff: float) -> int:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return 0
    return st.st_size if st.st_mtime < cutoff else 0


def _move_aside(repo: Repo, oids: list[str]) -> list[tuple[str, Path]]:
    """Rename each object into ``tmp/``, where no reader looks; those gone already are left out."""
    repo.objects.tmp.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(4)
    out = []
    for oid in oids:
        moved = repo.objects.tmp / f"gc-{tag}-{oid}"
        try:
            os.rename(repo.objects.path(oid), moved)
        except FileNotFoundError:
            continue
        out.append((oid, moved))
    return out


def _peek_manifest(repo: Repo, oid: str) -> dict[str, Any] | None:
    """The manifest stored as ``oid``, or None if it is another kind of object.
    ``BadManifest`` if it looks like a manifest but is not one this version can read."""
    import zstandard

    from ..store.manifest import parse_manifest
    from ..store.objects import MAX_MANIFEST

    try:
        with repo.objects.open(oid, limit=MAX_MANIFEST) as f:
            header = f.read(1)
            if header == b"R":
                start = f.read(16)
            elif header == b"Z":
                start = zstandard.ZstdDecompressor().stream_reader(f).read(16)
            else:
                return None
    except (OSError, zstandard.ZstdError, DamagedStore):
        return None
    if not start.startswith(b'{"auto":'):
        return None
    data = repo.objects.get(oid, f"the manifest of snapshot {oid[:8]}", MAX_MANIFEST)
    return parse_manifest(oid, data)


@dataclass
class Rebuilt:
    """What ``rebuild_index`` recovered: every snapshot, and those no key you accept
    vouches for (pulled and never trusted, or signed before signatures were kept as
    files), which restore only after ``trust``."""

    recovered: list[str]
    untrusted: list[str]

    def summary_line(self) -> str:
        n = len(self.recovered)
        text = f"recovered {n} snapshot{'s' if n != 1 else ''} from their manifests"
        if self.untrusted:
            k = len(self.untrusted)
            text += (
                f"; {n - k} signed by you or a key you trust restore as before, {k} "
                f"{'is' if k == 1 else 'are'} not signed by a key you trust: inspect "
                f"{'it' if k == 1 else 'them'}, then trust each (`mlvc trust REF`)"
            )
        elif n:
            text += ", all signed by you or a key you trust"
        return text + "; tags are not recoverable"

    def to_dict(self) -> dict[str, Any]:
        return {
            "recovered": len(self.recovered),
            "untrusted": list(self.untrusted),
            "text": self.summary_line(),
        }


def rebuild_index(repo: Repo, rejected: dict[str, str] | None = None) -> Rebuilt:
    """Rebuild a lost or damaged index from the manifests in ``objects/``.

    The damaged file is kept beside it (``index.sqlite.damaged-<time>``). Snapshots,
    parents, variables, metrics, branches and HEADs come back; tags do not (they
    live only in the index). Signatures come back from the files kept beside the
    objects (``trust``), so what was trusted before is trusted again; the rest
    (``Rebuilt.untrusted``) restores once trusted, like any snapshot of unknown origin.
    A manifest that is damaged or malformed is left out, and ``rejected`` (when
    given) maps its id to the one-line reason.
    """
    from ..store.index import Index

    if not repo.index.writable():
        raise ReadOnlyStore(
            f"cannot rebuild the index of {repo.path}: the store is read-only (nothing was changed)"
        )
    # A pending background flush holds a connection to the index (``durability``):
    # done before the files are renamed, so that its close cannot touch the new ones.
    durability.FLUSHER.wait()
    repo.index.close()
    path = repo.index.path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        old = path.with_name(path.name + suffix)
        if old.exists():
            old.rename(path.with_name(f"{path.name}{suffix}.damaged-{stamp}"))
    repo.index = Index(path)
    manifests = []
    for oid in repo.objects:
        try:
            manifest = _peek_manifest(repo, oid)
        except DamagedStore as exc:
            if rejected is not None:
                rejected[oid] = str(exc)
            continue
        if manifest is not None:
            manifests.append((oid, manifest))
    manifests.sort(key=lambda m: m[1].get("created_at", 0))
    tips: dict[tuple[str, str], str] = {}
    newest: dict[str, tuple[str, str]] = {}
    with repo.index.write() as db:
        for sid, m in manifests:
            nb = catalog.insert_snapshot(db, sid, m)
            if m.get("branch"):
                tips[(nb, m["branch"])] = sid
                newest[nb] = (m["branch"], sid)
        for (nb, branch), sid in tips.items():
            refs.set_branch(db, nb, branch, sid)
        for nb, (branch, _) in newest.items():
            refs.set_head(db, nb, branch=branch)
        trust.restore_signatures(db, repo.path, [sid for sid, _ in manifests])
    ring = trust.keyring(repo.key)
    recovered = [sid for sid, _ in manifests]
    return Rebuilt(
        recovered, [sid for sid in recovered if not trust.is_trusted(repo.index, sid, ring)]
    )
