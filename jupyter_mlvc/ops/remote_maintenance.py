"""Looking after a remote: remove the objects no pushed snapshot names (``remote gc``),
and check what the remote holds (``remote fsck``).

What is live on a remote follows from its entries alone: every snapshot that has an
entry (well-formed or not) and every object its manifest names. Nothing else is ever
referenced: pulls start from entries. Objects without an entry come from pushes that
were interrupted, or from a push still running; those are why gc

- spares objects younger than a grace period (one hour by default), and
- runs only when no push holds a lease on the remote, while pushes (from this version
  on) do not start while a gc holds one (``Remote.lease``).

A gc that cannot read the manifest of a listed snapshot removes nothing: it could not
tell which objects that snapshot needs. See docs/remotes.md, Looking after a remote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CorruptObject, DamagedStore, MissingObject, RemoteFailed
from ..present.format import format_bytes
from ..store.manifest import manifest_objects, object_sizes, parse_manifest
from ..store.objects import MAX_MANIFEST, MAX_OBJECT, decode, verify_stored
from .remote import Remote, remote_lease, with_objects

if TYPE_CHECKING:
    from ..repo import Repo

#: Objects younger than this are spared by default: a push may be writing them.
GRACE_SECONDS = 3600.0


@dataclass
class RemoteGc:
    """What ``remote gc`` did (or, with ``dry_run``, would do)."""

    remote: str
    dry_run: bool
    objects_removed: int = 0
    bytes_freed: int = 0
    objects_in_use: int = 0
    #: Unreferenced, but younger than the grace period: spared.
    objects_recent: int = 0
    bytes_recent: int = 0
    #: Temporary files and dead leases removed besides objects.
    other_files_removed: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["text"] = self.summary_line()
        return out

    def summary_line(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        text = (
            f"{self.remote}: {verb} {self.objects_removed} objects no pushed snapshot names, "
            f"{format_bytes(self.bytes_freed)} {'would be ' if self.dry_run else ''}freed "
            f"({self.objects_in_use} in use"
        )
        if self.objects_recent:
            text += (
                f"; {self.objects_recent} unnamed but too recent to remove, "
                f"{format_bytes(self.bytes_recent)}"
            )
        return text + ")."


def _live(repo: Repo, remote: Remote) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """The snapshots the remote lists and their manifests (this store's copy when it has
    one, else the remote's); ``DamagedStore`` naming the first that cannot be read."""
    sids = sorted(remote.entry_names())
    manifests: dict[str, dict[str, Any]] = {}

    def read(sid: str) -> tuple[str, dict[str, Any]]:
        if repo.objects.has(sid):
            try:
                return sid, repo.manifest(sid)
            except DamagedStore:
                pass
        raw = remote.read_raw(sid, MAX_MANIFEST)
        data = decode(sid, raw, f"snapshot {sid[:8]}: its manifest", MAX_MANIFEST)
        return sid, parse_manifest(sid, data)

    with ThreadPoolExecutor(remote.workers, thread_name_prefix="mlvc-manifest") as pool:
        for sid, manifest in pool.map(read, sids):
            manifests[sid] = manifest
    return set(sids), manifests


def remote_gc(
    repo: Repo,
    remote: Remote,
    *,
    dry_run: bool = False,
    grace_seconds: float = GRACE_SECONDS,
    progress: Callable[..., Any] | None = None,
) -> RemoteGc:
    """Remove the objects of ``remote`` that no snapshot listed there names and that are
    older than ``grace_seconds``, with the temporary files of abandoned writes and dead
    leases. Nothing is removed when a listed snapshot's manifest cannot be read."""
    started = time.perf_counter()
    report = RemoteGc(remote.name, dry_run)
    with remote.errors("cannot clean"):
        remote.refresh()
        if not remote.check_format():
            raise RemoteFailed(f"remote {remote.name} ({remote.url}) holds no snapshots yet")
        if dry_run:
            _collect(repo, remote, report, grace_seconds, progress)
        else:
            with remote_lease(remote, "gc"):
                _collect(repo, remote, report, grace_seconds, progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _collect(
    repo: Repo,
    remote: Remote,
    report: RemoteGc,
    grace_seconds: float,
    progress: Callable[..., Any] | None,
) -> None:
    try:
        sids, manifests = _live(repo, remote)
    except (MissingObject, CorruptObject, DamagedStore) as exc:
        raise RemoteFailed(
            f"remote {remote.name}: {exc}; nothing was removed (remote fsck {remote.name} "
            "lists what is wrong)"
        )
    live = set(sids)
    for manifest in manifests.values():
        live.update(manifest_objects(manifest))
    objects, _ = remote.object_listing()
    cutoff = time.time() - max(0.0, grace_seconds)
    doomed: dict[str, int] = {}
    for oid, (size, written) in objects.items():
        if oid in live:
            report.objects_in_use += 1
        elif written is None or written > cutoff:
            # A time the listing does not give counts as recent: never removed by mistake.
            report.objects_recent += 1
            report.bytes_recent += size
        else:
            doomed[oid] = size
    others = [
        p for p, (_, written) in remote.temporary_files().items() if written and written <= cutoff
    ]
    others += [lease["path"] for lease in remote.leases(include_dead=True) if lease["dead"]]
    report.objects_removed = len(doomed)
    report.bytes_freed = sum(doomed.values())
    report.other_files_removed = len(others)
    if report.dry_run:
        return
    tell = with_objects(progress)
    total = report.bytes_freed
    tell(0, total, 0, len(doomed))
    done = count = 0
    batch = list(doomed)
    for i in range(0, len(batch), 1000):
        part = batch[i : i + 1000]
        remote.remove([remote.object_path(oid) for oid in part])
        count += len(part)
        done += sum(doomed[oid] for oid in part)
        tell(done, total, count, len(doomed))
    if others:
        remote.remove(others)


@dataclass
class RemoteFsck:
    """What ``remote fsck`` found: one line per problem (none: the remote is sound)."""

    remote: str
    snapshots: int = 0
    objects_checked: int = 0
    bytes_checked: int = 0
    downloaded: bool = False
    problems: list[str] = field(default_factory=list)
    unreferenced: int = 0
    unreferenced_bytes: int = 0
    tags: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["text"] = self.summary_line()
        return out

    def summary_line(self) -> str:
        how = "downloaded and verified" if self.downloaded else "present"
        text = (
            f"{self.remote}: {self.snapshots} snapshots, {self.objects_checked} objects "
            f"{how} ({format_bytes(self.bytes_checked)}), {self.tags} tags"
        )
        if self.unreferenced:
            text += (
                f"; {self.unreferenced} objects no snapshot names "
                f"({format_bytes(self.unreferenced_bytes)}: remote gc removes them)"
            )
        if self.problems:
            n = len(self.problems)
            return text + f"; {n} problem{'s' if n != 1 else ''}:\n" + "\n".join(self.problems)
        return text + "; no problems."


def remote_fsck(
    repo: Repo,
    remote: Remote,
    *,
    download: bool = False,
    progress: Callable[..., Any] | None = None,
) -> RemoteFsck:
    """Check ``remote``: its entries and tags parse, every listed snapshot's manifest is
    there and valid, and every object a manifest names is there and no larger than it
    may be. With ``download``, every object is also read and checked against its hash
    (a piece at a time: memory for its stored size only). Changes nothing."""
    started = time.perf_counter()
    report = RemoteFsck(remote.name, downloaded=download)
    with remote.errors("cannot check"):
        remote.refresh()
        if not remote.check_format():
            raise RemoteFailed(f"remote {remote.name} ({remote.url}) holds no snapshots yet")
        _check(repo, remote, report, download, progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _check(
    repo: Repo,
    remote: Remote,
    report: RemoteFsck,
    download: bool,
    progress: Callable[..., Any] | None,
) -> None:
    listed = remote.snapshots()
    report.problems.extend(remote.rejected.values())
    sids = sorted(set(listed) | set(remote.rejected))
    report.snapshots = len(sids)
    objects, strays = remote.object_listing()
    report.problems.extend(f"{name} is no object (left alone)" for name in strays)
    limits: dict[str, int] = {}
    named: set[str] = set(sids)
    for sid in sids:
        if sid not in objects:
            report.problems.append(f"snapshot {sid[:8]}: its manifest is missing")
            continue
        try:
            raw = remote.read_raw(sid, MAX_MANIFEST)
            manifest = parse_manifest(
                sid, decode(sid, raw, f"snapshot {sid[:8]}: its manifest", MAX_MANIFEST)
            )
        except DamagedStore as exc:
            report.problems.append(str(exc))
            continue
        limits[sid] = MAX_MANIFEST
        for oid, size in object_sizes(manifest).items():
            limits[oid] = max(limits.get(oid, 0), size)
        missing = [oid for oid in manifest_objects(manifest) if oid not in objects]
        named.update(manifest_objects(manifest))
        if missing:
            report.problems.append(
                f"snapshot {sid[:8]}: {len(missing)} of its objects are missing "
                f"(first {missing[0][:12]})"
            )
    tags = remote.tags()
    report.tags = len(tags)
    report.problems.extend(remote.tag_problems)
    report.problems.extend(
        f"tag {name} names snapshot {sid[:8]}, which the remote does not list"
        for name, sid in tags.items()
        if sid not in named
    )
    present = {oid: objects[oid][0] for oid in limits if oid in objects}
    for oid, size in present.items():
        if size == 0 or size > limits[oid] + 1:
            report.problems.append(
                f"object {oid[:12]} is corrupt: stored as {size} bytes (it may hold {limits[oid]})"
            )
    unreferenced = {oid: size for oid, (size, _) in objects.items() if oid not in named}
    report.unreferenced = len(unreferenced)
    report.unreferenced_bytes = sum(unreferenced.values())
    report.objects_checked = len(present)
    report.bytes_checked = sum(present.values())
    if download:
        _download_all(remote, present, limits, report, progress)


def _download_all(
    remote: Remote,
    present: dict[str, int],
    limits: dict[str, int],
    report: RemoteFsck,
    progress: Callable[..., Any] | None,
) -> None:
    tell = with_objects(progress)
    total = sum(present.values())
    done = count = 0
    tell(0, total, 0, len(present))

    def one(oid: str) -> tuple[str, int, str | None]:
        limit = limits.get(oid, MAX_OBJECT)
        try:
            raw = remote.read_raw(oid, limit)
            verify_stored(oid, raw, f"object {oid[:12]}", limit)
        except DamagedStore as exc:
            return oid, present[oid], str(exc)
        return oid, len(raw), None

    with ThreadPoolExecutor(remote.workers, thread_name_prefix="mlvc-fsck") as pool:
        for _, size, problem in pool.map(one, present):
            count += 1
            done += size
            if problem:
                report.problems.append(problem)
            tell(done, total, count, len(present))


__all__ = ["GRACE_SECONDS", "RemoteFsck", "RemoteGc", "remote_fsck", "remote_gc"]
