"""The text and HTML views of snapshots, logs, statuses and restores."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from jupyter_mlvc.present.render import (
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

    code = "import jupyter_mlvc.present.render, sys; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- diffs ---------------------------------------------------------------------------------


def _fitted(C: float):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    return LogisticRegression(C=C, max_iter=500).fit(X, y)


@pytest.fixture
def two_states(repo):
    """Two snapshots that differ in every kind of value the diff knows."""
    import nbformat
    import numpy as np
    import torch

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    before = {
        "arr": np.zeros(1000),
        "df": pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0], "z": ["a", "b", "c"]}),
        "n": 10,
        "word": "old",
        "long_text": "a" * 500,
        "cfg": {"lr": 0.1, "depth": 3},
        "tags_set": {"a", "b"},
        "seq": [1, 2, 3],
        "flip": 1,
        "model": _fitted(1.0),
        "net": net,
        "gone": 1,
    }
    nb_a = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1\ny = 2"), nbformat.v4.new_code_cell("old()")]
    )
    s1 = repo.commit(before, "before", notebook=nb_a, metrics={"acc": 0.5, "loss": 1.0})
    arr = np.zeros(1000)
    arr[:10] = 5.0
    df = before["df"].copy()
    df.loc[1, "x"] = 20
    df["w"] = 1
    df = df.drop(columns=["z"])
    net2 = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net2.weight.copy_(net.weight + 0.5)
        net2.bias.copy_(net.bias)
    after = {
        **{k: v for k, v in before.items() if k != "gone"},
        "arr": arr,
        "df": df,
        "n": 12,
        "word": "new",
        "long_text": "a" * 520,
        "cfg": {"lr": 0.01, "depth": 3, "dropout": 0.2},
        "tags_set": {"b", "c"},
        "seq": [1, 3, 4],
        "flip": "1",
        "model": _fitted(0.1),
        "net": net2,
        "new": [1],
    }
    nb_b = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1\ny = 3"), nbformat.v4.new_markdown_cell("# New")]
    )
    s2 = repo.commit(after, "after", notebook=nb_b, metrics={"acc": 0.75, "loss": 1.0})
    return repo.diff(s1.id, s2.id)


def _row(text: str, name: str) -> str:
    """The lines of a variable's entry in a diff's text (its line and the indented ones after)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[1:2] == [name])
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("      ") or line.lstrip()[:1] in "+-~":
            break
        block.append(line)
    return "\n".join(block)


def test_diff_text_shows_how_each_kind_changed(two_states):
    from jupyter_mlvc.present.render import DiffView

    text = str(DiffView(two_states))
    assert text.splitlines()[0].startswith(
        f"Diff {two_states.a['short_id']} \u201cbefore\u201d -> "
    )
    assert text.splitlines()[1].startswith("variables: 1 added, 11 changed, 1 removed, 0 unchanged")
    assert "  + new" in text and "  - gone" in text
    expected = {
        "arr": ["10 of 1,000 elements differ, max abs diff 5", "mean 0 -> 0.05"],
        "df": [
            "columns added: w",
            "columns removed: z",
            "values differ in x (1 row)",
            "x: mean 2 -> 8, std 1 -> 10.4403, max 3 -> 20",
        ],
        "n": ["10 -> 12 (+2)"],
        "word": ["'old' -> 'new'"],
        "long_text": ["text of 500 -> 520 characters"],
        "cfg": ["len 2 -> 3", "added keys: 'dropout'", "changed keys: 'lr'"],
        "tags_set": ["added items: 'c'", "removed items: 'a'"],
        "seq": ["added items: 4", "removed items: 2"],
        "flip": ["type int -> str"],
        "model": ["C: 1.0 -> 0.1", "15 parameters", "max weight change"],
        "net": ["8 parameters", "max weight change 0.5", "weights changed in weight"],
    }
    for name, parts in expected.items():
        block = _row(text, name)
        assert block.lstrip().startswith(f"~ {name}"), block
        for part in parts:
            assert part in block, (name, part, block)
    # metrics: a table with before, after and the signed delta
    assert re.search(r"acc\s+0\.5\s+0\.75\s+\+0\.25", text)
    assert re.search(r"loss\s+1\s+1\s+\+0\b", text)
    # the notebook: a line diff per changed cell
    assert "notebook: 3 cells changed, 0 unchanged" in text
    assert "cell 0 modified (code)" in text and "    -y = 2" in text and "    +y = 3" in text
    assert "cell 1 added (markdown)" in text and "    +# New" in text
    assert "cell 1 removed (code)\n    -old()" in text


