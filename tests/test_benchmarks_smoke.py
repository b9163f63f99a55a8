"""The benchmark suite's quick run: every system and workload reaches the tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def section(table: str, title: str) -> str:
    """The Markdown section that starts with ``### title``."""
    start = table.index(f"### {title}")
    end = table.find("\n### ", start + 1)
    return table[start : end if end != -1 else None]


def rows_of(table: str, title: str) -> str:
    """The rows of one workload in the results table: from its title to the next title."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {title} |"))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("|  |")), len(lines)
    )
    return "\n".join(lines[start:end])


@pytest.mark.slow
# Every system and workload in fresh kernels, ElasticNotebook's taking ~10 s each to import.
@pytest.mark.timeout(2400)
def test_quick_run_reports_every_system_and_workload(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--no-kishu-setup", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=2300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    data = json.loads(out.read_text())

    assert set(data["workloads"]) == {
        "numeric",
        "pandas",
        "strings",
        "models",
        "small",
        "aliasing",
    }
    results = section(table, "results")
    systems = ["mlvc", "dill", "pickle", "kishu", "elastic"]
    for name, workload in data["workloads"].items():
        rows = rows_of(results, workload["title"])
        for system in systems:
            # A row of numbers, or a row saying why the system was skipped (a peer's venv).
            assert f"| {system} |" in rows, f"{system} missing from {name}"

    for result in data["results"]:
        # The harness itself never fails: a system may be wrong, but is always measured.
        assert not result["errors"], (result["workload"], result["system"], result["errors"])
        if result["system"] == "mlvc":
            assert result["correct"]["ok"], (result["workload"], result["correct"]["problems"])
            # The server started the kernel for a notebook session, as JupyterLab does.
            server = result["server_commit"]
            assert "error" not in server, server
            assert server["session_name"].endswith("bench.ipynb"), server
            assert "partial_same" in result["restores"] and "partial_fresh" in result["restores"]

    for title, key in (("targets (issue 16)", "targets"), ("targets kept", "targets_issue7")):
        targets = section(table, title)
        assert data[key] and all(t["status"] in ("PASS", "MISS", "n/a") for t in data[key])
        for target in data[key]:
            assert target["name"] in targets
    auto = data["auto"]
    assert "error" not in auto, auto
    assert set(auto["kinds"]) == {"unchanged", "small", "inplace"}
    browsing = data["browsing"]
    assert browsing["log_rows"] == browsing["snapshots"]
