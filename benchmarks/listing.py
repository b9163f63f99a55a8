"""Browsing at scale: a store with thousands of snapshots of one notebook.

The snapshots are made through the Python API with tiny namespaces (what is
measured is the index, not the objects). Then ``repo.log()`` of the notebook is
timed, and the REST listing's first page through a real ``jupyter server`` on
the loopback address, each as the median of several calls after one warm-up.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPEAT = 9


def _median_ms(fn: Any, repeat: int = REPEAT) -> tuple[float, float]:
    """(first call, median of the next ``repeat`` calls), in milliseconds."""
    start = time.perf_counter()
    fn()
    first = (time.perf_counter() - start) * 1000
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return first, statistics.median(samples)


def build_store(folder: Path, notebook: Path, count: int) -> float:
    from jupyter_mlvc import Repo

    repo = Repo.init(folder)
    start = time.perf_counter()
    with repo:
        for i in range(count):
            repo.commit(
                {"step": i, "params": {"lr": 0.001 * (1 + i % 7), "depth": i % 11}},
                f"experiment {i}: lr sweep",
                notebook_path=str(notebook),
                metrics={"acc": 0.5 + (i % 100) / 250, "loss": 1.0 / (1 + i)},
            )
    return time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str, timeout: float = 10) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def time_rest(folder: Path, notebook: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """Start a jupyter server on 127.0.0.1, time the first page of the snapshot list, stop it."""
    port, token = _free_port(), secrets.token_hex(16)
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_mlvc": True}}})
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}",
    ]
    base = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        server = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/api/status", token, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter server did not start (see {log})") from None
                time.sleep(0.25)
        url = f"{base}/mlvc/api/snapshots?path={notebook.relative_to(folder).as_posix()}&limit=50"
        page = _get(url, token)
        if len(page.get("snapshots", [])) != 50:
            raise RuntimeError(
                f"the first page has {len(page.get('snapshots', []))} snapshots, not 50"
            )
        first, median = _median_ms(lambda: _get(url, token))
        return {"rest_ms": median, "rest_first_ms": first, "rest_total": page.get("total")}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_listing(base: Path, count: int, env: dict[str, str]) -> dict[str, Any]:
    from jupyter_mlvc import Repo

    folder = base / "listing"
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "sweep.ipynb"
    result: dict[str, Any] = {"snapshots": count}
    result["build_seconds"] = build_store(folder, notebook, count)
    with Repo.open(folder) as repo:
        frame = repo.log(str(notebook))
        result["log_rows"] = len(frame)
        result["log_first_ms"], result["log_ms"] = _median_ms(lambda: repo.log(str(notebook)))
        result["list_first_ms"], result["list_ms"] = _median_ms(
            lambda: repo.list(str(notebook), limit=50)
        )
    try:
        result.update(time_rest(folder, notebook, env, base / "server.log"))
    except Exception as e:  # the server face missing or broken: say so, keep the rest
        result["rest_ms_error"] = f"{type(e).__name__}: {e}"
    return result


def listing_table(result: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = result.get(key)
        return "—" if value is None else f"{value:.1f}"

    lines = [
        f"### browsing: {result['snapshots']} snapshots of one notebook "
        f"(built in {result.get('build_seconds', 0):.0f} s through the Python API)",
        "",
        "| call | first ms | median ms |",
        "|---|---|---|",
        f"| `repo.log()` ({result.get('log_rows')} rows) | {ms('log_first_ms')} | {ms('log_ms')} |",
        f"| `repo.list(limit=50)` | {ms('list_first_ms')} | {ms('list_ms')} |",
    ]
    if "rest_ms" in result:
        lines.append(
            f"| `GET /mlvc/api/snapshots?limit=50` (jupyter server, loopback) "
            f"| {ms('rest_first_ms')} | {ms('rest_ms')} |"
        )
    else:
        lines.append(f"| REST listing | {result.get('rest_ms_error', 'not measured')} | |")
    return "\n".join(lines)
