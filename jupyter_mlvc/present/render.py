"""Text and HTML presentations of snapshots, logs, statuses, restores, diffs and comparisons.

Each view wraps one core result and renders it both ways: ``str(view)`` is the
terminal text, ``view._repr_html_()`` the notebook table. IPython picks the right
one through its display formatters, so nothing here imports IPython. The CLI
prints the same text.

Everything a user or a variable can influence (messages, names, reprs, metric
names, environment values, cell sources) goes through :func:`esc` before it
reaches HTML; only :class:`Markup` built here from escaped parts is not escaped
again.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .format import (
    format_bytes,
    format_duration,
    format_metric,
    format_metrics,
    format_time,
    format_value,
    one_line,
)
from .images import figure_lines, image_lines, images_html
from .models_on_data import models_on_data_html, models_on_data_lines

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
    ".mlvc pre.mlvc-diff{margin:2px 0 8px 0;padding:4px;font-size:12px;line-height:1.35}"
    ".mlvc th.section{padding-top:8px;border-bottom:none;color:#555}"
    "</style>"
)


def esc(value: Any) -> str:
    """``value`` as HTML text: every ``<``, ``&`` and quote escaped."""
    return html.escape(str(value), quote=True)


class Markup(str):
    """HTML assembled here from escaped parts: :func:`html_table` puts it in as it is."""


def _html(value: Any) -> str:
    return value if isinstance(value, Markup) else esc(value)


def lines_html(lines: Iterable[str]) -> Markup:
    """Several lines of text in one table cell."""
    return Markup("<br>".join(esc(line) for line in lines))


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
    """An HTML table; every header and cell is escaped here (except :class:`Markup`)."""
    right = set(right)
    head = "".join(
        f'<th class="{"num" if i in right else ""}">{_html(h)}</th>' for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{esc(row_classes[r])}"' if row_classes else ""
        cells = "".join(
            f'<td class="{"num" if i in right else ""}">{_html(c)}</td>' for i, c in enumerate(row)
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
        self.line = text

    def text(self) -> str:
        return self.line

    def html(self) -> str:
        return f"<span>{esc(self.line)}</span>"


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


# -- variables and model cards ------------------------------------------------------------


def variable_text(type_name: str, summary: Mapping[str, Any] | None, *, value: bool = False) -> str:
    """The one-line description of a variable; a model's says what model it is.

    ``value``: where the value itself is short (a number, a short string or list),
    show it rather than its length, so that two versions can be told apart.
    """
    from ..snapshot import VariableInfo

    summary = summary or {}
    card = summary.get("model")
    if isinstance(card, Mapping):
        return model_line(card, library=not value)
    text = str(summary.get("repr", ""))
    if value and type_name == "float":
        try:
            return format_value(float(text))
        except ValueError:
            pass
    sized = "rows" in summary or (summary.get("shape") not in (None, []))
    if value and text and not sized and len(text) <= 40:
        return text
    return VariableInfo("", type_name, dict(summary), 0).text


def model_line(card: Mapping[str, Any], *, library: bool = True) -> str:
    """``LogisticRegression (scikit-learn 1.5.0), fitted, 13 features``"""
    lib = " ".join(str(x) for x in (card.get("library"), card.get("version")) if x)
    line = str(card.get("class", "model")) + (f" ({lib})" if lib and library else "")
    parts = [line]
    if "fitted" in card:
        parts.append("fitted" if card["fitted"] else "not fitted")
    if card.get("n_features_in") is not None:
        parts.append(_plural(int(card["n_features_in"]), "feature"))
    if card.get("n_parameters") is not None:
        part = f"{int(card['n_parameters']):,} parameters"
        trainable = card.get("n_trainable")
        if trainable is not None and trainable != card["n_parameters"]:
            part += f" ({int(trainable):,} trainable)"
        parts.append(part)
    return ", ".join(parts)


def model_card_rows(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The fields of a model card as (label, text) pairs, in reading order."""
    rows = [("model", model_line(card))]
    params = card.get("params") or {}
    if params:
        rows.append(
            (
                "hyperparameters",
                ", ".join(f"{k}={_clip(format_value(v), 60)}" for k, v in params.items()),
            )
        )
    if card.get("feature_names_in"):
        names = [str(n) for n in card["feature_names_in"]]
        # The card keeps the first names only; n_features_in counts them all.
        total = max(int(card.get("n_features_in") or 0), len(names))
        shown = ", ".join(names[:10])
        if total > 10:
            shown += f", … ({total - 10} more)"
        rows.append(("features", shown))
    if "training" in card:
        rows.append(("mode", "training" if card["training"] else "eval"))
    return rows


