"""One formatter for what every face shows: sizes, durations, times and metrics.

The magics, the CLI, the widget and the reprs use these functions; the sidebar's
``labextension/src/format.ts`` mirrors them (a test compares both on the same
numbers), so a snapshot reads the same everywhere. Sizes count in powers of 1000
(``kB``, ``MB``), as the commit summary line always has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any


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


def format_value(value: Any) -> str:
    """A value from a diff or a model card: strings quoted, floats short."""
    if isinstance(value, float):
        text = repr(value)
        return text if len(text) <= 12 else f"{value:.6g}"
    if value is None:
        return "None"
    if isinstance(value, str):
        return repr(value)
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


def finite(data: Any) -> Any:
    """``data`` with NaN and infinities as None: browsers' JSON.parse refuses them."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data
