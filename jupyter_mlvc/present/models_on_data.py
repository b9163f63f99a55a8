"""Models run on the same data, shown: lines for a terminal, tables for a notebook.

It renders ``Diff.to_dict()["models"]`` (``diff_format.ModelsOnData``): per model, how
many predictions differ and the score on ``y`` before and after; in HTML also the
confusion between the old predictions (rows) and the new ones (columns), or the
spread of B - A for a regressor. Every name, label and message is escaped here:
they come from variables and snapshots.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .format import format_metric, one_line

#: Confusion matrices with at most this many labels are drawn in the text form too.
MAX_TEXT_LABELS = 10
_SPREAD_COLUMNS = ("mean", "std", "min", "5%", "25%", "50%", "75%", "95%", "max")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _signed(x: Any) -> str:
    return "" if x is None else f"{x:+.6g}"


def _label(value: Any) -> str:
    return one_line("None" if value is None else str(value), 24)


def heading(models: Mapping[str, Any]) -> str:
    """``models on X_test (300 samples), scored on y_test``."""
    line = f"models on {models.get('x')} ({_plural(int(models.get('n_samples') or 0), 'sample')})"
    if models.get("y"):
        line += f", scored on {models['y']}"
    return line


def differ_text(model: Mapping[str, Any]) -> str:
    """``37 of 300 predictions differ (12.3 %)``."""
    n, k = int(model.get("n_samples") or 0), model.get("n_differ")
    if k is None:
        return ""
    share = 100.0 * k / n if n else 0.0
    return f"{k:,} of {n:,} predictions differ ({share:.1f} %)"


def score_text(model: Mapping[str, Any], arrow: str = "->") -> str:
    """``accuracy 0.91 -> 0.94``, or "" without ``y``."""
    if not model.get("metric"):
        return ""
    before, after = model.get("score_before"), model.get("score_after")
    if before == after:
        return f"{model['metric']} {format_metric(before)} (both)"
    return f"{model['metric']} {format_metric(before)} {arrow} {format_metric(after)}"


def spread_text(spread: Mapping[str, Any] | None) -> str:
    """``B - A: mean +0.01, std 0.2, 5%..95% -0.3..+0.4``."""
    if not spread or spread.get("mean") is None:
        return ""
    q = spread.get("quantiles") or {}
    return (
        f"B - A: mean {_signed(spread['mean'])}, std {format_metric(spread.get('std'))}, "
        f"5%..95% {_signed(q.get('5%'))}..{_signed(q.get('95%'))}"
    )


def model_line(model: Mapping[str, Any], arrow: str = "->") -> str:
    """One model on one line: ``clf: 37 of 300 predictions differ (12.3 %); accuracy ...``."""
    if model.get("error"):
        return f"model {model['name']}: could not be run on the data: {model['error']}"
    parts = [differ_text(model), spread_text(model.get("difference")), score_text(model, arrow)]
    return f"model {model['name']}: " + "; ".join(p for p in parts if p)


def confusion_lines(confusion: Mapping[str, Any] | None) -> list[str]:
    """The confusion matrix as aligned text, A's predictions as rows."""
    if not confusion:
        return []
    labels = [_label(v) for v in confusion["labels"]]
    rows = [[str(c) for c in row] for row in confusion["matrix"]]
    width = max([len(x) for x in labels] + [len(c) for row in rows for c in row] + [1])
    head = max([len(x) for x in labels] + [len("A \\ B")])
    lines = ["A \\ B".ljust(head) + "".join(f"  {x:>{width}}" for x in labels)]
    for label, row in zip(labels, rows):
        lines.append(label.ljust(head) + "".join(f"  {c:>{width}}" for c in row))
    return lines


