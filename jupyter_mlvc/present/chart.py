"""Metrics over the history as a chart: a Vega-Lite v5 spec, drawn the same by
JupyterLab's built-in renderer under ``%mlvc log --plot`` and by the sidebar's
Chart view (``GET /mlvc/api/chart``).

The chart is read from ``Repo.log()``'s DataFrame: one point per snapshot and
metric it recorded, one line per branch, one panel per metric (stacked, each
with its own y scale). The x axis is the snapshot's place in the history or its
time, switched by the ``x_axis`` param (a radio button under the chart).

Everything a snapshot holds (ids, messages, branch names, metric names and
values) is a value in the spec's ``data.values`` and nothing else: Vega
expressions are code, so the spec's few expressions are fixed strings naming
fixed fields. A metric name is the value of the ``metric`` field, never a field
name, so no name can reach an expression or a field accessor.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .format import format_metric, one_line
from .render import LOG_BASE_COLUMNS

#: The MIME type JupyterLab's vega5 renderer draws.
MIME = "application/vnd.vegalite.v5+json"
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: How many snapshots a chart reads when not told: the newest this many.
DEFAULT_SNAPSHOTS = 1000
#: What a point's branch says when the snapshot was made on a detached HEAD.
NO_BRANCH = "(detached)"
#: The fields of each point in ``data.values``.
POINT_FIELDS = ("id", "short_id", "message", "branch", "time", "t", "order", "metric", "value")

#: The two values of the ``x_axis`` param, and what the radio buttons call them.
X_AXES = ("order", "time")
X_LABELS = ("snapshot order", "time")
# The spec's only expressions: fixed strings naming the params and fields above.
X_EXPR = "x_axis === 'time' ? datum.t : datum.order"
X_LABEL_EXPR = (
    "x_axis === 'time' ? timeFormat(datum.value, '%b %d %H:%M') : '#' + format(datum.value, 'd')"
)
# At most one tick per snapshot in order: d3 then steps by whole numbers.
TICKS_EXPR = "x_axis === 'time' ? 6 : max(1, min(8, order_span))"
SELECTED_EXPR = "datum.id === selected_id"
RING_EXPR = "selected_color"
EXPRESSIONS = (X_EXPR, X_LABEL_EXPR, TICKS_EXPR, SELECTED_EXPR, RING_EXPR)


def _millis(value: Any) -> tuple[int, str]:
    """A snapshot's time as milliseconds since the epoch and as ISO 8601 (UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    # A datetime, or pandas' Timestamp (``Repo.log``), which has the same methods.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    millis = round(value.timestamp() * 1000)
    iso = datetime.fromtimestamp(millis / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
    return millis, iso


def _number(value: Any) -> float | None:
    """A metric's value as a float, or None when there is none to draw (NaN, infinite)."""
    if value is None or isinstance(value, (str, bytes, bool)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def chart_points(records: Sequence[Mapping[str, Any]], total: int | None = None) -> list[dict]:
    """One point per snapshot and metric it holds, oldest snapshot first.

    ``records`` are the rows of ``Repo.log()`` (newest first, metrics as columns).
    ``order`` numbers the snapshots from the oldest of ``total`` (the notebook's
    count, when ``records`` are only the newest of them), so a snapshot keeps its
    number as the history grows.
    """
    rows = list(records)
    metrics = sorted({k for r in rows for k in r if k not in LOG_BASE_COLUMNS})
    first = max(total or 0, len(rows)) - len(rows) + 1
    points: list[dict] = []
    for place, row in enumerate(reversed(rows)):
        t, time = _millis(row["created_at"])
        sid = str(row["id"])
        base = {
            "id": sid,
            "short_id": str(row.get("short_id") or sid[:8]),
            "message": one_line(row.get("message"), 200),
            "branch": str(row.get("branch") or NO_BRANCH),
            "time": time,
            "t": t,
            "order": first + place,
        }
        for metric in metrics:
            value = _number(row.get(metric))
            if value is not None:
                points.append({**base, "metric": str(metric), "value": value})
    return points


def _if_selected(value: float, otherwise: float) -> dict[str, Any]:
    return {"condition": {"test": SELECTED_EXPR, "value": value}, "value": otherwise}


# The encodings: fixed fields of the points, fixed titles.
_X = {
    "field": "x",
    "type": "quantitative",
    "title": None,
    "scale": {"zero": False, "nice": False, "padding": 8},
    "axis": {
        "labelExpr": X_LABEL_EXPR,
        "tickCount": {"expr": TICKS_EXPR},
        "labelOverlap": True,
        "grid": True,
    },
}
_Y = {
    "field": "value",
    "type": "quantitative",
    "title": None,
    "scale": {"zero": False, "padding": 6},
}
_COLOR = {"field": "branch", "type": "nominal", "title": "branch"}
_TOOLTIP = [
    {"field": "metric", "type": "nominal", "title": "metric"},
    {"field": "value", "type": "quantitative", "title": "value", "format": ".6~g"},
    {"field": "short_id", "type": "nominal", "title": "snapshot"},
    {"field": "message", "type": "nominal", "title": "message"},
    {"field": "branch", "type": "nominal", "title": "branch"},
    {"field": "t", "type": "temporal", "title": "time", "format": "%Y-%m-%d %H:%M:%S"},
]
#: One panel per metric, its name above it.
_FACET = {
    "row": {
        "field": "metric",
        "type": "nominal",
        "title": None,
        "header": {
            "labelOrient": "top",
            "labelAngle": 0,
            "labelAlign": "left",
            "labelAnchor": "start",
            "labelFontWeight": "bold",
            "labelPadding": 4,
        },
    }
}
#: A line per branch, then a point per value (drawn over the lines, so they take the
#: hover and the click), ringed when its snapshot is the selected one.
_LAYERS = [
    {
        "mark": {"type": "line", "strokeWidth": 1.5},
        "encoding": {"x": _X, "y": _Y, "color": _COLOR},
    },
    {
        "mark": {
            "type": "point",
            "filled": True,
            "cursor": "pointer",
            "stroke": {"expr": RING_EXPR},
        },
        "encoding": {
            "x": _X,
            "y": _Y,
            "color": _COLOR,
            "size": _if_selected(160, 40),
            "strokeWidth": _if_selected(2, 0),
            "tooltip": _TOOLTIP,
        },
    },
]


def _params(order_span: int) -> list[dict[str, Any]]:
    """The x axis' radio buttons, the number of ticks it may have in order, and the
    selection (set by the sidebar)."""
    radio = {"input": "radio", "options": list(X_AXES), "labels": list(X_LABELS)}
    return [
        {"name": "x_axis", "value": X_AXES[0], "bind": {**radio, "name": "x axis: "}},
        {"name": "order_span", "value": order_span},
        {"name": "selected_id", "value": None},
        {"name": "selected_color", "value": "black"},
    ]


def chart_spec(
    points: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    width: int = 420,
    height: int = 120,
) -> dict[str, Any]:
    """The Vega-Lite v5 spec drawing ``points`` (see ``chart_points``): one panel per
    metric, one line per branch, a point per value with its snapshot in a tooltip.

    The ``selected_id`` param (null here) rings the points of that snapshot in
    ``selected_color``: the sidebar sets both through the view's API, as data.
    """
    orders = [p["order"] for p in points]
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "description": "Each metric over the notebook's snapshots, one line per branch.",
        "data": {"values": [dict(p) for p in points]},
        "params": _params(max(orders) - min(orders) if orders else 0),
        "transform": [{"calculate": X_EXPR, "as": "x"}],
        "facet": copy.deepcopy(_FACET),
        "spacing": {"row": 12},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {"width": width, "height": height, "layer": copy.deepcopy(_LAYERS)},
        "config": {"legend": {"orient": "top"}},
    }
    if title:
        spec["title"] = {"text": title, "anchor": "start"}
    return spec


@dataclass
class MetricChart:
    """The metrics of the newest ``snapshots`` of a notebook's ``total``, as a chart.

    ``spec()`` is the Vega-Lite spec, ``text()`` a summary for a terminal, and a
    notebook shows both (``_repr_mimebundle_``): JupyterLab draws the spec.
    """

    points: list[dict] = field(default_factory=list)
    snapshots: int = 0
    total: int = 0

    @property
    def metrics(self) -> list[str]:
        return sorted({p["metric"] for p in self.points})

    @property
    def branches(self) -> list[str]:
        return sorted({p["branch"] for p in self.points})

    @property
    def truncated(self) -> bool:
        return self.total > self.snapshots

    def title(self) -> str:
        if self.truncated:
            return f"Metrics over the newest {self.snapshots} of {self.total} snapshots"
        return f"Metrics over {self.snapshots} snapshot{'' if self.snapshots == 1 else 's'}"

    def spec(self, **sizes: int) -> dict[str, Any]:
        return chart_spec(self.points, title=self.title(), **sizes)

    def text(self) -> str:
        if not self.points:
            if not self.snapshots:
                return "No snapshots yet."
            return (
                f"No metrics in {self.snapshots} snapshot{'' if self.snapshots == 1 else 's'}: "
                "record some with %mlvc commit --metric acc=0.93."
            )
        lines = [self.title() + " (oldest -> newest, per branch):"]
        names = {m: one_line(m, 30) for m in self.metrics}
        labels = {b: one_line(b, 30) for b in self.branches}
        name_width = max(map(len, names.values()))
        branch_width = max(map(len, labels.values()))
        for metric in self.metrics:
            name = names[metric]
            for branch in self.branches:
                values = [
                    p["value"]
                    for p in self.points
                    if p["metric"] == metric and p["branch"] == branch
                ]
                if not values:
                    continue
                steps = [format_metric(v) for v in values]
                shown = " -> ".join(steps if len(steps) <= 4 else [steps[0], "…", steps[-1]])
                about = f"{len(values)} point{'' if len(values) == 1 else 's'}"
                if len(values) > 1:
                    about += f", min {format_metric(min(values))}, max {format_metric(max(values))}"
                lines.append(
                    f"  {name:<{name_width}}  {labels[branch]:<{branch_width}}  {shown}  ({about})"
                )
                name = ""
        return "\n".join(lines)

    def bundle(self) -> dict[str, Any]:
        """The notebook's output: the chart for JupyterLab, the summary as plain text."""
        return {MIME: self.spec(), "text/plain": self.text()}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.bundle()

    def __repr__(self) -> str:
        return self.text()

    def to_dict(self) -> dict[str, Any]:
        """What the REST API sends: the spec and what it holds."""
        return {
            "spec": self.spec(),
            "points": len(self.points),
            "metrics": self.metrics,
            "branches": self.branches,
            "snapshots": self.snapshots,
            "total": self.total,
            "truncated": self.truncated,
        }


def metric_chart(frame: Any, total: int | None = None) -> MetricChart:
    """The chart of a ``Repo.log()`` DataFrame (newest first) of ``total`` snapshots."""
    records = frame.to_dict("records")
    return MetricChart(chart_points(records, total), len(records), max(total or 0, len(records)))


def history_chart(
    repo: Any,
    notebook_path: Any = None,
    *,
    limit: int | None = DEFAULT_SNAPSHOTS,
    include_auto: bool = True,
) -> MetricChart:
    """The chart of the newest ``limit`` snapshots of a notebook in ``repo`` (a ``Repo``;
    ``notebook_path`` as its methods take it), read from ``repo.log()``."""
    frame = repo.log(notebook_path, limit=limit, include_auto=include_auto)
    _, total = repo.list(notebook_path, limit=0, include_auto=include_auto)
    return metric_chart(frame, total)
