"""The Markdown report: one table of every workload and system, then the targets with PASS/MISS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .measure import commit_overhead

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


def _restore_cell(result: dict[str, Any], keys: tuple[str, ...]) -> str:
    cells = []
    for key in keys:
        entry = result["restores"].get(key)
        if entry is None:
            cells.append("—")
            continue
        cell = "err" if "error" in entry else _s(entry.get("seconds"))
        cells.append(cell + ("+saved" if entry.get("saved_first") else ""))
    return _join(cells)


def _commit_cell(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "—"
    return "err" if "error" in entry else _s(entry.get("seconds"))


def _peak_cell(commits: list[dict[str, Any]]) -> str:
    peaks = [c for c in commits if "peak_rss" in c]
    if not peaks:
        return "—"
    worst = max(peaks, key=lambda c: commit_overhead(c) or 0)
    over = commit_overhead(worst)
    return f"{_mb(worst['peak_rss'])} ({over:.2f}x)" if over is not None else _mb(worst["peak_rss"])


def results_table(
    titles: dict[str, str], results: list[dict[str, Any]], skipped: dict[str, str]
) -> str:
    """One row per workload x system, as issue 16's table, with the medians of the repetitions."""
    lines = [
        "| workload | system | n | first commit s, jupyter_client kernel | first commit s, server kernel "
        "| later commits s | added MiB (each) | store MiB | restore same kernel s (first / last) "
        "| restore fresh kernel s (first / last) | partial restore s (same / fresh) "
        "| peak RSS MiB commit (x state) | correct |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, title in titles.items():
        label = title
        for r in [r for r in results if r["workload"] == name]:
            commits = r["commits"]
            later = _join([_commit_cell(c) for c in commits[1:]]) or "—"
            added = _join([_mb(c.get("bytes_added")) for c in commits])
            correct = (
                "yes" if r["correct"]["ok"] else "no: " + "; ".join(r["correct"]["problems"][:3])
            )
            if len(r["correct"]["problems"]) > 3:
                correct += f" (+{len(r['correct']['problems']) - 3} more)"
            lines.append(
                f"| {label} | {r['system']} | {r.get('repeat', 1)} "
                f"| {_commit_cell(commits[0] if commits else None)} "
                f"| {_commit_cell(r.get('server_commit'))} | {later} | {added} "
                f"| {_mb(r.get('store_bytes'))} "
                f"| {_restore_cell(r, ('same_first', 'same_last'))} "
                f"| {_restore_cell(r, ('fresh_first', 'fresh_last'))} "
                f"| {_restore_cell(r, ('partial_same', 'partial_fresh'))} "
                f"| {_peak_cell(commits)} | {correct.replace('|', '/')} |"
            )
            label = ""
        for system, why in skipped.items():
            lines.append(
                f"| {label} | {system} | | skipped: {why.replace('|', '/')} | | | | | | | | | |"
            )
            label = ""
    return "\n".join(lines)


def auto_table(auto: dict[str, Any]) -> str:
    from .autosnap import KINDS

    lines = [
        "| cell | median s, auto off | median s, auto on | added ms |",
        "|---|---|---|---|",
    ]
    for kind, label in KINDS.items():
        k = auto.get("kinds", {}).get(kind)
        if k is None:
            lines.append(f"| {label} | {auto.get('error', 'not measured')} | | |")
        else:
            lines.append(f"| {label} | {_s(k['off'])} | {_s(k['on'])} | {k['added'] * 1000:.1f} |")
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


WORKLOADS = ("numeric", "pandas", "strings", "models", "small", "aliasing")


def _reference(results: list[dict[str, Any]], workload: str) -> tuple[dict[str, Any] | None, str]:
    """dill's result, or pickle's where dill cannot save the state (torch models)."""
    d = _find(results, workload, "dill")
    if d is not None and d["commits"] and not any("error" in c for c in d["commits"]):
        return d, "dill"
    p = _find(results, workload, "pickle")
    if p is not None:
        return p, "pickle (dill fails here)"
    return d, "dill"


def targets_issue16(results: list[dict[str, Any]], auto: dict[str, Any] | None) -> list[Target]:
    """Issue 16's targets: ratios to dill of the medians measured in this run."""
    out: list[Target] = []
    pairs = {w: (_find(results, w, "mlvc"), _reference(results, w)) for w in WORKLOADS}
    pairs = {w: (m, ref) for w, (m, ref) in pairs.items() if m or ref[0]}
    for where, path in (
        ("jupyter_client kernel", ("commits", 0)),
        ("server kernel", ("server_commit",)),
    ):
        for w, (m, (d, ref)) in pairs.items():
            limit = 0.5 if w == "numeric" else 1.0
            out.append(
                _ratio_target(
                    f"{w}: first commit in a fresh {where} vs {ref}",
                    _seconds(m, *path),
                    _seconds(d, *path),
                    limit,
                )
            )
    for key, where, limit in (
        ("fresh_last", "a fresh kernel", 1.0),
        ("same_last", "the same kernel", 0.5),
    ):
        for w, (m, (d, ref)) in pairs.items():
            out.append(
                _ratio_target(
                    f"{w}: restore of the last snapshot in {where} vs {ref}",
                    _seconds(m, "restores", key),
                    _seconds(d, "restores", key),
                    limit,
                )
            )
    for w in ("small", "strings"):
        m, (d, ref) = pairs.get(w, (None, (None, "dill")))
        if m is None or d is None:
            continue
        for i in range(1, len(m["commits"])):
            out.append(
                _ratio_target(
                    f"{w}: commit {i + 1} (after a change) vs {ref}",
                    _seconds(m, "commits", i),
                    _seconds(d, "commits", i),
                    1.0,
                )
            )
    for key, where in (("partial_same", "the same kernel"), ("partial_fresh", "a fresh kernel")):
        measured = [(w, _seconds(m, "restores", key)) for w, (m, _ref) in pairs.items() if m]
        measured = [(w, x) for w, x in measured if x is not None]
        name = f"partial restore of `params` in {where}, slowest workload"
        if not measured:
            out.append(Target(name, "—", "≤ 0.1 s", None, None))
            continue
        w, worst = max(measured, key=lambda wx: wx[1])
        out.append(Target(name, f"{worst:.3f} s ({w})", "≤ 0.1 s", None, worst <= 0.1))
    for w in ("numeric", "pandas", "strings"):
        m = pairs.get(w, (None, None))[0]
        overs = [commit_overhead(c) for c in m["commits"]] if m else []
        overs = [o for o in overs if o is not None]
        if overs:
            worst = max(overs)
            out.append(
                Target(
                    f"{w}: peak kernel memory during a commit over the state's size",
                    f"{worst:.2f}x the state",
                    "≤ 1.25x",
                    worst,
                    worst <= 1.25,
                )
            )
    if auto is not None:
        from .autosnap import KINDS

        gb = auto.get("state_bytes", 0) / 1e9
        for kind, label in KINDS.items():
            k = auto.get("kinds", {}).get(kind)
            name = f"auto snapshots, {gb:.2f} GB of state, server kernel: {label}"
            if k is None:
                out.append(
                    Target(name, auto.get("error", "not measured"), "≤ 150 ms added", None, None)
                )
                continue
            added = k["added"] * 1000
            out.append(
                Target(
                    name,
                    f"+{added:.1f} ms (median of {auto['repeat']})",
                    "≤ 150 ms added",
                    None,
                    added <= 150,
                )
            )
        missed = auto.get("missed")
        if missed is not None:
            out.append(
                Target(
                    "auto snapshots: no change missed",
                    "none missed" if not missed else "; ".join(missed),
                    "HEAD = the kernel's state",
                    None,
                    not missed,
                )
            )
    return out


def targets(
    results: list[dict[str, Any]], facts: dict[str, dict[str, int]], listing: dict[str, Any] | None
) -> list[Target]:
    """Issue 7's targets, kept: incremental commits, sizes, partial restores, correctness."""
    out: list[Target] = []
    num_m, num_d = _find(results, "numeric", "mlvc"), _find(results, "numeric", "dill")
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
    for workload in ("numeric", "pandas", "strings", "models", "small", "aliasing"):
        m = _find(results, workload, "mlvc")
        if m is None:
            continue
        problems = m["correct"]["problems"]
        out.append(
            Target(
                f"{workload}: every restored value and shared reference right",
                "yes" if not problems else "; ".join(problems[:3]),
                "every restore right",
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
    lines = ["| target | measured | limit | ratio | PASS/MISS |", "|---|---|---|---|---|"]
    for t in items:
        ratio = "" if t.ratio is None else f"{t.ratio:.2f}"
        lines.append(
            f"| {t.name} | {t.measured.replace('|', '/')} | {t.limit} | {ratio} | {t.status} |"
        )
    return "\n".join(lines)
