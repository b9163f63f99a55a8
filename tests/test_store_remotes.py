"""store.remotes (the remotes table), the history walks refs gives remote sync, and the
reducer hook of pickling that torch support registers with."""

from __future__ import annotations

import sys

import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadName
from jupyter_mlvc.state import pickling, torch_support
from jupyter_mlvc.store import refs, remotes


@pytest.fixture
def repo(tmp_path):
    with Repo.init(tmp_path) as r:
        yield r


def test_remotes_round_trip(repo):
    with repo.index.write() as db:
        remotes.add(db, remotes.RemoteConfig("b", "/tmp/b", {"profile": "x"}))
        remotes.add(db, remotes.RemoteConfig("a", "s3://bucket/p"))
    found = remotes.configs(repo.index.conn)
    assert list(found) == ["a", "b"]
    assert found["b"] == remotes.RemoteConfig("b", "/tmp/b", {"profile": "x"})
    with pytest.raises(BadName, match="already exists"), repo.index.write() as db:
        remotes.add(db, remotes.RemoteConfig("a", "/elsewhere"))
    with repo.index.write() as db:
        assert remotes.remove(db, "a") is True
        assert remotes.remove(db, "a") is False
    assert list(remotes.configs(repo.index.conn)) == ["b"]


def test_is_ancestor_follows_every_parent(repo):
    # c has parents b (first) and m (merged); b has a.
    with repo.index.write() as db:
        db.executemany(
            "insert into parents values (?, ?, ?)",
            [("b", "a", 0), ("c", "b", 0), ("c", "m", 1)],
        )
    db = repo.index.conn
    assert refs.is_ancestor(db, "a", "c")
    assert refs.is_ancestor(db, "m", "c")
    assert refs.is_ancestor(db, "c", "c")
    assert not refs.is_ancestor(db, "c", "a")
    assert refs.parent_map(db) == {"b": ["a"], "c": ["b", "m"]}


class _Marked:
    def __init__(self, value):
        self.value = value


def _rebuild_marked(value):
    return _Marked(value * 2)


def test_registered_reducers_are_asked_first():
    # The predicate accepts this test's class only: registering it for good is harmless.
    pickling.register_reducer(
        lambda t: t is _Marked, lambda pickler, obj: (_rebuild_marked, (obj.value,))
    )
    out = pickling.loads(pickling.dumps(_Marked(21)), {})
    assert isinstance(out, _Marked) and out.value == 42


def test_torch_support_claims_torch_types_only():
    assert torch_support.applies(torch_support.StorageRef) == ("torch" in sys.modules)
    assert not torch_support.applies(int)
