"""Where several snapshots are compared side by side: one column per snapshot.

A comparison reads only the index (summaries, metrics and content hashes): no pickle
is loaded, so it is safe on snapshots from anyone and fast on any size. Every face
shows the same data: ``%mlvc compare`` and ``%mlvc log --compare``, ``mlvc compare``,
``GET /mlvc/api/compare`` and the sidebar's multi-select.

``Comparison.to_dict()`` is JSON::

    {"snapshots": [{"id", "short_id", "message", "created_at", "branch", "tags", "auto",
                    "trusted"}],
     "metrics":   [{"name", "values": [number|null per snapshot],
                    "best": index of the best value, or null}],
     "variables": [{"name", "values": [{"type", "text", "summary"}|null per snapshot],
                    "params": [{"name", "values": [JSON value|null per snapshot]}]}],
     "same": [names whose content is the same in every snapshot]}

The best value of a metric is the highest, or the lowest for a metric named as an
error (:data:`LOWER_IS_BETTER`: ``loss``, ``val_loss``, ``rmse``, ``test_error``...).
A variable is listed when its content hash differs among the snapshots or it is
missing from some; ``params`` are the model hyperparameters that differ among them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BadInput

if TYPE_CHECKING:
    from ..repo import Repo
    from ..snapshot import Snapshot, VariableInfo

#: The most snapshots one comparison takes: columns past this are unreadable anyway.
MAX_SNAPSHOTS = 50
#: Words that make a metric's lowest value its best, as one word of its name.
LOWER_IS_BETTER = frozenset(
    {"loss", "error", "err", "mse", "mae", "rmse", "mape", "logloss", "perplexity", "wer"}
)


@dataclass
class Comparison:
    snapshots: list[dict[str, Any]]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    same: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshots": self.snapshots,
            "metrics": self.metrics,
            "variables": self.variables,
            "same": self.same,
        }


def compare(repo: Repo, refs: list[str], notebook_path: Any = None) -> Comparison:
    """Snapshots ``refs`` (two or more) side by side. Reads no pickle."""
    if len(refs) < 2:
        raise BadInput("compare needs two or more snapshots")
    if len(refs) > MAX_SNAPSHOTS:
        raise BadInput(f"compare takes at most {MAX_SNAPSHOTS} snapshots, not {len(refs)}")
    return of_snapshots([repo.show(ref, notebook_path) for ref in refs])


def of_snapshots(snapshots: list[Snapshot]) -> Comparison:
    """The comparison of snapshots already read (``Repo.show`` results)."""
    out = Comparison([_column(s) for s in snapshots])
    for name in sorted({m for s in snapshots for m in s.metrics}):
        values = [_finite(s.metrics.get(name)) for s in snapshots]
        known = [(v, i) for i, v in enumerate(values) if v is not None]
        best = None
        if len({v for v, _ in known}) > 1:
            best = (min(known) if lower_is_better(name) else max(known))[1]
        out.metrics.append({"name": name, "values": values, "best": best})
    for name in sorted({n for s in snapshots for n in s.variables}):
        infos = [s.variables.get(name) for s in snapshots]
        groups = {i.group if i is not None else None for i in infos}
        if len(groups) == 1 and None not in groups:
            out.same.append(name)
            continue
        out.variables.append(
            {
                "name": name,
                "values": [_value(i) for i in infos],
                "params": _params_that_differ(infos),
            }
        )
    return out


def lower_is_better(metric: str) -> bool:
    """Whether ``metric`` names an error (``val_loss``, ``rmse``, ``test-error``)."""
    return any(word in LOWER_IS_BETTER for word in re.split(r"[^a-z0-9]+", metric.lower()))


def _column(s: Snapshot) -> dict[str, Any]:
    return {
        **s.ident(),
        "tags": list(s.tags),
        "auto": s.auto,
        "trusted": s.trusted,
    }


def _finite(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _value(info: VariableInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"type": info.type, "text": info.text, "summary": info.summary}


def _params_that_differ(infos: list[VariableInfo | None]) -> list[dict[str, Any]]:
    """A row per hyperparameter that differs among the model cards of ``infos``."""
    cards = [(i.summary or {}).get("model") if i is not None else None for i in infos]
    params = [dict(c.get("params") or {}) if isinstance(c, dict) else None for c in cards]
    if not any(params):
        return []
    rows = []
    for key in sorted({k for p in params if p for k in p}):
        values = [None if p is None else p.get(key) for p in params]
        if len({repr(v) for v in values}) > 1:
            rows.append({"name": key, "values": values})
    return rows


__all__ = [
    "LOWER_IS_BETTER",
    "MAX_SNAPSHOTS",
    "Comparison",
    "compare",
    "lower_is_better",
    "of_snapshots",
]
