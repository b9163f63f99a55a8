"""The diff format's schema (ops/diff_format.py) holds for the diffs the core makes.

The scenarios are those of test_diff.py, committed to a real store and diffed
with ``repo.diff``: every change kind, the notebook diff, metrics, and a
comparison with the current state. ``validate`` must also reject what does
not fit, naming where.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mlvc.ops import diff_format as fmt
from jupyter_mlvc.ops.diff import describe_change


def changes(d: dict) -> dict[str, dict]:
    return {e["name"]: e["change"] for e in d["variables"]["changed"]}


def commit_pair(repo, before: dict, after: dict, **kwargs) -> dict:
    s1 = repo.commit(before, "one", **kwargs.get("first", {}))
    s2 = repo.commit(after, "two", **kwargs.get("second", {}))
    return repo.diff(s1.id, s2.id).to_dict()


@pytest.fixture
def values_diff(repo) -> dict:
    a = np.zeros(1000)
    b = a.copy()
    b[:10] = 5.0
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0], "z": ["a", "b", "c"]})
    frame2 = frame.copy()
    frame2.loc[1, "x"] = 20
    frame2["w"] = 1
    frame2 = frame2.drop(columns=["z"])
    before = {
        "arr": a,
        "reshaped": a,
        "frame": frame,
        "longer": frame,
        "series": pd.Series([1.0, 2.0]),
        "n": 10,
        "word": "abc",
        "long_text": "x" * 300,
        "mapping": {"a": 1, "b": 2},
        "items": {1, 2},
        "seq": [1, 2, 3],
        "typed": 1,
        "keep": 1,
        "gone": 2,
    }
    after = {
        "arr": b,
        "reshaped": a.reshape(10, 100),
        "frame": frame2,
        "longer": pd.concat([frame, frame]),
        "series": pd.Series([1.0, 3.0]),
        "n": 12,
        "word": "abd",
        "long_text": "y" * 301,
        "mapping": {"a": 1, "b": 3, "c": 4},
        "items": {2, 3},
        "seq": [1, 3, 4],
        "typed": "1",
        "keep": 1,
        "new": 3,
    }
    return commit_pair(
        repo,
        before,
        after,
        first={"metrics": {"acc": 0.5, "old": 1.0}},
        second={"metrics": {"acc": 0.75, "new": float("nan")}},
    )


def test_values_diff_fits_the_schema(values_diff):
    fmt.validate(values_diff)
    kinds = {name: c["kind"] for name, c in changes(values_diff).items()}
    assert kinds == {
        "arr": fmt.ARRAY,
        "reshaped": fmt.ARRAY,
        "frame": fmt.FRAME,
        "longer": fmt.FRAME,
        "series": fmt.SERIES,
        "n": fmt.SCALAR,
        "word": fmt.SCALAR,
        "long_text": fmt.TEXT,
        "mapping": fmt.MAPPING,
        "items": fmt.SET,
        "seq": fmt.SEQUENCE,
        "typed": fmt.TYPE,
    }
    assert [m["name"] for m in values_diff["metrics"]] == ["acc", "new", "old"]


def test_the_json_of_a_diff_fits_too(values_diff):
    """What the REST API sends (NaN metrics become null there) still validates."""
    text = json.dumps(values_diff, default=str).replace("NaN", "null")
    fmt.validate(json.loads(text))


def test_models_fit_the_schema(repo):
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    trained = copy.deepcopy(net)
    with torch.no_grad():
        trained[0].weight.add_(0.5)
    d = commit_pair(
        repo,
        {
            "pipe": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)).fit(
                X, y
            ),
            "clf": LogisticRegression(C=1.0, max_iter=500).fit(X, y),
            "net": net,
        },
        {
            "pipe": make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=500)).fit(
                X, y
            ),
            "clf": LogisticRegression(C=0.1, max_iter=500).fit(X, y),
            "net": trained,
        },
    )
    fmt.validate(d)
    libraries = {name: (c["kind"], c["library"]) for name, c in changes(d).items()}
    assert libraries == {
        "pipe": (fmt.MODEL, fmt.SKLEARN),
        "clf": (fmt.MODEL, fmt.SKLEARN),
        "net": (fmt.MODEL, fmt.TORCH),
    }


def test_notebook_diff_fits_the_schema(repo):
    a = new_notebook(
        cells=[
            new_code_cell("import numpy as np"),
            new_code_cell("old = 1"),
            new_code_cell("x = np.arange(10)"),
            new_markdown_cell("# Results"),
        ]
    )
    b = new_notebook(
        cells=[
            new_markdown_cell("# Results"),
            new_code_cell("import numpy as np"),
            new_code_cell("x = np.arange(20)"),
            new_code_cell("y = x * 2"),
        ]
    )
    d = commit_pair(repo, {"v": 1}, {"v": 1}, first={"notebook": a}, second={"notebook": b})
    fmt.validate(d)
    assert {c["kind"] for c in d["notebook"]["cells"]} == set(fmt.CELL_KINDS)


def test_diff_with_the_current_state_fits_the_schema(repo):
    s = repo.commit({"a": 1, "b": [1, 2]}, "one")
    d = repo.diff(s.id, {"a": 1, "b": [1, 2, 3], "c": 0}).to_dict()
    assert fmt.validate(d)["b"] == {"current": True}


def test_untrusted_bytes_change_fits_the_schema(repo, other_key, tmp_path):
    from jupyter_mlvc import Repo

    s1 = repo.commit({"v": [1]}, "one")
    s2 = repo.commit({"v": [2]}, "two")
    other_key()
    d = Repo.open(tmp_path).diff(s1.id, s2.id).to_dict()
    fmt.validate(d)
    assert changes(d)["v"]["kind"] == fmt.BYTES


def _figure(offset: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [offset, 1])
    return fig


def test_every_change_kind_is_in_the_schema():
    """describe_change's kinds and the schema's constants are the same set."""
    samples = [
        describe_change(1, 2),
        describe_change("a" * 300, "b" * 300),
        describe_change(np.zeros(3), np.ones(3)),
        describe_change(pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [2]})),
        describe_change(pd.Series([1]), pd.Series([2])),
        describe_change({"a": 1}, {"a": 2}),
        describe_change({1}, {2}),
        describe_change([1], [2]),
        describe_change(1, "1"),
        describe_change(object(), object()),
        describe_change(_figure(0), _figure(1)),
    ]
    assert {s["kind"] for s in samples} | {fmt.MODEL} == set(fmt.CHANGE_KINDS)


def test_constructors_make_valid_entries(values_diff):
    info: fmt.VariableInfo = {"type": "int", "summary": {"repr": "1"}, "nbytes": 28}
    d = copy.deepcopy(values_diff)
    d["variables"] = {
        "added": [fmt.added_variable("a", info)],
        "removed": [fmt.removed_variable("r", info)],
        "changed": [fmt.changed_variable("c", info, info, fmt.bytes_change("not compared"))],
        "unchanged": [],
    }
    d["metrics"] = [fmt.metric_entry("acc", 0.5, 0.75), fmt.metric_entry("f1", None, 0.5)]
    d["environment"] = [fmt.package_entry("numpy", "2.1.0", "2.2.1")]
    fmt.validate(d)
    assert d["metrics"][0]["delta"] == 0.25 and d["metrics"][1]["delta"] is None


@pytest.mark.parametrize(
    ("break_it", "where"),
    [
        (lambda d: d.pop("metrics"), "diff: DiffDict lacks metrics"),
        (lambda d: d.update(extra=1), "diff: DiffDict has no field extra"),
        (lambda d: d["a"].update(short_id=3), "diff.a.short_id: expected str"),
        (
            lambda d: changes(d)["arr"].update(n_differ="10"),
            "diff.variables.changed[0].change.n_differ: expected int",
        ),
        (
            lambda d: changes(d)["n"].update(kind="complex"),
            "diff.variables.changed[",
        ),
        (lambda d: d["variables"]["added"][0].update(before={}), "diff.variables.added[0].before"),
        (lambda d: d["metrics"][0].update(delta="up"), "diff.metrics[0].delta"),
        (lambda d: d["variables"]["unchanged"].append(None), "diff.variables.unchanged[1]"),
        (lambda d: d.update(b={"current": False}), "diff.b"),
    ],
)
def test_validate_rejects_a_malformed_diff(values_diff, break_it, where):
    broken = copy.deepcopy(values_diff)
    break_it(broken)
    with pytest.raises(ValueError, match=None) as info:
        fmt.validate(broken)
    assert str(info.value).startswith(where), str(info.value)


def test_validate_rejects_what_is_not_a_diff():
    with pytest.raises(ValueError, match="expected an object"):
        fmt.validate([])
