"""The snapshot rows of the index: what a snapshot is, its parents, variables, skipped
variables and metrics, and the queries that list them.

Every function takes a sqlite3 connection: ``Index.conn`` to read, or the connection of
an ``Index.write()`` transaction to write, so a commit, a pull or a rebuilt index insert
a snapshot's rows in one transaction, with the refs that point to it (``refs``).
A snapshot's rows are derived from its manifest alone (``insert_snapshot``), which is
why a lost index can be rebuilt from the manifests.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import UnknownRef
from ..snapshot import SHORT_ID, Snapshot, VariableInfo
from .index import dumps

# -- writing --------------------------------------------------------------------------


def insert_snapshot(
    db: sqlite3.Connection, sid: str, manifest: Mapping[str, Any], *, bytes_written: int = 0
) -> str:
    """Insert the rows of snapshot ``sid`` as its (validated) manifest describes them:
    the snapshot, its parents, variables, skipped variables and metrics. Rows already
    there are kept. Returns the snapshot's notebook key.

    The ``changed`` flag of a variable compares it with the first parent's rows, so
    parents go in first. Refs and HEADs are the caller's (``refs``).
    """
    nb = manifest.get("notebook_path") or ""
    variables: Mapping[str, Any] = manifest.get("variables", {})
    db.execute(
        "insert or ignore into snapshots (id, notebook, message, created_at, branch,"
        " n_variables, nbytes, bytes_written, auto, has_notebook, notebook_source,"
        " environment, notebook_object) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sid,
            nb,
            manifest.get("message", ""),
            manifest.get("created_at", 0.0),
            manifest.get("branch"),
            len(variables),
            sum(v.get("nbytes", 0) for v in variables.values()),
            bytes_written,
            int(bool(manifest.get("auto"))),
            int(bool(manifest.get("notebook"))),
            manifest.get("notebook_source"),
            dumps(manifest.get("environment", {})),
            manifest.get("notebook"),
        ],
    )
    parents = manifest.get("parents", [])
    db.executemany(
        "insert or ignore into parents values (?, ?, ?)",
        [(sid, parent, i) for i, parent in enumerate(parents)],
    )
    before = variable_hashes(db, parents[0]) if parents else {}
    db.executemany(
        "insert or ignore into variables values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                sid,
                name,
                v["type"],
                dumps(v["summary"]),
                v["nbytes"],
                int(before.get(name) != v["hash"]),
                v["hash"],
                v["unit"],
            )
            for name, v in variables.items()
        ],
    )
    db.executemany(
        "insert or ignore into skipped values (?, ?, ?)",
        [(sid, n, r) for n, r in manifest.get("skipped", {}).items()],
    )
    db.executemany(
        "insert or ignore into metrics values (?, ?, ?)",
        [(sid, n, v) for n, v in manifest.get("metrics", {}).items()],
    )
    return nb


# -- one snapshot ---------------------------------------------------------------------


def snapshot_row(db: sqlite3.Connection, sid: str) -> dict[str, Any]:
    """The ``snapshots`` row of ``sid``; ``UnknownRef`` if the index has none."""
    cur = db.execute("select * from snapshots where id = ?", [sid])
    row = cur.fetchone()
    if row is None:
        raise UnknownRef(f"no snapshot {sid[:12]}")
    return dict(zip([c[0] for c in cur.description], row))


def exists(db: sqlite3.Connection, sid: str) -> bool:
    return db.execute("select 1 from snapshots where id = ?", [sid]).fetchone() is not None


def notebook_of(db: sqlite3.Connection, sid: str) -> str | None:
    row = db.execute("select notebook from snapshots where id = ?", [sid]).fetchone()
    return row[0] if row else None


def parents_of(db: sqlite3.Connection, sid: str) -> list[str]:
    rows = db.execute(
        "select parent from parents where snapshot = ? order by position", [sid]
    ).fetchall()
    return [r[0] for r in rows]


def variable_hashes(db: sqlite3.Connection, sid: str) -> dict[str, str]:
    """``{name: hash}`` of a snapshot's variables: what status and checkout compare."""
    rows = db.execute("select name, hash from variables where snapshot = ?", [sid]).fetchall()
    return {name: h for name, h in rows}


def snapshot(
    db: sqlite3.Connection, row: Mapping[str, Any], *, trusted: bool, with_variables: bool = False
) -> Snapshot:
    """The ``Snapshot`` record of an index row (with its variables' summaries if asked)."""
    sid = row["id"]
    tags = [
        r[0]
        for r in db.execute(
            "select name from refs where kind = 'tag' and target = ? order by name", [sid]
        ).fetchall()
    ]
    metrics = dict(
        db.execute("select name, value from metrics where snapshot = ?", [sid]).fetchall()
    )
    snap = Snapshot(
        id=sid,
        parents=parents_of(db, sid),
        message=row["message"],
        created_at=datetime.fromtimestamp(row["created_at"], tz=timezone.utc),
        notebook_path=row["notebook"] or None,
        branch=row["branch"],
        tags=tags,
        metrics=metrics,
        nbytes=row["nbytes"] or 0,
        bytes_written=row["bytes_written"] or 0,
        n_variables=row["n_variables"] or 0,
        auto=bool(row["auto"]),
        has_notebook=bool(row["has_notebook"]),
        notebook_source=row["notebook_source"],
        trusted=trusted,
    )
    if with_variables:
        snap.environment = json.loads(row["environment"] or "{}")
        rows = db.execute(
            "select name, type, summary, nbytes, changed, hash from variables"
            " where snapshot = ? order by name",
            [sid],
        ).fetchall()
        for name, type_, summary, nbytes, changed, hash_ in rows:
            snap.variables[name] = VariableInfo(
                name=name,
                type=type_,
                summary=json.loads(summary or "{}"),
                nbytes=nbytes or 0,
                changed=bool(changed),
                group=hash_ or "",
            )
        snap.skipped = dict(
            db.execute("select name, reason from skipped where snapshot = ?", [sid]).fetchall()
        )
    return snap