def _models(variables: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, card) of every variable with a model card."""
    out = []
    for name, info in sorted(variables.items()):
        card = (info.summary or {}).get("model")
        if isinstance(card, Mapping):
            out.append((name, card))
    return out


def models_text(variables: Mapping[str, Any]) -> str:
    """The model cards of a snapshot's variables as indented text ("" if it has none)."""
    out = []
    for name, card in _models(variables):
        rows = model_card_rows(card)
        out.append(f"  {name}: {rows[0][1]}")
        out += [f"    {label}: {text}" for label, text in rows[1:]]
    return "\n".join(out)


def models_html(variables: Mapping[str, Any]) -> str:
    """The model cards of a snapshot's variables as a table ("" if it has none)."""
    rows = []
    for name, card in _models(variables):
        fields = dict(model_card_rows(card))
        rows.append(
            [
                name,
                fields["model"],
                lines_html(
                    f"{k}={_clip(format_value(v), 80)}"
                    for k, v in (card.get("params") or {}).items()
                ),
                fields.get("features", ""),
            ]
        )
    if not rows:
        return ""
    return html_table(["variable", "model", "hyperparameters", "features"], rows)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
            [
                name,
                info.type,
                one_line(variable_text(info.type, info.summary), 70),
                format_bytes(info.nbytes),
            ]
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
        models = models_text(self.snapshot.variables)
        if models:
            out += ["", "models:", models]
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
        models = models_html(self.snapshot.variables)
        if models:
            parts.append("<h4>Models</h4>" + models)
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
        records = self.frame.to_dict("records")
        # A merge has two parents: the log says which two, when it shows one.
        merges = any(len(rec.get("parents") or []) > 1 for rec in records)
        if merges:
            headers.append("merge of")
        headers += ["vars", "size", *metrics]
        rows = []
        for rec in records:
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
            if merges:
                parents = list(rec.get("parents") or [])
                row.append(" + ".join(str(p)[:8] for p in parents) if len(parents) > 1 else "")
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
        kept = getattr(r, "kept", {}) or {}
        if kept:
            lines.append(
                f"kept {len(kept)} not in the snapshot (skipped at commit), their values are "
                "today's, not the snapshot's: "
                + ", ".join(f"{name} ({reason})" for name, reason in kept.items())
            )
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


# -- diffs ----------------------------------------------------------------------------------

#: Columns of a frame's ``describe()`` compared in a diff, in this order.
_DESCRIBE_STATS = ("mean", "std", "min", "max")


def _shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _g(x: Any) -> str:
    return format_metric(x) if isinstance(x, float) else str(x)


def _signed(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:+.6g}"


def change_lines(change: Mapping[str, Any] | None, arrow: str = "->") -> list[str]:
    """How a variable changed (one entry of ``Diff.changed``'s ``change``), as short lines.

    >>> change_lines({"kind": "scalar", "before": 10, "after": 12, "delta": 2.0})
    ['10 -> 12 (+2)']
    """
    ch = change or {}
    kind = ch.get("kind")
    to = f" {arrow} "
    lines: list[str] = []
    if kind == "scalar":
        line = f"{format_value(ch.get('before'))}{to}{format_value(ch.get('after'))}"
        if ch.get("delta") is not None:
            line += f" ({_signed(ch['delta'])})"
        lines.append(line)
    elif kind == "text":
        lines.append(f"text of {ch.get('len_before')}{to}{ch.get('len_after')} characters")
    elif kind == "type":
        lines.append(f"type {ch.get('before_type')}{to}{ch.get('after_type')}")
    elif kind == "array":
        lines += _array_lines(ch, to)
    elif kind in ("frame", "series"):
        lines += _frame_lines(ch, to)
    elif kind == "model":
        lines += _model_lines(ch, to)
    elif kind == "figure":
        lines += figure_lines(ch)
    elif kind in ("mapping", "set", "sequence"):
        what = {"mapping": "keys", "set": "items", "sequence": "items"}[kind]
        if ch.get("len_before") != ch.get("len_after"):
            lines.append(f"len {ch.get('len_before')}{to}{ch.get('len_after')}")
        for label in ("added", "removed", "changed"):
            if ch.get(label):
                lines.append(f"{label} {what}: {_names(ch[label], 8)}")
    if ch.get("note"):
        lines.append(str(ch["note"]))
    if not lines:
        lines.append("value changed")
    return lines


