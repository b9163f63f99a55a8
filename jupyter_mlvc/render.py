"""Text and HTML presentations of snapshots, logs, statuses and restores.

Each view wraps one core result and renders it both ways: ``str(view)`` is the
terminal text, ``view._repr_html_()`` the notebook table. IPython picks the right
one through its display formatters, so nothing here imports IPython.

Everything a user or a variable can influence (messages, names, reprs, metric
names, environment values) goes through :func:`esc` before it reaches HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

#: Columns of ``Repo.log`` that are not metrics.
LOG_BASE_COLUMNS = (
    "id",
    "short_id",
    "message",
    "created_at",
    "branch",
    "tags",
    "n_variables",
    "nbytes",
    "auto",
    "notebook_path",
    "notebook",
    "parents",
    "bytes_written",
    "trusted",
    "has_notebook",
    "notebook_source",
)

_CSS = (
    "<style>"
    ".mlvc table{border-collapse:collapse;font-size:12px}"
    ".mlvc th,.mlvc td{padding:2px 8px;text-align:left;vertical-align:top}"
    ".mlvc th{border-bottom:1px solid #999}"
    ".mlvc .num{text-align:right;font-variant-numeric:tabular-nums}"
    ".mlvc code{font-size:12px}"
    ".mlvc .added{color:#1a7f37}.mlvc .changed{color:#9a6700}.mlvc .removed{color:#cf222e}"
    ".mlvc .muted{color:#777}"
    "</style>"
)


def esc(value: Any) -> str:
    """``value`` as HTML text: every ``<``, ``&`` and quote escaped."""
    return html.escape(str(value), quote=True)


def format_bytes(n: float | None) -> str:
    """``1234567`` -> ``1.2 MB`` (powers of 1000, like the summary line's sizes)."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s"


def format_time(value: Any) -> str:
    """A timestamp in the local time zone, to the second."""
    if value is None:
        return ""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime(warn=False)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def format_metric(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.6g}"
    return str(value)


def format_metrics(metrics: Mapping[str, Any]) -> str:
    return "  ".join(f"{k}={format_metric(v)}" for k, v in metrics.items())


def one_line(text: Any, width: int = 60) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    s = str(text or "").strip().splitlines()
    line = s[0] if s else ""
    if len(line) > width or len(s) > 1:
        line = line[: width - 1].rstrip() + "…"
    return line


def _names(names: Iterable[str], limit: int = 8) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", … ({len(names) - limit} more)"
    return shown


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Iterable[int] = ()
) -> str:
    """A plain text table with aligned columns; ``right`` lists right-aligned columns."""
    right = set(right)
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def fmt(row: Sequence[str]) -> str:
        cells = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(row) for row in rows]
    return "\n".join(lines)


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Iterable[int] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table; every header and cell is escaped here."""
    right = set(right)
    head = "".join(
        f'<th class="{"num" if i in right else ""}">{esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{esc(row_classes[r])}"' if row_classes else ""
        cells = "".join(
            f'<td class="{"num" if i in right else ""}">{esc(c)}</td>' for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class View:
    """A result rendered as text in a terminal and as HTML in a notebook."""

    def text(self) -> str:
        raise NotImplementedError

    def html(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text())

    def _repr_html_(self) -> str:
        return f'{_CSS}<div class="mlvc">{self.html()}</div>'


class Line(View):
    """One line of text, e.g. a summary after a commit."""

    def __init__(self, text: str):
        self._text = text

    def text(self) -> str:
        return self._text

    def html(self) -> str:
        return f"<span>{esc(self._text)}</span>"


def commit_summary(snap: Any, seconds: float) -> str:
    """``Committed 3f2a9c1b on main: 14 variables (1.2 GB), 3.4 MB new, 0.8 s; skipped: f (open file)``"""
    n = snap.n_variables or len(snap.variables)
    where = f" on {snap.branch}" if snap.branch else ""
    line = (
        f"Committed {snap.short_id}{where}: {_plural(n, 'variable')} ({format_bytes(snap.nbytes)}), "
        f"{format_bytes(snap.bytes_written)} new, {format_duration(seconds)}"
    )
    if snap.skipped:
        line += "; skipped: " + _names(f"{k} ({v})" for k, v in snap.skipped.items())
    return line


class SnapshotView(View):
    """Everything ``%mlvc show`` tells about one snapshot."""

    def __init__(self, snap: Any):
        self.snapshot = snap

    def header_rows(self) -> list[tuple[str, str]]:
        s = self.snapshot
        rows = [("id", s.id), ("message", s.message), ("time", format_time(s.created_at))]
        rows.append(("parents", ", ".join(p[:8] for p in s.parents) or "(none)"))
        if s.branch:
            rows.append(("branch", s.branch))
        if s.tags:
            rows.append(("tags", ", ".join(s.tags)))
        if s.notebook_path or s.has_notebook:
            where = s.notebook_path or "(no notebook file)"
            source = f" ({s.notebook_source})" if s.notebook_source else ""
            rows.append(
                (
                    "notebook",
                    f"{where}{source}" if s.has_notebook else f"{where} (content not stored)",
                )
            )
        if s.metrics:
            rows.append(("metrics", format_metrics(s.metrics)))
        rows.append(
            (
                "size",
                f"{_plural(s.n_variables or len(s.variables), 'variable')}, {format_bytes(s.nbytes)}",
            )
        )
        if s.auto:
            rows.append(("auto", "made automatically"))
        if not s.trusted:
            rows.append(("trust", "not trusted: `%mlvc trust` before checking it out"))
        return rows

    def _variable_rows(self) -> list[list[str]]:
        return [
            [name, info.type, one_line(info.text, 50), format_bytes(info.nbytes)]
            for name, info in sorted(self.snapshot.variables.items())
        ]

    def _environment_rows(self) -> list[list[str]]:
        rows = []
        for key, value in self.snapshot.environment.items():
            if isinstance(value, Mapping):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            elif isinstance(value, (list, tuple)):
                value = ", ".join(map(str, value))
            rows.append([str(key), one_line(value, 100)])
        return rows

    def text(self) -> str:
        out = [
            f"{k + ':':<10}{one_line(v, 200) if k != 'message' else v}"
            for k, v in self.header_rows()
        ]
        variables = self._variable_rows()
        if variables:
            out += [
                "",
                "variables:",
                _indent(text_table(["name", "type", "summary", "size"], variables, right=[3])),
            ]
        if self.snapshot.skipped:
            out += ["", "skipped:"] + [f"  {k}: {v}" for k, v in self.snapshot.skipped.items()]
        env = self._environment_rows()
        if env:
            out += ["", "environment:"] + [f"  {k}: {v}" for k, v in env]
        return "\n".join(out)

    def html(self) -> str:
        header = "".join(
            f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.header_rows()
        )
        parts = [f"<table>{header}</table>"]
        variables = self._variable_rows()
        if variables:
            parts.append(
                "<h4>Variables</h4>"
                + html_table(["name", "type", "summary", "size"], variables, right=[3])
            )
        if self.snapshot.skipped:
            parts.append(
                "<h4>Skipped</h4>"
                + html_table(["name", "reason"], list(map(list, self.snapshot.skipped.items())))
            )
        env = self._environment_rows()
        if env:
            parts.append("<h4>Environment</h4>" + html_table(["", ""], env))
        return "".join(parts)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


class LogView(View):
    """The history table of ``%mlvc log``: one row per snapshot, metrics as columns."""

    def __init__(self, frame: Any, *, show_notebook: bool = False, title: str = ""):
        self.frame = frame
        self.show_notebook = show_notebook
        self.title = title

    def metric_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in LOG_BASE_COLUMNS]

    def _table(self) -> tuple[list[str], list[list[str]], list[int]]:
        metrics = self.metric_columns()
        headers = ["id", "time", "message", "branch", "tags"]
        if self.show_notebook and "notebook" in self.frame.columns:
            headers.append("notebook")
        headers += ["vars", "size", *metrics]
        rows = []
        for rec in self.frame.to_dict("records"):
            tags = rec.get("tags") or []
            if isinstance(tags, str):
                tags = [tags] if tags else []
            message = one_line(rec.get("message", ""))
            if rec.get("auto"):
                message = message or "(auto)"
            row = [
                str(rec.get("short_id") or str(rec.get("id", ""))[:8]),
                format_time(rec.get("created_at")),
                message,
                str(rec.get("branch") or ""),
                ", ".join(map(str, tags)),
            ]
            if "notebook" in headers:
                row.append(str(rec.get("notebook") or "(no notebook)"))
            row += [_count(rec.get("n_variables")), format_bytes(rec.get("nbytes"))]
            row += [format_metric(rec.get(m)) for m in metrics]
            rows.append(row)
        first_num = headers.index("vars")
        return headers, rows, list(range(first_num, len(headers)))

    def text(self) -> str:
        if len(self.frame) == 0:
            return "No snapshots yet."
        headers, rows, right = self._table()
        table = text_table(headers, rows, right)
        return f"{self.title}\n{table}" if self.title else table

    def html(self) -> str:
        if len(self.frame) == 0:
            return "<p>No snapshots yet.</p>"
        headers, rows, right = self._table()
        title = f"<p><b>{esc(self.title)}</b></p>" if self.title else ""
        return title + html_table(headers, rows, right)


def _count(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(int(value))


class StatusView(View):
    """What ``%mlvc status`` (and the browser's compare) shows: added, changed, removed."""

    def __init__(self, status: Any, *, base_label: str = "HEAD"):
        self.status = status
        self.base_label = base_label

    def _rows(self) -> list[list[str]]:
        s = self.status
        return (
            [["added", n] for n in s.added]
            + [["changed", n] for n in s.changed]
            + [["removed", n] for n in s.removed]
        )

    def headline(self) -> str:
        s = self.status
        if s.base is None:
            return f"No snapshot yet: {_plural(len(s.added), 'variable')} would be committed."
        base = f"{s.base[:8]} ({self.base_label})" if self.base_label else s.base[:8]
        if s.clean:
            return f"No changes since {base}: {_plural(len(s.unchanged), 'variable')} unchanged."
        return (
            f"Since {base}: {len(s.added)} added, {len(s.changed)} changed, "
            f"{len(s.removed)} removed, {len(s.unchanged)} unchanged."
        )

    def text(self) -> str:
        marks = {"added": "+", "changed": "~", "removed": "-"}
        lines = [self.headline()]
        if self.status.base is not None:
            lines += [f"  {marks[kind]} {name}" for kind, name in self._rows()]
        if self.status.skipped:
            lines.append("skipped: " + _names(f"{k} ({v})" for k, v in self.status.skipped.items()))
        return "\n".join(lines)

    def html(self) -> str:
        parts = [f"<p>{esc(self.headline())}</p>"]
        rows = self._rows()
        if rows and self.status.base is not None:
            parts.append(html_table(["", "variable"], rows, row_classes=[r[0] for r in rows]))
        if self.status.skipped:
            parts.append(
                "<h4>Skipped</h4>"
                + html_table(["name", "reason"], list(map(list, self.status.skipped.items())))
            )
        return "".join(parts)


class RestoreView(View):
    """The report of a checkout: what was restored, removed, kept, and saved first."""

    def __init__(self, report: Any, *, seconds: float | None = None, partial: bool = False):
        self.report = report
        self.seconds = seconds
        self.partial = partial

    def lines(self) -> list[str]:
        r = self.report
        snap = r.snapshot
        where = f" ({snap.branch})" if getattr(snap, "branch", None) else ""
        head = f"Checked out {snap.short_id}{where}"
        if getattr(snap, "message", ""):
            head += f" \u201c{one_line(snap.message, 50)}\u201d"
        parts = [f"restored {len(r.restored)}"]
        if not self.partial:
            parts.append(f"removed {len(r.removed)}")
        parts.append(f"kept {len(r.unchanged)} unchanged")
        if r.errors:
            parts.append(f"{len(r.errors)} failed")
        head += ": " + ", ".join(parts)
        if self.seconds is not None:
            head += f", {format_duration(self.seconds)}"
        lines = [head]
        if r.saved is not None:
            lines.append(
                f"Saved the previous state first as {r.saved.short_id} ({r.saved.message})."
            )
        if r.restored:
            lines.append("restored: " + _names(r.restored, 20))
        if r.removed:
            lines.append("removed: " + _names(r.removed, 20))
        if r.unchanged:
            lines.append("kept: " + _names(r.unchanged, 20))
        if self.partial:
            lines.append("Other variables were left as they are; HEAD did not move.")
        for name, reason in r.errors.items():
            lines.append(f"could not restore {name}: {reason}")
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())

    def html(self) -> str:
        lines = self.lines()
        return f"<p><b>{esc(lines[0])}</b></p>" + "".join(
            f"<div>{esc(line)}</div>" for line in lines[1:]
        )