def test_diff_html_has_tables_and_a_coloured_line_diff(two_states):
    from jupyter_mlvc.present.render import DiffView

    html = DiffView(two_states)._repr_html_()
    assert "<h4>Variables</h4>" in html and "<h4>Metrics</h4>" in html
    assert '<tr class="added"><td class="">added</td><td class="">new</td>' in html
    assert '<tr class="removed"><td class="">removed</td><td class="">gone</td>' in html
    assert "C: 1.0 \u2192 0.1" in html and "10 \u2192 12 (+2)" in html
    assert "columns added: w<br>columns removed: z" in html
    assert '<td class="num">0.5</td><td class="num">0.75</td><td class="num">+0.25</td>' in html
    assert 'style="color:#1a7f37;background:#e6ffec">+y = 3</span>' in html
    assert 'style="color:#cf222e;background:#ffebe9">-y = 2</span>' in html
    assert "font-family:monospace" in html


def test_diff_of_equal_states_says_so(repo):
    from jupyter_mlvc.present.render import DiffView

    s = repo.commit({"a": 1}, "one", metrics={"acc": 0.5})
    view = DiffView(repo.diff(s.id, s.id))
    assert view.is_empty()
    assert str(view).splitlines()[1] == "No differences."
    assert "No differences." in view._repr_html_()


def test_diff_with_the_current_state_leaves_out_uncommitted_metrics(repo):
    from jupyter_mlvc.present.render import DiffView

    s = repo.commit({"a": 1}, "one", metrics={"acc": 0.5})
    text = str(DiffView(repo.diff(s.id, {"a": 2})))
    assert "-> the current state" in text.splitlines()[0]
    assert "1 -> 2 (+1)" in text and "metrics:" not in text


def test_environment_changes_are_listed(two_states):
    from jupyter_mlvc.present.render import DiffView

    data = two_states.to_dict()
    data["environment"] = [{"name": "numpy", "before": "1.26.4", "after": "2.0.0"}]
    text = str(DiffView(data))
    assert "environment:\n  numpy: 1.26.4 -> 2.0.0" in text and "1 package changed" in text
    assert (
        '<td class="">numpy</td><td class="">1.26.4</td><td class="">2.0.0</td>'
        in DiffView(data)._repr_html_()
    )


def test_diff_html_escapes_values_names_messages_and_sources(repo):
    import nbformat

    from jupyter_mlvc.present.render import DiffView

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    s1 = repo.commit({"v": "safe", EVIL: 1}, EVIL, notebook=nb, metrics={EVIL: 1.0})
    nb2 = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = '{EVIL}'")])
    s2 = repo.commit(
        {"v": EVIL, EVIL: 2, "k": {EVIL: EVIL}}, EVIL, notebook=nb2, metrics={EVIL: 2.0}
    )
    data = repo.diff(s1.id, s2.id).to_dict()
    data["environment"] = [{"name": EVIL, "before": EVIL, "after": None}]
    html = DiffView(data)._repr_html_()
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") >= 6
    assert "&#x27;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&#x27;" in html  # the value
    # the text keeps them as they are: a terminal runs nothing
    assert f"'safe' -> \"{EVIL}\"" in str(DiffView(data))


def test_change_lines_of_values_that_could_not_be_compared():
    from jupyter_mlvc.present.render import change_lines, change_text

    untrusted = {"kind": "bytes", "bytes_changed": True, "note": "values not compared: not signed"}
    assert change_lines(untrusted) == ["values not compared: not signed"]
    assert change_lines({"kind": "bytes", "bytes_changed": True}) == ["value changed"]
    shape = {
        "kind": "array",
        "shape_before": [1000],
        "shape_after": [10, 100],
        "dtype_before": "float64",
        "dtype_after": "float32",
        "stats_before": {},
        "stats_after": {},
    }
    assert change_text(shape) == "shape 1000 -> 10x100; dtype float64 -> float32"
    # a pipeline's steps clip to the same text: only the nested parameter that changed is shown
    pipeline = {
        "kind": "model",
        "params_changed": {"steps": ["[('scale', ...", "[('scale', ..."], "lr__C": ["1.0", "0.1"]},
        "n_parameters_before": 0,
        "n_parameters_after": 0,
        "max_weight_change": None,
    }
    assert change_lines(pipeline) == ["lr__C: 1.0 -> 0.1"]


