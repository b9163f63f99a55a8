"""One workload on one system: commit after every step, then restore and verify.

Phases, each timed from the client, in kernels started as users start them:

1. *commit kernel* (started by jupyter_client): run each step's cell, then the
   system's commit cell. Its first commit is the *first commit in a fresh kernel*.
   The kernel's peak RSS is reset before each commit and read after it.
2. *same kernel*: restore the first snapshot, then the last one, in the kernel
   that committed them (so the first restore starts from the last state); then
   restore only the small variable of the first snapshot (a *partial* restore).
3. *fresh kernels* (jupyter_client): a new kernel restores the first snapshot;
   another new one the last; a third one only the small variable of the last.
   Each fresh kernel first runs the workload's imports (untimed), as a user's
   first cell would.
4. *server kernel*: a kernel started by the run's Jupyter server for a notebook
   session (``JPY_SESSION_NAME`` set, as JupyterLab starts it), in a project
   folder of its own, runs the first step and commits: the first commit there.

After every commit a silent probe takes fingerprints of the variables; after
every restore it compares them. :func:`run_pair` repeats the whole pair in new
project folders (new stores) and keeps the median of every time.
"""

from __future__ import annotations

import shutil
import statistics
import time
import traceback
from pathlib import Path
from typing import Any

import nbformat

from . import probe
from .kernels import CellError, JupyterDirs, JupyterServer, Kernel, ServerKernel
from .systems import Context, System
from .workloads import Workload

