"""The campaign's report: totals, per-notebook rows, loud kinds, wrong cases, skips."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .campaign import NotebookResult
from .source import Example

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "corpus.md"
VERDICTS = ("exact", "loud", "wrong")


def loud_kind(reason: str) -> str:
    """A reason with its particulars (file names, numbers) blanked, to group alike ones."""
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", reason))[:160]


def counts(results: list[NotebookResult]) -> Counter:
    tally: Counter = Counter()
    for result in results:
        for restore in result.restores:
            tally[(restore.where, restore.verdict)] += 1
    return tally


def totals_table(results: list[NotebookResult]) -> list[str]:
    ran = [r for r in results if not r.skip]
    tally = counts(ran)
    head = "| notebooks | cells | commits | " + " | ".join(
        f"{w} {v}" for w in ("warm", "cold") for v in VERDICTS
    )
    row = f"| {len(ran)} | {sum(r.cells for r in ran)} | {sum(r.commits for r in ran)} | " + (
        " | ".join(str(tally[(w, v)]) for w in ("warm", "cold") for v in VERDICTS)
    )
    return [head + " |", "|---" * 9 + "|", row + " |"]


def notebook_rows(results: list[NotebookResult]) -> list[str]:
    lines = ["| notebook | cells | commits | warm e/l/w | cold e/l/w | seconds |", "|---" * 6 + "|"]
    for r in results:
        if r.skip:
            continue
        tally = counts([r])
        cols = ["/".join(str(tally[(w, v)]) for v in VERDICTS) for w in ("warm", "cold")]
        lines.append(
            f"| {r.name} | {r.cells} | {r.commits} | {cols[0]} | {cols[1]} | {r.seconds:.0f} |"
        )
    return lines


def loud_section(results: list[NotebookResult]) -> list[str]:
    kinds: Counter = Counter()
    example: dict[str, str] = {}
    for r in results:
        for restore in r.restores:
            if restore.verdict != "loud":
                continue
            for name, reason in restore.loud.items():
                kind = loud_kind(reason)
                kinds[kind] += 1
                example.setdefault(kind, f"{r.name} cell {restore.cell} `{name}`")
    lines = [f"- {kind} — {n} time(s), e.g. {example[kind]}" for kind, n in kinds.most_common()]
    return lines or ["- none"]


def wrong_section(results: list[NotebookResult]) -> list[str]:
    lines = []
    for r in results:
        for restore in r.restores:
            if restore.verdict == "wrong":
                for d in restore.diffs:
                    lines.append(
                        f"- {r.name}, cell {restore.cell} ({restore.where}): `{d.name}` {d.what}"
                    )
    return lines or ["- none"]


def skipped_section(examples: list[Example], results: list[NotebookResult]) -> list[str]:
    lines = [f"- {e.name}: {e.skip}" for e in examples if e.skip]
    lines += [f"- {r.name}: {r.skip}" for r in results if r.skip]
    return lines or ["- none"]


def render(examples: list[Example], results: list[NotebookResult], header: str = "") -> str:
    parts = ["# Restore fidelity on real notebooks (scikit-learn's gallery)", ""]
    if header:
        parts += [header, ""]
    parts += [*totals_table(results), "", "## Wrong", "", *wrong_section(results)]
    parts += ["", "## Loud kinds", "", *loud_section(results)]
    parts += ["", "## Notebooks", "", *notebook_rows(results)]
    parts += ["", "## Skipped", "", *skipped_section(examples, results)]
    return "\n".join(parts) + "\n"


def write(text: str, path: Path = ARTIFACT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
