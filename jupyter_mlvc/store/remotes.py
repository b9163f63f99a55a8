"""The remotes a store knows: the ``remotes`` table (name, fsspec URL, storage options).

Each function takes a sqlite3 connection: ``Index.conn`` to read, or the connection of
an ``Index.write()`` transaction to change them. Credentials are never among the
options: ``ops.remote.add_remote`` refuses them before they reach the table.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import BadName


@dataclass
class RemoteConfig:
    """A remote as the store remembers it. ``options`` are fsspec storage options."""

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def configs(db: sqlite3.Connection) -> dict[str, RemoteConfig]:
    """Every remote, by name."""
    rows = db.execute("select name, url, options from remotes order by name").fetchall()
    return {
        name: RemoteConfig(name, url, json.loads(options or "{}")) for name, url, options in rows
    }


def add(db: sqlite3.Connection, config: RemoteConfig) -> None:
    """Remember ``config``; ``BadName`` if a remote of that name exists."""
    if db.execute("select 1 from remotes where name = ?", [config.name]).fetchone():
        raise BadName(f"remote {config.name!r} already exists (remove it first to change it)")
    db.execute(
        "insert into remotes values (?, ?, ?)",
        [config.name, config.url, json.dumps(config.options, sort_keys=True)],
    )


def remove(db: sqlite3.Connection, name: str) -> bool:
    """Forget remote ``name``; False if there was none."""
    return bool(db.execute("delete from remotes where name = ?", [name]).rowcount)
