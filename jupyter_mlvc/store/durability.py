"""Durability: when a commit's bytes are safe from a power loss, and what happens if not.

Three modes (``Repo(durability=...)``, or ``MLVC_DURABILITY``):

``deferred`` (the default)
    A commit writes its objects (to the page cache), moves them into place, and
    inserts its index rows together with a row in ``unflushed``; then it returns.
    A background thread flushes the store's filesystem (``syncfs``: one call for
    every file written before it) and deletes the row. A snapshot is **durable**
    once its row is gone, a second or so after the commit returned.
    A killed kernel loses nothing: the page cache belongs to the system.
    After a power loss, the rows left name the snapshots that may be incomplete:
    before the next commit (or ``fsck``), :func:`recover` re-hashes every object
    such a snapshot names; a snapshot whose objects are all intact stays, one with a
    damaged or missing object is removed (its damaged objects too, so that no later
    commit reuses them), its branch and HEAD moved back to its parent, and a warning
    names it. A durable snapshot never names an object that was not flushed: the
    flush after it covers every file written before it, whoever wrote it.

``sync``
    Every object is flushed (``fdatasync``) before the index names it; the commit
    returns durable.

``off``
    Nothing is flushed (``MLVC_FSYNC=0``, as before): a killed process is safe, a
    power loss may lose or damage the newest snapshots without a trace.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

MODES = ("deferred", "sync", "off")
DEFAULT = "deferred"
#: How long the end of the process waits for the last flushes.
EXIT_WAIT_S = 30.0


def mode_from_env() -> str:
    """The mode ``MLVC_DURABILITY`` asks for (``MLVC_FSYNC=0`` means ``off``)."""
    if os.environ.get("MLVC_FSYNC", "1") == "0":
        return "off"
    mode = os.environ.get("MLVC_DURABILITY", DEFAULT).strip().lower()
    return mode if mode in MODES else DEFAULT


def boot_id() -> str:
    """This boot of the machine: a power loss or a reboot changes it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def owner() -> str:
    """Who writes a row: host, boot and process."""
    return f"{socket.gethostname()} {boot_id()} {os.getpid()}"


def owner_alive(text: str) -> bool:
    """Whether the writer ``text`` names may still be flushing: this host and boot,
    and its process running. A row of another host counts as alive (it cannot be
    checked from here)."""
    host, _, rest = text.partition(" ")
    boot, _, pid = rest.rpartition(" ")
    if host != socket.gethostname():
        return True
    if boot != boot_id():
        return False
    try:
        number = int(pid)
    except ValueError:
        return False
    if number == os.getpid():
        return True
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the rows -------------------------------------------------------------------------


def mark(db: sqlite3.Connection, sid: str) -> None:
    """Record, in the commit's own transaction, that ``sid`` is not flushed yet."""
    db.execute("insert or replace into unflushed values (?, ?, ?)", [sid, owner(), time.time()])


def stale(db: sqlite3.Connection) -> list[str]:
    """The snapshots left unflushed by writers that are gone (a crash, a power loss)."""
    rows = db.execute("select snapshot, owner from unflushed order by since").fetchall()
    return [sid for sid, who in rows if not owner_alive(who)]


def pending(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("select snapshot from unflushed order by since")]


def clear(db: sqlite3.Connection, sids: list[str]) -> None:
    db.executemany("delete from unflushed where snapshot = ?", [(s,) for s in sids])


# -- journals ---------------------------------------------------------------------------

JOURNAL_DIR = "journal"
#: The most of a journal read back: a commit names at most this many objects at once.
MAX_JOURNAL = 64 << 20


def write_journal(store: Path, oids: list[str]) -> Path:
    """Record, on the disk, the objects a deferred write is about to give their names.

    Objects are renamed into place before they are flushed; after a power loss a name
    could hold incomplete bytes that no index row points at, and a later commit would
    take them for the whole object. The journal (flushed, with its folder) lists them,
    so that :func:`stale_journals` finds them to check; the background flush removes it.
    """
    folder = store / JOURNAL_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{os.getpid()}-{secrets.token_hex(8)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (owner() + "\n" + "\n".join(oids) + "\n").encode())
        os.fdatasync(fd)
    finally:
        os.close(fd)
    fsync_dir(folder)
    return path


def stale_journals(store: Path) -> list[tuple[Path, list[str]]]:
    """The journals left by writers that are gone, with the object ids each lists."""
    folder = store / JOURNAL_DIR
    found: list[tuple[Path, list[str]]] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return found
    for path in entries:
        try:
            with path.open("rb") as f:
                text = f.read(MAX_JOURNAL).decode("utf-8", "replace")
        except OSError:
            continue
        who, _, rest = text.partition("\n")
        if not owner_alive(who):
            found.append((path, [line for line in rest.split("\n") if line]))
    return found


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (the names just created or renamed in it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- flushing -------------------------------------------------------------------------


def _libc_syncfs():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    return fn


_SYNCFS = _libc_syncfs()


def flush_filesystem(path: Path) -> None:
    """Every file written on ``path``'s filesystem so far reaches the disk."""
    if _SYNCFS is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    os.sync()


class Flusher:
    """The background flushes of one process: a thread that flushes a store's
    filesystem, then deletes the ``unflushed`` rows of the commits made before.

    Each submitted flush also holds a connection to the store's index open (one read
    made) until it is done. The command that committed then closes its own connection
    without being the index's last one, so SQLite does not checkpoint its write-ahead
    log there: that checkpoint's fsync waits behind the whole filesystem's writeback
    (0.3 s and more after a large write), on the user's time. The holder's close does it
    here, after the flush, in the background.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: dict[Path, list[tuple[str, list[Path], sqlite3.Connection | None]]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, store: Path, sid: str, journals: Iterable[Path] = ()) -> None:
        holder = _hold(store)
        with self._cond:
            self._queue.setdefault(store, []).append((sid, list(journals), holder))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mlvc-flush", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._busy = False
                    self._cond.notify_all()
                    if not self._cond.wait(timeout=60):
                        self._thread = None
                        return
                store, done = self._queue.popitem()
                self._busy = True
            # Errors are left to recovery: the rows stay, and are checked after.
            with contextlib.suppress(Exception):
                flush_filesystem(store)
                with _connect(store) as db:
                    clear(db, [sid for sid, _, _ in done])
                for _, journals, _ in done:
                    for path in journals:
                        path.unlink(missing_ok=True)
            for _, _, holder in done:
                if holder is not None:
                    with contextlib.suppress(Exception):
                        holder.close()

    def wait(self, timeout: float = EXIT_WAIT_S) -> bool:
        """Wait until every submitted flush is done; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=left)
        return True


def _uri(store: Path) -> str:
    # mode=rw: an index that is gone (removed, being rebuilt) is not created anew here.
    return (store / "index.sqlite").resolve().as_uri() + "?mode=rw"


def _hold(store: Path) -> sqlite3.Connection | None:
    """A connection to ``store``'s index that has read it once: in WAL mode it keeps a
    shared lock on the file, so that no other connection's close is the last."""
    try:
        conn = sqlite3.connect(_uri(store), uri=True, timeout=5, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        conn.execute("select 1 from unflushed limit 1").fetchall()
    except sqlite3.Error:
        conn.close()
        return None
    return conn


@contextlib.contextmanager
def _connect(store: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(_uri(store), uri=True, timeout=120, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 120000")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


FLUSHER = Flusher()
atexit.register(FLUSHER.wait)
