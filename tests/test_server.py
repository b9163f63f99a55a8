"""The REST API under <base_url>/mlvc/api/, against a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from pathlib import Path

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlvc import Repo
from jupyter_mlvc.live import read_live_notebook
from jupyter_mlvc.server import ROUTES, queries
from jupyter_mlvc.server.paths import BadPath, OutsideRoot, confine

pytest_plugins = ["pytest_jupyter.jupyter_server", "tests.server_fixtures"]

NB = "project/analysis.ipynb"


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    folder = jp_root_dir / "project"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, folder / "analysis.ipynb")
    return folder


@pytest.fixture
def history(project: Path):
    """Three snapshots of project/analysis.ipynb (oldest first), the last on branch ``exp``."""
    notebook = project / "analysis.ipynb"
    repo = Repo.init(project)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# v1")])
    a = repo.commit({"x": 1, "rows": list(range(10))}, "load the data", nb, notebook, {"acc": 0.5})
    b = repo.commit(
        {"x": 2, "rows": list(range(10))},
        "train <img src=x onerror=alert(1)>",
        None,
        notebook,
        {"acc": 0.8},
    )
    repo.branch("exp", notebook_path=notebook)
    c = repo.commit(
        {"x": 3, "rows": list(range(10)), "gen": (i for i in range(3))}, "tune on exp", nb, notebook
    )
    repo.tag("best", b.id, notebook_path=notebook)
    repo.close()
    return [a, b, c]


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch("mlvc", "api", *parts, params=params)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch, *parts, method="GET", body=None, **params):
    """The status and JSON body of a request that must fail."""
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = body
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlvc", "api", *parts, params=params, **kwargs)
    response = info.value.response
    assert response.headers["Content-Type"].startswith("application/json"), response.body
    data = json.loads(response.body)
    assert data["status"] == info.value.code
    assert data["message"]
    return info.value.code, data


# -- authentication ----------------------------------------------------------------------------

VERBS = ("GET", "PUT", "POST", "PATCH", "DELETE")


def _routes_and_verbs():
    for pattern, handler in ROUTES:
        url = re.sub(r"\(\?P<(\w+)>[^)]*\)", "abcd", pattern)
        for verb in VERBS:
            method = getattr(handler, verb.lower(), None)
            # Only the verbs a handler defines itself; tornado's defaults answer 405.
            if method is not None and method.__qualname__.split(".")[0] != "RequestHandler":
                yield url, verb


ROUTE_VERBS = list(_routes_and_verbs())


def test_route_table_is_enumerated():
    urls = {u for u, _ in ROUTE_VERBS}
    assert {
        "/mlvc/api/snapshots",
        "/mlvc/api/snapshots/abcd",
        "/mlvc/api/head",
        "/mlvc/api/live",
        "/mlvc/api/diff",
    } <= urls
    assert ("/mlvc/api/live", "PUT") in ROUTE_VERBS
    assert {("/mlvc/api/diff", "GET"), ("/mlvc/api/diff", "POST")} <= set(ROUTE_VERBS)


@pytest.mark.parametrize(("url", "verb"), ROUTE_VERBS)
@pytest.mark.parametrize("auth", [None, "token not-the-token"])
async def test_every_route_refuses_a_request_without_the_token(
    jp_serverapp, http_server_client, jp_base_url, history, url, verb, auth
):
    headers = {"Authorization": auth} if auth else {}
    body = json.dumps(nbformat.v4.new_notebook()) if verb in ("PUT", "POST", "PATCH") else None
    full = jp_base_url.rstrip("/") + url + "?path=" + NB
    response = await http_server_client.fetch(
        full, method=verb, body=body, headers=headers, raise_error=False
    )
    assert response.code == 403, (url, verb, response.code, response.body)
    assert b"load the data" not in response.body


async def test_the_token_opens_the_routes(jp_fetch, history):
    assert (await get_json(jp_fetch, "snapshots", path=NB))["total"] == 3


# -- listing ---------------------------------------------------------------------------------------


async def test_list_is_newest_first_with_what_the_sidebar_shows(jp_fetch, history):
    data = await get_json(jp_fetch, "snapshots", path=NB)
    assert data["total"] == 3
    assert [s["id"] for s in data["snapshots"]] == [s.id for s in reversed(history)]
    newest, middle, oldest = data["snapshots"]
    assert newest["message"] == "tune on exp"
    assert newest["branch"] == "exp"
    assert middle["tags"] == ["best"]
    assert middle["message"] == "train <img src=x onerror=alert(1)>"
    assert middle["metrics"] == {"acc": 0.8}
    assert oldest["short_id"] == history[0].id[:8]
    assert oldest["n_variables"] == 2 and oldest["nbytes"] > 0
    assert oldest["has_notebook"] is True and middle["has_notebook"] is False
    assert data["head"] == history[2].id
    assert data["current_branch"] == "exp"
    assert data["store"] == {"root": "project", "notebook": "analysis.ipynb"}
    assert data["hint"] is None


async def test_pagination(jp_fetch, history):
    first = await get_json(jp_fetch, "snapshots", path=NB, limit="2")
    second = await get_json(jp_fetch, "snapshots", path=NB, limit="2", offset="2")
    assert (first["total"], second["total"]) == (3, 3)
    assert (first["limit"], second["offset"]) == (2, 2)
    assert [s["id"] for s in first["snapshots"] + second["snapshots"]] == [
        s.id for s in reversed(history)
    ]
    beyond = await get_json(jp_fetch, "snapshots", path=NB, offset="10")
    assert beyond["snapshots"] == [] and beyond["total"] == 3


async def test_search_by_message_and_filter_by_branch(jp_fetch, history):
    found = await get_json(jp_fetch, "snapshots", path=NB, search="TRAIN")
    assert [s["id"] for s in found["snapshots"]] == [history[1].id]
    assert found["total"] == 1
    # LIKE wildcards in the query are literal characters.
    assert (await get_json(jp_fetch, "snapshots", path=NB, search="%"))["total"] == 0
    on_exp = await get_json(jp_fetch, "snapshots", path=NB, branch="exp")
    assert [s["id"] for s in on_exp["snapshots"]] == [history[2].id]
    on_main = await get_json(jp_fetch, "snapshots", path=NB, branch="main")
    assert {s["id"] for s in on_main["snapshots"]} == {history[0].id, history[1].id}


async def test_no_store_is_an_empty_list_with_a_hint(jp_fetch, jp_root_dir):
    (jp_root_dir / "fresh").mkdir()
    data = await get_json(jp_fetch, "snapshots", path="fresh/new.ipynb")
    assert data["snapshots"] == [] and data["total"] == 0 and data["store"] is None
    assert "%mlvc commit" in data["hint"]
    head = await get_json(jp_fetch, "head", path="fresh/new.ipynb")
    assert head["store"] is False and head["total"] == 0


async def test_another_notebook_in_the_same_store_has_its_own_history(jp_fetch, history):
    data = await get_json(jp_fetch, "snapshots", path="project/other.ipynb")
    assert data["total"] == 0 and data["store"]["root"] == "project"
    code, err = await error_of(jp_fetch, "snapshots", history[0].id, path="project/other.ipynb")
    assert code == 404 and err["error"] == "UnknownRef"


# -- one snapshot -----------------------------------------------------------------------------------


async def test_show_one_snapshot(jp_fetch, history):
    data = await get_json(jp_fetch, "snapshots", history[2].id, path=NB)
    assert data["id"] == history[2].id
    assert set(data["variables"]) == {"x", "rows"}
    x, rows = data["variables"]["x"], data["variables"]["rows"]
    assert x["type"] == "int" and x["summary"]["repr"] == "3" and x["changed"] is True
    assert rows["changed"] is False and rows["summary"]["len"] == 10
    assert "gen" in data["skipped"] and data["skipped"]["gen"]
    assert data["environment"]
    assert data["refs"] == {"head": True, "branches": ["exp"], "tags": []}
    assert data["parents"] == [history[1].id]


async def test_show_accepts_refs(jp_fetch, history):
    assert (await get_json(jp_fetch, "snapshots", history[1].id[:6], path=NB))["id"] == history[
        1
    ].id
    assert (await get_json(jp_fetch, "snapshots", "best", path=NB))["id"] == history[1].id
    tagged = await get_json(jp_fetch, "snapshots", "HEAD~1", path=NB)
    assert tagged["id"] == history[1].id
    # main stayed at the second snapshot when the branch exp started there.
    assert tagged["refs"] == {"head": False, "branches": ["main"], "tags": ["best"]}
    assert tagged["metrics"] == {"acc": 0.8}


async def test_unknown_snapshot_is_a_json_404(jp_fetch, history):
    code, err = await error_of(jp_fetch, "snapshots", "0123456789abcdef", path=NB)
    assert code == 404 and err["error"] == "UnknownRef"
    code, _ = await error_of(jp_fetch, "snapshots", "HEAD~9", path=NB)
    assert code == 404
    code, _ = await error_of(jp_fetch, "snapshots", "0123456789abcdef", "notebook", path=NB)
    assert code == 404


async def test_show_without_a_store_is_a_404(jp_fetch, jp_root_dir):
    code, err = await error_of(jp_fetch, "snapshots", "HEAD", path="nothing-here.ipynb")
    assert code == 404 and err["error"] == "NoStore"


async def test_snapshot_notebook(jp_fetch, history):
    nb = await get_json(jp_fetch, "snapshots", history[0].id, "notebook", path=NB)
    assert nb["nbformat"] == 4
    assert nb["cells"][0]["source"] == "# v1"
    nbformat.validate(nbformat.from_dict(nb))
    code, err = await error_of(jp_fetch, "snapshots", history[1].id, "notebook", path=NB)
    assert code == 404 and "no notebook" in err["message"]


async def test_an_untrusted_snapshots_notebook_comes_untrusted(
    jp_fetch, project, monkeypatch, tmp_path
):
    """Trust flags are written by whoever made the snapshot: another key's are dropped."""
    notebook = project / "analysis.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("show()", outputs=[], execution_count=1)],
        metadata={"trusted": True},
    )
    nb.cells[0].metadata["trusted"] = True
    with Repo.init(project) as repo:
        own = repo.commit({"x": 1}, "mine", nb, notebook)
    response = await jp_fetch("mlvc", "api", "snapshots", own.id, "notebook", params={"path": NB})
    assert response.headers["X-Mlvc-Trusted"] == "true"
    assert json.loads(response.body)["cells"][0]["metadata"]["trusted"] is True

    mine = os.environ["JUPYTER_DATA_DIR"]
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "someone-else"))
    with Repo.open(project) as repo:
        theirs = repo.commit({"x": 2}, "theirs", nb, notebook)
    monkeypatch.setenv("JUPYTER_DATA_DIR", mine)
    response = await jp_fetch(
        "mlvc", "api", "snapshots", theirs.id, "notebook", params={"path": NB}
    )
    assert response.headers["X-Mlvc-Trusted"] == "false"
    data = json.loads(response.body)
    assert "trusted" not in data["metadata"]
    assert data["cells"][0]["metadata"]["trusted"] is False
    diff = await get_json(jp_fetch, "diff", path=NB, a=own.id, b=theirs.id)
    assert diff["nbdime"]["trusted"] is False


