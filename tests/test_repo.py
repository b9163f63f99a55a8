"""The core API: commit, log, show, refs, checkout and restore."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlvc import MlvcError, Repo
from jupyter_mlvc.errors import (
    AmbiguousRef,
    BadInput,
    BadName,
    NoStore,
    StoreExists,
    UnknownRef,
    UnknownVariable,
)

from .helpers import same


def test_init_and_open(tmp_path):
    repo = Repo.init(tmp_path)
    assert (tmp_path / ".mlvc" / "index.sqlite").is_file()
    assert (tmp_path / ".mlvc").stat().st_mode & 0o077 == 0
    with pytest.raises(StoreExists):
        Repo.init(tmp_path)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert Repo.open(sub).path == repo.path
    with pytest.raises(NoStore) as err:
        Repo.open(tmp_path.parent / "elsewhere-that-has-none")
    assert "\n" not in str(err.value)


def test_commit_and_checkout_round_trip(repo):
    ns = {
        "x": np.arange(10.0),
        "df": pd.DataFrame({"a": [1, 2], "b": ["u", "v"]}),
        "msg": "hello",
        "n": 3,
    }
    snap = repo.commit(ns, "first", metrics={"acc": 0.9})
    assert snap.message == "first"
    assert snap.metrics == {"acc": 0.9}
    assert set(snap.variables) == {"x", "df", "msg", "n"}
    assert snap.variables["x"].summary["shape"] == [10]
    assert snap.variables["df"].summary["rows"] == 2
    assert snap.variables["df"].summary["columns"] == {"a": "int64", "b": str(ns["df"]["b"].dtype)}
    assert all(v.changed for v in snap.variables.values())
    assert snap.bytes_written > 0
    restored = repo.checkout(snap.id)
    for name, value in ns.items():
        assert same(restored[name], value), name


def test_names_left_out(repo):
    import math

    ns = {
        "_hidden": 1,
        "In": [],
        "Out": {},
        "get_ipython": lambda: None,
        "math": math,
        "sqrt": math.sqrt,
        "v": 1,
    }
    snap = repo.commit(ns, "filtered")
    assert list(snap.variables) == ["v"]


def test_only_and_exclude(repo):
    ns = {"a": 1, "b": 2, "tmp_1": 3, "tmp_2": 4}
    assert set(repo.commit(ns, "only", only=["a"]).variables) == {"a"}
    assert set(repo.commit(ns, "excl", exclude=["tmp_*"]).variables) == {"a", "b"}


def test_shared_references_survive(repo):
    x = np.arange(10**6)
    ns = {"x": x, "a": [x], "b": {"k": x}, "other": np.zeros(3)}
    snap = repo.commit(ns, "aliases")
    out = repo.checkout(snap.id)
    assert out["a"][0] is out["b"]["k"]
    assert out["a"][0] is out["x"]
    assert same(out["x"], x)


def test_unserializable_variables_are_skipped_with_reasons(repo, tmp_path):
    import threading

    f = open(tmp_path / "f.txt", "w")  # noqa: SIM115
    try:
        ns = {"f": f, "gen": (i for i in range(3)), "lock": threading.Lock(), "ok": [1, 2]}
        snap = repo.commit(ns, "skips")
    finally:
        f.close()
    assert set(snap.variables) == {"ok"}
    assert "open file" in snap.skipped["f"] and "f.txt" in snap.skipped["f"]
    assert snap.skipped["gen"] == "generator"
    assert snap.skipped["lock"] == "lock"
    assert repo.checkout(snap.id) == {"ok": [1, 2]}


def test_unchanged_recommit_writes_little(repo):
    rng = np.random.default_rng(0)
    ns = {f"a{i}": rng.random(1_000_000) for i in range(4)}
    ns["df"] = pd.DataFrame({"x": rng.random(100_000), "y": rng.integers(0, 9, 100_000)})
    repo.commit(ns, "one")
    again = repo.commit(ns, "two")
    assert again.bytes_written < 64 * 1024
    assert not any(v.changed for v in again.variables.values())


def test_one_percent_change_writes_about_the_change(repo):
    big = np.random.default_rng(1).random(8 * 1024 * 1024)  # 64 MB
    ns = {"big": big}
    first = repo.commit(ns, "big")
    assert first.bytes_written > 60 * 2**20
    big[: big.size // 100] += 1.0
    second = repo.commit(ns, "1% changed")
    assert second.bytes_written < 8 * 2**20
    assert second.variables["big"].changed
    assert same(repo.load(second.id, "big"), big)
    assert not same(repo.load(first.id, "big"), big)


def test_refs(repo):
    s1 = repo.commit({"v": 1}, "one")
    s2 = repo.commit({"v": 2}, "two")
    s3 = repo.commit({"v": 3}, "three")
    assert repo.resolve("HEAD") == s3.id
    assert repo.resolve("HEAD~1") == s2.id
    assert repo.resolve("HEAD~2") == s1.id
    assert repo.resolve("HEAD^") == s2.id
    assert repo.resolve(s1.id[:6]) == s1.id
    assert repo.resolve("main") == s3.id
    assert repo.resolve("main~2") == s1.id
    repo.tag("baseline", s1.short_id)
    assert repo.resolve("baseline") == s1.id
    assert repo.show("baseline").tags == ["baseline"]
    assert repo.tags() == {"baseline": s1.id}
    with pytest.raises(BadName):
        repo.tag("baseline")
    with pytest.raises(BadName):
        repo.tag("no spaces")
    with pytest.raises(UnknownRef):
        repo.resolve("HEAD~9")
    with pytest.raises(UnknownRef):
        repo.resolve("nosuchthing")
    with pytest.raises(UnknownRef):
        repo.resolve("")


def test_ambiguous_prefix(repo):
    snap = repo.commit({"v": 1}, "one")
    twin = snap.id[:6] + ("0" if snap.id[6] != "0" else "1") + snap.id[7:]
    # A second snapshot whose id shares the first six characters.
    with repo.index.write() as db:
        db.execute(
            "insert into snapshots (id, notebook, message, created_at) select ?, notebook, message, created_at"
            " from snapshots where id = ?",
            [twin, snap.id],
        )
    with pytest.raises(AmbiguousRef) as err:
        repo.resolve(snap.id[:6])
    assert snap.id[:12] in str(err.value) and twin[:12] in str(err.value)
    assert repo.resolve(snap.id[:8]) == snap.id


def test_log_dataframe(repo):
    repo.commit({"v": 1}, "one", metrics={"acc": 0.8})
    repo.commit({"v": 2}, "two", metrics={"acc": 0.9, "loss": 0.3})
    df = repo.log()
    assert list(df["message"]) == ["two", "one"]
    assert list(df["acc"]) == [0.9, 0.8]
    assert df["loss"].iloc[0] == 0.3 and np.isnan(df["loss"].iloc[1])
    for column in ("id", "short_id", "created_at", "branch", "n_variables", "nbytes"):
        assert column in df.columns
    assert list(df["branch"]) == ["main", "main"]
    assert str(df["created_at"].dt.tz) == "UTC"


def test_a_metric_never_stands_in_for_a_log_column(repo):
    """Metrics come from whoever made the snapshot: one named ``id`` or ``branch`` gets a
    column of its own and the snapshots' ids and branches stay what the index holds."""
    snap = repo.commit({"v": 1}, "one", metrics={"id": 7.0, "branch": 1.0, "acc": 0.5})
    df = repo.log()
    assert list(df["id"]) == [snap.id] and list(df["branch"]) == ["main"]
    assert list(df["id (metric)"]) == [7.0] and list(df["branch (metric)"]) == [1.0]
    assert list(repo.log(sort="-id (metric)")["id"]) == [snap.id]


