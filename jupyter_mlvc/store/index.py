"""The SQLite index: which snapshots exist, their parents, variables, metrics and refs.

The index is what makes listing and searching fast; the objects are the truth it
points to. It is written last, in one transaction per commit, so a crash at any
moment leaves either the whole snapshot visible or none of it. WAL mode lets the
server read while a kernel writes; writers queue on SQLite's lock with a long
busy timeout instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DamagedIndex, DamagedStore, ReadOnlyStore

if TYPE_CHECKING:
    # sqlite-utils imports pandas when it can: loaded on first use, not at import.
    import sqlite_utils

BUSY_TIMEOUT_S = 120


def _m1_initial(db: sqlite_utils.Database) -> None:
    t = db.table
    t("snapshots").create(
        {
            "id": str,
            "notebook": str,
            "message": str,
            "created_at": float,
            "branch": str,
            "n_variables": int,
            "nbytes": int,
            "bytes_written": int,
            "auto": int,
            "has_notebook": int,
            "notebook_source": str,
            "signature": str,
            "environment": str,
            "notebook_object": str,
        },
        pk="id",
        not_null={"notebook", "message", "created_at"},
    )
    t("snapshots").create_index(["notebook", "created_at"])
    t("parents").create(
        {"snapshot": str, "parent": str, "position": int}, pk=("snapshot", "position")
    )
    t("parents").create_index(["parent"])
    t("variables").create(
        {
            "snapshot": str,
            "name": str,
            "type": str,
            "summary": str,
            "nbytes": int,
            "changed": int,
            "hash": str,
            "unit": int,
        },
        pk=("snapshot", "name"),
    )
    t("skipped").create({"snapshot": str, "name": str, "reason": str}, pk=("snapshot", "name"))
    t("metrics").create({"snapshot": str, "name": str, "value": float}, pk=("snapshot", "name"))
    t("metrics").create_index(["name"])
    # Branches belong to a notebook; tags are global (notebook "").
    t("refs").create(
        {"notebook": str, "kind": str, "name": str, "target": str},
        pk=("notebook", "kind", "name"),
    )
    t("refs").create_index(["target"])
    # A notebook's HEAD: on a branch, or detached at a snapshot (after checking
    # out an older one; the next commit then starts a new branch from there).
    t("heads").create(
        {"notebook": str, "branch": str, "snapshot": str, "from_branch": str}, pk="notebook"
    )


def _m2_remotes(db: sqlite_utils.Database) -> None:
    t = db.table
    # Remotes this store pushes to and pulls from; options are fsspec storage options (JSON).
    t("remotes").create({"name": str, "url": str, "options": str}, pk="name")
    # Signatures that came with pulled snapshots, kept so that a key trusted later
    # (``trust --key``) can accept snapshots pulled before it was added.
    t("remote_signatures").create(
        {"snapshot": str, "key_id": str, "signature": str}, pk=("snapshot", "key_id")
    )


def _m3_signatures(db: sqlite_utils.Database) -> None:
    # Every signature of a snapshot, one row per key: its author's, each of those who
    # trusted it, and those that came with pulled entries. A ``trust`` adds its row
    # and never replaces another key's, as the single ``snapshots.signature`` did.
    # That column and ``remote_signatures`` stay as they were, read but no longer
    # written: jupyter_mlvc 0.1.0, sharing the store, still finds the columns it reads.
    db.table("signatures").create(
        {"snapshot": str, "key_id": str, "signature": str}, pk=("snapshot", "key_id")
    )


def _m4_unflushed(db: sqlite_utils.Database) -> None:
    # Snapshots whose objects may not have reached the disk yet (``durability``): a row
    # goes in with the snapshot's and out once the store's filesystem was flushed.
    db.table("unflushed").create({"snapshot": str, "owner": str, "since": float}, pk="snapshot")


#: Schema migrations, applied in order; ``PRAGMA user_version`` counts those applied.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m1_initial,
    _m2_remotes,
    _m3_signatures,
    _m4_unflushed,
]

#: The migration that keeps signatures per key (older indexes hold one per snapshot).
SIGNATURES_VERSION = 3


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite's error says the file is damaged (not busy, full or misused)."""
    if isinstance(exc, DamagedIndex):
        return False
    text = str(exc)
    return type(exc) is sqlite3.DatabaseError or any(
        words in text for words in ("malformed", "not a database", "disk I/O error")
    )


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _damage_mapped(method: _Method) -> _Method:
    """``method`` of ``sqlite3.Cursor``, with SQLite's damage errors as ``DamagedIndex``."""

    @functools.wraps(method)
    def mapped(self: _Cursor, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            raise DamagedIndex(
                f"the index {self.index_path or 'of the store'} is damaged ({exc}); "
                "`mlvc fsck --rebuild-index` recovers it"
            ) from exc

    return mapped  # type: ignore[return-value]


class _Cursor(sqlite3.Cursor):
    """A cursor whose SQLite errors that mean damage become ``DamagedIndex``: a page
    can turn out damaged on any read, as rows are fetched too."""

    index_path: Path | None = None

    execute = _damage_mapped(sqlite3.Cursor.execute)
    executemany = _damage_mapped(sqlite3.Cursor.executemany)
    fetchone = _damage_mapped(sqlite3.Cursor.fetchone)
    fetchmany = _damage_mapped(sqlite3.Cursor.fetchmany)
    fetchall = _damage_mapped(sqlite3.Cursor.fetchall)
    __next__ = _damage_mapped(sqlite3.Cursor.__next__)


class _Connection(sqlite3.Connection):
    """The index's connection: its statements run on ``_Cursor``s (SQLite's own
    ``execute`` would make plain cursors)."""

    index_path: Path | None = None

    def cursor(self, factory: Any = _Cursor) -> Any:
        cur = super().cursor(factory)
        cur.index_path = self.index_path
        return cur

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any) -> Any:
        return self.cursor().executemany(sql, seq_of_parameters)