def change_text(change: Mapping[str, Any] | None, arrow: str = "->") -> str:
    """:func:`change_lines` on one line."""
    return "; ".join(change_lines(change, arrow))


def _array_lines(ch: Mapping[str, Any], to: str) -> list[str]:
    lines = []
    if ch.get("shape_before") != ch.get("shape_after"):
        lines.append(
            f"shape {_shape(ch.get('shape_before', []))}{to}{_shape(ch.get('shape_after', []))}"
        )
    if ch.get("dtype_before") != ch.get("dtype_after"):
        lines.append(f"dtype {ch.get('dtype_before')}{to}{ch.get('dtype_after')}")
    if "n_differ" in ch:
        line = f"{ch['n_differ']:,} of {ch.get('n_elements', 0):,} elements differ"
        if ch.get("max_abs_diff") is not None and ch["n_differ"]:
            line += f", max abs diff {_g(ch['max_abs_diff'])}"
        lines.append(line)
    sb, sa = ch.get("stats_before") or {}, ch.get("stats_after") or {}
    stats = [
        f"{k} {_g(sb.get(k))}{to}{_g(sa.get(k))}" for k in ("mean", "std") if k in sb or k in sa
    ]
    if stats:
        lines.append(", ".join(stats))
    return lines


def _frame_lines(ch: Mapping[str, Any], to: str) -> list[str]:
    lines = []
    if ch.get("rows_before") != ch.get("rows_after"):
        lines.append(f"rows {ch.get('rows_before')}{to}{ch.get('rows_after')}")
    if ch.get("columns_added"):
        lines.append("columns added: " + _names(ch["columns_added"], 8))
    if ch.get("columns_removed"):
        lines.append("columns removed: " + _names(ch["columns_removed"], 8))
    for column, (before, after) in (ch.get("dtype_changed") or {}).items():
        lines.append(f"dtype of {column}: {before}{to}{after}")
    differ = ch.get("rows_differ") or {}
    if differ:
        lines.append(
            "values differ in "
            + _names([f"{c} ({_plural(n, 'row')})" for c, n in differ.items()], 6)
        )
    if ch.get("index_equal") is False:
        lines.append("index changed")
    db, da = ch.get("describe_before") or {}, ch.get("describe_after") or {}
    described = []
    for column in [c for c in db if c in da]:
        stats = [
            f"{k} {_g(db[column].get(k))}{to}{_g(da[column].get(k))}"
            for k in _DESCRIBE_STATS
            if db[column].get(k) != da[column].get(k)
        ]
        if stats:
            described.append(f"{column}: " + ", ".join(stats))
    lines += described[:5]
    if len(described) > 5:
        lines.append(f"… {len(described) - 5} more columns with other statistics")
    return lines


def _model_lines(ch: Mapping[str, Any], to: str) -> list[str]:
    lines = []
    for name, pair in (ch.get("params_changed") or {}).items():
        before, after = pair
        # Two long reprs clipped to the same prefix say nothing: the nested
        # parameters that did change are listed on their own.
        if before != after:
            lines.append(f"{name}: {before}{to}{after}")
    nb, na = ch.get("n_parameters_before"), ch.get("n_parameters_after")
    if nb is not None and na is not None and (nb or na):
        lines.append(f"{nb:,} parameters" if nb == na else f"parameters {nb:,}{to}{na:,}")
    if ch.get("max_weight_change") is not None:
        lines.append(f"max weight change {_g(ch['max_weight_change'])}")
    if ch.get("layers_changed"):
        lines.append("weights changed in " + _names(ch["layers_changed"], 6))
    if ch.get("keys_added"):
        lines.append("layers added: " + _names(ch["keys_added"], 6))
    if ch.get("keys_removed"):
        lines.append("layers removed: " + _names(ch["keys_removed"], 6))
    if not lines:
        lines.append("fitted state changed (same hyperparameters)")
    return lines


def _ident_label(ident: Mapping[str, Any]) -> str:
    if ident.get("current"):
        return "the current state"
    label = str(ident.get("short_id") or str(ident.get("id", ""))[:8])
    if ident.get("message"):
        label += f" \u201c{one_line(ident['message'], 50)}\u201d"
    return label


def _info_text(info: Mapping[str, Any] | None) -> str:
    if not info:
        return ""
    return one_line(variable_text(info.get("type", ""), info.get("summary"), value=True), 50)


