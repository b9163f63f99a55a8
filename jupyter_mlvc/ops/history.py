"""The history as a table: one row per snapshot, one column per metric (pandas)."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..errors import BadInput
from ..store import catalog, refs

#: The columns of a log that are not metrics.
LOG_COLUMNS = frozenset(
    {
        "id",
        "short_id",
        "message",
        "created_at",
        "notebook",
        "branch",
        "tags",
        "n_variables",
        "nbytes",
        "auto",
        "parents",
    }
)


def log_frame(db: sqlite3.Connection, which: catalog.Filter, limit: int | None = None) -> Any:
    """The snapshots ``which`` selects as a DataFrame, newest first. The ``notebook``
    column is there only when the filter spans every notebook."""
    import pandas as pd

    rows = catalog.rows(db, which, limit=limit)
    ids = [r["id"] for r in rows]
    metrics = catalog.metrics_of(db, ids)
    tags = catalog.tags_by_snapshot(db) if ids else {}
    parents = refs.parent_map(db) if ids else {}
    df = pd.DataFrame(
        {
            "id": ids,
            "short_id": [i[:8] for i in ids],
            "message": [r["message"] for r in rows],
            "created_at": pd.to_datetime([r["created_at"] for r in rows], unit="s", utc=True),
            "notebook": [r["notebook"] for r in rows],
            "branch": [r["branch"] for r in rows],
            "tags": [", ".join(sorted(tags.get(i, []))) for i in ids],
            "n_variables": pd.array([r["n_variables"] for r in rows], dtype="int64"),
            "nbytes": pd.array([r["nbytes"] for r in rows], dtype="int64"),
            "auto": pd.array([bool(r["auto"]) for r in rows], dtype="bool"),
            "parents": [list(parents.get(i, [])) for i in ids],
        }
    )
    if which.notebook is not None:
        df = df.drop(columns=["notebook"])
    for name in sorted(metrics):
        values = metrics[name]
        df[metric_column(name)] = [values.get(i, float("nan")) for i in ids]
    return df


def metric_column(name: str) -> str:
    """The log's column for metric ``name``: its name, unless a log column has it (a
    metric ``id`` from someone's snapshot must not stand in for the snapshots' ids)."""
    return f"{name} (metric)" if name in LOG_COLUMNS else name


def sort_log(frame: Any, sort: str, limit: int | None = None) -> Any:
    """A log ordered by a metric: ``"acc"`` highest first, ``"-loss"`` lowest first;
    snapshots without it come last, and ``limit`` keeps the best."""
    column = sort[1:] if sort.startswith("-") else sort
    recorded = [c for c in frame.columns if c not in LOG_COLUMNS]
    if column not in recorded:
        known = ", ".join(recorded) if recorded else "none recorded yet"
        raise BadInput(f"cannot sort by {column!r}: no such metric (metrics: {known})")
    frame = frame.sort_values(
        column, ascending=sort.startswith("-"), na_position="last", kind="stable"
    )
    return frame.head(limit) if limit is not None else frame
