"""Four real kernels commit into one store at once while the server lists it in a loop.

Each kernel is an ipykernel process (jupyter_client's KernelManager) that runs
``%load_ext jupyter_mlvc`` and then, cell after cell, changes its variables and
runs ``%mlvc commit -m ...``. Meanwhile a thread asks a real ``jupyter server``
for the notebook's first page of snapshots and its head, over and over. Every
commit must land, no magic may fail, no listing may answer anything but 200,
and "database is locked" must never reach anyone.

The default run makes 4 x 10 commits to one notebook; ``pytest --run-slow -k
load`` makes 4 x 50 to one notebook and 4 x 50 to four notebooks.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager

from jupyter_mlvc import Repo

from .live_server import JupyterServer

KERNELS = 4

SETUP = """\
%load_ext jupyter_mlvc
import numpy as np
rng = np.random.default_rng({seed})
history = []
"""

CELL = """\
step = {i}
weights = rng.random(2_000) + step
history.append(step)
params = {{"kernel": {k}, "step": step}}
%mlvc commit -m "kernel {k} step {i}" --metric step={i}
"""


@dataclass
class KernelRun:
    """What one kernel did: its commits' ids, how long each took, and every failure."""

    k: int
    notebook: Path
    ids: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def execute(client, code: str) -> tuple[str, str | None]:
    """Run ``code`` as a cell; its printed text, and the error if it failed."""
    out: list[str] = []
    error: list[str] = []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind in ("display_data", "execute_result"):
            out.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            error.append(f"{content['ename']}: {content['evalue']}")

    reply = client.execute_interactive(code, timeout=300, output_hook=hook, allow_stdin=False)
    if reply["content"]["status"] != "ok" and not error:
        error.append(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return "".join(out), (error[0] if error else None)


def wait_for_start(start: threading.Barrier, futures: list) -> None:
    """Wait with the kernels until all are ready. A kernel that failed before the start
    is reported with its own error, not as a broken barrier."""
    try:
        start.wait(timeout=300)
    except threading.BrokenBarrierError:
        for future in futures:
            if not isinstance(future.exception(), threading.BrokenBarrierError):
                future.result()
        raise


def wait_until_ready(km: KernelManager, client, timeout: float = 300.0) -> None:
    """Until the kernel answers ``kernel_info`` with its IOPub connected, while its
    process runs. jupyter_client's ``wait_for_ready`` takes a heartbeat that is late on
    a loaded machine for a dead kernel; the process is what says it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not km.is_alive():
            raise RuntimeError("the kernel's process exited before it was ready")
        client.kernel_info()
        try:
            reply = client.get_shell_msg(timeout=2)
            if reply["msg_type"] != "kernel_info_reply":
                continue
            client.get_iopub_msg(timeout=1)  # IOPub is connected once a status arrives
        except queue.Empty:
            continue
        while True:  # what else IOPub holds now belongs to no cell
            try:
                client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                return
    raise TimeoutError(f"the kernel did not answer kernel_info in {timeout:.0f} s")


def run_kernel(run: KernelRun, cwd: Path, commits: int, start: threading.Barrier) -> None:
    env = {**os.environ, "JPY_SESSION_NAME": str(run.notebook)}
    km = KernelManager(kernel_name="python3")
    with (cwd.parent / f"kernel-{run.k}.log").open("w") as log:
        km.start_kernel(cwd=str(cwd), env=env, stdout=log, stderr=log)
    client = km.client()
    client.start_channels()
    try:
        try:
            wait_until_ready(km, client)
            text, error = execute(client, SETUP.format(seed=run.k))
            if error:
                run.failures.append(f"setup: {error} {text}")
        except BaseException:
            # The others stop waiting for this kernel at once, and its error is reported.
            start.abort()
            raise
        start.wait(timeout=300)
        for i in range(commits):
            began = time.perf_counter()
            text, error = execute(client, CELL.format(k=run.k, i=i))
            run.seconds.append(time.perf_counter() - began)
            if error or "Committed" not in text or "locked" in text.lower():
                run.failures.append(f"commit {i}: {error} {text!r}")
                continue
            # "Committed 3f2a9c1b on main: ..."
            run.ids.append(text.split("Committed ", 1)[1].split()[0])
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


@dataclass
class Lister:
    """Lists the snapshots through the REST API until told to stop."""

    server: JupyterServer
    paths: list[str]
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    totals: dict[str, list[int]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.paths:
                for route in ("snapshots", "head"):
                    began = time.perf_counter()
                    try:
                        response = self.server.request("GET", f"/mlvc/api/{route}?path={path}")
                    except OSError as exc:
                        self.failures.append(f"{route} {path}: {exc!r}")
                        continue
                    self.seconds.append(time.perf_counter() - began)
                    body = response.body.decode(errors="replace")
                    if response.status != 200 or "locked" in body.lower():
                        self.failures.append(f"{route} {path}: {response.status} {body[:300]}")
                    elif route == "snapshots":
                        self.totals.setdefault(path, []).append(json.loads(body)["total"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(tmp_path: Path, commits: int, shared: bool) -> None:
    project = tmp_path / "project"
    project.mkdir()
    names = ["shared.ipynb"] * KERNELS if shared else [f"nb{k}.ipynb" for k in range(KERNELS)]
    for name in set(names):
        nbformat.write(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")]), project / name
        )
    # The store exists before the kernels start: they all commit into it.
    Repo.init(project).close()
    server = JupyterServer(
        project,
        tmp_path / "server",
        extra_env={"JUPYTER_DATA_DIR": os.environ["JUPYTER_DATA_DIR"]},
    ).start()
    runs = [KernelRun(k, project / names[k]) for k in range(KERNELS)]
    lister = Lister(server, sorted(set(names)))
    start = threading.Barrier(KERNELS + 1)
    try:
        with ThreadPoolExecutor(KERNELS) as pool:
            futures = [pool.submit(run_kernel, r, project, commits, start) for r in runs]
            wait_for_start(start, futures)
            began = time.perf_counter()
            listing = threading.Thread(target=lister.run)
            listing.start()
            for future in futures:
                future.result()
            wall = time.perf_counter() - began
            lister.stop.set()
            listing.join()
        final = {
            path: server.request("GET", f"/mlvc/api/snapshots?path={path}&limit=500").json()
            for path in lister.paths
        }
    finally:
        lister.stop.set()
        server.stop()

    failures = [f for r in runs for f in r.failures] + lister.failures
    assert not failures, "\n".join(failures[:20])
    reported = {i for r in runs for i in r.ids}
    assert len(reported) == KERNELS * commits

    with Repo.open(project) as repo:
        snaps, total = repo.list(limit=None, all=True)
        assert repo.fsck() == []
    assert total == KERNELS * commits
    assert {s.id[:8] for s in snaps} == reported
    expected = {f"kernel {r.k} step {i}" for r in runs for i in range(commits)}
    assert {s.message for s in snaps} == expected
    listed = {s["message"] for page in final.values() for s in page["snapshots"]}
    assert listed == expected
    if shared:
        # One notebook, one line of history: no commit lost its parent to a race.
        ids = {s.id for s in snaps}
        assert sum(1 for s in snaps if not s.parents) == 1
        assert all(s.parents[0] in ids for s in snaps if s.parents)
        assert len({s.parents[0] for s in snaps if s.parents}) == total - 1
    for path, totals in lister.totals.items():
        assert totals == sorted(totals), f"the listing of {path} went backwards"

    # A kernel's first commit imports what committing needs (pandas among it).
    firsts = [r.seconds[0] for r in runs]
    commit_times = [s for r in runs for s in r.seconds[1:]]
    print(
        f"\nload: {KERNELS} kernels x {commits} commits "
        f"({'one notebook' if shared else 'one notebook each'}) in {wall:.1f} s; "
        f"first commit of each kernel max {max(firsts):.1f} s; "
        f"the others took median {statistics.median(commit_times) * 1000:.0f} ms, "
        f"p95 {percentile(commit_times, 0.95) * 1000:.0f} ms, "
        f"max {max(commit_times) * 1000:.0f} ms; "
        f"{len(lister.seconds)} listings meanwhile, median "
        f"{statistics.median(lister.seconds) * 1000:.0f} ms, "
        f"p95 {percentile(lister.seconds, 0.95) * 1000:.0f} ms, "
        f"max {max(lister.seconds) * 1000:.0f} ms; all 200"
    )


def test_four_kernels_commit_while_the_server_lists(tmp_path):
    load(tmp_path, commits=10, shared=True)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("shared", [True, False], ids=["one-notebook", "four-notebooks"])
def test_load_campaign(tmp_path, shared):
    load(tmp_path, commits=50, shared=shared)


def test_first_commits_at_once_make_one_store(tmp_path):
    """Four kernels whose notebook has no store yet commit at the same moment."""
    project = tmp_path / "project"
    project.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), project / "new.ipynb")
    runs = [KernelRun(k, project / "new.ipynb") for k in range(KERNELS)]
    start = threading.Barrier(KERNELS + 1)
    with ThreadPoolExecutor(KERNELS) as pool:
        futures = [pool.submit(run_kernel, r, project, 1, start) for r in runs]
        wait_for_start(start, futures)
        for future in futures:
            future.result()
    failures = [f for r in runs for f in r.failures]
    assert not failures, "\n".join(failures)
    with Repo.open(project) as repo:
        assert repo.list(limit=None, all=True)[1] == KERNELS