def test_bad_input_is_one_line(repo):
    with pytest.raises(BadInput):
        repo.commit({"v": 1}, "m", metrics={"acc": "high"})
    with pytest.raises(BadInput):
        repo.commit({"v": 1}, "m", notebook={"no": "cells"})
    with pytest.raises(BadInput):
        repo.commit({"v": 1}, None)  # type: ignore[arg-type]
    assert repo.list()[1] == 0  # nothing was committed by the failures
    snap = repo.commit({"v": 1}, "m")
    with pytest.raises(UnknownVariable) as err:
        repo.load(snap.id, "nope")
    assert "\n" not in str(err.value) and isinstance(err.value, MlvcError)


def test_notebook_is_stored(repo):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    snap = repo.commit({"x": 1}, "with nb", notebook=nb, notebook_source="editor")
    assert snap.has_notebook and snap.notebook_source == "editor"
    back = repo.notebook(snap.id)
    assert back.cells[0].source == "x = 1"
    assert repo.notebook(repo.commit({"x": 2}, "no nb").id) is None


def test_checkout_of_older_snapshot_starts_a_branch(repo):
    s1 = repo.commit({"v": 1}, "one")
    repo.commit({"v": 2}, "two")
    ns = {"v": 2}
    repo.restore(s1.id, ns)
    assert ns == {"v": 1}
    assert repo.current_branch() is None  # detached at s1
    ns["v"] = 10
    s3 = repo.commit(ns, "new idea")
    assert s3.parents == [s1.id]
    assert s3.branch == "main-2"
    assert repo.branches() == {"main": repo.resolve("main"), "main-2": s3.id}
    assert repo.current_branch() == "main-2"


