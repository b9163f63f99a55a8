"""Every REST route fuzzed over real HTTP: hostile paths, query arguments, bodies and verbs.

A real ``jupyter server`` serves a root that holds a store, a symlink to a folder
outside the root, one to a notebook outside it and one to the root's parent.
Outside the root lie a sentinel file, a notebook and a store whose contents all
carry a secret. Whatever hypothesis sends, the server must answer 2xx, or a 4xx
whose body is the API's JSON error; never a 500; never the secret; and nothing
outside the root (nor the Jupyter folders) may be created or changed.

The default run sends a few hundred requests; ``pytest --run-slow -k fuzz`` runs
the long campaign.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import secrets
import urllib.parse
from pathlib import Path

import nbdime
import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadInput
from jupyter_mlvc.ops.diff import notebook_diff
from jupyter_mlvc.server import ROUTES
from jupyter_mlvc.server.notebook_body import comparable_notebook, parse_notebook
from jupyter_mlvc.server.paths import BadPath, OutsideRoot, confine

from .live_server import JupyterServer

SECRET = "SENTINEL-" + secrets.token_hex(8)
VERBS = ("GET", "PUT", "POST", "PATCH", "DELETE")
OTHER_VERBS = (*VERBS, "OPTIONS")

#: Examples per route and verb: the default run, and the long campaign.
FAST_EXAMPLES = 40
SLOW_EXAMPLES = 1500


# -- the server and what lies around its root ---------------------------------------------------


class Site:
    """The server, its root, the world outside it, and a tally of what was sent."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.outside = base / "outside"
        self.home = base / "jupyter"
        self.ids: list[str] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.server = JupyterServer(self.root, self.home)

    def build(self) -> None:
        project = self.root / "project"
        project.mkdir(parents=True)
        self.outside.mkdir()
        notebook = project / "analysis.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        nbformat.write(nb, notebook)
        with Repo.init(project) as repo:
            a = repo.commit({"x": 1}, "one", nb, notebook, {"acc": 0.5})
            repo.branch("exp", notebook_path=notebook)
            b = repo.commit({"x": 2, "y": [1, 2]}, "two", nb, notebook, {"acc": 0.75})
            repo.tag("best", a.id, notebook_path=notebook)
            self.ids = [a.id, b.id]

        # The world outside: every file in it carries the secret.
        (self.outside / "sentinel.txt").write_text(SECRET)
        secret_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(SECRET)])
        nbformat.write(secret_nb, self.outside / "secret.ipynb")
        with Repo.init(self.outside) as repo:
            repo.commit(
                {"secret": SECRET}, SECRET, secret_nb, self.outside / "secret.ipynb", {"acc": 1.0}
            )
        # Ways out of the root, inside it.
        os.symlink(self.outside, self.root / "escape")
        os.symlink(self.outside / "secret.ipynb", self.root / "escape.ipynb")
        os.symlink(self.base, project / "up")
        os.symlink("loop", project / "loop")

    def fingerprint(self) -> dict[str, str]:
        """Every file outside the root and outside the server's runtime folders, hashed."""
        found = {}
        for folder, dirs, files in os.walk(self.base):
            here = Path(folder)
            if here == self.base:
                dirs[:] = [d for d in dirs if d not in ("root", "jupyter")]
            for name in files:
                path = here / name
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        return found

    def runtime_files(self) -> set[str]:
        """Files the server may write: its Jupyter folders (the live notebooks among them)."""
        return {str(p) for p in self.home.rglob("*") if p.is_file() and p != self.server.log}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("fuzz"))
    site.build()
    site.server.start()
    site.before = site.fingerprint()  # type: ignore[attr-defined]
    yield site
    site.server.stop()
    counts = ", ".join(f"{code}: {n}" for code, n in sorted(site.statuses.items()))
    print(f"\nfuzzed the REST API with {sum(site.statuses.values())} requests ({counts})")


# -- what a hostile client sends -------------------------------------------------------------------

