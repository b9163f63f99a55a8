"""The campaign: run each notebook with a commit after every cell, restore it at
several cells in the same kernel ("warm") and in a fresh one ("cold"), and classify
every restore by comparing fingerprints.

* exact: the restored namespace has the fingerprint taken right after that cell;
* loud:  every difference is a name the restore reported as not restored (skipped
         at commit, failed, or kept from today) or the restore was refused with an error;
* wrong: any other difference, names the snapshot did not have included.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.kernels import JupyterDirs

from .kernel import CellError, KernelDied, NotebookKernel
from .source import Example


@dataclass
class Diff:
    name: str
    what: str


@dataclass
class Restore:
    cell: int  # 1-based, as the commit message says
    where: str  # "warm" or "cold"
    verdict: str
    diffs: list[Diff] = field(default_factory=list)
    loud: dict[str, str] = field(default_factory=dict)  # name -> reason


@dataclass
class NotebookResult:
    name: str
    cells: int = 0
    commits: int = 0
    restores: list[Restore] = field(default_factory=list)
    skip: str = ""
    seconds: float = 0.0


def restore_points(cells: int) -> list[int]:
    """First, a third, two thirds and last (0-based, without repeats)."""
    return sorted({0, cells // 3, (2 * cells) // 3, cells - 1})


def loud_names(report: dict[str, Any]) -> dict[str, str]:
    """Every name the restore said it did not give back as it was, with the reason."""
    loud: dict[str, str] = {}
    snapshot = report.get("snapshot") or {}
    for source in (snapshot.get("skipped"), report.get("skipped_at_commit")):
        loud.update({n: f"skipped at commit: {r}" for n, r in (source or {}).items()})
    loud.update({n: f"failed: {r}" for n, r in (report.get("errors") or {}).items()})
    loud.update({n: f"kept: {r}" for n, r in (report.get("kept") or {}).items()})
    return loud


def _pairs_by_name(groups: list[list[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for group in groups:
        for name in group:
            out.setdefault(name, set()).update(n for n in group if n != name)
    return out


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[Diff]:
    diffs = []
    want, got = expected["values"], actual["values"]
    for name in sorted(set(want) | set(got)):
        if name not in got:
            diffs.append(Diff(name, "missing after the restore"))
        elif name not in want:
            diffs.append(Diff(name, f"present but not in the snapshot ({got[name]['type']})"))
        elif want[name]["type"] != got[name]["type"]:
            diffs.append(Diff(name, f"type {want[name]['type']} became {got[name]['type']}"))
        elif want[name]["digest"] != got[name]["digest"]:
            diffs.append(Diff(name, f"value differs ({want[name]['type']})"))
    for key, label in (("aliases", "same object as"), ("shares", "shares memory with")):
        before, after = _pairs_by_name(expected[key]), _pairs_by_name(actual[key])
        for name in sorted(set(before) | set(after)):
            if name in want and name in got and before.get(name) != after.get(name):
                was, now = sorted(before.get(name, ())), sorted(after.get(name, ()))
                diffs.append(Diff(name, f"{label}: was {was}, now {now}"))
    return diffs


def classify(expected: dict, actual: dict, report: dict) -> tuple[str, list[Diff], dict]:
    loud = loud_names(report)
    if "failed" in report:
        return "loud", [Diff("(restore)", report["failed"])], {"(restore)": report["failed"]}
    diffs = compare(expected, actual)
    if not diffs:
        return "exact", [], loud
    if all(d.name in loud for d in diffs):
        return "loud", diffs, {d.name: loud[d.name] for d in diffs}
    return "wrong", [d for d in diffs if d.name not in loud], loud


class CommitFailed(Exception):
    """``%mlvc commit`` failed after a cell that ran."""


@dataclass
class Limits:
    budget: float = 60.0  # seconds for all of a notebook's cells
    log: Path | None = None


def _run_cells(nk: NotebookKernel, example: Example, limits: Limits, result: NotebookResult):
    """Run, fingerprint and commit each cell; return (fingerprints, snapshot ids)."""
    fingerprints, ids = [], []
    deadline = time.perf_counter() + limits.budget
    for index, code in enumerate(example.cells):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError(f"cells took over {limits.budget:.0f} s")
        try:
            nk.run_cell(code, timeout=remaining)
        except TimeoutError:
            raise TimeoutError(
                f"cells took over {limits.budget:.0f} s (cell {index + 1})"
            ) from None
        fingerprints.append(nk.fingerprint())
        try:
            ids.append(nk.commit(f"cell {index + 1}"))
        except (CellError, RuntimeError) as exc:
            # Not the notebook's fault: named apart in the report's skipped list.
            raise CommitFailed(f"commit after cell {index + 1} failed: {exc}") from exc
        result.commits += 1
    return fingerprints, ids


def _restore(nk: NotebookKernel, cell: int, where: str, fp: dict, sid: str) -> Restore:
    try:
        report = nk.restore(sid)
        actual = nk.fingerprint()
    except (KernelDied, CellError, RuntimeError, TimeoutError) as exc:
        return Restore(cell, where, "wrong", [Diff("(kernel)", f"{type(exc).__name__}: {exc}")])
    verdict, diffs, loud = classify(fp, actual, report)
    return Restore(cell, where, verdict, diffs, loud)


def _folder_name(example: Example) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", example.name.removesuffix(".py"))


def run_notebook(example: Example, workdir: Path, dirs: JupyterDirs, limits: Limits):
    """One notebook through the whole cycle; a notebook that cannot run is a skip."""
    start = time.perf_counter()
    result = NotebookResult(example.name, cells=len(example.cells))
    folder = workdir / _folder_name(example)
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "notebook.ipynb"
    points = restore_points(len(example.cells))
    with NotebookKernel(dirs, folder, notebook, limits.log) as nk:
        try:
            fps, ids = _run_cells(nk, example, limits, result)
        except CommitFailed as exc:
            result.skip = str(exc).splitlines()[0][:200]
            result.seconds = time.perf_counter() - start
            return result
        except (CellError, TimeoutError, KernelDied) as exc:
            result.skip = f"did not run: {str(exc).splitlines()[0][:160]}"
            result.seconds = time.perf_counter() - start
            return result
        for i in points:
            result.restores.append(_restore(nk, i + 1, "warm", fps[i], ids[i]))
    for i in points:
        with NotebookKernel(dirs, folder, notebook, limits.log) as cold:
            result.restores.append(_restore(cold, i + 1, "cold", fps[i], ids[i]))
    result.seconds = time.perf_counter() - start
    return result


def run_campaign(examples, workdir: Path, limits: Limits, progress=None) -> list[NotebookResult]:
    dirs = JupyterDirs(workdir / "jupyter")
    dirs.create()
    results = []
    for example in examples:
        try:
            result = run_notebook(example, workdir, dirs, limits)
        except Exception as exc:  # one notebook's harness failure must not end the campaign
            result = NotebookResult(
                example.name, len(example.cells), skip=f"harness: {exc!r}"[:200]
            )
        results.append(result)
        # Each notebook's store is only needed for its own restores.
        shutil.rmtree(workdir / _folder_name(example), ignore_errors=True)
        if progress is not None:
            progress(result)
    return results