def test_branch_switches_when_at_head(repo):
    s1 = repo.commit({"v": 1}, "one")
    repo.branch("experiment")
    assert repo.current_branch() == "experiment"
    s2 = repo.commit({"v": 2}, "two")
    assert s2.branch == "experiment" and s2.parents == [s1.id]
    assert repo.resolve("main") == s1.id


def test_restore_removes_later_variables_and_saves_first(repo):
    s1 = repo.commit({"a": 1, "b": [1, 2]}, "base")
    ns = {"a": 1, "b": [1, 2, 3], "later": "x"}
    report = repo.restore(s1.id, ns)
    assert ns == {"a": 1, "b": [1, 2]}
    assert report.removed == ["later"]
    assert report.restored == ["b"]
    assert report.unchanged == ["a"]
    assert report.saved is not None and report.saved.auto
    assert report.saved.message == f"auto: before checkout of {s1.short_id}"
    # the saved state can be restored: nothing was lost
    repo.restore(report.saved.id, ns, save=False)
    assert ns == {"a": 1, "b": [1, 2, 3], "later": "x"}


def test_restore_without_changes_does_not_save(repo):
    s1 = repo.commit({"a": 1}, "base")
    report = repo.restore(s1.id, {"a": 1})
    assert report.saved is None and report.unchanged == ["a"] and report.restored == []


def test_partial_restore(repo):
    s1 = repo.commit({"a": 1, "b": 2}, "base")
    ns = {"a": 10, "b": 20, "c": 30}
    report = repo.restore(s1.id, ns, ["a"], save=False)
    assert ns == {"a": 1, "b": 20, "c": 30}
    assert report.restored == ["a"] and report.removed == []
    with pytest.raises(UnknownVariable):
        repo.restore(s1.id, ns, ["zzz"])


class Counted:
    """Counts how often it is unpickled, to prove what a restore reads."""

    loads = 0

    def __init__(self, v):
        self.v = v

    def __setstate__(self, state):
        Counted.loads += 1
        self.__dict__.update(state)

    def __eq__(self, other):
        return isinstance(other, Counted) and other.v == self.v


def test_incremental_restore_reads_only_what_differs(repo):
    ns = {"a": Counted(1), "b": Counted(2)}
    snap = repo.commit(ns, "two objects")
    ns["b"] = Counted(3)
    Counted.loads = 0
    values = repo.checkout(snap.id, current=ns)
    assert Counted.loads == 1
    assert values["a"] is ns["a"]
    assert values["b"] == Counted(2)