# -- several snapshots side by side ------------------------------------------------------------


def test_compare_view_puts_snapshots_side_by_side(repo):
    from jupyter_mlvc.present.render import CompareView

    snaps = []
    for i, (C, acc) in enumerate([(1.0, 0.9), (0.1, 0.8), (0.01, 0.7)]):
        ns = {"model": _fitted(C), "same": "kept", "i": i, "rows": list(range(i))}
        metrics = {"acc": acc} if i != 1 else {"acc": acc, "f1": 0.5}
        snaps.append(repo.commit(ns, f"run {i}", metrics=metrics))
    view = CompareView.from_comparison(repo.compare([s.id for s in snaps]).to_dict())
    lines = str(view).splitlines()
    assert (
        lines[0]
        == "3 snapshots side by side: 2 metrics, 3 variables that differ (1 identical in all left out)"
    )
    assert lines[1].split() == [s.short_id for s in snaps]
    table = {
        line.split()[0]: line.split()[1:] for line in lines[3:] if line and not line.endswith(":")
    }
    assert table["message"] == ["run", "0", "run", "1", "run", "2"]
    assert table["acc"] == ["0.9", "0.8", "0.7"]
    assert table["i"] == ["0", "1", "2"]
    assert table["model.C"] == ["1.0", "0.1", "0.01"]
    assert "same" not in table and "model.max_iter" not in table
    assert re.search(r"^f1\s+0\.5$", str(view), re.M)  # recorded by one snapshot only
    html = view._repr_html_()
    assert f"<th>{snaps[2].short_id}</th>" in html and ">Metrics</th>" in html
    assert "<td>0.01</td>" in html


def test_compare_view_escapes(repo):
    from jupyter_mlvc.present.render import CompareView

    # A variable's name is an identifier (other keys are no state): its value carries it.
    s1 = repo.commit({"x": EVIL + "1"}, EVIL, metrics={EVIL: 1.0})
    s2 = repo.commit({"x": EVIL + "2"}, EVIL, metrics={EVIL: 2.0})
    html = CompareView.from_comparison(repo.compare([s1.id, s2.id]).to_dict())._repr_html_()
    assert "<script>" not in html and html.count("&lt;script&gt;") >= 4


# -- model cards -----------------------------------------------------------------------------------


def test_show_has_model_cards(repo):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    net[0].bias.requires_grad_(False)
    model = _fitted(0.5)
    snap = repo.show(repo.commit({"model": model, "net": net}, "models").id)
    text = str(SnapshotView(snap))
    assert "LogisticRegression (scikit-learn " in text and "fitted, 4 features" in text
    models = text.split("models:\n", 1)[1]
    assert "  model: LogisticRegression (scikit-learn" in models
    assert "    hyperparameters: C=0.5, " in models and "max_iter=500" in models
    assert "  net: Sequential (torch " in models and "15 parameters (12 trainable)" in models
    assert "    mode: training" in models
    html = SnapshotView(snap)._repr_html_()
    assert "<h4>Models</h4>" in html and "C=0.5<br>" in html


def test_model_card_lists_feature_names():
    from jupyter_mlvc.present.render import model_card_rows, model_line

    card = {
        "library": "scikit-learn",
        "version": "1.5.0",
        "class": "RandomForestClassifier",
        "params": {"n_estimators": 100, "criterion": "gini"},
        "fitted": False,
        "n_features_in": 12,
        "feature_names_in": [f"f{i}" for i in range(12)],
    }
    assert (
        model_line(card) == "RandomForestClassifier (scikit-learn 1.5.0), not fitted, 12 features"
    )
    rows = dict(model_card_rows(card))
    assert rows["hyperparameters"] == "n_estimators=100, criterion='gini'"
    assert rows["features"] == "f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, … (2 more)"
