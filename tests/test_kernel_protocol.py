"""The kernel protocol: what the sidebar and the widget send to a kernel, and its replies.

Requests are validated field by field; nothing a request holds is ever run as
code, whatever IPython would make of it in a magic line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import UnknownRef
from jupyter_mlvc.kernel_protocol import (
    MAX_MESSAGE_CHARS,
    MIME,
    BadRequest,
    Commit,
    Diff,
    RepoTarget,
    Restore,
    namespace_diff,
    parse,
    reply,
    run,
)

#: A variable "name" that runs code when a frontend composes it into a %mlvc line.
HOSTILE = '{__import__("pathlib").Path("PWNED").touch()}'


def request(**fields) -> str:
    return json.dumps(fields)


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"op": "commit", "message": ""}, Commit("", {})),
        (
            {"op": "commit", "message": "lr={lr*2} $acc", "metrics": {"acc": 1, "val/f1": 0.5}},
            Commit("lr={lr*2} $acc", {"acc": 1.0, "val/f1": 0.5}),
        ),
        ({"op": "restore", "ref": "3f2a9c1b"}, Restore("3f2a9c1b", None)),
        ({"op": "restore", "ref": "HEAD~1", "names": None}, Restore("HEAD~1", None)),
        ({"op": "restore", "ref": "main", "names": ["x", "élan"]}, Restore("main", ("x", "élan"))),
        ({"op": "diff", "ref": "exp/lr"}, Diff("exp/lr")),
    ],
)
def test_valid_requests(data, expected):
    assert parse(json.dumps(data)) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object, not a list"),
        ("{}", "op must be one of commit, restore, diff, merge, variables, not null"),
        (request(op="eval", code="1"), 'not "eval"'),
        (request(op="restore"), "needs the field ref"),
        (request(op="restore", ref="a", code="print(1)"), 'no field "code"'),
        ('{"op": "diff", "ref": "a", "ref": "b"}', '"ref" is given twice'),
        (request(op="diff", ref=""), "ref must not be empty"),
        (request(op="diff", ref=7), "ref must be a string, not a number"),
        (request(op="diff", ref="a\nb"), "a ref is an id"),
        (request(op="diff", ref="a" * 201), "at most 200 characters"),
        (request(op="restore", ref="a", names="x"), "names must be a list"),
        (request(op="restore", ref="a", names=[]), "at least one variable"),
        (request(op="restore", ref="a", names=["x", 1]), "must be a string"),
        (request(op="restore", ref="a", names=[HOSTILE]), "is not a variable name"),
        (request(op="restore", ref="a", names=["$HOME"]), "is not a variable name"),
        (request(op="restore", ref="a", names=["class"]), "is not a variable name"),
        (request(op="restore", ref="a", names=["a b"]), "is not a variable name"),
        (request(op="commit", message=None), "message must be a string, not null"),
        (request(op="commit", message="m" * (MAX_MESSAGE_CHARS + 1)), "at most 10,000"),
        (request(op="commit", message="m", metrics=[1]), "metrics must be an object"),
        (request(op="commit", message="m", metrics={"acc": "0.9"}), "must be a number"),
        (request(op="commit", message="m", metrics={"acc": True}), "must be a number"),
        (request(op="commit", message="m", metrics={"a b": 1}), "not a metric name"),
        ('{"op": "commit", "message": "m", "metrics": {"acc": NaN}}', "NaN is not a number"),
        ('{"op": "commit", "message": "\\ud800"}', "lone surrogate"),
        ('{"op": "diff", "ref": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "not JSON"),
    ],
)
def test_bad_requests_are_refused_with_one_line(text, says):
    with pytest.raises(BadRequest, match=None) as info:
        parse(text)
    message = str(info.value)
    assert says in message and "\n" not in message and len(message) < 300


def test_a_request_has_a_size_limit():
    with pytest.raises(BadRequest, match="at most 4,000,000 characters"):
        parse(request(op="commit", message="m" * 4_000_000))


def test_a_refused_request_never_reaches_the_target():
    class Refuses:
        def __getattr__(self, name):
            raise AssertionError(f"the target was asked to {name}")

    answer = reply(Refuses, request(op="restore", ref="a", names=[HOSTILE]))
    assert answer["ok"] is False and answer["error"] == "BadRequest"
    assert "is not a variable name" in answer["message"]


# -- in a real IPython shell -------------------------------------------------------------------------


@pytest.fixture
def notebook_shell(shell, tmp_path, monkeypatch):
    """The shell of a kernel whose notebook is ``analysis.ipynb`` in ``tmp_path``."""
    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), notebook)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    return shell


def ask(shell, replies, **fields):
    from jupyter_mlvc.kernel_protocol import handle

    handle(shell, json.dumps(fields))
    return replies[-1]


def test_commit_restore_and_diff_through_the_protocol(notebook_shell, replies, tmp_path):
    shell = notebook_shell
    shell.user_ns.update({"x": 1, "y": "first"})
    made = ask(shell, replies, op="commit", message="lr={x*2} $y", metrics={"acc": 0.5})
    assert made["ok"] and made["op"] == "commit"
    snap = made["result"]["snapshot"]
    # The message is data: stored as typed, never expanded.
    assert snap["message"] == "lr={x*2} $y" and snap["metrics"] == {"acc": 0.5}
    assert snap["notebook_source"] == "saved" and "variables" not in snap
    assert made["result"]["summary"].startswith(f"Committed {snap['short_id']}")

    shell.user_ns.update({"x": 2, "y": "second", "z": 3})
    diff = ask(shell, replies, op="diff", ref=snap["id"])
    assert diff["ok"] and diff["result"]["notebook"] is None
    assert [e["name"] for e in diff["result"]["variables"]["changed"]] == ["x", "y"]
    assert [e["name"] for e in diff["result"]["variables"]["added"]] == ["z"]

    partial = ask(shell, replies, op="restore", ref=snap["short_id"], names=["x"])["result"]
    assert partial["partial"] is True and partial["restored"] == ["x"]
    assert (shell.user_ns["x"], shell.user_ns["y"]) == (1, "second")

    full = ask(shell, replies, op="restore", ref=snap["id"])["result"]
    assert full["partial"] is False
    assert full["restored"] == ["y"] and full["removed"] == ["z"] and full["errors"] == {}
    # The state it replaced was committed first, so the restore can be undone.
    assert full["saved"]["auto"] is True and full["saved"]["message"].startswith("auto:")
    assert "z" not in shell.user_ns and shell.user_ns["y"] == "first"
    json.dumps(replies, allow_nan=False)


def test_variables_lists_what_a_commit_would_take(notebook_shell, replies):
    import numpy as np

    shell = notebook_shell
    shell.run_cell("import json\nfrom json import dumps\ndef f(): pass")
    shell.user_ns.update({"X_test": np.zeros((3, 2)), "label": "a", "tmp_x": 1})
    shell.run_line_magic("config", "MLVC.exclude = ['tmp_*']")
    listed = ask(shell, replies, op="variables")
    assert listed["ok"] and listed["op"] == "variables"
    by_name = {v["name"]: v for v in listed["result"]["variables"]}
    # Not the module nor the imported function, nor an excluded name; the notebook's own
    # function is state like any variable.
    assert set(by_name) == {"X_test", "label", "f"}
    assert by_name["X_test"]["type"] == "numpy.ndarray"
    assert by_name["X_test"]["summary"]["shape"] == [3, 2]
    json.dumps(replies, allow_nan=False)


def test_errors_are_replies_not_tracebacks(notebook_shell, replies, tmp_path, capsys):
    shell = notebook_shell
    shell.user_ns["x"] = 1
    no_store = ask(shell, replies, op="restore", ref="HEAD")
    assert no_store == {
        "ok": False,
        "op": "restore",
        "error": "UsageError",
        "message": no_store["message"],
    }
    assert "No .mlvc store" in no_store["message"]

    ask(shell, replies, op="commit", message="one")
    unknown = ask(shell, replies, op="restore", ref="feedbeef")
    assert (unknown["error"], unknown["ok"]) == ("UnknownRef", False)
    missing = ask(shell, replies, op="restore", ref="HEAD", names=["nope"])
    assert missing["error"] == "UnknownVariable"
    bad = ask(shell, replies, op="restore", ref="HEAD", names=[HOSTILE])
    assert bad["error"] == "BadRequest" and bad["op"] is None
    assert "Traceback" not in capsys.readouterr().err


def test_a_hostile_name_never_runs(notebook_shell, replies, tmp_path):
    """The names the old sidebar put into a %mlvc line, sent as data: nothing runs."""
    shell = notebook_shell
    shell.user_ns["x"] = 1
    ask(shell, replies, op="commit", message=HOSTILE)
    for names in ([HOSTILE], ["x", HOSTILE], ["$(touch PWNED)"]):
        answer = ask(shell, replies, op="restore", ref="HEAD", names=names)
        assert answer["error"] == "BadRequest"
    assert not (tmp_path / "PWNED").exists()
    with Repo.open(tmp_path) as repo:
        assert repo.head(tmp_path / "analysis.ipynb").message == HOSTILE


def test_an_untrusted_snapshot_is_refused(notebook_shell, replies, tmp_path, other_key):
    shell = notebook_shell
    shell.user_ns["x"] = 1
    ask(shell, replies, op="commit", message="theirs")
    other_key()
    answer = ask(shell, replies, op="restore", ref="HEAD")
    assert answer["error"] == "Untrusted" and "not signed with your key" in answer["message"]


def test_a_terminal_shell_has_no_notebook_to_compare(shell, replies):
    answer = ask(shell, replies, op="diff", ref="HEAD")
    assert answer["error"] == "BadInput" and "notebook" in answer["message"]


# -- the widget's target ---------------------------------------------------------------------------


def test_repo_target_runs_the_same_requests(tmp_path):
    ns = {"a": 1, "tmp_b": 2}
    with Repo.init(tmp_path) as repo:
        target = RepoTarget(repo, ns, notebook_path="", exclude=lambda: ["tmp_*"], save=False)
        snap = run(target, {"op": "commit", "message": "one", "metrics": {"acc": 1}})
        assert sorted(snap.variables) == ["a"] and snap.metrics == {"acc": 1.0}
        ns.update(a=5, c=3)
        assert [e["name"] for e in run(target, Diff(snap.id))["variables"]["changed"]] == ["a"]
        report = run(target, {"op": "restore", "ref": snap.id})
        assert report.restored == ["a"] and report.removed == ["c"] and ns == {"a": 1, "tmp_b": 2}
        with pytest.raises(BadRequest):
            run(target, {"op": "restore", "ref": snap.id, "names": [HOSTILE]})


# -- the variables half of comparing with the current state ---------------------------------------


@pytest.fixture
def compared(tmp_path):
    notebook = tmp_path / "analysis.ipynb"
    with Repo.init(tmp_path) as repo:
        one = repo.commit({"lr": 0.1, "kept": "same"}, "one", notebook_path=notebook)
        repo.commit({"y": 1}, "other", notebook_path=tmp_path / "other.ipynb")
    return notebook, one


def test_namespace_diff_compares_a_snapshot_with_live_variables(compared):
    notebook, one = compared
    data = namespace_diff(
        notebook,
        one.id,
        {"lr": 0.5, "kept": "same", "tmp_cache": 1, "fresh": "yes"},
        exclude=["tmp_*", "kept"],
    )
    assert data["b"] == {"current": True} and data["a"]["id"] == one.id
    assert [e["name"] for e in data["variables"]["changed"]] == ["lr"]
    # Excluded names leave both sides: "kept" is in the snapshot, yet not "removed".
    assert [e["name"] for e in data["variables"]["added"]] == ["fresh"]
    assert data["variables"]["removed"] == [] and data["variables"]["unchanged"] == []
    assert data["notebook"] is None
    json.dumps(data, allow_nan=False)


def test_namespace_diff_refuses_a_snapshot_of_another_notebook(compared):
    notebook, one = compared
    with pytest.raises(UnknownRef):
        namespace_diff(notebook.parent / "other.ipynb", one.id, {})


def test_the_kernel_side_imports_no_server():
    code = (
        "import sys, jupyter_mlvc.kernel_protocol as k;"
        "k.reply(lambda: None, '{}');"
        "assert 'jupyter_server' not in sys.modules and 'tornado' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- in a real kernel, as the sidebar sends it -----------------------------------------------------


def request_code(fields: dict) -> str:
    """The line labextension/src/kernel.ts sends: the request's ASCII JSON as a string literal."""
    literal = json.dumps(json.dumps(fields))
    return (
        '__import__("jupyter_mlvc.kernel_protocol", fromlist=["handle"])'
        f".handle(get_ipython(), {literal})"
    )


