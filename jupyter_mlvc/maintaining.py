"""``Repo``'s methods for looking after a store: check every object, sweep unused ones,
rebuild a lost index. Part of ``Repo``'s public API (``Repo`` inherits them); the work
is done in ``ops.maintenance``. See docs/store-format.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from .repo import Repo


class Maintaining:
    """fsck, gc and the index rebuild."""

    def fsck(self):
        """Re-hash every object; list what is missing or corrupt, by snapshot and variable."""
        from .ops.maintenance import fsck

        return fsck(cast("Repo", self))

    def gc(self, dry_run: bool = False, grace_seconds: float = 3600.0) -> int:
        """Remove objects no snapshot uses any more; returns the bytes freed (or that would
        be). Objects younger than ``grace_seconds``, or that a running commit or pull
        may name, are spared."""
        from .ops.maintenance import gc

        return gc(cast("Repo", self), dry_run=dry_run, grace_seconds=grace_seconds)

    def rebuild_index(self, rejected: dict[str, str] | None = None):
        """Recover a lost or damaged index from the manifests. Returns a ``Rebuilt``: the
        snapshots recovered, and those no key you accept vouches for (they must be
        trusted before they restore); the others restore as before. Manifests that do
        not validate are left out, each with its reason in ``rejected`` if given."""
        from .ops.maintenance import rebuild_index

        return rebuild_index(cast("Repo", self), rejected)