class DiffView(View):
    """What ``%mlvc diff`` shows: variables, metrics, environment and notebook cells that changed.

    It takes a ``Diff`` or its JSON (``Diff.to_dict()``), so the REST API's data renders the same.
    """

    def __init__(self, diff: Any):
        self.data: dict[str, Any] = diff.to_dict() if hasattr(diff, "to_dict") else dict(diff)

    @property
    def to_current(self) -> bool:
        return bool(self.data.get("b", {}).get("current"))

    def title(self, arrow: str = "->") -> str:
        return f"{_ident_label(self.data['a'])} {arrow} {_ident_label(self.data['b'])}"

    def _variables(self) -> list[tuple[str, Mapping[str, Any]]]:
        v = self.data.get("variables", {})
        return (
            [("added", e) for e in v.get("added", [])]
            + [("changed", e) for e in v.get("changed", [])]
            + [("removed", e) for e in v.get("removed", [])]
        )

    def metric_rows(self) -> list[list[str]]:
        rows = []
        for m in self.data.get("metrics", []):
            before, after = m.get("before"), m.get("after")
            # The current state has no metrics until it is committed: leaving them
            # all out is clearer than listing every metric as dropped.
            if self.to_current and after is None:
                continue
            delta = m.get("delta")
            rows.append([m["name"], format_metric(before), format_metric(after), _signed(delta)])
        return rows

    def _changed_metrics(self) -> int:
        return sum(1 for _, b, a, _ in self.metric_rows() if a != b)

    def _cells(self) -> list[Mapping[str, Any]]:
        return list((self.data.get("notebook") or {}).get("cells") or [])

    def headline(self) -> str:
        v = self.data.get("variables", {})
        counts = [
            f"{len(v.get('added', []))} added",
            f"{len(v.get('changed', []))} changed",
            f"{len(v.get('removed', []))} removed",
            f"{len(v.get('unchanged', []))} unchanged",
        ]
        line = "variables: " + ", ".join(counts)
        if self._changed_metrics():
            line += f"; {_plural(self._changed_metrics(), 'metric')} changed"
        if self.data.get("environment"):
            line += f"; {_plural(len(self.data['environment']), 'package')} changed"
        if self._cells():
            line += f"; {_plural(len(self._cells()), 'cell')} changed"
        return line

    def merge_line(self) -> str:
        """For a merge snapshot: which parent each change came from."""
        merge = self.data.get("merge")
        if not merge:
            return ""
        first, second = (p[:8] for p in merge["parents"])
        parts = [f"B merges {second} into {first}"]
        if merge["from_second"]:
            parts.append(f"from {second}: " + _names(merge["from_second"], 20))
        if merge["from_first"]:
            parts.append(f"from {first}: " + _names(merge["from_first"], 20))
        return "; ".join(parts)

    def is_empty(self) -> bool:
        v = self.data.get("variables", {})
        return not (
            v.get("added")
            or v.get("changed")
            or v.get("removed")
            or self._changed_metrics()
            or self.data.get("environment")
            or self._cells()
        )

    def _notebook_note(self) -> str:
        nb = self.data.get("notebook") or {}
        if not nb.get("available", False):
            return "notebook: not compared (one side has no stored notebook)"
        if not self._cells():
            return f"notebook: no cell changed ({nb.get('unchanged', 0)} unchanged)"
        return f"notebook: {_plural(len(self._cells()), 'cell')} changed, {nb.get('unchanged', 0)} unchanged"

    @staticmethod
    def _cell_heading(cell: Mapping[str, Any]) -> str:
        index = cell.get("b_index") if cell.get("b_index") is not None else cell.get("a_index")
        kind = cell.get("kind", "modified")
        if kind == "moved":
            kind = f"moved from {cell.get('a_index')}"
        heading = f"cell {index} {kind} ({cell.get('cell_type', 'code')})"
        if cell.get("outputs_changed"):
            heading += ", outputs changed"
        return heading

    def text(self) -> str:
        out = [f"Diff {self.title()}"]
        if self.is_empty():
            out.append("No differences.")
        else:
            out.append(self.headline())
        if self.merge_line():
            out.append(self.merge_line())
        variables = self._variables()
        if variables:
            marks = {"added": "+", "changed": "~", "removed": "-"}
            width = max(len(e["name"]) for _, e in variables)
            out += ["", "variables:"]
            for kind, e in variables:
                if kind == "changed":
                    lines = change_lines(e.get("change"))
                else:
                    info = e.get("after") if kind == "added" else e.get("before")
                    lines = [f"{(info or {}).get('type', '')}  {_info_text(info)}".strip()]
                pad = " " * (width + 6)
                out.append(f"  {marks[kind]} {e['name']:<{width}}  {lines[0]}")
                out += [pad + line for line in lines[1:]]
        metrics = self.metric_rows()
        if metrics:
            out += [
                "",
                "metrics:",
                _indent(
                    text_table(["metric", "before", "after", "delta"], metrics, right=[1, 2, 3])
                ),
            ]
        if self.data.get("environment"):
            out += ["", "environment:"]
            out += [
                f"  {e['name']}: {e.get('before') or '(none)'} -> {e.get('after') or '(none)'}"
                for e in self.data["environment"]
            ]
        if self.data.get("models"):
            out += ["", *models_on_data_lines(self.data["models"])]
        out += ["", self._notebook_note()]
        for cell in self._cells():
            out.append("  " + self._cell_heading(cell))
            out += ["    " + line for line in cell.get("source_diff", [])]
        if images := image_lines(self.data.get("notebook")):
            out += ["", "images:", *("  " + line for line in images)]
        return "\n".join(out).rstrip()

    def html(self) -> str:
        parts = [f"<p><b>Diff {esc(self.title(chr(0x2192)))}</b></p>"]
        parts.append(f"<p>{esc('No differences.' if self.is_empty() else self.headline())}</p>")
        if self.merge_line():
            parts.append(f"<p>{esc(self.merge_line())}</p>")
        variables = self._variables()
        if variables:
            rows, classes = [], []
            for kind, e in variables:
                before, after = e.get("before"), e.get("after")
                types = [t for t in ((before or {}).get("type"), (after or {}).get("type")) if t]
                type_text = " \u2192 ".join(dict.fromkeys(types))
                how = (
                    lines_html(change_lines(e.get("change"), "\u2192")) if kind == "changed" else ""
                )
                rows.append(
                    [kind, e["name"], type_text, _info_text(before), _info_text(after), how]
                )
                classes.append(kind)
            parts.append(
                "<h4>Variables</h4>"
                + html_table(
                    ["", "variable", "type", "before", "after", "how it changed"],
                    rows,
                    row_classes=classes,
                )
            )
        metrics = self.metric_rows()
        if metrics:
            classes = ["changed" if b != a else "" for _, b, a, _ in metrics]
            parts.append(
                "<h4>Metrics</h4>"
                + html_table(
                    ["metric", "before", "after", "delta"],
                    metrics,
                    right=[1, 2, 3],
                    row_classes=classes,
                )
            )
        if self.data.get("environment"):
            rows = [
                [e["name"], e.get("before") or "(none)", e.get("after") or "(none)"]
                for e in self.data["environment"]
            ]
            parts.append("<h4>Environment</h4>" + html_table(["package", "before", "after"], rows))
        parts.append(models_on_data_html(self.data.get("models")))
        parts.append(f'<h4>Notebook</h4><p class="muted">{esc(self._notebook_note())}</p>')
        for cell in self._cells():
            parts.append(f"<div><b>{esc(self._cell_heading(cell))}</b></div>")
            parts.append(source_diff_html(cell.get("source_diff", [])))
        parts.append(images_html(self.data))
        return "".join(parts)