# -- what the sidebar polls and pushes -------------------------------------------------------------


async def test_head_changes_when_a_commit_lands(jp_fetch, history, project):
    before = await get_json(jp_fetch, "head", path=NB)
    assert before == {
        **before,
        "store": True,
        "head": history[2].id,
        "latest": history[2].id,
        "total": 3,
    }
    assert (await get_json(jp_fetch, "head", path=NB))["version"] == before["version"]
    with Repo.open(project) as repo:
        snap = repo.commit({"x": 4}, "four", notebook_path=project / "analysis.ipynb")
    after = await get_json(jp_fetch, "head", path=NB)
    assert after["head"] == after["latest"] == snap.id and after["total"] == 4
    assert after["version"] != before["version"]
    with Repo.open(project) as repo:
        repo.tag("again", notebook_path=project / "analysis.ipynb")
    assert (await get_json(jp_fetch, "head", path=NB))["version"] != after["version"]


async def test_refs(jp_fetch, history):
    data = await get_json(jp_fetch, "refs", path=NB)
    assert data["branches"] == {"main": history[1].id, "exp": history[2].id}
    assert data["tags"] == {"best": history[1].id}
    assert data["current_branch"] == "exp" and data["head"] == history[2].id


async def test_live_notebook_is_handed_to_the_kernel(jp_fetch, project):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("unsaved = 42")])
    response = await jp_fetch(
        "mlvc", "api", "live", params={"path": NB}, method="PUT", body=json.dumps(nb)
    )
    assert response.code == 204
    live = read_live_notebook(project / "analysis.ipynb")
    assert live is not None and live["cells"][0]["source"] == "unsaved = 42"