def test_functions_see_the_namespace_they_are_restored_into(repo):
    ns: dict = {}
    exec(
        "K = 2\ndef f(x):\n    return x * K\nclass C:\n    def m(self):\n        return f(K)\nc = C()\n",
        ns,
    )
    snap = repo.commit(ns, "code")
    fresh: dict = {}
    repo.restore(snap.id, fresh, save=False)
    assert fresh["f"](3) == 6
    fresh["K"] = 5
    assert fresh["f"](3) == 15
    assert fresh["c"].m() == 25
    assert isinstance(fresh["c"], fresh["C"])


def test_list_pagination_search_and_branch_filter(repo):
    for i in range(12):
        repo.commit({"v": i}, f"run {i}" if i % 2 else f"trial {i}")
    page, total = repo.list(limit=5)
    assert total == 12 and len(page) == 5
    assert [s.message for s in page][:2] == ["run 11", "trial 10"]
    page2, _ = repo.list(limit=5, offset=5)
    assert {s.id for s in page}.isdisjoint({s.id for s in page2})
    found, n = repo.list(search="trial")
    assert n == 6 and all("trial" in s.message for s in found)
    assert repo.list(search="50%")[1] == 0
    assert repo.list(branch="main")[1] == 12
    assert repo.list(branch="other")[1] == 0


def test_snapshots_are_per_notebook(repo, tmp_path):
    a = repo.commit({"v": 1}, "in a", notebook_path=tmp_path / "a.ipynb")
    b = repo.commit({"v": 2}, "in b", notebook_path=tmp_path / "b.ipynb")
    assert a.notebook_path == "a.ipynb" and b.notebook_path == "b.ipynb"
    assert repo.resolve("HEAD", notebook_path=tmp_path / "a.ipynb") == a.id
    assert repo.resolve("HEAD", notebook_path=tmp_path / "b.ipynb") == b.id
    assert b.parents == []
    assert set(repo.notebooks()) == {"a.ipynb", "b.ipynb"}
    assert len(repo.log(all=True)) == 2


def test_staged_metrics(repo):
    import jupyter_mlvc

    jupyter_mlvc.log_metrics(acc=0.5, f1=0.25)
    snap = repo.commit({"v": 1}, "m", metrics={"acc": 0.75})
    assert snap.metrics == {"acc": 0.75, "f1": 0.25}
    assert repo.commit({"v": 1}, "m2").metrics == {}


def test_module_level_load(repo, tmp_path):
    import jupyter_mlvc

    snap = repo.commit({"model": {"w": [1, 2]}}, "m")
    assert jupyter_mlvc.load(snap.id, "model", path=tmp_path) == {"w": [1, 2]}


def test_modules_come_back_on_restore(repo):
    import math

    ns = {"math": math, "v": 1}
    snap = repo.commit(ns, "with import")
    fresh: dict = {}
    repo.restore(snap.id, fresh, save=False)
    assert fresh["math"] is math and fresh["v"] == 1


def test_status(repo):
    repo.commit({"a": 1, "b": 2, "c": 3}, "base")
    st = repo.status({"a": 1, "b": 20, "d": 4})
    assert (st.added, st.changed, st.removed, st.unchanged) == (["d"], ["b"], ["c"], ["a"])
    assert not st.clean
    assert repo.status({"a": 1, "b": 2, "c": 3}).clean


def test_random_state_comes_back(repo):
    import importlib.util
    import random

    has_torch = importlib.util.find_spec("torch") is not None
    if has_torch:
        import torch

        torch.manual_seed(3)
    random.seed(1)
    np.random.seed(2)
    snap = repo.commit({"v": 1}, "seeded")

    def draw():
        return (
            random.random(),
            np.random.rand(3).tolist(),
            torch.rand(2).tolist() if has_torch else None,
        )

    expected = draw()
    draw()  # the user goes on drawing
    report = repo.restore(snap.id, {"v": 2}, save=False)
    assert report.rng == ["random", "numpy"] + (["torch"] if has_torch else [])
    assert draw() == expected


