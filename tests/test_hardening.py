"""Hostile input and untrusted stores, attacked through every face that is not the browser."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from jupyter_mlvc import Repo

WORDS = [
    "commit", "log", "show", "status", "diff", "compare", "checkout", "branch", "tag", "trust",
    "help", "auto", "on", "off", "-m", "--message", "--metric", "--only", "--exclude", "--all",
    "--sort", "-n", "--no-save", "--no-auto", "--compare", "--metrics-from", "HEAD", "HEAD~1",
    "HEAD~999", "main", "x", "acc=0.5", "acc=high", "=", "-", "--", "'", '"', "\\", "$x", "{x}",
    "~", "^", "..", "/etc/passwd", "é", "日本", "\x00", "<script>", "%", "*", "tmp_*",
]  # fmt: skip

tokens = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.text(alphabet="'\"\\ -=~^", max_size=6),
    st.integers(-5, 10**6).map(str),
)
lines = st.one_of(
    st.lists(tokens, max_size=8).map(" ".join),
    st.text(max_size=40),
    # %mlvc reads its own line (IPython's expansion is off for it) in linear time.
    st.just("commit -m " + "x" * 100_000),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines)
def test_fuzzed_magic_lines_are_usage_errors_or_work(shell, line):
    shell.user_ns.setdefault("x", {"acc": 0.5})
    try:
        shell.run_line_magic("mlvc", line)
    except UsageError as e:
        # What a user needs: one clear line, whatever the line held.
        message = str(e)
        assert message.strip() and "\n" not in message and "Traceback" not in message, message
    finally:
        shell.run_line_magic("mlvc", "auto off")


def test_planted_pickle_never_runs_through_magic_or_cli(shell, tmp_path, other_key):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    shell.user_ns["evil"] = Evil()
    shell.user_ns["fine"] = 1
    shell.run_line_magic("mlvc", 'commit -m "planted"')
    del shell.user_ns["evil"]
    other_key()  # from here on, another user (another key) opens the store
    for line in ("checkout HEAD", "checkout HEAD evil", "diff HEAD"):
        try:
            shell.run_line_magic("mlvc", line)
        except UsageError as e:
            assert "not signed with your key" in str(e)
    cli = [sys.executable, "-m", "jupyter_mlvc.cli"]
    out = subprocess.run([*cli, "export", "HEAD", "evil", "-o", str(tmp_path / "e.pkl")], cwd=tmp_path,
                         capture_output=True, text=True, env=os.environ.copy())  # fmt: skip
    assert out.returncode == 1 and "not signed with your key" in out.stderr
    assert not marker.exists()
    # Listing and showing stay possible: they are data.
    repo = Repo.open(tmp_path)
    assert (
        repo.show("HEAD").variables["evil"].type.endswith("Evil") and not repo.show("HEAD").trusted
    )


@pytest.mark.parametrize(
    "message",
    ['<img src=x onerror="window.__pwned=1">', "<script>alert(1)</script>", "a & b < c"],
)
def test_hostile_messages_are_escaped_in_html(repo, message):
    from jupyter_mlvc.present.render import LogView, SnapshotView

    snap = repo.commit({"v": "<b>bold</b>"}, message)
    for html in (SnapshotView(repo.show(snap.id))._repr_html_(), LogView(repo.log())._repr_html_()):
        assert message not in html and "<b>bold</b>" not in html
        assert "&lt;" in html


class _PicklesOnce:
    """Pickles the first time only, as a value whose ``__reduce__`` consumes something."""

    def __init__(self):
        self.used = False

    def __reduce__(self):
        if self.used:
            raise TypeError("cannot pickle _PicklesOnce twice")
        self.used = True
        return (_PicklesOnce, ())


def test_a_variable_that_breaks_its_shared_unit_is_the_only_one_skipped(repo):
    shared = [1, 2, 3]
    ns = {"a": [shared, _PicklesOnce()], "b": {"k": shared}, "c": shared, "d": 4}
    snap = repo.commit(ns, "shared")
    assert set(snap.skipped) == {"a"} and "cannot pickle" in snap.skipped["a"]
    back = repo.checkout(snap.id)
    assert back["b"] == {"k": [1, 2, 3]} and back["c"] == [1, 2, 3] and back["d"] == 4
    assert back["b"]["k"] is back["c"]  # the others still share their object


def test_a_notebook_path_that_is_not_utf8_is_one_line(repo, tmp_path):
    from jupyter_mlvc.errors import BadInput

    for path in (os.fsdecode(b"\xff.ipynb"), os.fsencode(str(tmp_path)) + b"/\xfe.ipynb"):
        with pytest.raises(BadInput, match="not valid UTF-8") as info:
            repo.commit({"x": 1}, "m", notebook_path=path)
        assert "\n" not in str(info.value)
    assert repo.list(all=True)[1] == 0


def test_keys_that_are_no_variable_names_are_not_state(repo):
    ns = {"x": 1, "a b": 2, "class": 3, '{__import__("os")}': 4, 5: 6}
    snap = repo.commit(ns, "odd keys")
    assert list(snap.variables) == ["x"] and snap.skipped == {}