@pytest.mark.parametrize(
    "body",
    ["{not json", "[]", json.dumps({"cells": "x", "nbformat": 4}), json.dumps({"cells": []})],
)
async def test_live_refuses_what_is_not_a_notebook(jp_fetch, project, body):
    code, err = await error_of(jp_fetch, "live", method="PUT", body=body, path=NB)
    assert code == 400 and err["error"] == "BadInput"
    assert read_live_notebook(project / "analysis.ipynb") is None


# -- paths and bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "../outside.ipynb",
        "project/../../outside.ipynb",
        "..\\outside.ipynb",
        "/etc/passwd.ipynb",
        "\\\\server\\share\\x.ipynb",
        "C:\\x.ipynb",
        "~/x.ipynb",
        "",
        "project/analysis.py",
        "project",
    ],
)
@pytest.mark.parametrize("route", [("snapshots",), ("head",), ("refs",), ("snapshots", "HEAD")])
async def test_paths_out_of_the_root_are_refused(jp_fetch, history, path, route):
    code, err = await error_of(jp_fetch, *route, path=path)
    assert 400 <= code < 500
    assert "load the data" not in json.dumps(err)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("a\x00b.ipynb", BadPath),
        ("../x.ipynb", BadPath),
        ("a/./../../x.ipynb", BadPath),
        ("/abs/x.ipynb", BadPath),
        ("D:x.ipynb", BadPath),
        ("   ", BadPath),
        (None, BadPath),
    ],
)
def test_confine_refuses(tmp_path, path, error):
    with pytest.raises(error):
        confine(tmp_path, path)


