"""Several snapshots side by side: one core function (``ops.compare``) behind every face."""

from __future__ import annotations

import json
import pickle

import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadInput

from .test_cli import mlvc

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.server_fixtures"]

NB = "project/analysis.ipynb"


def _fitted(C: float):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    return LogisticRegression(C=C, max_iter=300).fit(X, y)


def _three_runs(repo: Repo, notebook=None):
    runs = []
    for i, (C, acc) in enumerate([(1.0, 0.9), (0.1, 0.95), (0.01, 0.7)]):
        ns = {"model": _fitted(C), "same": "kept", "i": i}
        if i == 2:
            ns["extra"] = [1, 2]
        metrics = {"acc": acc, "loss": 1 - acc} if i != 1 else {"acc": acc}
        runs.append(repo.commit(ns, f"run {i}", None, notebook, metrics=metrics))
    return runs


def test_comparison_holds_what_the_index_holds(repo, monkeypatch):
    runs = _three_runs(repo)
    # A comparison reads summaries and hashes only: unpickling anything fails the test.
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a pickle was loaded"))
    data = repo.compare([r.id for r in runs]).to_dict()
    assert [s["id"] for s in data["snapshots"]] == [r.id for r in runs]
    assert [s["message"] for s in data["snapshots"]] == ["run 0", "run 1", "run 2"]
    metrics = {m["name"]: m for m in data["metrics"]}
    assert metrics["acc"]["values"] == [0.9, 0.95, 0.7]
    assert metrics["acc"]["best"] == 1
    assert metrics["loss"]["values"] == [pytest.approx(0.1), None, pytest.approx(0.3)]
    assert metrics["loss"]["best"] == 0  # an error: the lowest is the best
    variables = {v["name"]: v for v in data["variables"]}
    assert set(variables) == {"model", "i", "extra"}
    assert data["same"] == ["same"]
    assert variables["extra"]["values"][:2] == [None, None]
    assert variables["extra"]["values"][2]["type"] == "list"
    assert [v["summary"]["repr"] for v in variables["i"]["values"]] == ["0", "1", "2"]
    params = {p["name"]: p["values"] for p in variables["model"]["params"]}
    assert params == {"C": [1.0, 0.1, 0.01]}
    json.dumps(data)


def test_best_is_none_when_all_agree(repo):
    a = repo.commit({"x": 1}, "a", metrics={"acc": 0.5})
    b = repo.commit({"x": 2}, "b", metrics={"acc": 0.5})
    (acc,) = repo.compare([a.id, b.id]).to_dict()["metrics"]
    assert acc["best"] is None


def test_which_metrics_are_errors():
    from jupyter_mlvc.ops.compare import lower_is_better

    assert all(map(lower_is_better, ["loss", "val_loss", "RMSE", "test-error", "train.mae"]))
    assert not any(map(lower_is_better, ["acc", "f1", "roc_auc", "lossless_ratio", "errand"]))


def test_compare_refuses_one_or_too_many(repo):
    a = repo.commit({"x": 1}, "a")
    with pytest.raises(BadInput, match="two or more"):
        repo.compare([a.id])
    with pytest.raises(BadInput, match="at most 50"):
        repo.compare([a.id] * 51)


def test_cli_compare_text_and_json(repo, tmp_path):
    runs = _three_runs(repo)
    out = mlvc("compare", runs[0].short_id, runs[2].short_id, cwd=tmp_path).stdout
    lines = out.splitlines()
    assert lines[0].startswith("2 snapshots side by side: 2 metrics, 3 variables that differ")
    assert lines[1].split() == [runs[0].short_id, runs[2].short_id]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:] if line.strip()}
    assert rows["acc"] == ["0.9", "0.7"]
    assert rows["model.C"] == ["1.0", "0.01"]
    data = json.loads(mlvc("compare", "--json", "HEAD~2", "HEAD", cwd=tmp_path).stdout)
    assert [s["id"] for s in data["snapshots"]] == [runs[0].id, runs[2].id]
    bad = mlvc("compare", "HEAD", cwd=tmp_path, check=False)
    assert bad.returncode != 0 and "two or more" in bad.stderr
    assert "Traceback" not in bad.stderr


# -- REST ---------------------------------------------------------------------------------------


async def test_rest_compare(jp_fetch, notebook):
    with Repo.init(notebook.parent) as repo:
        runs = _three_runs(repo, notebook)
    params = [("path", NB)] + [("ref", r.short_id) for r in runs]
    response = await jp_fetch("mlvc", "api", "compare", params=params)
    data = json.loads(response.body)
    assert [s["id"] for s in data["snapshots"]] == [r.id for r in runs]
    assert {m["name"]: m["values"] for m in data["metrics"]}["acc"] == [0.9, 0.95, 0.7]


async def test_rest_compare_bad_requests(jp_fetch, notebook):
    from tornado.httpclient import HTTPClientError

    with Repo.init(notebook.parent) as repo:
        a = repo.commit({"x": 1}, "a", None, notebook)
    for refs in ([a.short_id], [a.short_id, "nosuchref"], [a.short_id, "../.."], [a.id] * 51):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(
                "mlvc", "api", "compare", params=[("path", NB)] + [("ref", r) for r in refs]
            )
        assert err.value.code in (400, 404)
        message = json.loads(err.value.response.body)["message"]
        assert "\n" not in message and "Traceback" not in message