#: Fragments already URL-encoded, pasted into the request as they are.
RAW = [
    "..", ".", "%2e%2e", "%2E%2E", "%2e", ".%2e", "%2f", "%2F", "%5c", "%5C", "%00", "%0a",
    "%ff", "%c0%ae", "%e2%80%ae", "%", "%zz", "%%", "//", "/", ";", "?", "&", "=", "#", "+",
    "%20", "~", "%7e", "escape", "escape.ipynb", "project", "analysis.ipynb", "up", "loop",
]  # fmt: skip

#: Path segments, as text (percent-encoded before sending).
SEGMENTS = [
    "..", ".", "", "project", "analysis.ipynb", "escape", "escape.ipynb", "secret.ipynb", "up",
    "outside", "root", "loop", "sentinel.txt", ".mlvc", "index.sqlite", "objects", "~", "C:",
    "\x00", "\n", " ", "é", "日本語", "\u202e", "\udcff", "%2e%2e", "x" * 300, "a" * 5000,
]  # fmt: skip

segments = st.one_of(st.sampled_from(SEGMENTS), st.text(max_size=12))
notebook_paths = st.builds(
    lambda prefix, parts, sep, suffix: prefix + sep.join(parts) + suffix,
    st.sampled_from(["", "", "/", "\\", "~/", "C:\\", "//server/share/", "file:///", "./"]),
    st.lists(segments, max_size=6),
    st.sampled_from(["/", "/", "\\", "//", "/./"]),
    st.sampled_from([".ipynb", ".ipynb", "", "/", ".ipynb\x00.txt", ".IPYNB", ".ipynb/"]),
)
interesting_paths = st.sampled_from(
    [
        "project/analysis.ipynb",
        "./project//analysis.ipynb",
        "project\\analysis.ipynb",
        "project/up/root/project/analysis.ipynb",
        "project/up/outside/secret.ipynb",
        "escape/secret.ipynb",
        "escape.ipynb",
        "project/loop/x.ipynb",
        "project/other.ipynb",
        "../outside/secret.ipynb",
        "project/../../outside/secret.ipynb",
    ]
)


def refs_for(site_ids: list[str]) -> st.SearchStrategy[str]:
    known = [
        "HEAD", "HEAD~1", "HEAD~2", "HEAD^", "HEAD~~", "main", "exp", "best", "best~1", "current",
        "HEAD~99999999999999999999999999", "HEAD~" + "9" * 5000, "~1", "^", "~", "....",
        "abcd", "0000", "ffff", "%", "_", "*", "' OR 1=1 --", '"', "\x00", "\x7f", "x" * 201,
        "é", "日本", "\udcff", "main/x", "refs/heads/main", "../../etc",
    ]  # fmt: skip
    ids = [i for i in site_ids] + [i[:4] for i in site_ids] + [i[:8].upper() for i in site_ids]
    return st.one_of(st.sampled_from(known + ids), st.text(max_size=30))


