"""The installed `mlvc` console script, run in a subprocess."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

MLVC = shutil.which("mlvc", path=os.path.dirname(sys.executable)) or shutil.which("mlvc")


def mlvc(*args, cwd, check=True):
    cmd = [MLVC, *args] if MLVC else [sys.executable, "-m", "jupyter_mlvc.cli", *args]
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=os.environ.copy())
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture
def history(repo, tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    m1 = LogisticRegression(C=1.0, max_iter=300).fit(X, y)
    s1 = repo.commit({"model": m1, "X": X, "n": 1}, "baseline", metrics={"acc": 0.9, "loss": 0.4})
    m2 = LogisticRegression(C=0.01, max_iter=300).fit(X, y)
    s2 = repo.commit({"model": m2, "X": X, "n": 2}, "weaker", metrics={"acc": 0.7, "loss": 0.9})
    repo.tag("best", s1.id)
    return {"s1": s1, "s2": s2, "X": X, "m1": m1, "root": tmp_path}


def test_console_script_is_installed():
    assert MLVC is not None, "the mlvc console script is not on PATH"
    assert "usage: mlvc" in mlvc("--help", cwd=".").stdout


def test_log_text_and_json(history):
    out = mlvc("log", cwd=history["root"]).stdout
    assert "baseline" in out and "weaker" in out and "acc" in out
    rows = json.loads(mlvc("log", "--json", cwd=history["root"]).stdout)
    assert [r["message"] for r in rows] == ["weaker", "baseline"]
    assert rows[1]["acc"] == 0.9 and rows[1]["tags"] == "best"
    by_loss = json.loads(mlvc("log", "--json", "--sort=-loss", cwd=history["root"]).stdout)
    assert [r["message"] for r in by_loss] == ["baseline", "weaker"]
    by_acc = json.loads(
        mlvc("log", "--json", "--sort", "acc", "-n", "1", cwd=history["root"]).stdout
    )
    assert [r["message"] for r in by_acc] == ["baseline"]


def test_show_and_diff(history):
    out = mlvc("show", "best", cwd=history["root"]).stdout
    assert history["s1"].id in out and "LogisticRegression" in out and "acc=0.9" in out
    data = json.loads(mlvc("show", "best", "--json", cwd=history["root"]).stdout)
    assert data["variables"]["model"]["summary"]["model"]["params"]["C"] == 1.0
    diff = mlvc("diff", "best", "HEAD", cwd=history["root"]).stdout
    assert "C: 1.0 -> 0.01" in diff and "'n'" not in diff and "n " in diff
    d = json.loads(mlvc("diff", "best", "--json", cwd=history["root"]).stdout)
    assert [c["name"] for c in d["variables"]["changed"]] == ["model", "n"]


def test_export_sklearn_model(history, tmp_path):
    target = tmp_path / "model.pkl"
    mlvc("export", "best", "model", "-o", str(target), cwd=history["root"])
    with open(target, "rb") as f:
        model = pickle.load(f)
    assert np.array_equal(model.predict(history["X"]), history["m1"].predict(history["X"]))


def test_branches_tags_fsck_gc_trust(history):
    root = history["root"]
    assert "* main" in mlvc("branches", cwd=root).stdout
    assert json.loads(mlvc("tags", "--json", cwd=root).stdout) == {"best": history["s1"].id}
    assert mlvc("fsck", cwd=root).stdout.strip() == "store is healthy"
    assert json.loads(mlvc("gc", "--dry-run", "--json", cwd=root).stdout)["dry_run"] is True
    assert "trusted 2 snapshots" in mlvc("trust", cwd=root).stdout


def test_errors_are_one_line_and_nonzero(history, tmp_path_factory):
    out = mlvc("show", "nosuchref", cwd=history["root"], check=False)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "unknown ref" in out.stderr
    empty = tmp_path_factory.mktemp("no-store-here")
    out = mlvc("log", cwd=empty, check=False)
    assert out.returncode == 1 and "no jupyter_mlvc store" in out.stderr
    assert "Traceback" not in out.stderr
    out = mlvc("export", "best", "model", cwd=history["root"], check=False)
    assert out.returncode == 2  # usage error: -o is required


def test_fsck_exit_code_on_damage(history):
    root: Path = history["root"]
    objects = sorted((root / ".mlvc" / "objects").rglob("*"))
    victim = next(p for p in objects if p.is_file() and p.stat().st_size > 1000)
    os.chmod(victim, 0o600)
    victim.write_bytes(victim.read_bytes()[:-10])
    out = mlvc("fsck", cwd=root, check=False)
    assert out.returncode == 1 and "corrupt" in out.stdout


def test_log_has_the_magics_columns_and_stays_aligned(repo, tmp_path):
    repo.commit({"x": 1}, "plain", metrics={"acc": 0.5})
    repo.commit({"x": 2}, "red\x1b[31m text\x1b]0;title\x07", metrics={"acc": 0.75})
    lines = mlvc("log", cwd=tmp_path).stdout.splitlines()
    assert lines[0].split() == ["id", "time", "message", "branch", "tags", "vars", "size", "acc"]
    assert "\x1b" not in "".join(lines) and "\x07" not in "".join(lines)
    # Every row's branch starts where the header's does: nothing stripped shifts it.
    column = lines[0].index("branch")
    assert [line[column : column + 4] for line in lines[2:]] == ["main", "main"]
