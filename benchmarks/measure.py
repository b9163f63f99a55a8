"""One workload on one system: commit after every step, then restore and verify.

Phases, each timed from the client:

1. *commit kernel*: run each step's cell, then the system's commit cell. The
   kernel's peak RSS is reset before each commit and read after it.
2. *same kernel*: restore the first snapshot, then the last one, in the kernel
   that committed them (so the first restore starts from the last state).
3. *fresh kernels*: a new kernel restores the first snapshot; another new one
   restores the last. Each fresh kernel first runs the workload's imports
   (untimed), as a user's first cell would.

After every restore a silent probe compares the variables with the
fingerprints taken right after the matching commit.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import nbformat

from . import probe
from .kernels import CellError, JupyterDirs, Kernel
from .systems import Context, System
from .workloads import Workload

# Step cells carry their own timer, so that the time a system spends in its
# pre/post-cell hooks (Kishu commits there) can be told apart from the cell's work.
_T0 = "__import__('builtins').__dict__['_bench_t0'] = __import__('time').perf_counter()\n"
_T1 = "\n__import__('builtins').__dict__['_bench_t1'] = __import__('time').perf_counter()"
_BODY = f"print({probe.MARKER!r} + repr(_bench_t1 - _bench_t0))"


def _write_notebook(workload: Workload, path: Path) -> None:
    cells = [nbformat.v4.new_code_cell(step.code) for step in workload.steps]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def compare(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """What differs between the fingerprints taken at commit and after a restore."""
    problems = []
    exp, new = expected["digests"], got["digests"]
    missing = sorted(set(exp) - set(new))
    extra = sorted(set(new) - set(exp))
    differ = sorted(n for n in set(exp) & set(new) if exp[n] != new[n])
    if missing:
        problems.append("missing " + _names(missing))
    if extra:
        problems.append("should be gone: " + _names(extra))
    if differ:
        problems.append("wrong value: " + _names(differ))
    problems += [f"check failed: {expr}" for expr in got["failed"]]
    return problems


def _names(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else "")


class PairRun:
    def __init__(
        self, workload: Workload, system: System, dirs: JupyterDirs, folder: Path, spec: str
    ):
        self.workload, self.system, self.dirs, self.spec = workload, system, dirs, spec
        folder.mkdir(parents=True, exist_ok=True)
        self.ctx = Context(folder=folder, notebook=folder / "bench.ipynb")
        _write_notebook(workload, self.ctx.notebook)
        self.logs = folder / "kernel-logs"
        self.logs.mkdir(exist_ok=True)
        self.result: dict[str, Any] = {
            "workload": workload.name,
            "system": system.name,
            "commits": [],
            "restores": {},
            "errors": [],
        }
        self.refs: list[str | None] = []
        self.expected: list[dict[str, Any]] = []

    def kernel(self, label: str) -> Kernel:
        return Kernel(
            self.dirs,
            self.spec,
            cwd=self.ctx.folder,
            env=self.system.kernel_env(self.ctx),
            log=self.logs / f"{label}.log",
        )

    def run(self) -> dict[str, Any]:
        try:
            with self.kernel("commit") as k:
                self._prepare(k, fresh=False)
                self._commits(k)
                self._restore(k, "same_first", 0)
                self._restore(k, "same_last", len(self.workload.steps) - 1)
            for key, index in (("fresh_first", 0), ("fresh_last", len(self.workload.steps) - 1)):
                with self.kernel(key) as k:
                    self._prepare(k, fresh=True)
                    self._restore(k, key, index)
        except Exception as e:  # a broken kernel or system: recorded, the suite goes on
            self.result["errors"].append(f"{type(e).__name__}: {_short(e)}")
            self.result["traceback"] = traceback.format_exc()
        self.result["correct"] = self._verdict()
        return self.result

    def _prepare(self, k: Kernel, *, fresh: bool) -> None:
        if fresh:
            k.run(self.workload.imports, silent=True)
        self.system.setup(k, self.ctx)
        k.run(probe.install_code(), silent=True)

    def _commits(self, k: Kernel) -> None:
        store_before = self.system.store_bytes(self.ctx)
        state_before = 0
        for i, step in enumerate(self.workload.steps):
            entry: dict[str, Any] = {"step": step.label}
            self.result["commits"].append(entry)
            ref = None
            try:
                if self.system.commits_with_cells:
                    k.reset_peak()
                    rss = k.memory()["rss"]
                    cell = k.run(_T0 + step.code + _T1)
                    body = float(k.probe(_BODY))
                    entry["seconds"] = cell.seconds - body
                    output = cell.stdout
                else:
                    k.run(step.code)
                    k.reset_peak()
                    rss = k.memory()["rss"]
                    cell = k.run(self.system.commit_code(self.ctx, i, step.label))
                    entry["seconds"] = cell.seconds
                    output = cell.stdout
                entry["rss_before"] = rss
                entry["peak_rss"] = k.memory()["peak"]
                entry["output"] = output.strip()[-300:]
                ref = self.system.snapshot_ref(k, self.ctx, i, output)
            except (CellError, RuntimeError) as e:
                entry["error"] = _short(e)
            size = self.system.store_bytes(self.ctx)
            entry["bytes_added"] = size - store_before
            entry["store_bytes"] = size
            store_before = size
            self.refs.append(ref)
            fingerprint = k.probe(probe.report_code(step.checks))
            entry["state_bytes"] = fingerprint["nbytes"]
            if self.system.commits_with_cells and "rss_before" in entry:
                # The RSS was read before the cell made this step's state: count that
                # state as already there, so that only the commit's own memory remains.
                entry["rss_before"] += max(0, fingerprint["nbytes"] - state_before)
                entry["rss_before_estimated"] = True
            state_before = fingerprint["nbytes"]
            if fingerprint["failed"]:
                # The workload itself is wrong: its checks fail before any restore.
                raise RuntimeError(f"checks fail on the original state: {fingerprint['failed']}")
            self.expected.append(fingerprint)
        self.result["store_bytes"] = self.system.store_bytes(self.ctx)

    def _restore(self, k: Kernel, key: str, index: int) -> None:
        entry: dict[str, Any] = {"snapshot": index + 1}
        self.result["restores"][key] = entry
        ref = self.refs[index] if index < len(self.refs) else None
        if ref is None:
            entry["error"] = "no snapshot to restore (its commit failed)"
            entry["problems"] = [entry["error"]]
            return
        k.reset_peak()
        try:
            cell = k.run(self.system.restore_code(self.ctx, ref), silent=self.system.silent_restore)
        except CellError as e:
            entry["error"] = _short(e)
            entry["problems"] = [f"restore failed: {entry['error']}"]
            return
        entry["seconds"] = cell.seconds
        entry["peak_rss"] = k.memory()["peak"]
        entry["output"] = cell.stdout.strip()[-300:]
        got = k.probe(probe.report_code(self.workload.steps[index].checks))
        entry["problems"] = compare(self.expected[index], got)

    def _verdict(self) -> dict[str, Any]:
        problems = []
        for i, commit in enumerate(self.result["commits"]):
            if "error" in commit:
                problems.append(f"commit {i + 1} failed: {commit['error']}")
        for key, restore in self.result["restores"].items():
            problems += [f"{key}: {p}" for p in restore.get("problems", [])]
        problems += self.result["errors"]
        complete = len(self.result["restores"]) == 4 and len(self.result["commits"]) == len(
            self.workload.steps
        )
        if not complete and not self.result["errors"]:
            problems.append("did not finish")
        return {"ok": not problems, "problems": problems}


def run_pair(
    workload: Workload, system: System, dirs: JupyterDirs, folder: Path, spec: str
) -> dict[str, Any]:
    start = time.perf_counter()
    result = PairRun(workload, system, dirs, folder, spec).run()
    result["wall_seconds"] = time.perf_counter() - start
    return result