def quoted(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``text`` percent-encoded as UTF-8, with or without its slashes, or pasted raw fragments."""

    def encode(value: str, safe: str) -> str:
        return urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe=safe)

    return st.one_of(
        st.builds(encode, text, st.sampled_from(["", "/", "/:~@", "/\\"])),
        st.lists(
            st.one_of(st.sampled_from(RAW), st.builds(encode, text, st.just(""))), max_size=6
        ).map("".join),
    )


NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(-3, 600).map(str),
    st.sampled_from(["", "1e3", "0x10", "nan", "inf", "-0", "٣", " 5", "5 ", "[]", "true", "9" * 5000]),
)  # fmt: skip

ARG_NAMES = ["path", "limit", "offset", "search", "branch", "include_auto", "a", "b",
             "no_track_activity", "_xsrf"]  # fmt: skip


def query_args(site_ids: list[str]) -> st.SearchStrategy[str]:
    value_of = {
        "path": st.one_of(interesting_paths, notebook_paths),
        "limit": NUMBERS,
        "offset": NUMBERS,
        "a": refs_for(site_ids),
        "b": refs_for(site_ids),
        "include_auto": st.sampled_from(["true", "false", "0", "1", "maybe", "", "TRUE", "\x00"]),
    }
    pair = st.one_of(st.sampled_from(ARG_NAMES), st.text(max_size=8)).flatmap(
        lambda name: st.tuples(
            quoted(st.just(name)), quoted(value_of.get(name, st.text(max_size=40)))
        )
    )
    # Usually usable arguments first, so that the ones after them reach the store too.
    usable = st.builds(
        lambda path, a, b: [("path", urllib.parse.quote(path)), ("a", a), ("b", b)],
        st.sampled_from(["project/analysis.ipynb", "project/analysis.ipynb", "escape.ipynb"]),
        st.sampled_from(["HEAD", "HEAD~1", "best", site_ids[0][:8]]),
        st.sampled_from(["HEAD", "exp", site_ids[1]]),
    )
    base = st.one_of(
        st.just([]),
        usable,
        usable,
        interesting_paths.map(lambda p: [("path", urllib.parse.quote(p))]),
    )
    return st.builds(
        lambda first, pairs, sep: sep.join(f"{k}={v}" for k, v in first + pairs),
        base,
        st.lists(pair, max_size=5),
        st.sampled_from(["&", "&", ";", "&&"]),
    )


json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
cells = st.one_of(
    st.fixed_dictionaries(
        {"cell_type": st.sampled_from(["code", "markdown", "raw", "x", 1])},
        optional={
            "source": st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10)), json_values),
            "outputs": st.one_of(st.just([]), st.lists(json_values, max_size=2), json_values),
            "metadata": json_values,
            "id": st.one_of(st.text(max_size=10), json_values),
            "execution_count": st.one_of(st.none(), st.integers(), json_values),
            "attachments": json_values,
        },
    ),
    json_values,
)
notebooks = st.fixed_dictionaries(
    {
        "cells": st.lists(cells, max_size=4),
        "nbformat": st.one_of(st.sampled_from([4, 4, 3, 5, 0, -1, 10**20]), st.integers()),
    },
    optional={
        "nbformat_minor": st.one_of(st.integers(-2, 10), json_values),
        "metadata": json_values,
        "worksheets": json_values,
    },
)


def big_notebook(size: int) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x" * size)])
    return json.dumps(nb).encode()


def sample_notebook() -> dict:
    """A valid notebook with a cell of each kind and an output of each type."""
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hi\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "d", "image/png": "iVBO"}),
        nbformat.v4.new_output("execute_result", data={"text/plain": "3"}, execution_count=1),
        nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["t"]),
    ]
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(["x = 1\n", "x"], outputs=outputs, execution_count=1),
            nbformat.v4.new_markdown_cell("# title", attachments={"a.png": {"image/png": "iVBO"}}),
            nbformat.v4.new_raw_cell("raw"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    return json.loads(json.dumps(nb))


def mutate(nb: dict, steps: list[int], action: int, value: object) -> dict:
    """``nb`` with one thing broken: a key deleted, or a value replaced, somewhere inside."""
    parent, key = None, None
    node: object = nb
    for step in steps:
        if isinstance(node, dict) and node:
            parent, key = node, sorted(node)[step % len(node)]
        elif isinstance(node, list) and node:
            parent, key = node, step % len(node)
        else:
            break
        node = parent[key]  # type: ignore[index]
    if parent is None:
        return nb
    if action % 3 == 0 and isinstance(parent, dict):
        del parent[key]
    elif action % 3 == 1:
        parent[key] = value  # type: ignore[index]
    else:
        parent[key] = [[[value]]] if action % 2 else {"": {"": value}}  # type: ignore[index]
    return nb


broken_notebooks = st.builds(
    mutate,
    st.builds(sample_notebook),
    st.lists(st.integers(0, 50), min_size=1, max_size=7),
    st.integers(0, 5),
    json_values,
).map(lambda nb: json.dumps(nb).encode())

#: Bodies that broke the server once (kept as fixed examples) and other known troublemakers.
HOSTILE_BODIES = [
    b"",
    b"null",
    b"{not json",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"cells": ' + b"[" * 50_000 + b"]" * 50_000 + b', "nbformat": 4, "metadata": {}}',
    b'{"cells": [], "nbformat": 4, "metadata": ' + b'{"a":' * 500 + b"1" + b"}" * 501,
    b'{"cells": [], "nbformat": 4, "metadata": {"x": "\xff"}}',
    b'{"cells": [], "nbformat": 4, "metadata": {"x": NaN, "y": -Infinity}}',
    b'{"cells": [{"cell_type": "code", "source": "\\ud800"}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [], "nbformat": 3, "metadata": {}}',
    b'{"cells": [], "nbformat": 99, "metadata": {}}',
    b'{"cells": [], "nbformat": 100000000000000000000000, "metadata": {}}',
    b'{"cells": [], "nbformat": 4}',
    b'{"cells": [], "nbformat": 4, "metadata": 5}',
    b'{"cells": [], "nbformat": 4, "nbformat_minor": "x", "metadata": {}}',
    b'{"cells": [1, "x"], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "x", "source": "a"}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "code", "source": 5}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "markdown", "source": ["a", 1]}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "code", "source": "", "outputs": 5}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "code", "source": "", "outputs": [5]}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream"}]}], "nbformat": 4, "metadata": {}}',
    b'{"cells": [{"cell_type": "raw", "source": "a", "attachments": {"x": 5}}], "nbformat": 4, "metadata": {}}',
    b"\xef\xbb\xbf" + json.dumps(nbformat.v4.new_notebook()).encode(),
    json.dumps(nbformat.v4.new_notebook()).encode(),
    json.dumps(sample_notebook()).encode(),
    big_notebook(100_000),
]

bodies = st.one_of(
    st.none(),
    st.sampled_from(HOSTILE_BODIES),
    broken_notebooks,
    broken_notebooks,
    notebooks.map(lambda nb: json.dumps(nb).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


def urls_for(pattern: str, site_ids: list[str]) -> st.SearchStrategy[str]:
    """Paths that the route ``pattern`` would match, with hostile values for its groups."""
    groups = re.findall(r"\(\?P<(\w+)>[^)]*\)", pattern)
    if not groups:
        return st.just(pattern)
    text = refs_for(site_ids) if "ref" in groups else st.one_of(segments, notebook_paths)
    return st.builds(
        lambda value: re.sub(r"\(\?P<\w+>[^)]*\)", lambda _: value, pattern, count=1),
        quoted(text),
    )


def route_verbs():
    """Each route of the table with each verb its handler defines."""
    for pattern, handler in ROUTES:
        for verb in VERBS:
            method = getattr(handler, verb.lower(), None)
            if method is not None and method.__qualname__.split(".")[0] != "RequestHandler":
                yield pattern, verb


ROUTE_VERBS = list(route_verbs())


# -- what must hold of every answer ----------------------------------------------------------------


def check_answer(site: Site, method: str, target: str, body: bytes | None) -> None:
    response = site.server.request(method, target, body)
    site.statuses[response.status] += 1
    what = f"{method} {target[:300]!r} body={(body or b'')[:200]!r}"
    assert response.status < 500, f"{what} -> {response.status}: {response.body[:500]!r}"
    assert SECRET.encode() not in response.body, what
    if response.status >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), what
        data = json.loads(response.body)
        assert data["status"] == response.status and data["message"] and data["error"], what
    elif response.body:
        json.loads(response.body)


def check_world(site: Site) -> None:
    """Nothing outside the root changed, and the server logged no crash."""
    assert site.fingerprint() == site.before  # type: ignore[attr-defined]
    log = site.server.log.read_text(errors="replace")
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-3000:]
    for path in site.runtime_files():
        assert SECRET not in Path(path).read_text(errors="replace"), path


def fuzz_route(site: Site, pattern: str, verb: str, examples: int) -> None:
    fuzz_settings = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    @fuzz_settings
    @given(
        url=urls_for(pattern, site.ids),
        query=query_args(site.ids),
        body=bodies if verb in ("PUT", "POST", "PATCH") else st.none(),
    )
    def one_request(url, query, body):
        target = url + ("?" + query if query else "")
        check_answer(site, verb, target, body)

    one_request()
    check_world(site)


def route_id(param):
    return param.replace("/mlvc/api/", "").replace("(?P<ref>[^/]+)", "<ref>") or "api"


@pytest.mark.parametrize(
    ("pattern", "verb"), ROUTE_VERBS, ids=[f"{v} {route_id(p)}" for p, v in ROUTE_VERBS]
)
def test_fuzz_route(site, pattern, verb):
    fuzz_route(site, pattern, verb, FAST_EXAMPLES)


def test_fuzz_any_verb_on_any_route(site):
    @settings(max_examples=FAST_EXAMPLES * 2, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(
        url=st.sampled_from([p for p, _ in ROUTES]).flatmap(lambda p: urls_for(p, site.ids)),
        query=query_args(site.ids),
        verb=st.sampled_from(OTHER_VERBS),
        body=bodies,
    )
    def one_request(url, query, verb, body):
        check_answer(site, verb, url + "?" + query, body if verb != "OPTIONS" else None)

    one_request()
    check_world(site)


@pytest.mark.parametrize(
    ("verb", "route"), [("PUT", "live"), ("POST", "diff"), ("PUT", "diff"), ("POST", "snapshots")]
)
def test_hostile_bodies(site, verb, route):
    """The bodies that once broke the server, and their kin, each sent on its own."""
    for body in HOSTILE_BODIES:
        check_answer(site, verb, f"/mlvc/api/{route}?path=project/analysis.ipynb&a=HEAD", body)
    check_world(site)


def test_known_escapes_are_refused(site):
    """The ways out that the fuzzer must keep finding closed, asked directly."""
    for path in (
        "escape/secret.ipynb",
        "escape.ipynb",
        "project/up/outside/secret.ipynb",
        "project/%2e%2e/%2e%2e/outside/secret.ipynb",
    ):
        for route in ("snapshots", "head", "refs", "snapshots/HEAD", "snapshots/HEAD/notebook"):
            target = f"/mlvc/api/{route}?path={urllib.parse.quote(path, safe='%/')}"
            response = site.server.request("GET", target)
            assert response.status in (400, 403), (target, response.status, response.body)
    response = site.server.request(
        "PUT", "/mlvc/api/live?path=escape.ipynb", json.dumps(nbformat.v4.new_notebook()).encode()
    )
    assert response.status == 403
    check_world(site)


# -- the checks themselves, without a server ---------------------------------------------------------


@settings(
    max_examples=int(os.environ.get("MLVC_BODY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.data_too_large, HealthCheck.too_slow],
)
@given(bodies)
def test_a_body_is_a_notebook_or_bad_input(body):
    """Whatever the bytes: a notebook that nbdime can take, or one BadInput line."""
    try:
        content = parse_notebook(body)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    before = json.dumps(content)
    try:
        nb = comparable_notebook(content)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    assert json.dumps(content) == before  # the editor's content is not changed
    stored = comparable_notebook(sample_notebook())
    # What POST /diff does with it: nbdime's diff and the cell-level one.
    assert notebook_diff(stored, nb) is not None
    assert nbdime.diff_notebooks(stored, nb) is not None


def test_what_jupyterlab_sends_is_a_notebook():
    nb = sample_notebook()
    nb["cells"][0]["id"] = "a1"
    assert parse_notebook(json.dumps(nb).encode()) == nb
    assert comparable_notebook(nb).cells[0].source == "x = 1\nx"


def test_confine_refuses_loops_and_names_too_long(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    for path in ("loop/x.ipynb", "a/x.ipynb", "x" * 256 + ".ipynb", "d/" * 2100 + "x.ipynb"):
        with pytest.raises(BadPath):
            confine(tmp_path, path)
    os.symlink(tmp_path.parent, tmp_path / "up")
    with pytest.raises(OutsideRoot):
        confine(tmp_path, "up/x.ipynb")
    assert confine(tmp_path, "x" * 249 + ".ipynb").name == "x" * 249 + ".ipynb"


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_fuzz_campaign(site):
    for pattern, verb in ROUTE_VERBS:
        fuzz_route(site, pattern, verb, SLOW_EXAMPLES)
