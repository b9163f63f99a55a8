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
        return {"kind": self.kind, "object": self.object, "snapshot": self.snapshot, "what": self.what, "text": str(self)}


def _manifest_objects(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Every object a manifest names, with what it holds."""
    out = []
    for unit in manifest.get("units", []):
        names = unit.get("names", [])
        what = f"variable {names[0]!r}" if len(names) == 1 else "variables " + ", ".join(repr(n) for n in names)
        out.extend((oid, what) for oid in unit.get("stream", []))
        for b in unit.get("buffers", []):
            out.extend((oid, what) for oid in b.get("chunks", []))
    if manifest.get("notebook"):
        out.append((manifest["notebook"], "the notebook"))
    return out


def fsck(repo: Repo) -> list[Problem]:
    problems: list[Problem] = []
    try:
        check = repo.index.rows("pragma integrity_check")
        if check and list(check[0].values())[0] != "ok":
            problems.append(Problem("corrupt", what="the index (index.sqlite)"))
        snapshots = [r["id"] for r in repo.index.rows("select id from snapshots order by created_at")]
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
