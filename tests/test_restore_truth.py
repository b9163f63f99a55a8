"""A restore tells the whole truth: what it could not restore is named, and what it did
restore behaves as it did (views stay views, copy-on-write stays lazy, imports follow)."""

from __future__ import annotations

import socket

import pytest

from jupyter_mlvc.errors import BadInput


@pytest.fixture
def live_resources(tmp_path):
    fh = open(tmp_path / "log.txt", "w")  # noqa: SIM115 - a resource the notebook holds
    left, right = socket.socketpair()
    gen = (i for i in range(10))
    yield {"fh": fh, "sock": left, "gen": gen}
    fh.close()
    left.close()
    right.close()


def test_variables_skipped_at_commit_are_named_when_kept(repo, live_resources):
    ns = {"x": 1, **live_resources}
    ns["fh"].write("abc")
    snap = repo.commit(ns, "with resources")
    assert set(snap.skipped) == {"fh", "sock", "gen"}
    ns["fh"].write("def")
    next(ns["gen"])
    ns["x"] = 2
    report = repo.restore(snap.id, ns, save=False)
    assert ns["x"] == 1
    assert set(report.kept) == {"fh", "sock", "gen"}
    assert "open file" in report.kept["fh"] and report.kept["gen"] == "generator"
    line = report.summary_line()
    assert "kept 3 not in the snapshot (skipped at commit)" in line and "today's" in line
    assert report.to_dict()["kept"] == report.kept


def test_variables_skipped_at_commit_can_be_removed(repo, live_resources):
    ns = {"x": 1, **live_resources}
    snap = repo.commit(ns, "with resources")
    report = repo.restore(snap.id, ns, save=False, skipped="remove")
    assert not {"fh", "sock", "gen"} & set(ns) and ns["x"] == 1
    assert {"fh", "sock", "gen"} <= set(report.removed) and report.kept == {}
    with pytest.raises(BadInput, match="skipped must be one of"):
        repo.restore(snap.id, ns, save=False, skipped="drop")


def test_a_memoryview_comes_back_as_a_view_of_its_object(repo):
    buf = bytearray(b"hello world")
    ns = {"buf": buf, "mv": memoryview(buf)[6:], "ro": memoryview(buf).toreadonly()}
    snap = repo.commit(ns, "views")
    out: dict = {}
    repo.restore(snap.id, out, save=False)
    assert type(out["mv"]) is memoryview and out["mv"].obj is out["buf"]
    assert bytes(out["mv"]) == b"world" and out["ro"].readonly and not out["mv"].readonly
    out["mv"][0] = ord("W")
    assert out["buf"] == bytearray(b"hello World")


def test_a_pandas_column_held_elsewhere_does_not_share_edits(repo):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    col = frame["a"]
    snap = repo.commit({"frame": frame, "col": col}, "column")
    out: dict = {}
    repo.restore(snap.id, out, save=False)
    out["col"].iloc[0] = 99.0
    out["frame"].iloc[1, 0] = 55.0
    assert out["frame"]["a"].tolist() == [1.0, 55.0, 3.0]
    assert out["col"].tolist() == [99.0, 2.0, 3.0]


def test_names_imported_after_the_snapshot_are_removed(repo):
    import collections
    import json
    import textwrap

    ns = {"json": json, "OrderedDict": collections.OrderedDict, "x": 1}
    snap = repo.commit(ns, "imports")
    ns.update(textwrap=textwrap, Counter=collections.Counter, json=collections, x=2)
    report = repo.restore(snap.id, ns, save=False)
    assert "textwrap" not in ns and "Counter" not in ns
    assert ns["json"] is json and ns["OrderedDict"] is collections.OrderedDict and ns["x"] == 1
    assert {"textwrap", "Counter"} <= set(report.removed)


def test_a_partial_restore_saves_the_state_only_when_it_would_lose_something(repo):
    import numpy as np

    ns = {"params": {"lr": 0.1}, "big": np.zeros(1_000_000)}
    first = repo.commit(ns, "first")
    ns["params"] = {"lr": 0.5}
    second = repo.commit(ns, "second")
    ns["big"] = np.ones(1_000_000)  # changed since HEAD, but not restored below

    # params holds what HEAD holds: restoring it alone loses nothing, nothing is saved.
    report = repo.restore(first.id, ns, ["params"])
    assert report.saved is None and ns["params"] == {"lr": 0.1}
    assert repo.head_id() == second.id and (ns["big"] == 1).all()

    # Now params differs from HEAD: the whole state is saved first.
    report = repo.restore(second.id, ns, ["params"])
    assert report.saved is not None and ns["params"] == {"lr": 0.5}
    saved = repo.checkout(report.saved.id)
    assert saved["params"] == {"lr": 0.1} and (saved["big"] == 1).all()


def _records():
    # ``str(i % 7)`` makes separate "3" strings; unpickled, they are Python's one cached
    # "3", so the restored list pickles (memo references) to other bytes than at commit.
    return [{"tags": ["a", str(i % 7)], "name": f"item-{i}"} for i in range(50)]


def test_a_restored_value_is_unchanged_though_it_pickles_to_other_bytes(repo, monkeypatch):
    from jupyter_mlvc.ops import restore as restore_op

    snap = repo.commit({"records": _records(), "n": 1}, "records")
    ns: dict = {}
    repo.restore(snap.id, ns, save=False)
    assert ns["records"] == _records()
    reads = []
    load_units = restore_op.load_units
    monkeypatch.setattr(
        restore_op, "load_units", lambda *a, **k: reads.append(list(a[2])) or load_units(*a, **k)
    )
    status = repo.status(ns)
    assert status.clean and status.unchanged == ["n", "records"]
    # Checking out again saves nothing first: the state is HEAD's.
    report = repo.restore(snap.id, ns)
    assert report.saved is None and repo.list()[1] == 1
    # The unit was read back once, for the first status; then its hash was known (and
    # the checkout read nothing: every value was already there).
    assert [r for r in reads if r] == [[0]]
    # A real change is still one.
    ns["records"][0]["name"] = "changed"
    assert repo.status(ns).changed == ["records"]
    saved = repo.restore(snap.id, ns).saved
    assert saved is not None and ns["records"] == _records()
    assert repo.load(saved.id, "records")[0]["name"] == "changed"


def test_an_untrusted_head_is_not_read_back_for_a_status(repo, other_key):
    from jupyter_mlvc import Repo

    snap = repo.commit({"records": _records()}, "records")
    ns: dict = {}
    repo.restore(snap.id, ns, save=False)
    other_key()
    # Another user's key: HEAD is not unpickled to recognise the value, so it stays
    # "changed" (by its bytes) rather than running anyone's pickle.
    assert Repo.open(repo.root).status(ns).changed == ["records"]