def test_confine_resolves_inside_the_root(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert confine(tmp_path, "./alias//nb.ipynb") == (tmp_path / "real" / "nb.ipynb").resolve()
    assert confine(tmp_path, "sub\\nb.ipynb") == (tmp_path / "sub" / "nb.ipynb").resolve()
    os.symlink("/", tmp_path / "escape")
    with pytest.raises(OutsideRoot):
        confine(tmp_path, "escape/etc/x.ipynb")


async def test_a_missing_path_is_a_400(jp_fetch, history):
    code, err = await error_of(jp_fetch, "snapshots")
    assert code == 400 and "path" in err["message"]


async def test_symlinks_out_of_the_root_are_refused(jp_fetch, jp_root_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    with Repo.init(outside) as repo:
        repo.commit({"secret": 1}, "outside the root", notebook_path=outside / "s.ipynb")
    (outside / "s.ipynb").write_text("{}")
    os.symlink(outside, jp_root_dir / "link-dir")
    os.symlink(outside / "s.ipynb", jp_root_dir / "link.ipynb")
    for path in ("link-dir/s.ipynb", "link.ipynb"):
        for route in (
            ("snapshots",),
            ("head",),
            ("snapshots", "HEAD"),
            ("snapshots", "HEAD", "notebook"),
        ):
            code, err = await error_of(jp_fetch, *route, path=path)
            assert code == 403, (path, route)
            assert "outside" in err["message"] and "outside the root" not in err["message"]
    code, _ = await error_of(
        jp_fetch,
        "live",
        method="PUT",
        body=json.dumps(nbformat.v4.new_notebook()),
        path="link.ipynb",
    )
    assert code == 403


async def test_symlinks_inside_the_root_are_followed(jp_fetch, history, jp_root_dir):
    os.symlink(jp_root_dir / "project", jp_root_dir / "alias")
    data = await get_json(jp_fetch, "snapshots", path="alias/analysis.ipynb")
    assert data["total"] == 3


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"include_auto": "maybe"}, "include_auto"),
    ],
)
async def test_bad_query_arguments_are_json_400s(jp_fetch, history, params, word):
    code, err = await error_of(jp_fetch, "snapshots", path=NB, **params)
    assert code == 400 and word in err["message"]


