"""GET /mlvc/api/graph: every snapshot of a notebook, compact, for the sidebar's commit graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.server import queries

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.server_fixtures"]

NB = "project/analysis.ipynb"
FIELDS = {"id", "short_id", "parents", "message", "created_at", "branch", "tags", "auto"}


@pytest.fixture
def forked(notebook: Path):
    """base on main; ``feature`` forks from it; main goes on, then an automatic snapshot.

    Returns the snapshots by name.
    """
    ns: dict = {"x": 1, "y": 1}
    with Repo.init(notebook.parent) as repo:
        base = repo.commit(dict(ns), "base", None, notebook)
        repo.branch("feature", notebook_path=notebook)
        feature = repo.commit({"x": 2, "y": 1}, "feature work", None, notebook)
        main_ns = {"x": 2, "y": 1}
        repo.restore("main", main_ns, notebook_path=notebook, save=False)
        main = repo.commit({"x": 3, "y": 1}, "main work", None, notebook)
        auto = repo.commit({"x": 4, "y": 1}, "auto: before checkout", None, notebook, auto=True)
        repo.tag("v1", base.id, notebook_path=notebook)
    return {"base": base, "feature": feature, "main": main, "auto": auto}


async def graph_of(jp_fetch, **params) -> dict:
    response = await jp_fetch("mlvc", "api", "graph", params={"path": NB, **params})
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def test_graph_lists_every_snapshot_with_parents_and_refs(jp_fetch, forked):
    data = await graph_of(jp_fetch)
    by_id = {n["id"]: n for n in data["nodes"]}
    assert [n["id"] for n in data["nodes"]] == [
        forked[k].id for k in ("auto", "main", "feature", "base")
    ]
    assert all(set(n) == FIELDS for n in data["nodes"])
    # The fork: both branches have base as their only parent.
    assert by_id[forked["feature"].id]["parents"] == [forked["base"].id]
    assert by_id[forked["main"].id]["parents"] == [forked["base"].id]
    assert by_id[forked["feature"].id]["branch"] == "feature"
    assert by_id[forked["auto"].id]["auto"] is True
    assert by_id[forked["main"].id]["auto"] is False
    assert by_id[forked["base"].id]["tags"] == ["v1"]
    assert data["branches"] == {"main": forked["auto"].id, "feature": forked["feature"].id}
    assert data["current_branch"] == "main"
    assert data["head"] == forked["auto"].id
    assert (data["total"], data["truncated"]) == (4, False)


async def test_graph_limit_keeps_the_newest(jp_fetch, forked):
    data = await graph_of(jp_fetch, limit="2")
    assert [n["id"] for n in data["nodes"]] == [forked["auto"].id, forked["main"].id]
    assert (data["total"], data["truncated"]) == (4, True)


async def test_graph_of_a_merge_has_both_parents_first_parent_first(jp_fetch, notebook):
    with Repo.init(notebook.parent) as repo:
        if not hasattr(repo, "merge"):
            pytest.skip("the store cannot merge yet")
        repo.commit({"x": 1, "y": 1}, "base", None, notebook)
        repo.branch("feature", notebook_path=notebook)
        theirs = repo.commit({"x": 1, "y": 2}, "feature work", None, notebook)
        ns = {"x": 1, "y": 2}
        repo.restore("main", ns, notebook_path=notebook, save=False)
        ours = repo.commit({"x": 3, "y": 1}, "main work", None, notebook)
        ns = {"x": 3, "y": 1}
        repo.merge("feature", ns, notebook_path=notebook)
    data = await graph_of(jp_fetch)
    merge = data["nodes"][0]
    assert merge["parents"] == [ours.id, theirs.id]
    assert data["branches"]["main"] == merge["id"]


async def test_graph_without_a_store_is_empty(jp_fetch, jp_root_dir):
    (jp_root_dir / "fresh").mkdir()
    response = await jp_fetch("mlvc", "api", "graph", params={"path": "fresh/new.ipynb"})
    data = json.loads(response.body)
    assert data["nodes"] == [] and data["total"] == 0 and data["branches"] == {}


@pytest.mark.parametrize("limit", ["0", "50001", "many"])
async def test_graph_refuses_a_bad_limit(jp_fetch, forked, limit):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlvc", "api", "graph", params={"path": NB, "limit": limit})
    assert info.value.code == 400
    assert json.loads(info.value.response.body)["error"] == "BadInput"


def test_graph_query_of_2000_snapshots_is_compact(tmp_path: Path):
    from tests.big_store import build_big_store

    build_big_store(tmp_path, 2_000)
    data = queries.graph(tmp_path / "big.ipynb", limit=10_000)
    assert len(data["nodes"]) == 2_000 and not data["truncated"]
    # Each node is small: the whole graph travels in one answer.
    assert len(json.dumps(data)) < 2_000 * 400
    ids = {n["id"] for n in data["nodes"]}
    assert all(p in ids for n in data["nodes"] for p in n["parents"])
