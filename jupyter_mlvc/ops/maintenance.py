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
from ..store import leases, trust

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


def _manifest_objects(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Every object a manifest names, with what it holds."""
    out: list[tuple[str, str]] = []
    for unit in manifest.get("units", []):
        names = unit.get("names", [])
        what = (
            f"variable {names[0]!r}"
            if len(names) == 1
            else "variables " + ", ".join(repr(n) for n in names)
        )
        out.extend((oid, what) for oid in unit.get("stream", []))
        for b in unit.get("buffers", []):
            out.extend((oid, what) for oid in b.get("chunks", []))
    if manifest.get("notebook"):
        out.append((manifest["notebook"], "the notebook"))
    if manifest.get("rng"):
        out.append((manifest["rng"], "the random state"))
    return out


def manifest_objects(manifest: dict[str, Any]) -> list[str]:
    """The ids of every object a snapshot needs besides its manifest, each once."""
    return list(dict.fromkeys(oid for oid, _ in _manifest_objects(manifest)))


def fsck(repo: Repo) -> list[Problem]:
    problems: list[Problem] = []
    try:
        check = repo.index.rows("pragma integrity_check")
        if check and next(iter(check[0].values())) != "ok":
            problems.append(Problem("corrupt", what="the index (index.sqlite)"))
        snapshots = [
            r["id"] for r in repo.index.rows("select id from snapshots order by created_at")
        ]
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
        for oid, what in _manifest_objects(manifest):
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
    _mark(repo, [r["id"] for r in repo.index.rows("select id from snapshots")], snapshots, live)
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
        _mark(repo, [r[0] for r in db.execute("select id from snapshots")], snapshots, live)
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
        live.update(oid for oid, _ in _manifest_objects(manifest))


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
            nb = insert_snapshot_from_manifest(db, sid, m)
            if m.get("branch"):
                tips[(nb, m["branch"])] = sid
                newest[nb] = (m["branch"], sid)
        for (nb, branch), sid in tips.items():
            db.execute("insert or replace into refs values (?, 'branch', ?, ?)", [nb, branch, sid])
        for nb, (branch, _) in newest.items():
            db.execute(
                "insert or replace into heads (notebook, branch) values (?, ?)", [nb, branch]
            )
        trust.restore_signatures(db, repo.path, [sid for sid, _ in manifests])
    ring = trust.keyring(repo.key)
    recovered = [sid for sid, _ in manifests]
    return Rebuilt(
        recovered, [sid for sid in recovered if not trust.is_trusted(repo.index, sid, ring)]
    )


def insert_snapshot_from_manifest(db: Any, sid: str, m: dict[str, Any]) -> str:
    """Insert the index rows of snapshot ``sid`` (snapshot, parents, variables, skipped,
    metrics) as its manifest ``m`` describes them; rows already there are kept.

    ``db`` is a connection inside a write transaction. The ``changed`` flag of a
    variable compares it with the first parent's rows, so parents go in first.
    Refs and HEADs are the caller's business. Returns the snapshot's notebook key.
    Used to rebuild a lost index and to insert snapshots pulled from a remote; their
    signatures are ``trust``'s business.
    """
    from ..store.index import dumps

    nb = m.get("notebook_path") or ""
    db.execute(
        "insert or ignore into snapshots (id, notebook, message, created_at, branch, n_variables, nbytes,"
        " bytes_written, auto, has_notebook, notebook_source, environment, notebook_object)"
        " values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
        [
            sid,
            nb,
            m.get("message", ""),
            m.get("created_at", 0.0),
            m.get("branch"),
            len(m.get("variables", {})),
            sum(v.get("nbytes", 0) for v in m.get("variables", {}).values()),
            int(bool(m.get("auto"))),
            int(bool(m.get("notebook"))),
            m.get("notebook_source"),
            dumps(m.get("environment", {})),
            m.get("notebook"),
        ],
    )
    for i, parent in enumerate(m.get("parents", [])):
        db.execute("insert or ignore into parents values (?, ?, ?)", [sid, parent, i])
    parent_hashes = {}
    if m.get("parents"):
        parent_hashes = dict(
            db.execute(
                "select name, hash from variables where snapshot = ?", [m["parents"][0]]
            ).fetchall()
        )
    for name, v in m.get("variables", {}).items():
        db.execute(
            "insert or ignore into variables values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                name,
                v["type"],
                dumps(v["summary"]),
                v["nbytes"],
                int(parent_hashes.get(name) != v["hash"]),
                v["hash"],
                v["unit"],
            ],
        )
    for name, reason in m.get("skipped", {}).items():
        db.execute("insert or ignore into skipped values (?, ?, ?)", [sid, name, reason])
    for name, value in m.get("metrics", {}).items():
        db.execute("insert or ignore into metrics values (?, ?, ?)", [sid, name, value])
    return nb
