"""Bisect: the first snapshot where a test fails, with as few loads as binary search."""

from __future__ import annotations

import math

import pytest
from IPython.core.error import UsageError

from jupyter_mlvc.cli import main as cli
from jupyter_mlvc.errors import BadInput, MlvcError, UnknownVariable, Untrusted
from jupyter_mlvc.state import pickling


class Model:
    """A model whose score is its quality: the test loads it and calls it."""

    def __init__(self, quality: float):
        self.quality = quality

    def score(self, X, y) -> float:
        return self.quality * (len(X) == len(y))


def history(repo, qualities, *, metric=True):
    """One snapshot per quality, in order, each with the model and the test data."""
    ids = []
    for i, q in enumerate(qualities):
        ns = {"model": Model(q), "X_test": [1, 2, 3], "y_test": [0, 1, 0], "step": i}
        snap = repo.commit(ns, f"step {i}", metrics={"acc": q} if metric else None)
        ids.append(snap.id)
    return ids


@pytest.mark.parametrize("n, breaks_at", [(2, 1), (9, 5), (16, 11), (33, 32), (33, 1)])
def test_a_metric_bisect_finds_the_first_failure_within_log2_loads(repo, n, breaks_at):
    qualities = [0.95 if i < breaks_at else 0.7 for i in range(n)]
    ids = history(repo, qualities)

    result = repo.bisect(ids[0], ids[-1], metric="acc >= 0.9")

    assert result.first_bad == ids[breaks_at] and result.last_good == ids[breaks_at - 1]
    steps = n - 1
    assert len(result.visited) <= math.ceil(math.log2(steps)) + 1
    assert result.visited[0].id == ids[-1] and not result.visited[0].passed
    assert result.diff.to_dict()["b"]["id"] == ids[breaks_at]


def test_a_metric_bisect_loads_no_pickle(repo, monkeypatch):
    ids = history(repo, [0.95, 0.95, 0.8, 0.8])

    def refuse(*args, **kwargs):
        raise AssertionError("a metric bisect must not unpickle")

    monkeypatch.setattr(pickling, "loads", refuse)
    result = repo.bisect(ids[0], "HEAD", metric="acc>=0.9")
    assert result.first_bad == ids[2]


def test_an_expression_bisect_loads_only_what_it_names(repo, monkeypatch):
    ids = history(repo, [0.95, 0.94, 0.93, 0.5, 0.4, 0.3, 0.2], metric=False)
    loaded: list[list[str]] = []
    from jupyter_mlvc.ops import bisect as bisect_op

    real = bisect_op.checkout

    def spy(repo_, sid, names, current):
        loaded.append(sorted(names))
        return real(repo_, sid, names, current)

    monkeypatch.setattr(bisect_op, "checkout", spy)

    result = repo.bisect(ids[0], ids[-1], "model.score(X_test, y_test) >= 0.9")

    assert result.first_bad == ids[3]
    assert loaded and all(names == ["X_test", "model", "y_test"] for names in loaded)
    assert len(result.visited) <= math.ceil(math.log2(6)) + 1
    assert [v.value for v in result.visited if v.id == ids[3]] == ["False"]


def test_bisect_mistakes_are_one_line_errors(repo):
    ids = history(repo, [0.95, 0.9, 0.5])
    cases = [
        (dict(good=ids[0], bad=ids[1], metric="acc >= 0.9"), BadInput, "passes at the bad"),
        (dict(good=ids[2], bad=ids[0], metric="acc >= 0.9"), BadInput, "not an ancestor"),
        (dict(good=ids[0], bad=ids[0], metric="acc >= 0.9"), BadInput, "same snapshot"),
        (dict(good=ids[0], bad=ids[2], metric="accuracy is good"), BadInput, "reads like"),
        (dict(good=ids[0], bad=ids[2], metric="loss < 1"), MlvcError, "has no metric 'loss'"),
        (dict(good=ids[0], bad=ids[2], test="model.score(X_test"), BadInput, "not a Python"),
        (dict(good=ids[0], bad=ids[2], test="nothing_here > 1"), UnknownVariable, "nothing_here"),
        (dict(good=ids[0], bad=ids[2], test="1 / 0"), MlvcError, "ZeroDivisionError"),
        (dict(good=ids[0], bad=ids[2]), BadInput, "needs one test"),
    ]
    for kwargs, error, says in cases:
        with pytest.raises(error, match=says) as info:
            repo.bisect(**kwargs)
        assert "\n" not in str(info.value)


def test_an_expression_bisect_needs_trusted_snapshots(repo, other_key):
    ids = history(repo, [0.95, 0.5])
    other_key()
    from jupyter_mlvc import Repo

    theirs = Repo.open(repo.root)
    with pytest.raises(Untrusted):
        theirs.bisect(ids[0], ids[1], "model.quality > 0.9")
    # A metric needs no trust: nothing is unpickled.
    assert theirs.bisect(ids[0], ids[1], metric="acc > 0.9").first_bad == ids[1]


def test_the_magic_never_touches_the_kernels_variables(shell, capsys):
    for q in (0.95, 0.9, 0.6, 0.5):
        shell.run_cell(f"acc = {q}\nbig = list(range(10))")
        shell.run_line_magic("mlvc", "commit -m step --metric acc=$acc")
    shell.run_cell("acc = 'mine'\nbig = None\nextra = 1")
    before = {k: shell.user_ns[k] for k in ("acc", "big", "extra")}
    capsys.readouterr()

    shell.run_line_magic("mlvc", 'bisect HEAD~3 --test "acc >= 0.8"')

    out = capsys.readouterr().out
    assert "is the first snapshot where 'acc >= 0.8' fails" in out
    assert "What changed from" in out
    assert {k: shell.user_ns[k] for k in before} == before
    with pytest.raises(UsageError, match="needs one test"):
        shell.run_line_magic("mlvc", "bisect HEAD~3")


def test_the_cli_bisects_a_store(repo, capsys):
    ids = history(repo, [0.95, 0.92, 0.5])
    code = cli(["bisect", "-C", str(repo.root), ids[0], ids[2], "--metric", "acc >= 0.9"])
    out = capsys.readouterr().out
    assert code == 0 and f"{ids[2][:8]} is the first snapshot" in out
    assert cli(["bisect", "-C", str(repo.root), ids[0], ids[2]]) == 1
    assert "needs one test" in capsys.readouterr().err
