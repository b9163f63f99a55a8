"""The Markdown report: one table per workload, then the targets of issue 7 with PASS/MISS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MB = 2**20


@dataclass
class Target:
    name: str
    measured: str
    limit: str
    ratio: float | None
    ok: bool | None  # None: could not be measured

    @property
    def status(self) -> str:
        return "n/a" if self.ok is None else ("PASS" if self.ok else "MISS")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": self.measured,
            "limit": self.limit,
            "ratio": self.ratio,
            "status": self.status,
        }


def _s(x: float | None) -> str:
    return "—" if x is None else (f"{x:.3f}" if x < 0.1 else f"{x:.2f}")


def _mb(x: float | None) -> str:
    if x is None:
        return "—"
    x = x / MB
    return f"{x:.2f}" if x < 10 else f"{x:.0f}"


def _join(values: list[str]) -> str:
    return " / ".join(values)


def commit_overhead(commit: dict[str, Any]) -> float | None:
    """The kernel's memory during a commit, in units of the state's size.

    ``1 + (peak RSS during the commit - RSS just before it) / state``: what the
    kernel held besides the state (the interpreter, imported libraries) is left
    out, whatever the commit allocated on top of the state is counted in. A
    commit that holds a full serialized copy of the state in memory scores 2 or more.
    """
    if "peak_rss" not in commit or not commit.get("state_bytes"):
        return None
    return 1 + max(0, commit["peak_rss"] - commit["rss_before"]) / commit["state_bytes"]


def _restore_cell(result: dict[str, Any], keys: tuple[str, str]) -> str:
    cells = []
    for key in keys:
        entry = result["restores"].get(key, {})
        cells.append("err" if "error" in entry else _s(entry.get("seconds")))
    return _join(cells)


def workload_table(title: str, results: list[dict[str, Any]], skipped: dict[str, str]) -> str:
    lines = [
        f"### {title}",
        "",
        "| system | commit s (each) | added MB (each) | store MB | restore same kernel s (first / last) "
        "| restore fresh kernel s (first / last) | peak RSS MB commit (x state) | peak RSS MB fresh restore "
        "| correct |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        commits = r["commits"]
        times = _join(["err" if "error" in c else _s(c.get("seconds")) for c in commits])
        added = _join([_mb(c.get("bytes_added")) for c in commits])
        peaks = [c for c in commits if "peak_rss" in c]
        if peaks:
            worst = max(peaks, key=lambda c: commit_overhead(c) or 0)
            over = commit_overhead(worst)
            peak = (
                f"{_mb(worst['peak_rss'])} ({over:.2f}x)"
                if over is not None
                else _mb(worst["peak_rss"])
            )
        else:
            peak = "—"
        fresh_peaks = [e.get("peak_rss") for k, e in r["restores"].items() if k.startswith("fresh")]
        fresh_peak = _mb(max((p for p in fresh_peaks if p), default=None))
        correct = "yes" if r["correct"]["ok"] else "no: " + "; ".join(r["correct"]["problems"][:4])
        if len(r["correct"]["problems"]) > 4:
            correct += f" (+{len(r['correct']['problems']) - 4} more)"
        lines.append(
            f"| {r['system']} | {times} | {added} | {_mb(r.get('store_bytes'))} "
            f"| {_restore_cell(r, ('same_first', 'same_last'))} "
            f"| {_restore_cell(r, ('fresh_first', 'fresh_last'))} | {peak} | {fresh_peak} "
            f"| {correct.replace('|', '/')} |"
        )
    for name, why in skipped.items():
        lines.append(f"| {name} | skipped: {why.replace('|', '/')} | | | | | | | |")
    return "\n".join(lines)


def _find(results: list[dict[str, Any]], workload: str, system: str) -> dict[str, Any] | None:
    for r in results:
        if r["workload"] == workload and r["system"] == system:
            return r
    return None


def _seconds(r: dict[str, Any] | None, *path: Any) -> float | None:
    node: Any = r
    for key in path:
        if node is None:
            return None
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, dict):
        if "error" in node:
            return None
        return node.get("seconds")
    return node


def _ratio_target(
    name: str, a: float | None, b: float | None, limit: float, unit: str = "s"
) -> Target:
    if a is None or not b:
        return Target(name, "—", f"≤ {limit}x", None, None)
    ratio = a / b
    measured = f"{a:.3f} {unit} vs {b:.3f} {unit}" if unit == "s" else f"{_mb(a)} MB vs {_mb(b)} MB"
    return Target(name, measured, f"≤ {limit}x", ratio, ratio <= limit)


def targets(
    results: list[dict[str, Any]], facts: dict[str, dict[str, int]], listing: dict[str, Any] | None
) -> list[Target]:
    out: list[Target] = []
    num_m, num_d = _find(results, "numeric", "mlvc"), _find(results, "numeric", "dill")
    out.append(
        _ratio_target(
            "numeric: first commit vs dill",
            _seconds(num_m, "commits", 0),
            _seconds(num_d, "commits", 0),
            0.8,
        )
    )
    out.append(
        _ratio_target(
            "numeric: re-commit after 1% of one array changed vs dill",
            _seconds(num_m, "commits", 1),
            _seconds(num_d, "commits", 1),
            0.25,
        )
    )
    added = _seconds(num_m, "commits", 1, "bytes_added") if num_m else None
    if added is None:
        out.append(Target("numeric: bytes added by that re-commit", "—", "< 4 MB", None, None))
    else:
        out.append(
            Target(
                "numeric: bytes added by that re-commit",
                f"{added / MB:.2f} MB",
                "< 4 MB",
                None,
                added < 4 * MB,
            )
        )
    out.append(
        _ratio_target(
            "numeric: store size after 3 commits vs dill",
            num_m.get("store_bytes") if num_m else None,
            num_d.get("store_bytes") if num_d else None,
            0.4,
            unit="bytes",
        )
    )
    pd_m = _find(results, "pandas", "mlvc")
    column = facts.get("pandas", {}).get("new_column_bytes")
    added = _seconds(pd_m, "commits", 1, "bytes_added") if pd_m else None
    if added is None or not column:
        out.append(
            Target("pandas: 2nd commit adds about the new column", "—", "≤ 1.5x column", None, None)
        )
    else:
        out.append(
            Target(
                "pandas: 2nd commit adds about the new column",
                f"{_mb(added)} MB added, column {_mb(column)} MB",
                "≤ 1.5x column",
                added / column,
                added <= 1.5 * column,
            )
        )
    for workload in ("numeric", "pandas", "small", "aliasing", "models"):
        m, d = _find(results, workload, "mlvc"), _find(results, workload, "dill")
        if m is None or d is None:
            continue
        for key, where in (("same_last", "same kernel"), ("fresh_last", "fresh kernel")):
            out.append(
                _ratio_target(
                    f"{workload}: restore of the last snapshot, {where}, vs dill",
                    _seconds(m, "restores", key),
                    _seconds(d, "restores", key),
                    1.0,
                )
            )
    # "Restoring one changed variable out of many costs about that variable": the same
    # kernel restores the first snapshot from the last state (only what differs), against
    # mlvc's own full restore of that snapshot in a fresh kernel.
    for workload, limit, what in (
        ("numeric", 0.25, "1 of 8 arrays differs, 1 to remove"),
        ("small", 0.1, "1 of hundreds of variables differs"),
    ):
        m = _find(results, workload, "mlvc")
        t = _ratio_target(
            f"{workload}: partial restore ({what}) vs full restore",
            _seconds(m, "restores", "same_first"),
            _seconds(m, "restores", "fresh_first"),
            limit,
        )
        out.append(t)
    for workload in ("numeric", "pandas"):
        m = _find(results, workload, "mlvc")
        overs = [commit_overhead(c) for c in m["commits"]] if m else []
        overs = [o for o in overs if o is not None]
        if overs:
            worst = max(overs)
            out.append(
                Target(
                    f"{workload}: peak kernel memory during a commit over the state's size",
                    f"{worst:.2f}x the state",
                    "≤ 1.25x",
                    worst,
                    worst <= 1.25,
                )
            )
    for workload in ("numeric", "pandas", "models", "small", "aliasing"):
        m = _find(results, workload, "mlvc")
        if m is None:
            continue
        problems = m["correct"]["problems"]
        out.append(
            Target(
                f"{workload}: every restored value and shared reference right",
                "yes" if not problems else "; ".join(problems[:3]),
                "all 4 restores right",
                None,
                not problems,
            )
        )
    if listing:
        n = listing.get("snapshots")
        for key, label in (("log_ms", "repo.log()"), ("rest_ms", "REST listing, first page")):
            value = listing.get(key)
            if value is None:
                why = listing.get(f"{key}_error", "not measured")
                out.append(Target(f"{n} snapshots: {label}", why, "< 100 ms", None, None))
            else:
                out.append(
                    Target(
                        f"{n} snapshots: {label}",
                        f"{value:.1f} ms (median)",
                        "< 100 ms",
                        None,
                        value < 100,
                    )
                )
    return out


def targets_table(items: list[Target]) -> str:
    lines = ["| target | measured | limit | ratio | result |", "|---|---|---|---|---|"]
    for t in items:
        ratio = "" if t.ratio is None else f"{t.ratio:.2f}"
        lines.append(
            f"| {t.name} | {t.measured.replace('|', '/')} | {t.limit} | {ratio} | {t.status} |"
        )
    return "\n".join(lines)