def test_random_state_can_be_left_alone(repo):
    import random

    random.seed(1)
    snap = repo.commit({"v": 1}, "seeded")
    random.seed(99)
    expected = random.random()
    random.seed(99)
    report = repo.restore(snap.id, {"v": 2}, save=False, rng=False)
    assert report.rng == [] and random.random() == expected


def test_random_state_restores_without_importing_numpy(repo, tmp_path):
    """A fresh kernel whose snapshot holds no numpy value never imports numpy to restore
    the random state (it cost about a second): Python's generator comes back alone."""
    import pickle
    import random
    import subprocess
    import sys

    random.seed(5)
    np.random.seed(6)
    snap = repo.commit({"v": 1}, "seeded")
    expected = random.random()
    # A state written before numpy's key was stored as bytes pickles the array itself.
    old = tmp_path / "old-state"
    old.write_bytes(pickle.dumps({"random": random.getstate(), "numpy": np.random.get_state()}))
    code = f"""
import random, sys
from jupyter_mlvc import Repo
from jupyter_mlvc.state.rng import restore_rng
report = Repo.open({str(repo.root)!r}).restore({snap.id!r}, {{}}, save=False)
drawn = random.random()
old = restore_rng(open({str(old)!r}, "rb").read())
print(report.rng, repr(drawn), old, "numpy" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['random']", repr(expected), "['random']", "False"]


class CountedPickles:
    """Counts how often it is pickled, to prove what a commit serializes."""

    dumps = 0

    def __init__(self, v):
        self.v = v

    def __reduce__(self):
        CountedPickles.dumps += 1
        return (CountedPickles, (self.v,))


def test_assume_unchanged_takes_variables_over_without_serializing(repo):
    big = np.random.default_rng(0).random(1_000_000)
    ns = {"big": big, "obj": CountedPickles(1), "small": 1, "x": [big]}
    first = repo.commit(ns, "one")
    CountedPickles.dumps = 0
    ns["small"] = 2
    second = repo.commit(ns, "cell touched small", assume_unchanged=["big", "obj", "x"])
    assert CountedPickles.dumps == 0
    assert second.variables["small"].changed and not second.variables["obj"].changed
    assert {n: v.group for n, v in second.variables.items() if n != "small"} == {
        n: v.group for n, v in first.variables.items() if n != "small"
    }
    out = repo.checkout(second.id)
    assert out["x"][0] is out["big"] and out["small"] == 2 and out["obj"].v == 1
    assert repo.fsck() == []
    # A rebound name is not taken over even if the caller says so: its object changed.
    ns["obj"] = CountedPickles(5)
    third = repo.commit(ns, "rebound", assume_unchanged=["big", "obj", "x", "small"])
    assert CountedPickles.dumps == 1 and repo.load(third.id, "obj").v == 5
    # Half of a unit is never taken over: x and big share an array.
    ns["big"] = ns["big"].copy()
    fourth = repo.commit(ns, "half", assume_unchanged=["x", "obj", "small"])
    assert repo.checkout(fourth.id)["x"][0] is not None


def test_if_changed_skips_identical_state(repo):
    ns = {"a": 1, "b": [1, 2]}
    assert repo.commit(ns, "one", if_changed=True) is not None
    assert repo.commit(ns, "same", if_changed=True, assume_unchanged=["a", "b"]) is None
    assert repo.commit(ns, "same again", if_changed=True) is None
    ns["b"].append(3)
    assert repo.commit(ns, "changed", if_changed=True, assume_unchanged=["a"]) is not None
    assert len(repo.log()) == 2


def test_if_changed_hashes_the_state_once_and_writes_nothing_when_unchanged(repo, monkeypatch):
    """An automatic snapshot's commit (``if_changed``) finds out whether the state
    changed in the pass that stores it: each chunk is hashed once, and an unchanged
    state leaves no object and no temporary file behind."""
    from jupyter_mlvc.ops import commit as commit_op
    from jupyter_mlvc.store import objects

    ns = {"big": np.arange(4 * 2**20 // 8, dtype=np.float64), "n": 1}
    assert repo.commit(ns, "base") is not None
    stored = set(repo.objects)
    big_chunks: list[int] = []

    def counting(original):
        def hash_bytes(data):
            if len(data) == objects.CHUNK_SIZE:
                big_chunks.append(1)
            return original(data)

        return hash_bytes

    monkeypatch.setattr(objects, "hash_bytes", counting(objects.hash_bytes))
    monkeypatch.setattr(commit_op, "hash_bytes", counting(commit_op.hash_bytes))

    assert repo.commit(ns, "same", if_changed=True) is None
    assert set(repo.objects) == stored
    assert not any((repo.path / "tmp").iterdir())
    assert len(big_chunks) == 4  # the array's four 1 MiB chunks, once each

    big_chunks.clear()
    ns["big"][0] = -1.0
    snap = repo.commit(ns, "changed", if_changed=True)
    assert snap is not None and len(big_chunks) == 4
    assert repo.load(snap.id, "big")[0] == -1.0 and len(repo.log()) == 2


def test_a_new_store_is_made_without_importing_pandas(tmp_path):
    """sqlite-utils imports pandas and numpy when it can; the store's schema needs neither."""
    code = (
        "import sys\n"
        "from jupyter_mlvc import Repo\n"
        f"repo = Repo.init({str(tmp_path)!r})\n"
        "repo.commit({'x': 1}, 'first')\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
        "assert list(repo.log()['message']) == ['first']\n"  # imports pandas as usual
        "import sqlite_utils.db\n"
        "print('ok')\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_pandas_is_hidden_from_the_importing_thread_alone(tmp_path):
    """While sqlite-utils is imported, ``import pandas`` fails in that thread and works
    in any other (a cell importing pandas at that moment must not break)."""
    fake = tmp_path / "sqlite_utils"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import threading\n"
        "try:\n"
        "    import pandas\n"
        "    hidden = False\n"
        "except ImportError:\n"
        "    hidden = True\n"
        "seen = {}\n"
        "def other():\n"
        "    import pandas\n"
        "    seen['other'] = pandas.__name__\n"
        "t = threading.Thread(target=other)\n"
        "t.start()\n"
        "t.join()\n"
    )
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from jupyter_mlvc.store.index import import_sqlite_utils\n"
        "m = import_sqlite_utils()\n"
        "assert m.hidden, 'pandas was importable in the importing thread'\n"
        "assert m.seen == {'other': 'pandas'}, m.seen\n"
        "import pandas\n"  # and as usual afterwards, in the importing thread too
        "print('ok')\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_after_the_warm_up_a_first_commit_spawns_nothing_and_scans_nothing(tmp_path):
    """What the warm-up loads leaves nothing slow for a new store's first commit:
    no ``uname`` process for the platform's description and no scan of the installed
    distributions for sqlite-utils plugins."""
    code = (
        "import importlib.metadata, subprocess, sys, threading\n"
        "from jupyter_mlvc import Repo, warmup\n"
        "warmup.start()\n"
        "for t in threading.enumerate():\n"
        "    if t.name == 'mlvc-warmup':\n"
        "        t.join()\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('called on the first commit: ' + repr(args)[:80])\n"
        "subprocess.Popen.__init__ = refuse\n"
        "importlib.metadata.entry_points = refuse\n"
        "importlib.metadata.distributions = refuse\n"
        f"repo = Repo.init({str(tmp_path)!r})\n"
        "repo.commit({'x': 1}, 'first')\n"
        "assert repo.head().environment['platform']\n"
        "print('ok')\n"
    )
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