async def test_unknown_routes_are_json_404s(jp_fetch, history):
    code, err = await error_of(jp_fetch, "nothing", "here", path=NB)
    assert code == 404 and "no such route" in err["message"]


async def test_a_damaged_store_is_reported_not_crashed(jp_fetch, history, project):
    (project / ".mlvc" / "index.sqlite").unlink()
    code, err = await error_of(jp_fetch, "snapshots", path=NB)
    assert code == 500 and err["error"] == "DamagedStore" and "index" in err["message"]


async def test_unexpected_errors_are_json_500s_without_details(jp_fetch, history, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "head_state", boom)
    code, err = await error_of(jp_fetch, "head", path=NB)
    assert code == 500 and err["error"] == "InternalError"
    assert "secret" not in err["message"]


# -- the event loop stays free ---------------------------------------------------------------------


async def test_reads_run_off_the_event_loop(jp_fetch, history, monkeypatch):
    """A slow store (a kernel holding the write lock) must not stall the server."""
    release = threading.Event()
    slow_head = queries.head_state

    def blocked(notebook):
        release.wait(10)
        return slow_head(notebook)

    monkeypatch.setattr(queries, "head_state", blocked)
    slow = asyncio.ensure_future(jp_fetch("mlvc", "api", "head", params={"path": NB}))
    await asyncio.sleep(0.2)
    start = time.monotonic()
    status = await jp_fetch("api", "status")
    assert status.code == 200 and time.monotonic() - start < 2
    assert not slow.done()
    release.set()
    assert json.loads((await slow).body)["head"] == history[2].id


# -- comparing -------------------------------------------------------------------------------------


@pytest.fixture
def edited(project: Path):
    """Two snapshots with notebooks: a variable changed and a cell's source edited between them."""
    notebook = project / "analysis.ipynb"
    nb1 = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("lr = 0.1"), nbformat.v4.new_markdown_cell("# notes")]
    )
    nb2 = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("lr = 0.01"), nbformat.v4.new_markdown_cell("# notes")]
    )
    nb2.cells[1].id = nb1.cells[1].id
    nb2.cells[0].id = nb1.cells[0].id
    with Repo.init(project) as repo:
        one = repo.commit({"lr": 0.1, "kept": "same"}, "one", nb1, notebook, {"acc": 0.5})
        two = repo.commit(
            {"lr": 0.01, "kept": "same", "new": [1]}, "two", nb2, notebook, {"acc": 0.75}
        )
    return one, two