#: Inline styles rather than classes: they survive a frontend that drops <style>.
_LINE_STYLES = {
    "+": "color:#1a7f37;background:#e6ffec",
    "-": "color:#cf222e;background:#ffebe9",
    "@": "color:#777",
}


def source_diff_html(lines: Sequence[str]) -> str:
    """A unified diff of a cell's source, added lines green and removed lines red, in monospace."""
    out = []
    for line in lines:
        style = _LINE_STYLES.get(line[:1], "")
        cls = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
        out.append(f'<span class="{cls}" style="{style}">{esc(line) or " "}</span>')
    return (
        '<pre class="mlvc-diff" style="font-family:monospace;white-space:pre">'
        + "\n".join(out)
        + "</pre>"
    )


# -- several snapshots side by side -------------------------------------------------------------


class CompareView(View):
    """Snapshots side by side, one column each: their metrics, then the variables that differ.

    Build it from ``Repo.compare(refs).to_dict()`` (the core's comparison reads no pickle).
    """

    def __init__(
        self,
        columns: Sequence[Mapping[str, str]],
        metrics: Sequence[tuple[str, Sequence[str]]],
        variables: Sequence[tuple[str, Sequence[str]]],
        *,
        same: int = 0,
    ):
        self.columns = list(columns)
        self.metrics = list(metrics)
        self.variables = list(variables)
        self.same = same

    @classmethod
    def from_comparison(cls, comparison: Mapping[str, Any]) -> CompareView:
        columns = [
            {
                "id": s["short_id"],
                "message": one_line(s["message"], 40) or ("(auto)" if s.get("auto") else ""),
                "time": format_time(s["created_at"]),
                "refs": ", ".join(([s["branch"]] if s.get("branch") else []) + list(s["tags"])),
            }
            for s in comparison["snapshots"]
        ]
        metrics = [
            (m["name"], [format_metric(v) for v in m["values"]]) for m in comparison["metrics"]
        ]
        variables: list[tuple[str, list[str]]] = []
        for var in comparison["variables"]:
            variables.append(
                (
                    var["name"],
                    [
                        one_line(variable_text(v["type"], v["summary"], value=True), 40)
                        if v
                        else "—"
                        for v in var["values"]
                    ],
                )
            )
            for param in var["params"]:
                full = [format_value(v) for v in param["values"]]
                start = _first_difference(full)
                variables.append(
                    (
                        f"{var['name']}.{param['name']}",
                        [_clip_around(v, start, 40) for v in full],
                    )
                )
        return cls(columns, metrics, variables, same=len(comparison["same"]))

    def headline(self) -> str:
        differ = len({n.split(".")[0] for n, _ in self.variables})
        line = (
            f"{len(self.columns)} snapshots side by side: {_plural(len(self.metrics), 'metric')}, "
            f"{_plural(differ, 'variable')} that differ{'s' if differ == 1 else ''}"
        )
        return line + (f" ({self.same} identical in all left out)" if self.same else "")

    def _header_rows(self) -> list[tuple[str, list[str]]]:
        rows = [
            ("message", [c["message"] for c in self.columns]),
            ("time", [c["time"] for c in self.columns]),
        ]
        if any(c["refs"] for c in self.columns):
            rows.append(("refs", [c["refs"] for c in self.columns]))
        return rows

    def text(self) -> str:
        sections: list[tuple[str, Sequence[tuple[str, Sequence[str]]]]] = [
            ("", self._header_rows()),
            ("metrics:", self.metrics),
            ("variables that differ:", self.variables),
        ]
        all_rows = [[label, *values] for _, rows in sections for label, values in rows]
        headers = ["", *[c["id"] for c in self.columns]]
        widths = [max(len(str(r[i])) for r in [headers, *all_rows]) for i in range(len(headers))]

        def fmt(row: Sequence[str]) -> str:
            return "  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip()

        out = [self.headline(), fmt(headers), fmt(["-" * w for w in widths])]
        for title, rows in sections:
            if title and rows:
                out.append(title)
            out += [fmt([label, *values]) for label, values in rows]
        if not self.variables:
            out.append("(no variable differs)")
        return "\n".join(out)

    def html(self) -> str:
        n = len(self.columns) + 1
        head = "<th></th>" + "".join(f"<th>{esc(c['id'])}</th>" for c in self.columns)
        body = []

        def row(label: str, values: Sequence[str], num: bool = False) -> str:
            cls = ' class="num"' if num else ""
            return (
                f"<tr><th>{esc(label)}</th>"
                + "".join(f"<td{cls}>{esc(v)}</td>" for v in values)
                + "</tr>"
            )

        body += [row(label, values) for label, values in self._header_rows()]
        if self.metrics:
            body.append(f'<tr><th class="section" colspan="{n}">Metrics</th></tr>')
            body += [row(label, values, num=True) for label, values in self.metrics]
        body.append(f'<tr><th class="section" colspan="{n}">Variables that differ</th></tr>')
        body += [row(label, values) for label, values in self.variables]
        if not self.variables:
            body.append(f'<tr><td colspan="{n}" class="muted">(no variable differs)</td></tr>')
        return (
            f"<p>{esc(self.headline())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )


def _first_difference(texts: Sequence[str]) -> int:
    """Where the first of ``texts`` stops being the same as the others."""
    n = min(len(t) for t in texts) if texts else 0
    for i in range(n):
        if len({t[i] for t in texts}) > 1:
            return i
    return n


def _clip_around(text: str, start: int, width: int) -> str:
    """``text`` cut to ``width``, showing ``start`` onwards when the beginning is the same in all."""
    if len(text) <= width:
        return text
    if start < width // 2:
        return _clip(text, width)
    begin = start - 10
    return _clip("…" + text[begin:], width)