class Index:
    """The index of one store. Reads go straight through sqlite3 (listing thousands of
    snapshots stays fast, and a kernel that only restores never imports sqlite-utils,
    which imports pandas); the schema and its migrations are written with sqlite-utils."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._read_only = False
        self._version = len(MIGRATIONS)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @property
    def read_only(self) -> bool:
        """Whether the store cannot be written (a read-only filesystem or folder): the
        index is then opened for reading only, and never migrated."""
        self.conn  # noqa: B018 - connecting finds out
        return self._read_only

    @property
    def version(self) -> int:
        """The schema version of the index as opened (``PRAGMA user_version``): behind
        ``MIGRATIONS`` only in a read-only store."""
        self.conn  # noqa: B018 - connecting finds out
        return self._version

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils' view of this thread's connection."""
        return import_sqlite_utils().Database(self.conn)

    def _connect(self) -> sqlite3.Connection:
        if not self.writable():
            return self._connect_read_only()
        conn = None
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, factory=_Connection
            )
            conn.index_path = self.path
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = OFF")
            if mode.lower() != "wal":
                raise sqlite3.DatabaseError(f"journal mode is {mode}")
            self._migrate(conn)
            self._version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            # A filesystem may say it can be written and then refuse (a read-only
            # network mount): that store is read-only, not damaged.
            if isinstance(exc, sqlite3.OperationalError) and (
                "readonly" in str(exc) or "unable to open" in str(exc)
            ):
                return self._connect_read_only()
            raise DamagedStore(
                f"the index {self.path} is damaged ({exc}); `mlvc fsck --rebuild-index` recovers it"
            ) from exc
        self._read_only = False
        return conn

    def writable(self) -> bool:
        """Whether this process may write the index and the files SQLite keeps beside it.
        ``access`` answers no on a read-only filesystem, even to root."""
        if not os.access(self.path.parent, os.W_OK):
            return False
        return not self.path.exists() or os.access(self.path, os.W_OK)

    def _connect_read_only(self) -> sqlite3.Connection:
        """The index of a store that cannot be written, opened for reading.

        SQLite reads a WAL database read-only only when its ``-shm`` file exists or can
        be made; in a read-only folder it cannot, so after ``mode=ro`` comes
        ``immutable=1``, which reads the main file alone. That is exact when no
        ``-wal`` file holds changes (the last writer closed cleanly) and nobody can
        write meanwhile, which the read-only folder ensures.
        """
        self._read_only = True
        uri = self.path.absolute().as_uri()
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            try:
                conn = self._open_uri(f"{uri}?mode=ro")
            except sqlite3.OperationalError:
                if wal.exists() and wal.stat().st_size > 0:
                    raise ReadOnlyStore(
                        f"cannot read the index of {self.path.parent}: the store is read-only and "
                        "its write-ahead log (index.sqlite-wal) holds changes that only a "
                        "writable copy can read; copy the store to a writable folder"
                    )
                conn = self._open_uri(f"{uri}?immutable=1")
            conn.index_path = self.path
            self._version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise DamagedStore(
                f"cannot read the index {self.path} ({exc}); the store is read-only: copy it "
                "to a writable folder and run `mlvc fsck` there"
            ) from exc
        return conn

    @staticmethod
    def _open_uri(uri: str) -> _Connection:
        conn: _Connection = sqlite3.connect(  # type: ignore[assignment]
            uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False, factory=_Connection
        )
        # Opening is lazy: the first statement finds out whether the file can be read.
        conn.execute("select count(*) from sqlite_master").fetchone()
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        db = import_sqlite_utils().Database(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                step(db)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def intact(self) -> bool:
        """Whether SQLite's own integrity check finds the index file sound."""
        try:
            row = self.conn.execute("pragma integrity_check").fetchone()
        except sqlite3.DatabaseError:
            return False
        return row is not None and row[0] == "ok"

    def ensure(self) -> None:
        """Create (or migrate) the schema now."""
        self._connect().close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextlib.contextmanager
    def write(self, flush: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding SQLite's write lock from the start so that
        reading HEAD and moving it cannot interleave with another writer.

        ``flush=False`` commits without waiting for the disk (``synchronous = NORMAL``:
        safe from a crash of the process, not from a power loss), for a writer that
        flushes later itself (a deferred commit: ``durability``)."""
        conn = self.conn
        self.require_writable()
        if not flush:
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
        finally:
            if not flush:
                conn.execute("PRAGMA synchronous = FULL")

    def require_writable(self) -> None:
        """``ReadOnlyStore`` unless the index was opened for writing."""
        if self.read_only:
            raise ReadOnlyStore(
                f"cannot write to the store {self.path.parent}: it is read-only (nothing was changed)"
            )

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        try:
            cursor = self.conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except sqlite3.DatabaseError as exc:
            if self._read_only:
                raise DamagedStore(
                    f"cannot read the index {self.path} ({exc}); the store is read-only: copy "
                    "it to a writable folder and run `mlvc fsck` there"
                ) from exc
            raise DamagedStore(
                f"the index {self.path} is damaged ({exc}); `mlvc fsck --rebuild-index` recovers it"
            ) from exc

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None


class _HiddenInThread:
    """A ``sys.meta_path`` finder that makes some imports fail in the threads it is
    given, and in no other: another thread (a user's cell importing pandas meanwhile)
    imports as usual."""

    def __init__(self, names: frozenset[str]):
        self.names = names
        self.threads: set[int] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if threading.get_ident() in self.threads and name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


#: sqlite-utils imports pandas and numpy whenever it can, only to map their types to
#: SQL types, which no table here takes. In a kernel that has not imported them that
#: would cost a second or more of the store's first commit.
_HIDDEN = _HiddenInThread(frozenset({"pandas", "numpy"}))
_IMPORT_LOCK = threading.Lock()
_sqlite_utils: Any = None


def import_sqlite_utils() -> Any:
    """sqlite-utils, imported without importing pandas or numpy (see ``_HIDDEN``); a
    module already imported is used as usual. Safe from any thread: a caller waits
    for an import under way in another (the warm-up's) to finish."""
    global _sqlite_utils
    if _sqlite_utils is None:
        with _IMPORT_LOCK:
            if _sqlite_utils is None:
                # Put first once and left there: taking it out again could make another
                # thread's import, walking the list at that moment, skip a finder.
                if _HIDDEN not in sys.meta_path:
                    sys.meta_path.insert(0, _HIDDEN)  # type: ignore[arg-type]
                me = threading.get_ident()
                _HIDDEN.threads.add(me)
                try:
                    import sqlite_utils

                    # The first Database scans every installed distribution's entry
                    # points for sqlite-utils plugins (about 70 ms in a data science
                    # environment): done here, off the first commit's path when the
                    # warm-up imports this.
                    plugins = getattr(sqlite_utils, "plugins", None)
                    if plugins is not None:
                        plugins.ensure_plugins_loaded()
                finally:
                    _HIDDEN.threads.discard(me)
                _sqlite_utils = sqlite_utils
    return _sqlite_utils


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
