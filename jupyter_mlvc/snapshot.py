"""The data shapes every face renders: a snapshot and the summary of one variable.

They are plain dataclasses that turn into JSON (``to_dict``) for the REST API and
the sidebar, and render as text or HTML in the magics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SHORT_ID = 8


@dataclass
class VariableInfo:
    """What a snapshot knows of one variable without loading it.

    ``summary`` is JSON data: always ``repr``; where they apply ``shape``, ``dtype``,
    ``len``, ``columns`` (name -> dtype) and ``rows`` for frames, ``model`` (a model card).
    ``group`` is the content hash of the serialized unit that holds the variable:
    two variables with the same group hash in two snapshots hold equal state.
    """

    name: str
    type: str
    summary: dict[str, Any]
    nbytes: int
    changed: bool = True
    group: str = ""

    @property
    def text(self) -> str:
        """A one-line description: ``float64 (1000, 3)``, ``DataFrame 5000 rows x 4 cols``, ..."""
        s = self.summary
        if "rows" in s and "columns" in s:
            return f"{s['rows']} rows x {len(s['columns'])} cols"
        if "shape" in s:
            shape = "x".join(str(d) for d in s["shape"]) or "scalar"
            return f"{s.get('dtype', '')} {shape}".strip()
        if "len" in s:
            return f"len {s['len']}"
        return str(s.get("repr", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "summary": self.summary,
            "text": self.text,
            "nbytes": self.nbytes,
            "changed": self.changed,
            "group": self.group,
        }


@dataclass
class Snapshot:
    """One commit: the kernel's variables, the notebook and what was said of them."""

    id: str
    parents: list[str]
    message: str
    created_at: datetime
    notebook_path: str | None
    branch: str | None = None
    tags: list[str] = field(default_factory=list)
    variables: dict[str, VariableInfo] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    nbytes: int = 0
    bytes_written: int = 0
    n_variables: int = 0
    auto: bool = False
    has_notebook: bool = False
    notebook_source: str | None = None
    trusted: bool = True

    @property
    def short_id(self) -> str:
        return self.id[:SHORT_ID]

    def ident(self) -> dict[str, Any]:
        """How a diff names this snapshot (its ``a`` and ``b``)."""
        return {
            "id": self.id,
            "short_id": self.short_id,
            "message": self.message,
            "created_at": self.created_at.isoformat(),
            "branch": self.branch,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "parents": list(self.parents),
            "message": self.message,
            "created_at": self.created_at.isoformat(),
            "notebook_path": self.notebook_path,
            "branch": self.branch,
            "tags": list(self.tags),
            "variables": {n: v.to_dict() for n, v in self.variables.items()},
            "skipped": dict(self.skipped),
            "metrics": dict(self.metrics),
            "environment": dict(self.environment),
            "nbytes": self.nbytes,
            "bytes_written": self.bytes_written,
            "n_variables": self.n_variables,
            "auto": self.auto,
            "has_notebook": self.has_notebook,
            "notebook_source": self.notebook_source,
            "trusted": self.trusted,
        }


@dataclass
class Status:
    """How a namespace differs from a snapshot (by default the notebook's HEAD)."""

    base: str | None
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "clean": self.clean,
        }


@dataclass
class RestoreReport:
    """What a restore into a namespace did."""

    snapshot: Snapshot
    restored: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    saved: Snapshot | None = None
    seconds: float = 0.0
    rng: list[str] = field(default_factory=list)
    #: Variables the snapshot skipped at commit (with the reason) that the namespace
    #: still holds: their values are today's, not the snapshot's.
    kept: dict[str, str] = field(default_factory=dict)

    def summary_line(self) -> str:
        parts = [f"Checked out {self.snapshot.short_id}"]
        if self.snapshot.message:
            parts[0] += f" ({self.snapshot.message})"
        parts.append(f"restored {len(self.restored)}")
        if self.removed:
            parts.append(f"removed {len(self.removed)}")
        if self.unchanged:
            parts.append(f"kept {len(self.unchanged)} unchanged")
        line = ": ".join([parts[0], ", ".join(parts[1:])])
        if self.saved is not None:
            line += f"; current state saved first as {self.saved.short_id}"
        if self.errors:
            line += "; failed: " + ", ".join(f"{n} ({r})" for n, r in self.errors.items())
        if self.kept:
            names = ", ".join(f"{n} ({r})" for n, r in self.kept.items())
            line += (
                f"; kept {len(self.kept)} not in the snapshot (skipped at commit): {names}"
                " — their values are today's, not the snapshot's"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot.to_dict(),
            "restored": self.restored,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "saved": None if self.saved is None else self.saved.to_dict(),
            "seconds": self.seconds,
            "rng": self.rng,
            "kept": self.kept,
            "summary": self.summary_line(),
        }
