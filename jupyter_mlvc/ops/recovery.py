"""After a crash: the snapshots whose bytes may not have reached the disk are checked.

A commit in the ``deferred`` durability mode returns before its objects are flushed
(``store.durability``); its row in ``unflushed`` goes once they are. A row left by a
writer that is gone (a power loss, a reboot, a killed process) names a snapshot
that may be incomplete. Before the next commit writes anything (it could reuse a
damaged object by its name), every object such a snapshot names is re-hashed:

- all intact: the snapshot stays, and is made durable now;
- one damaged or missing: the snapshot is removed from the index, its damaged
  objects are deleted, the branches and HEADs at it move back to its parent, and a
  warning names it. Nothing else is touched: a durable snapshot never names an
  object that was not flushed.
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DamagedStore
from ..store import catalog, durability, refs
from ..store.manifest import manifest_objects, parse_manifest
from ..store.objects import MAX_MANIFEST, is_oid

if TYPE_CHECKING:
    from ..repo import Repo


class LostInCrash(UserWarning):
    """A snapshot was lost in a crash before its bytes reached the disk."""


def recover_after_crash(repo: Repo) -> list[str]:
    """Check what writers that are gone left unflushed: the objects their journals
    list (a damaged one is deleted, so that no commit takes it for whole by its name),
    then their snapshots. Returns the ids of the snapshots removed."""
    if repo.read_only:
        return []
    journals = durability.stale_journals(repo.path)
    for _, oids in journals:
        for oid in oids:
            if is_oid(oid) and repo.objects.verify(oid) is not None:
                repo.objects.delete(oid)
    try:
        stale = durability.stale(repo.index.conn)
    except sqlite3.OperationalError:  # an index older than the table
        stale = []
    if not stale:
        _drop(journals, repo)
        return []
    damaged = {sid: _damaged(repo, sid) for sid in stale}
    lost = [sid for sid in reversed(stale) if damaged[sid]]
    # What stays is made durable before its row goes.
    durability.flush_filesystem(repo.path)
    with repo.index.write() as db:
        for sid in lost:  # newest first: refs fall back through lost parents too
            parents = catalog.parents_of(db, sid)
            refs.retarget(db, sid, parents[0] if parents else None)
            catalog.delete_snapshot(db, sid)
        durability.clear(db, stale)
    _drop(journals, repo)
    for sid in lost:
        for oid in damaged[sid]:
            repo.objects.delete(oid)
        warnings.warn(
            f"snapshot {sid[:8]} was lost in a crash before it reached the disk "
            f"({len(damaged[sid])} damaged or missing objects); its branch moved back "
            "to its parent",
            LostInCrash,
            stacklevel=2,
        )
    return lost


def _drop(journals: list[tuple[Path, list[str]]], repo: Repo) -> None:
    """Remove checked journals, once what they list that stays is on the disk."""
    if not journals:
        return
    durability.flush_filesystem(repo.path)
    for path, _ in journals:
        path.unlink(missing_ok=True)


def _damaged(repo: Repo, sid: str) -> list[str]:
    """The objects of ``sid`` (its manifest first) that are damaged or missing."""
    try:
        manifest = parse_manifest(sid, repo.objects.get(sid, "a manifest", MAX_MANIFEST))
    except DamagedStore:
        return [sid]
    return [oid for oid in manifest_objects(manifest) if repo.objects.verify(oid) is not None]
