"""The text and HTML views of snapshots, logs, statuses and restores."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from jupyter_mlvc.render import (
    LogView,
    RefsView,
    RestoreView,
    SnapshotView,
    StatusView,
    commit_summary,
    format_bytes,
    format_duration,
    text_table,
)
from jupyter_mlvc.snapshot import Snapshot, Status, VariableInfo

EVIL = "<script>alert('x')</script>"


def make_snapshot(**kwargs) -> Snapshot:
    fields = dict(
        id="3f2a9c1b" + "0" * 56,
        parents=["1a2b3c4d" + "1" * 56],
        message="first try",
        created_at=datetime(2024, 5, 1, 12, 3, 11, tzinfo=timezone.utc),
        notebook_path="demo.ipynb",
        branch="main",
        tags=["best"],
        variables={
            "X": VariableInfo(
                "X",
                "ndarray",
                {"repr": "array(...)", "shape": [178, 13], "dtype": "float64"},
                18_512,
            ),
            "df": VariableInfo(
                "df",
                "DataFrame",
                {"repr": "...", "rows": 5000, "columns": {"a": "int64", "b": "float64"}},
                80_000,
            ),
        },
        skipped={"f": "open file"},
        metrics={"acc": 0.93},
        environment={"python": "3.11.7", "packages": {"numpy": "2.4.6"}},
        nbytes=1_200_000_000,
        bytes_written=3_400_000,
        n_variables=14,
        has_notebook=True,
        notebook_source="saved",
    )
    fields.update(kwargs)
    return Snapshot(**fields)


def test_format_bytes_and_duration():
    assert format_bytes(0) == "0 B"
    assert format_bytes(999) == "999 B"
    assert format_bytes(3_400_000) == "3.4 MB"
    assert format_bytes(1_200_000_000) == "1.2 GB"
    assert format_duration(0.84) == "0.8 s"
    assert format_duration(125) == "2 min 5 s"


def test_commit_summary_reads_like_the_issue():
    line = commit_summary(make_snapshot(), 0.8)
    assert (
        line
        == "Committed 3f2a9c1b on main: 14 variables (1.2 GB), 3.4 MB new, 0.8 s; skipped: f (open file)"
    )
    line = commit_summary(make_snapshot(skipped={}, branch=None, n_variables=1), 0.04)
    assert line == "Committed 3f2a9c1b: 1 variable (1.2 GB), 3.4 MB new, 0.0 s"


def test_snapshot_view_shows_everything_show_promises():
    text = str(SnapshotView(make_snapshot()))
    for expected in [
        "first try",
        "1a2b3c4d",
        "main",
        "best",
        "acc=0.93",
        "float64 178x13",
        "5000 rows x 2 cols",
        "f: open file",
        "numpy 2.4.6",
        "demo.ipynb (saved)",
    ]:
        assert expected in text, expected
    html = SnapshotView(make_snapshot())._repr_html_()
    assert "<table>" in html and "first try" in html


@pytest.mark.parametrize(
    "snap",
    [
        make_snapshot(message=EVIL),
        make_snapshot(tags=[EVIL]),
        make_snapshot(metrics={EVIL: 1.0}),
        make_snapshot(skipped={EVIL: EVIL}),
        make_snapshot(variables={EVIL: VariableInfo(EVIL, EVIL, {"repr": EVIL}, 1)}),
        make_snapshot(environment={EVIL: EVIL}),
    ],
)
def test_snapshot_html_escapes_what_users_control(snap):
    html = SnapshotView(snap)._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def log_frame(**extra) -> pd.DataFrame:
    rows = [
        dict(
            id="b" * 64,
            short_id="bbbbbbbb",
            message="second",
            created_at=datetime(2024, 5, 2, tzinfo=timezone.utc),
            branch="main",
            tags=[],
            n_variables=3,
            nbytes=2000,
            auto=False,
            acc=0.95,
        ),
        dict(
            id="a" * 64,
            short_id="aaaaaaaa",
            message=EVIL,
            created_at=datetime(2024, 5, 1, tzinfo=timezone.utc),
            branch="main",
            tags=["baseline"],
            n_variables=2,
            nbytes=1000,
            auto=False,
            acc=float("nan"),
        ),
    ]
    for row in rows:
        row.update(extra)
    return pd.DataFrame(rows)


def test_log_view_has_metrics_as_columns():
    view = LogView(log_frame())
    assert view.metric_columns() == ["acc"]
    lines = str(view).splitlines()
    assert lines[0].split() == ["id", "time", "message", "branch", "tags", "vars", "size", "acc"]
    assert lines[2].startswith("bbbbbbbb") and lines[2].rstrip().endswith("0.95")
    assert "baseline" in lines[3]
    html = view._repr_html_()
    assert "<th" in html and ">acc</th>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_log_view_empty():
    empty = pd.DataFrame(columns=["id", "short_id", "message"])
    assert str(LogView(empty)) == "No snapshots yet."
    assert "No snapshots yet." in LogView(empty)._repr_html_()


def test_status_view():
    status = Status(
        base="c" * 64,
        added=["new"],
        changed=["model"],
        removed=["old"],
        unchanged=["X"],
        skipped={"f": "open file"},
    )
    text = str(StatusView(status))
    assert (
        text.splitlines()[0] == "Since cccccccc (HEAD): 1 added, 1 changed, 1 removed, 1 unchanged."
    )
    assert (
        "  + new" in text and "  ~ model" in text and "  - old" in text and "f (open file)" in text
    )
    assert str(StatusView(Status(base="c" * 64, unchanged=["X"]))).startswith(
        "No changes since cccccccc"
    )
    assert (
        str(StatusView(Status(base=None, added=["a", "b"])))
        == "No snapshot yet: 2 variables would be committed."
    )
    html = StatusView(Status(base="c" * 64, added=[EVIL]))._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_restore_view_lists_restored_removed_kept():
    report = SimpleNamespace(
        snapshot=make_snapshot(),
        restored=["model", "X"],
        removed=["scratch"],
        unchanged=["y"],
        errors={},
        saved=SimpleNamespace(short_id="9abc1234", message="auto: before checkout of 3f2a9c1b"),
    )
    text = str(RestoreView(report, seconds=0.2))
    first = text.splitlines()[0]
    assert first.startswith("Checked out 3f2a9c1b (main)")
    assert "restored 2, removed 1, kept 1 unchanged" in first
    assert "Saved the previous state first as 9abc1234 (auto: before checkout of 3f2a9c1b)." in text
    assert "removed: scratch" in text and "kept: y" in text
    partial = str(RestoreView(report, partial=True))
    assert "removed 1" not in partial and "HEAD did not move" in partial
    evil = SimpleNamespace(
        **{**vars(report), "errors": {EVIL: EVIL}, "snapshot": make_snapshot(message=EVIL)}
    )
    assert "<script>" not in RestoreView(evil)._repr_html_()


def test_refs_view_marks_current():
    text = str(RefsView({"main": "a" * 64, "exp": "b" * 64}, current="main"))
    assert text.splitlines() == ["  exp  bbbbbbbb", "* main  aaaaaaaa"]
    assert str(RefsView({})) == "No branches yet."


def test_text_table_aligns():
    assert text_table(["a", "num"], [["x", "1"], ["long", "100"]], right=[1]).splitlines() == [
        "a     num",
        "----  ---",
        "x       1",
        "long  100",
    ]


def test_render_does_not_import_ipython():
    # The renderers are shared with faces that have no IPython (the CLI, the server).
    import subprocess

    code = "import jupyter_mlvc.render, sys; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