#: Every restore a pair makes, in order; the partial ones only for systems that can.
RESTORES = ("same_first", "same_last", "partial_same", "fresh_first", "fresh_last", "partial_fresh")

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
        self,
        workload: Workload,
        system: System,
        dirs: JupyterDirs,
        folder: Path,
        spec: str,
        server: JupyterServer | None = None,
    ):
        self.workload, self.system, self.dirs, self.spec = workload, system, dirs, spec
        self.server = server
        folder.mkdir(parents=True, exist_ok=True)
        self.ctx = Context(folder=folder, notebook=folder / "bench.ipynb")
        _write_notebook(workload, self.ctx.notebook)
        self.logs = folder.parent / f"{folder.name}-kernel-logs"
        self.logs.mkdir(exist_ok=True)
        self.result: dict[str, Any] = {
            "workload": workload.name,
            "system": system.name,
            "commits": [],
            "restores": {},
            "setup_seconds": {},
            "errors": [],
        }
        self.refs: list[str | None] = []
        self.expected: list[dict[str, Any]] = []

    def kernel(self, label: str) -> Kernel:
        return Kernel(self.dirs, self.spec, cwd=self.ctx.folder, log=self.logs / f"{label}.log")

    def run(self) -> dict[str, Any]:
        last = len(self.workload.steps) - 1
        try:
            with self.kernel("commit") as k:
                self._prepare(k, "commit", fresh=False)
                self._commits(k)
                self._restore(k, "same_first", 0)
                self._restore(k, "same_last", last)
                self._restore(k, "partial_same", 0, partial=True)
            for key, index, partial in (
                ("fresh_first", 0, False),
                ("fresh_last", last, False),
                ("partial_fresh", last, True),
            ):
                if partial and not self._can_partial():
                    continue
                with self.kernel(key) as k:
                    self._prepare(k, key, fresh=True)
                    self._restore(k, key, index, partial=partial)
        except Exception as e:  # a broken kernel or system: recorded, the suite goes on
            self.result["errors"].append(f"{type(e).__name__}: {_short(e)}")
            self.result["traceback"] = traceback.format_exc()
        if self.server is not None:
            self._server_first_commit()
        self.result["correct"] = self._verdict()
        return self.result

    def _can_partial(self) -> bool:
        return (
            self.system.partial_restore_code(self.ctx, "REF", self.workload.small_var) is not None
        )

    def _prepare(self, k: Kernel, label: str, *, fresh: bool) -> None:
        if fresh:
            k.run(self.workload.imports, silent=True)
        code = self.system.setup_code(self.ctx)
        if code:
            self.result["setup_seconds"][label] = k.run(code, silent=True).seconds
        k.run(probe.install_code(), silent=True)

    def _commit_step(self, k: Kernel, i: int, entry: dict[str, Any]) -> str:
        """Run step ``i`` and the commit; fill ``entry``; return the commit's output."""
        step = self.workload.steps[i]
        code = self.system.step_code(step.code)
        if self.system.commits_with_cells:
            k.reset_peak()
            rss = k.memory()["rss"]
            cell = k.run(_T0 + code + _T1)
            body = float(k.probe(_BODY))
            entry["seconds"] = cell.seconds - body
        else:
            k.run(code)
            k.reset_peak()
            rss = k.memory()["rss"]
            cell = k.run(self.system.commit_code(self.ctx, i, step.label))
            entry["seconds"] = cell.seconds
        entry["rss_before"] = rss
        entry["peak_rss"] = k.memory()["peak"]
        output = cell.stdout + cell.display
        entry["output"] = output.strip()[-300:]
        return output

    def _commits(self, k: Kernel) -> None:
        store_before = self.system.store_bytes(self.ctx)
        state_before = 0
        for i, step in enumerate(self.workload.steps):
            entry: dict[str, Any] = {"step": step.label}
            self.result["commits"].append(entry)
            ref = None
            try:
                output = self._commit_step(k, i, entry)
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

    def _restore(self, k: Kernel, key: str, index: int, *, partial: bool = False) -> None:
        name = self.workload.small_var
        ref = self.refs[index] if index < len(self.refs) else None
        code = None
        if ref is not None:
            code = (
                self.system.partial_restore_code(self.ctx, ref, name)
                if partial
                else self.system.restore_code(self.ctx, ref)
            )
            if code is None:
                return  # the system has no partial restore: nothing to measure
        entry: dict[str, Any] = {"snapshot": index + 1}
        self.result["restores"][key] = entry
        if ref is None or code is None:
            entry["error"] = "no snapshot to restore (its commit failed)"
            entry["problems"] = [entry["error"]]
            return
        before = k.probe(probe.report_code([])) if partial else None
        k.reset_peak()
        try:
            cell = k.run(code, silent=self.system.silent_restore)
        except CellError as e:
            entry["error"] = _short(e)
            entry["problems"] = [f"restore failed: {entry['error']}"]
            return
        entry["seconds"] = cell.seconds
        entry["peak_rss"] = k.memory()["peak"]
        entry["output"] = (cell.stdout + cell.display).strip()[:300]
        if "Saved the previous state" in cell.stdout + cell.display + cell.stderr:
            entry["saved_first"] = True
        checks = [] if partial else self.workload.steps[index].checks
        got = k.probe(probe.report_code(checks))
        if partial:
            # Only the small variable changes: it has the snapshot's value, every other
            # variable the value it had before.
            assert before is not None
            want = {**before, "digests": {**before["digests"]}}
            want["digests"][name] = self.expected[index]["digests"].get(name)
            entry["problems"] = compare(want, got)
        else:
            entry["problems"] = compare(self.expected[index], got)

    def _server_first_commit(self) -> None:
        """A kernel the server started for a notebook of its own folder: step 1, then commit."""
        assert self.server is not None
        folder = self.ctx.folder.parent / f"{self.ctx.folder.name}-server"
        run = PairRun(self.workload, self.system, self.dirs, folder, self.spec)
        entry: dict[str, Any] = {"step": self.workload.steps[0].label}
        self.result["server_commit"] = entry
        try:
            with ServerKernel(self.server, self.spec, run.ctx.notebook) as k:
                entry["session_name"] = k.probe(
                    f"print({probe.MARKER!r} + __import__('json').dumps("
                    "__import__('os').environ.get('JPY_SESSION_NAME')))"
                )
                run._prepare(k, "server", fresh=False)
                output = run._commit_step(k, 0, entry)
                self.system.snapshot_ref(k, run.ctx, 0, output)
                entry["state_bytes"] = k.probe(probe.report_code([]))["nbytes"]
        except Exception as e:
            entry["error"] = f"{type(e).__name__}: {_short(e)}"
        self.result["setup_seconds"].update(run.result["setup_seconds"])
        entry["store_bytes"] = self.system.store_bytes(run.ctx)

    def _verdict(self) -> dict[str, Any]:
        problems = []
        for i, commit in enumerate(self.result["commits"]):
            if "error" in commit:
                problems.append(f"commit {i + 1} failed: {commit['error']}")
        server = self.result.get("server_commit", {})
        if "error" in server:
            problems.append(f"server kernel's commit failed: {server['error']}")
        for key, restore in self.result["restores"].items():
            problems += [f"{key}: {p}" for p in restore.get("problems", [])]
        problems += self.result["errors"]
        wanted = [k for k in RESTORES if self._can_partial() or not k.startswith("partial")]
        complete = set(wanted) <= set(self.result["restores"]) and len(
            self.result["commits"]
        ) == len(self.workload.steps)
        if not complete and not self.result["errors"]:
            problems.append("did not finish")
        return {"ok": not problems, "problems": problems}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several repetitions: the median of every time, every problem."""
    merged = dict(runs[0])
    merged["repeat"] = len(runs)

    def combine(entries: list[dict[str, Any]]) -> dict[str, Any]:
        good = [e for e in entries if "error" not in e and e.get("seconds") is not None]
        out = dict(good[len(good) // 2] if good else entries[0])
        if good:
            seconds = sorted(e["seconds"] for e in good)
            out["seconds"] = _median(seconds)
            out["samples"] = seconds
            out.pop("error", None)
            overs = [commit_overhead(e) for e in good]
            overs = [o for o in overs if o is not None]
            if overs:
                out["overhead"] = _median(overs)
        return out

    merged["commits"] = [
        combine([r["commits"][i] for r in runs if i < len(r["commits"])])
        for i in range(max(len(r["commits"]) for r in runs))
    ]
    merged["restores"] = {
        key: combine([r["restores"][key] for r in runs if key in r["restores"]])
        for key in RESTORES
        if any(key in r["restores"] for r in runs)
    }
    servers = [r["server_commit"] for r in runs if "server_commit" in r]
    if servers:
        merged["server_commit"] = combine(servers)
    problems: list[str] = []
    for i, r in enumerate(runs):
        tag = f"rep {i + 1}: " if len(runs) > 1 else ""
        problems += [tag + p for p in r["correct"]["problems"]]
    merged["correct"] = {"ok": not problems, "problems": problems}
    merged["errors"] = [e for r in runs for e in r["errors"]]
    merged["wall_seconds"] = sum(r.get("wall_seconds", 0) for r in runs)
    return merged


def commit_overhead(commit: dict[str, Any]) -> float | None:
    """The kernel's memory during a commit, in units of the state's size.

    ``1 + (peak RSS during the commit - RSS just before it) / state``: what the
    kernel held besides the state (the interpreter, imported libraries) is left
    out, whatever the commit allocated on top of the state is counted in. A
    commit that holds a full serialized copy of the state in memory scores 2 or more.
    """
    if "overhead" in commit:
        return commit["overhead"]
    if "peak_rss" not in commit or not commit.get("state_bytes"):
        return None
    return 1 + max(0, commit["peak_rss"] - commit["rss_before"]) / commit["state_bytes"]


def run_pair(
    workload: Workload,
    system: System,
    dirs: JupyterDirs,
    folder: Path,
    spec: str,
    *,
    server: JupyterServer | None = None,
    repeat: int = 1,
    keep: bool = False,
) -> dict[str, Any]:
    """The pair ``repeat`` times, each in new project folders (new stores): the medians."""
    runs = []
    for i in range(repeat):
        start = time.perf_counter()
        rep_folder = folder / f"rep{i + 1}"
        result = PairRun(workload, system, dirs, rep_folder, spec, server).run()
        result["wall_seconds"] = time.perf_counter() - start
        runs.append(result)
        if not keep:
            # dill, pickle and Kishu write the whole state at every commit: gigabytes.
            shutil.rmtree(rep_folder, ignore_errors=True)
            shutil.rmtree(rep_folder.parent / f"{rep_folder.name}-server", ignore_errors=True)
    merged = _merge(runs)
    merged["runs"] = runs
    return merged
