"""Leases: how a running commit or pull keeps ``gc`` from taking objects it will name.

A writer stores objects (or finds them already stored) first and inserts the index
rows that name them last; until then they look unused, and a pull may take hours.
So a writer holds a lease for its whole run: a file ``leases/<pid>-<random>`` made
before it touches its first object and removed after its rows are in. The lease's
start is the file's mtime, set by the same clock as the objects' mtimes.

``gc`` spares every object whose mtime is not older than the oldest live lease:
what a writer stores is newer than its lease, and what it finds already stored gets
its mtime refreshed (``ObjectStore.has``). To decide without a race against such a
refresh, ``gc`` first renames a candidate aside, then reads its mtime and the leases,
and renames it back when it must be spared (see ``maintenance.gc``).

A lease whose process is gone (same host, no such pid) is ignored and removed: a
writer that was killed holds nothing. A lease from another host cannot be checked
and counts as live until its file is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .objects import ObjectStore

LEASES_DIR = "leases"
#: Margin under the oldest lease: some filesystems keep times in whole seconds (or two).
CLOCK_SLACK_S = 2.0
#: The most of a lease file read: a lease is well under this.
_LEASE_BYTES = 4096


@dataclass(frozen=True)
class Lease:
    """A writer that is (or may be) running: its file, process, host and start."""

    path: Path
    pid: int | None
    host: str
    started: float


@contextlib.contextmanager
def hold(store: Path) -> Iterator[Path]:
    """Hold a lease on ``store`` (a ``.mlvc`` folder) while the block runs."""
    folder = store / LEASES_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{os.getpid()}-{secrets.token_hex(6)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}, f)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def live(store: Path, reap: bool = False) -> list[Lease]:
    """The leases of writers that may still run, oldest first. ``reap`` removes the
    files of those that surely do not."""
    folder = store / LEASES_DIR
    if not folder.is_dir():
        return []
    host = socket.gethostname()
    out: list[Lease] = []
    for path in folder.iterdir():
        try:
            started = path.lstat().st_mtime
            info = json.loads(_read_small(path))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            # Being written right now, or not a lease at all: it may be a live writer.
            out.append(Lease(path, None, "", _mtime(path)))
            continue
        pid = info.get("pid") if isinstance(info, dict) else None
        lease_host = str(info.get("host", "")) if isinstance(info, dict) else ""
        if isinstance(pid, int) and lease_host == host and not _running(pid):
            if reap:
                path.unlink(missing_ok=True)
            continue
        out.append(Lease(path, pid if isinstance(pid, int) else None, lease_host, started))
    return sorted(out, key=lambda lease: lease.started)


def horizon(store: Path, reap: bool = False) -> float | None:
    """The time before which no running writer touched an object (the oldest live
    lease's start, less a margin), or None when no writer runs."""
    leases = live(store, reap=reap)
    return leases[0].started - CLOCK_SLACK_S if leases else None


def missing(objects: ObjectStore, oids: Iterable[str]) -> list[str]:
    """Those of ``oids`` that ``objects`` lacks. A writer asks inside its index
    transaction, right before inserting the rows that name them: ``gc`` sweeps holding
    the same lock, so what is there then stays there."""
    return [oid for oid in dict.fromkeys(oids) if oid not in objects]


def _read_small(path: Path) -> bytes:
    """A lease's content. Anyone who can write the store may have put anything there:
    only a regular file is read (no FIFO that blocks), and only as much as a lease takes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path.name} is not a lease file")
        return f.read(_LEASE_BYTES)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["CLOCK_SLACK_S", "LEASES_DIR", "Lease", "hold", "horizon", "live", "missing"]