def execute(kc, code: str, *, silent: bool) -> tuple[dict, list[dict]]:
    """Run ``code``; its execute_reply and the iopub messages it caused."""
    msg_id = kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False)
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        messages.append(msg)
    while True:
        shell_reply = kc.get_shell_msg(timeout=60)
        if shell_reply["parent_header"].get("msg_id") == msg_id:
            return shell_reply["content"], messages


def test_a_real_kernel_answers_the_sidebars_requests(tmp_path):
    from jupyter_client.manager import start_new_kernel

    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    env = {**os.environ, "JPY_SESSION_NAME": str(notebook)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:

        def call(**fields):
            content, messages = execute(kc, request_code(fields), silent=True)
            assert content["status"] == "ok"
            displays = [m["content"]["data"] for m in messages if m["msg_type"] == "display_data"]
            assert [list(d) for d in displays] == [[MIME]]
            # Nothing else but the new store's path: no warning, no error, no result.
            kinds = {m["msg_type"] for m in messages} - {"status", "display_data"}
            streams = [m["content"] for m in messages if m["msg_type"] == "stream"]
            assert kinds <= {"stream"} and all(s["name"] == "stdout" for s in streams), messages
            return displays[0][MIME]

        first, _ = execute(kc, "x = 1\ny = 'a \"quoted\" value'", silent=False)
        message = '"{x}" \\ $x \n\u2028!touch PWNED \u0085%ls ünïcode \U0001f600'
        made = call(op="commit", message=message)
        assert made["ok"], made
        assert made["result"]["snapshot"]["message"] == message
        execute(kc, "x = 2", silent=False)
        for names in ([HOSTILE], ["x", HOSTILE]):
            assert call(op="restore", ref="HEAD", names=names)["error"] == "BadRequest"
        restored = call(op="restore", ref="HEAD", names=["x"])
        assert restored["ok"] and restored["result"]["restored"] == ["x"]
        last, messages = execute(kc, "print(x)", silent=False)
        assert [m["content"]["text"] for m in messages if m["msg_type"] == "stream"] == ["1\n"]
        # Silent requests leave the execution count alone (and no cell hooks ran).
        assert last["execution_count"] == first["execution_count"] + 2
        assert not (tmp_path / "PWNED").exists()
        assert not Path("PWNED").exists()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