def models_on_data_lines(models: Mapping[str, Any] | None, arrow: str = "->") -> list[str]:
    """The text form: a heading, then a line per model (and small confusion matrices)."""
    if not models:
        return []
    out = [heading(models) + ":"]
    if models.get("note"):
        return [*out, "  " + str(models["note"])]
    if not models.get("models"):
        return [*out, "  no variable is a model on both sides"]
    for model in models["models"]:
        out.append("  " + model_line(model, arrow))
        confusion = model.get("confusion")
        if (
            confusion
            and model.get("n_differ")
            and len(confusion.get("labels", ())) <= MAX_TEXT_LABELS
        ):
            out += ["      " + line for line in confusion_lines(confusion)]
    return out


# -- HTML -------------------------------------------------------------------------------


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[tuple[str, str]]],
    right: Sequence[int] = (),
) -> str:
    """A table whose cells are ``(text, css class)``; every text is escaped here."""
    head = "".join(
        f'<th class="{"num" if i in right else ""}">{_esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{_esc(cls)}{" num" if i in right else ""}">{_esc(text)}</td>'
            for i, (text, cls) in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary_table(models: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for m in models:
        changed = "changed" if m.get("n_differ") else ""
        rows.append(
            [
                (m["name"], ""),
                (m.get("library") or "", "muted"),
                (m.get("task") or "", ""),
                (differ_text(m) if not m.get("error") else "", changed),
                (m.get("metric") or "", ""),
                (format_metric(m.get("score_before")), ""),
                (format_metric(m.get("score_after")), ""),
                (m.get("error") or "", "removed"),
            ]
        )
    headers = ["model", "library", "task", "predictions", "metric", "before", "after", "error"]
    if not any(m.get("error") for m in models):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    return _table(headers, rows, right=[5, 6])


def confusion_html(confusion: Mapping[str, Any]) -> str:
    """The matrix, A's predictions as rows and B's as columns; off the diagonal is highlighted."""
    labels = [_label(v) for v in confusion["labels"]]
    rows = []
    for i, (label, row) in enumerate(zip(labels, confusion["matrix"])):
        cells = [(label, "")]
        for j, count in enumerate(row):
            cls = "muted" if count == 0 else ("changed" if i != j else "")
            cells.append((f"{count:,}", cls))
        rows.append(cells)
    return _table(["A \u2193  B \u2192", *labels], rows, right=list(range(1, len(labels) + 1)))


def spread_html(spread: Mapping[str, Any]) -> str:
    """B - A of a regressor's predictions: mean, std, min, quantiles, max."""
    q = spread.get("quantiles") or {}
    values = [
        spread.get(k) if k in ("mean", "std", "min", "max") else q.get(k) for k in _SPREAD_COLUMNS
    ]
    cells = [(format_metric(v), "") for v in values]
    return _table(list(_SPREAD_COLUMNS), [cells], right=list(range(len(_SPREAD_COLUMNS))))


def models_on_data_html(models: Mapping[str, Any] | None) -> str:
    """The HTML form: a table of the models, then each model's confusion matrix or spread."""
    if not models:
        return ""
    title = heading(models)
    parts = [f"<h4>{_esc(title[:1].upper() + title[1:])}</h4>"]
    if models.get("note"):
        return parts[0] + f'<p class="muted">{_esc(models["note"])}</p>'
    if not models.get("models"):
        return parts[0] + '<p class="muted">No variable is a model on both sides.</p>'
    parts.append(_summary_table(models["models"]))
    # An unchanged model's matrix is its diagonal: only those whose predictions moved.
    for m in (m for m in models["models"] if m.get("n_differ")):
        if m.get("confusion"):
            parts.append(
                f"<div style='margin-top:8px'><b>{_esc(m['name'])}</b>: "
                "old predictions (rows) against new ones (columns)</div>"
            )
            parts.append(confusion_html(m["confusion"]))
        elif m.get("difference") and m["difference"].get("mean") is not None:
            parts.append(
                f"<div style='margin-top:8px'><b>{_esc(m['name'])}</b>: new minus old prediction</div>"
            )
            parts.append(spread_html(m["difference"]))
    return "".join(parts)


__all__ = [
    "confusion_html",
    "confusion_lines",
    "differ_text",
    "heading",
    "model_line",
    "models_on_data_html",
    "models_on_data_lines",
    "score_text",
    "spread_html",
    "spread_text",
]
