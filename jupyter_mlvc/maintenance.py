"""Keeping a store healthy: ``fsck`` verifies every object, ``gc`` sweeps unused ones."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DamagedStore

if TYPE_CHECKING:
    from .repo import Repo


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
    """Mark every object a snapshot of the index uses, sweep the rest (older than the grace)."""
    live: set[str] = set()
    for row in repo.index.rows("select id from snapshots"):
        sid = row["id"]
        live.add(sid)
        try:
            manifest = json.loads(repo.objects.get(sid))
        except (DamagedStore, ValueError):
            continue
        live.update(oid for oid, _ in _manifest_objects(manifest))
    freed = 0
    now = time.time()
    for oid in list(repo.objects):
        if oid in live:
            continue
        path = repo.objects.path(oid)
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if now - st.st_mtime < grace_seconds:
            continue
        freed += st.st_size
        if not dry_run:
            repo.objects.delete(oid)
    freed += repo.objects.clean_tmp(older_than=grace_seconds, dry_run=dry_run)
    return freed


def _peek_manifest(repo: Repo, oid: str) -> dict[str, Any] | None:
    """The manifest stored as ``oid``, or None if it is another kind of object."""
    import zstandard

    path = repo.objects.path(oid)
    try:
        with open(path, "rb") as f:
            header = f.read(1)
            if header == b"R":
                start = f.read(16)
            elif header == b"Z":
                start = zstandard.ZstdDecompressor().stream_reader(f).read(16)
            else:
                return None
    except (OSError, zstandard.ZstdError):
        return None
    if not start.startswith(b'{"auto":'):
        return None
    try:
        manifest = json.loads(repo.objects.get(oid))
    except (DamagedStore, ValueError):
        return None
    return (
        manifest
        if isinstance(manifest, dict) and "units" in manifest and "format" in manifest
        else None
    )


def rebuild_index(repo: Repo) -> int:
    """Rebuild a lost or damaged index from the manifests in ``objects/``.

    The damaged file is kept beside it (``index.sqlite.damaged-<time>``). Snapshots,
    parents, variables, metrics, branches and HEADs come back; tags do not (they
    live only in the index). Recovered snapshots carry no signature: they are
    restorable once trusted (``trust``), like any snapshot of unknown origin.
    Returns how many snapshots were recovered.
    """
    from .index import Index

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
        manifest = _peek_manifest(repo, oid)
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
    return len(manifests)


def insert_snapshot_from_manifest(
    db: Any, sid: str, m: dict[str, Any], signature: str | None = None
) -> str:
    """Insert the index rows of snapshot ``sid`` (snapshot, parents, variables, skipped,
    metrics) as its manifest ``m`` describes them; rows already there are kept.

    ``db`` is a connection inside a write transaction. The ``changed`` flag of a
    variable compares it with the first parent's rows, so parents go in first.
    Refs and HEADs are the caller's business. Returns the snapshot's notebook key.
    Used to rebuild a lost index and to insert snapshots pulled from a remote.
    """
    from .index import dumps

    nb = m.get("notebook_path") or ""
    db.execute(
        "insert or ignore into snapshots (id, notebook, message, created_at, branch, n_variables, nbytes,"
        " bytes_written, auto, has_notebook, notebook_source, signature, environment, notebook_object)"
        " values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
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
            signature,
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