# -- many snapshots -------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """Which snapshots a listing shows: one notebook's (``notebook``; None for every
    notebook), whose message contains ``search``, on ``branch``, with or without the
    automatic ones."""

    notebook: str | None = None
    search: str | None = None
    branch: str | None = None
    include_auto: bool = True

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.notebook is not None:
            clauses.append("notebook = ?")
            params.append(self.notebook)
        if self.search:
            clauses.append("message like ? escape '\\'")
            escaped = self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        if self.branch:
            clauses.append("branch = ?")
            params.append(self.branch)
        if not self.include_auto:
            clauses.append("auto = 0")
        return ("where " + " and ".join(clauses)) if clauses else "", params


def count(db: sqlite3.Connection, which: Filter) -> int:
    where, params = which.where()
    return db.execute(f"select count(*) from snapshots {where}", params).fetchone()[0]


def rows(
    db: sqlite3.Connection, which: Filter, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The ``snapshots`` rows ``which`` selects, newest first."""
    where, params = which.where()
    sql = f"select * from snapshots {where} order by created_at desc, rowid desc"
    if limit is not None:
        sql += f" limit {int(limit)} offset {max(int(offset), 0)}"
    cur = db.execute(sql, params)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def graph_rows(
    db: sqlite3.Connection, which: Filter, limit: int | None = None
) -> list[dict[str, Any]]:
    """The nodes of a commit graph, newest first: each snapshot's id, short id, parents
    (first first), message, time (ISO), branch, tags and whether it was automatic.
    Three queries in all, however many snapshots: a graph lays out thousands."""
    where, params = which.where()
    sql = (
        "select id, message, created_at, branch, auto from snapshots "
        f"{where} order by created_at desc, rowid desc"
    )
    if limit is not None:
        sql += f" limit {int(limit)}"
    nodes = [
        {
            "id": sid,
            "short_id": sid[:SHORT_ID],
            "parents": [],
            "message": message,
            "created_at": datetime.fromtimestamp(created, tz=timezone.utc).isoformat(),
            "branch": branch,
            "tags": [],
            "auto": bool(auto),
        }
        for sid, message, created, branch, auto in db.execute(sql, params)
    ]
    by_id = {n["id"]: n for n in nodes}
    for sid, parent in db.execute(
        "select snapshot, parent from parents order by snapshot, position"
    ):
        if sid in by_id:
            by_id[sid]["parents"].append(parent)
    for name, target in db.execute(
        "select name, target from refs where kind = 'tag' order by name"
    ):
        if target in by_id:
            by_id[target]["tags"].append(name)
    return nodes


def metrics_of(db: sqlite3.Connection, ids: Iterable[str]) -> dict[str, dict[str, float]]:
    """``{metric: {snapshot id: value}}`` for the snapshots ``ids``."""
    ids = list(ids)
    out: dict[str, dict[str, float]] = {}
    if not ids:
        return out
    # SQLite caps the number of parameters: a long history reads every metric instead.
    if len(ids) < 900:
        marks = ",".join("?" * len(ids))
        found = db.execute(
            f"select snapshot, name, value from metrics where snapshot in ({marks})", ids
        ).fetchall()
    else:
        found = db.execute("select snapshot, name, value from metrics").fetchall()
    for sid, name, value in found:
        out.setdefault(name, {})[sid] = value
    return out


def tags_by_snapshot(db: sqlite3.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, target in db.execute("select name, target from refs where kind = 'tag'"):
        out.setdefault(target, []).append(name)
    return out


def snapshot_ids(db: sqlite3.Connection) -> list[str]:
    """Every snapshot the index holds, oldest first."""
    return [r[0] for r in db.execute("select id from snapshots order by created_at, rowid")]


def notebooks(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("select distinct notebook from snapshots order by notebook")]


def newest_notebook(db: sqlite3.Connection) -> str | None:
    row = db.execute(
        "select notebook from snapshots order by created_at desc, rowid desc limit 1"
    ).fetchone()
    return row[0] if row else None


def is_empty(db: sqlite3.Connection) -> bool:
    return db.execute("select 1 from snapshots limit 1").fetchone() is None


def delete_snapshot(db: sqlite3.Connection, sid: str) -> None:
    """Remove every row of snapshot ``sid`` (refs are ``refs.retarget``'s): a snapshot
    lost in a crash before it reached the disk (``recovery``)."""
    for table in ("snapshots", "parents", "variables", "skipped", "metrics"):
        column = "id" if table == "snapshots" else "snapshot"
        db.execute(f"delete from {table} where {column} = ?", [sid])
    for table in ("signatures", "remote_signatures"):
        with contextlib.suppress(sqlite3.OperationalError):  # older indexes lack one
            db.execute(f"delete from {table} where snapshot = ?", [sid])
