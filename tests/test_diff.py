"""Diffs: each kind of change, symmetry, and the notebook cell diff."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mlvc.ops.diff import describe_change, notebook_diff


def by_name(entries):
    return {e["name"]: e for e in entries}


def test_diff_of_a_snapshot_with_itself_is_empty(repo):
    s = repo.commit({"a": np.arange(5), "b": "x"}, "one", metrics={"acc": 0.5})
    d = repo.diff(s.id, s.id)
    assert d.empty and d.unchanged == ["a", "b"]
    json.dumps(d.to_dict())


def test_added_removed_changed_and_metrics(repo):
    s1 = repo.commit({"keep": 1, "gone": 2, "n": 10}, "one", metrics={"acc": 0.5, "old": 1.0})
    s2 = repo.commit({"keep": 1, "new": 3, "n": 12}, "two", metrics={"acc": 0.75})
    d = repo.diff(s1.id, s2.id)
    assert [e["name"] for e in d.added] == ["new"]
    assert [e["name"] for e in d.removed] == ["gone"]
    assert by_name(d.changed)["n"]["change"] == {
        "kind": "scalar",
        "before": 10,
        "after": 12,
        "delta": 2.0,
    }
    assert d.unchanged == ["keep"]
    metrics = {m["name"]: m for m in d.metrics}
    assert metrics["acc"]["delta"] == 0.25 and metrics["old"]["after"] is None


def test_diff_mirrors(repo):
    s1 = repo.commit({"x": np.arange(10.0), "s": {1, 2}, "gone": 1}, "one", metrics={"acc": 0.5})
    s2 = repo.commit(
        {"x": np.arange(10.0) * 2, "s": {2, 3}, "new": 2}, "two", metrics={"acc": 0.75}
    )
    ab, ba = repo.diff(s1.id, s2.id), repo.diff(s2.id, s1.id)
    assert [e["name"] for e in ab.added] == [e["name"] for e in ba.removed]
    assert [e["name"] for e in ab.removed] == [e["name"] for e in ba.added]
    s_ab, s_ba = by_name(ab.changed)["s"]["change"], by_name(ba.changed)["s"]["change"]
    assert s_ab["added"] == s_ba["removed"] and s_ab["removed"] == s_ba["added"]
    x_ab, x_ba = by_name(ab.changed)["x"]["change"], by_name(ba.changed)["x"]["change"]
    assert x_ab["n_differ"] == x_ba["n_differ"] and x_ab["stats_before"] == x_ba["stats_after"]
    assert {m["name"]: m["delta"] for m in ab.metrics} == {
        m["name"]: -m["delta"] for m in ba.metrics
    }


def test_array_changes():
    a = np.zeros(1000)
    b = a.copy()
    b[:10] = 5.0
    ch = describe_change(a, b)
    assert ch["kind"] == "array" and ch["n_differ"] == 10 and ch["max_abs_diff"] == 5.0
    assert ch["stats_before"]["mean"] == 0.0 and ch["stats_after"]["mean"] == pytest.approx(0.05)
    reshaped = describe_change(a, a.reshape(10, 100))
    assert (
        reshaped["shape_before"] == [1000]
        and reshaped["shape_after"] == [10, 100]
        and "n_differ" not in reshaped
    )
    assert describe_change(a, a.astype(np.float32))["dtype_after"] == "float32"


def test_frame_changes():
    a = pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0], "z": ["a", "b", "c"]})
    b = a.copy()
    b.loc[1, "x"] = 20
    b["w"] = 1
    b = b.drop(columns=["z"])
    b["y"] = b["y"].astype("float32")
    ch = describe_change(a, b)
    assert ch["columns_added"] == ["w"] and ch["columns_removed"] == ["z"]
    assert ch["dtype_changed"] == {"y": ["float64", "float32"]}
    assert ch["rows_differ"] == {"x": 1}
    assert ch["describe_before"]["x"]["mean"] == 2.0
    longer = describe_change(a, pd.concat([a, a]))
    assert longer["rows_before"] == 3 and longer["rows_after"] == 6 and not longer["index_equal"]


def test_container_changes():
    assert describe_change({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) | {} == {
        "kind": "mapping",
        "added": ["'c'"],
        "removed": [],
        "changed": ["'b'"],
        "len_before": 2,
        "len_after": 3,
    }
    seq = describe_change([1, 2, 3], [1, 3, 4])
    assert seq["removed"] == ["2"] and seq["added"] == ["4"]
    assert describe_change("abc", "abd") == {"kind": "scalar", "before": "abc", "after": "abd"}
    assert describe_change(1, "1")["kind"] == "type"


def test_sklearn_model_change():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    a = LogisticRegression(C=1.0, max_iter=500).fit(X, y)
    b = LogisticRegression(C=0.1, max_iter=500).fit(X, y)
    ch = describe_change(a, b)
    assert ch["kind"] == "model" and ch["params_changed"] == {"C": ["1.0", "0.1"]}
    assert ch["n_parameters_before"] == ch["n_parameters_after"] > 0 and ch["max_weight_change"] > 0


def test_diff_with_current_namespace(repo):
    s = repo.commit({"a": 1, "b": [1, 2]}, "one")
    d = repo.diff(s.id, {"a": 1, "b": [1, 2, 3], "c": 0})
    assert d.b == {"current": True}
    assert [e["name"] for e in d.added] == ["c"]
    assert by_name(d.changed)["b"]["change"]["added"] == ["3"]


def test_diff_loads_only_changed_variables(repo, monkeypatch):
    big = np.random.default_rng(0).random(2_000_000)
    s1 = repo.commit({"big": big, "small": 1}, "one")
    s2 = repo.commit({"big": big, "small": 2}, "two")
    from jupyter_mlvc.ops import restore

    loaded = []
    original = restore.load_units

    def spy(repo, manifest, unit_ids, namespace, progress=None):
        unit_ids = list(unit_ids)
        loaded.extend(n for i in unit_ids for n in manifest["units"][i]["names"])
        return original(repo, manifest, unit_ids, namespace, progress)

    monkeypatch.setattr(restore, "load_units", spy)
    d = repo.diff(s1.id, s2.id)
    assert d.unchanged == ["big"] and set(loaded) == {"small"}


def nb(*cells):
    return new_notebook(cells=list(cells))


def test_notebook_diff_insert_delete_move_edit():
    a = nb(
        new_code_cell("import numpy as np"),
        new_code_cell("old = 1"),
        new_code_cell("x = np.arange(10)"),
        new_markdown_cell("# Results"),
        new_code_cell("print(x.mean())"),
    )
    b = nb(
        new_markdown_cell("# Results"),
        new_code_cell("import numpy as np"),
        new_code_cell("x = np.arange(20)"),
        new_code_cell("print(x.mean())"),
        new_code_cell("y = x * 2"),
    )
    d = notebook_diff(a, b)
    kinds = {(c["kind"], c["source"]) for c in d["cells"]}
    assert ("moved", "# Results") in kinds
    assert ("removed", "old = 1") in kinds
    assert ("added", "y = x * 2") in kinds
    modified = [c for c in d["cells"] if c["kind"] == "modified"]
    assert len(modified) == 1 and "-x = np.arange(10)" in modified[0]["source_diff"]
    assert "+x = np.arange(20)" in modified[0]["source_diff"]
    assert notebook_diff(a, a) == {"available": True, "cells": [], "unchanged": 5}


def test_notebook_outputs_changed(repo):
    a = nb(new_code_cell("print(1)"))
    b = nbformat.from_dict(json.loads(json.dumps(a)))
    b.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    d = notebook_diff(a, b)
    assert d["cells"][0]["kind"] == "modified" and d["cells"][0]["outputs_changed"]
    s1 = repo.commit({"v": 1}, "one", notebook=a)
    s2 = repo.commit({"v": 1}, "two", notebook=b)
    assert repo.diff(s1.id, s2.id).notebook["cells"][0]["outputs_changed"]


def test_untrusted_diff_compares_without_unpickling(repo, other_key, tmp_path):
    from jupyter_mlvc import Repo

    s1 = repo.commit({"v": [1]}, "one")
    s2 = repo.commit({"v": [2]}, "two")
    other_key()
    theirs = Repo.open(tmp_path)
    d = theirs.diff(s1.id, s2.id)
    change = d.changed[0]["change"]
    assert change["kind"] == "bytes" and "not compared" in change["note"]


def test_pipeline_change_names_the_nested_parameter_and_weights():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    a = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)).fit(X, y)
    b = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=500)).fit(X, y)
    ch = describe_change(a, b)
    assert ch["params_changed"] == {"logisticregression__C": ["1.0", "0.01"]}
    assert ch["n_parameters_before"] == ch["n_parameters_after"] > 0
    assert ch["max_weight_change"] > 0


def test_exclude_applies_to_both_sides(repo):
    s = repo.commit({"a": 1, "tmp_x": 2}, "one")
    d = repo.diff(s.id, {"a": 1, "tmp_x": 3}, exclude=["tmp_*"])
    assert d.removed == [] and d.changed == [] and d.unchanged == ["a"]
    d2 = repo.diff(s.id, {"a": 1}, exclude=["tmp_*"])
    assert d2.removed == []