class RefsView(View):
    """Branches (the current one marked) or tags, with the snapshot each points at."""

    def __init__(
        self,
        refs: Mapping[str, str],
        *,
        current: str | None = None,
        head: str | None = None,
        kind: str = "branches",
    ):
        self.refs = dict(refs)
        self.current = current
        self.head = head
        self.kind = kind

    def note(self) -> str:
        """Where HEAD is when it is on no branch."""
        if self.kind == "branches" and self.current is None and self.head:
            return f"HEAD is detached at {self.head[:8]} (not on a branch)."
        return ""

    def _rows(self) -> list[list[str]]:
        return [
            ["*" if name == self.current else "", name, target[:8]]
            for name, target in sorted(self.refs.items())
        ]

    def text(self) -> str:
        lines = [f"{mark or ' '} {name}  {target}" for mark, name, target in self._rows()] or [
            f"No {self.kind} yet."
        ]
        if self.note():
            lines.append(self.note())
        return "\n".join(lines)

    def html(self) -> str:
        table = (
            html_table(
                ["", self.kind[:-1] if self.kind.endswith("s") else self.kind, "snapshot"],
                self._rows(),
            )
            if self.refs
            else f"<p>No {esc(self.kind)} yet.</p>"
        )
        return table + (f"<p>{esc(self.note())}</p>" if self.note() else "")
