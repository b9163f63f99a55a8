"""The SQLite index: which snapshots exist, their parents, variables, metrics and refs.

The index is what makes listing and searching fast; the objects are the truth it
points to. It is written last, in one transaction per commit, so a crash at any
moment leaves either the whole snapshot visible or none of it. WAL mode lets the
server read while a kernel writes; writers queue on SQLite's lock with a long
busy timeout instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DamagedStore

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


#: Schema migrations, applied in order; ``PRAGMA user_version`` counts those applied.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1_initial, _m2_remotes]


class Index:
    """The index of one store. Reads go straight through sqlite3 (listing thousands of
    snapshots stays fast, and a kernel that only restores never imports sqlite-utils,
    which imports pandas); the schema and its migrations are written with sqlite-utils."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils' view of this thread's connection."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = OFF")
            if mode.lower() != "wal":
                raise sqlite3.DatabaseError(f"journal mode is {mode}")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise DamagedStore(
                f"the index {self.path} is damaged ({exc}); `mlvc fsck --rebuild-index` recovers it"
            ) from exc
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        import sqlite_utils

        db = sqlite_utils.Database(conn)
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

    def ensure(self) -> None:
        """Create (or migrate) the schema now."""
        self._connect().close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding SQLite's write lock from the start so that
        reading HEAD and moving it cannot interleave with another writer."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        try:
            cursor = self.conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except sqlite3.DatabaseError as exc:
            raise DamagedStore(
                f"the index {self.path} is damaged ({exc}); `mlvc fsck --rebuild-index` recovers it"
            ) from exc

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
