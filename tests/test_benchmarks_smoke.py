"""The benchmark suite's quick run: every system and workload reaches the table."""

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


@pytest.mark.slow
def test_quick_run_reports_every_system_and_workload(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--no-kishu-setup", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    data = json.loads(out.read_text())

    assert set(data["workloads"]) == {"numeric", "pandas", "models", "small", "aliasing"}
    systems = ["mlvc", "dill", "pickle", "kishu"]
    for workload in data["workloads"].values():
        rows = section(table, workload["title"])
        for system in systems:
            # A row of numbers, or a row saying why the system was skipped (Kishu's venv).
            assert f"\n| {system} |" in rows, f"{system} missing from {workload['title']}"

    for result in data["results"]:
        # The harness itself never fails: a system may be wrong, but is always measured.
        assert not result["errors"], (result["workload"], result["system"], result["errors"])
        if result["system"] == "mlvc":
            assert result["correct"]["ok"], (result["workload"], result["correct"]["problems"])

    targets = section(table, "targets")
    assert data["targets"] and all(t["status"] in ("PASS", "MISS", "n/a") for t in data["targets"])
    for target in data["targets"]:
        assert target["name"] in targets
    browsing = data["browsing"]
    assert browsing["log_rows"] == browsing["snapshots"]