async def test_diff_of_two_snapshots(jp_fetch, edited):
    one, two = edited
    data = await get_json(jp_fetch, "diff", path=NB, a=one.id[:6], b="HEAD")
    assert data["a"]["id"] == one.id and data["b"]["id"] == two.id
    changed = {e["name"]: e for e in data["variables"]["changed"]}
    assert changed["lr"]["change"] == {
        "kind": "scalar",
        "before": 0.1,
        "after": 0.01,
        "delta": pytest.approx(-0.09),
    }
    assert [e["name"] for e in data["variables"]["added"]] == ["new"]
    assert data["variables"]["unchanged"] == ["kept"]
    assert data["metrics"] == [
        {"name": "acc", "before": 0.5, "after": 0.75, "delta": 0.25},
    ]
    cells = data["notebook"]["cells"]
    assert [c["kind"] for c in cells] == ["modified"] and cells[0]["source"] == "lr = 0.01"
    # What nbdime's widgets render: the first notebook and the diff to the second.
    assert data["nbdime"]["base"]["cells"][0]["source"] == "lr = 0.1"
    patch = data["nbdime"]["diff"]
    assert patch[0]["op"] == "patch" and patch[0]["key"] == "cells"


async def test_diff_without_a_notebook_has_no_nbdime_part(jp_fetch, history):
    data = await get_json(jp_fetch, "diff", path=NB, a=history[0].id, b=history[1].id)
    assert data["nbdime"] is None and data["notebook"]["available"] is False
    assert data["b"]["message"] == "train <img src=x onerror=alert(1)>"


async def test_diff_with_the_editors_notebook(jp_fetch, edited):
    one, _ = edited
    editor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(["lr = 0.5\n", "fit()"])])
    response = await jp_fetch(
        "mlvc",
        "api",
        "diff",
        params={"path": NB, "a": one.id},
        method="POST",
        body=json.dumps(editor),
    )
    data = json.loads(response.body)
    assert data["a"]["id"] == one.id and data["b"] == {"current": True}
    sources = [c["source"] for c in data["notebook"]["cells"] if c["kind"] != "removed"]
    assert "lr = 0.5\nfit()" in sources
    assert data["nbdime"]["base"]["cells"][0]["source"] == "lr = 0.1"


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"a": "0123456789abcdef", "b": "HEAD"}, 404, "UnknownRef"),
        ({"a": "HEAD", "b": "HEAD~7"}, 404, "UnknownRef"),
        ({"a": "HEAD"}, 400, "BadInput"),
        ({"b": "HEAD"}, 400, "BadInput"),
        ({"a": "", "b": "HEAD"}, 400, "BadInput"),
        ({"a": "HEAD", "b": "current"}, 400, "BadInput"),
        ({"a": "HEAD", "b": "x" * 300}, 400, "BadInput"),
    ],
)
async def test_diff_refuses_unknown_refs_and_bad_arguments(jp_fetch, edited, params, status, error):
    code, err = await error_of(jp_fetch, "diff", path=NB, **params)
    assert (code, err["error"]) == (status, error)


async def test_diff_refuses_snapshots_of_another_notebook(jp_fetch, edited, project):
    with Repo.open(project) as repo:
        other = repo.commit({"y": 1}, "other", notebook_path=project / "other.ipynb")
    code, err = await error_of(jp_fetch, "diff", path=NB, a=other.id, b="HEAD")
    assert code == 404 and err["error"] == "UnknownRef"


@pytest.mark.parametrize("body", ["{not json", json.dumps({"cells": []})])
async def test_diff_with_the_editor_refuses_what_is_not_a_notebook(jp_fetch, edited, body):
    code, err = await error_of(jp_fetch, "diff", method="POST", body=body, path=NB, a="HEAD")
    assert code == 400 and err["error"] == "BadInput"


async def test_metrics_that_are_not_numbers_are_valid_json(jp_fetch, project):
    notebook = project / "analysis.ipynb"
    with Repo.init(project) as repo:
        repo.commit({"x": 1}, "one", notebook_path=notebook, metrics={"loss": float("nan")})
        repo.commit({"x": 2}, "two", notebook_path=notebook, metrics={"loss": 1.0})
    response = await jp_fetch(
        "mlvc", "api", "diff", params={"path": NB, "a": "HEAD~1", "b": "HEAD"}
    )
    body = response.body.decode()
    assert "NaN" not in body
    assert json.loads(body)["metrics"][0]["before"] is None
