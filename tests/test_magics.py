"""The %mlvc magics, driven in a real IPython InteractiveShell."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from jupyter_mlvc import Repo
from jupyter_mlvc.live import write_live_notebook
from jupyter_mlvc.magics import COMMANDS, MlvcMagics, parse_metrics


def mlvc(shell, line: str):
    return shell.run_line_magic("mlvc", line)


def run(shell, code: str):
    """Run a cell as a user would; fail the test if IPython reports an error."""
    result = shell.run_cell(code, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def store(path: Path | None = None) -> Repo:
    return Repo.open(path or Path.cwd())


def magics(shell) -> MlvcMagics:
    return shell.magics_manager.registry["MlvcMagics"]


# -- loading and settings --------------------------------------------------------------


def test_load_ext_registers_the_magic_and_its_settings(shell):
    assert "mlvc" in shell.magics_manager.magics["line"]
    assert "mlvc" in shell.magics_manager.magics["cell"]
    run(shell, "%config MLVC.exclude = ['tmp_*']\n%config MLVC.log_limit = 3")
    assert magics(shell).settings.exclude == ["tmp_*"]
    assert magics(shell).settings.log_limit == 3
    shell.run_line_magic("load_ext", "jupyter_mlvc")  # a second load changes nothing
    assert sum(type(c).__name__ == "MLVC" for c in shell.configurables) == 1


def test_unload_removes_the_magic(shell):
    shell.run_line_magic("unload_ext", "jupyter_mlvc")
    assert "mlvc" not in shell.magics_manager.magics["line"]
    assert all(type(c).__name__ != "MLVC" for c in shell.configurables)
    shell.run_line_magic("load_ext", "jupyter_mlvc")
    assert "mlvc" in shell.magics_manager.magics["line"]


def last_line_of_python(cwd: Path, *args: str, timeout: float = 60) -> str:
    """Run this Python with ``args`` in ``cwd`` (this checkout importable, no notebook
    session); the last line it printed. Fails the test on a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("JPY_SESSION_NAME", None)
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_loadable_through_the_extensions_setting(tmp_path):
    # As `c.InteractiveShellApp.extensions = ["jupyter_mlvc"]` in ipython_config.py would.
    last = last_line_of_python(
        tmp_path,
        "-m",
        "IPython",
        "--no-banner",
        "--HistoryManager.hist_file=:memory:",
        "--InteractiveShellApp.extensions=['jupyter_mlvc']",
        "--MLVC.log_limit=7",
        "-c",
        "print(get_ipython().magics_manager.registry['MlvcMagics'].settings.log_limit)",
    )
    assert last == "7"


def test_loading_warms_up_what_the_first_commit_needs(tmp_path):
    """After ``%load_ext`` sqlite-utils is imported in the background (without pandas),
    and a commit typed at once, while that import may still run, works."""
    code = (
        "import sys, threading\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'jupyter_mlvc')\n"
        "ip.run_cell('x = [1, 2]')\n"
        "ip.run_line_magic('mlvc', 'commit -m first')\n"
        "for t in threading.enumerate():\n"
        "    if t.name == 'mlvc-warmup':\n"
        "        t.join()\n"
        "assert 'sqlite_utils' in sys.modules and 'pandas' not in sys.modules\n"
        "from jupyter_mlvc import Repo\n"
        "print(Repo.open('.').log()['message'].tolist())\n"
    )
    for _ in range(2):  # the commit may meet the import at any point
        shutil.rmtree(tmp_path / ".mlvc", ignore_errors=True)
        assert last_line_of_python(tmp_path, "-c", code, timeout=120) == "['first']"


# -- commit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        ('commit -m "first try"', "first try"),
        ("commit -m 'first try'", "first try"),
        ('commit -m "don\'t stop"', "don't stop"),
        ('commit --message="a <b> & c"', "a <b> & c"),
        ("commit -m single", "single"),
        ('commit -m "two  spaces"', "two  spaces"),
    ],
)
def test_quoting(shell, line, message):
    run(shell, "x = 1")
    run(shell, f"%mlvc {line}")
    assert store().head("").message == message


def test_variables_expand_in_the_line(shell):
    run(shell, "acc = 0.875\nname = 'baseline run'")
    run(shell, '%mlvc commit -m "$name" --metric acc=$acc f1=${acc}')
    head = store().head("")
    assert head.message == "baseline run"
    assert head.metrics == {"acc": 0.875, "f1": 0.875}


@pytest.mark.parametrize(
    "line, message",
    [
        # Braces are text: a message is never evaluated.
        ('commit -m "lr={lr*2}"', "lr={lr*2}"),
        # Single quotes and a backslash keep a dollar as it is.
        ("commit -m 'costs $lr'", "costs $lr"),
        ('commit -m "costs \\$lr"', "costs $lr"),
        # An unknown name, or a dollar before no name, stays as typed.
        ('commit -m "$nothing here, $5"', "$nothing here, $5"),
        # A value with spaces stays inside its word: it never becomes more arguments.
        ("commit -m $spaced", "a b -m c"),
    ],
)
def test_what_the_line_expands(shell, line, message):
    run(shell, "lr = 0.5\nspaced = 'a b -m c'")
    run(shell, f"%mlvc {line}")
    assert store().head("").message == message


def test_an_expression_in_the_line_never_runs(shell, tmp_path):
    marker = tmp_path / "PWNED"
    code = '{__import__("pathlib").Path("PWNED").touch()}'
    run(shell, "x = 1")
    run(shell, f"%mlvc commit -m '{code}'")
    run(shell, f'%mlvc commit -m "{code}" --metric acc=1')
    with pytest.raises(UsageError):
        shell.run_line_magic("mlvc", f"checkout HEAD {code}")
    assert not marker.exists()
    assert store().show("HEAD~1", "").message == code  # single quotes: exactly as typed


def test_cell_magic_expands_the_line_after_the_cell_ran(shell):
    shell.run_cell_magic("mlvc", 'commit -m "acc $acc" --metric acc=$acc', "acc = 0.75")
    head = store().head("")
    assert head.metrics == {"acc": 0.75} and head.message == "acc 0.75"


def test_first_commit_creates_the_store_and_says_so(shell, capsys, tmp_path):
    run(shell, "import numpy as np\nx = np.arange(5)\nf = open('data.txt', 'w')")
    run(shell, '%mlvc commit -m "first"')
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Created a store in {tmp_path / '.mlvc'}"
    assert out[1].startswith("Committed ") and " on main: 1 variable (" in out[1]
    assert "new, " in out[1] and out[1].endswith("; skipped: f (open file 'data.txt' (mode w))")
    run(shell, "f.close()\ndel f")
    run(shell, '%mlvc commit -m "second"')
    assert "Created a store" not in capsys.readouterr().out
    assert list(store().log("")["message"]) == ["second", "first"]


def test_commit_records_values_metrics_only_and_exclude(shell):
    run(shell, "a = [1, 2]\nb = 'bee'\ntmp_c = 3\nd = 4")
    run(shell, "%mlvc commit -m m --metric acc=0.93 loss=1e-3 --exclude tmp_* d")
    snap = store().head("")
    assert set(snap.variables) == {"a", "b"}
    assert snap.metrics == {"acc": 0.93, "loss": 0.001}
    run(shell, "%mlvc commit -m only --only a d")
    assert set(store().head("").variables) == {"a", "d"}
    assert store().load("HEAD~1", "b", "") == "bee"


def test_settings_exclude_applies_to_commits(shell):
    run(shell, "%config MLVC.exclude = ['secret*']\nsecret_token = 'x'\nkept = 1")
    run(shell, "%mlvc commit -m m")
    assert set(store().head("").variables) == {"kept"}


def test_ipython_hidden_names_are_not_committed_unless_rebound(shell):
    shell.push({"pushed_by_kernel": 1}, interactive=False)  # hidden, like the kernel's own names
    run(shell, "mine = 2")
    run(shell, "%mlvc commit -m m")
    assert set(store().head("").variables) == {"mine"}
    run(shell, "pushed_by_kernel = 5")  # rebound by the user: now it is the user's
    run(shell, "%mlvc commit -m m2")
    assert set(store().head("").variables) == {"mine", "pushed_by_kernel"}


def test_bad_metrics_are_usage_errors():
    with pytest.raises(UsageError, match="NAME=NUMBER"):
        parse_metrics(["acc"])
    with pytest.raises(UsageError, match="not a number"):
        parse_metrics(["acc=high"])
    assert parse_metrics(["a.b=1", "c=-2.5"]) == {"a.b": 1.0, "c": -2.5}


# -- the cell magic ------------------------------------------------------------------------


def test_cell_magic_runs_the_cell_then_commits(shell, capsys):
    run(
        shell,
        '%%mlvc commit -m "trained"\nimport numpy as np\nweights = np.ones(3) * 2\nweights.sum()',
    )
    out = capsys.readouterr().out
    assert "6.0" in out  # the cell's result is shown as usual
    snap = store().head("")
    assert snap.message == "trained" and set(snap.variables) == {"weights"}
    np.testing.assert_array_equal(store().load("HEAD", "weights", ""), np.full(3, 2.0))


def test_cell_magic_with_a_failing_cell_commits_nothing(shell, capsys):
    run(shell, "x = 1")
    run(shell, '%mlvc commit -m "before"')
    capsys.readouterr()
    result = shell.run_cell('%%mlvc commit -m "broken"\ny = 2\n1 / 0')
    captured = capsys.readouterr()
    assert not result.success  # the cell fails, so "run all" stops here
    assert "ZeroDivisionError" in captured.out + captured.err  # the error is shown as usual
    assert "UsageError: The cell raised an error, so nothing was committed." in captured.err
    assert shell.user_ns["y"] == 2  # what ran, ran
    assert list(store().log("")["message"]) == ["before"]


def test_cell_magic_only_commits(shell):
    with pytest.raises(UsageError, match="only with commit"):
        shell.run_cell_magic("mlvc", "log", "x = 1")


# -- log, show, status ------------------------------------------------------------------------


def commit_three(shell):
    run(shell, "x = 1")
    run(shell, '%mlvc commit -m "one" --metric acc=0.5')
    run(shell, "x = 2")
    run(shell, '%mlvc commit -m "two" --metric acc=0.75 f1=0.7')
    run(shell, "x = 3")
    run(shell, '%mlvc commit -m "three <script>" --metric acc=0.9')


def test_log_is_a_table_with_metrics_as_columns(shell, capsys):
    commit_three(shell)
    capsys.readouterr()
    run(shell, "%mlvc log")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "id",
        "time",
        "message",
        "branch",
        "tags",
        "vars",
        "size",
        "acc",
        "f1",
    ]
    assert [line.split()[3] for line in lines[2:]] == ["three", "two", "one"]
    assert lines[3].split()[-2:] == ["0.75", "0.7"]
    run(shell, "%mlvc log -n 1")
    assert len(capsys.readouterr().out.splitlines()) == 3
    run(shell, "%config MLVC.log_limit = 2\n%mlvc log")
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_log_is_html_in_a_notebook(shell):
    commit_three(shell)
    shell.display_formatter.active_types = ["text/plain", "text/html"]
    outputs = []
    shell.display_pub.publish = lambda data, **kw: outputs.append(data)
    run(shell, "%mlvc log")
    html = outputs[-1]["text/html"]
    assert "<table>" in html and ">acc</th>" in html and ">f1</th>" in html
    assert "three &lt;script&gt;" in html and "<script>" not in html


def test_log_all_lists_every_notebook(shell, capsys, tmp_path):
    run(shell, "x = 1\n%mlvc commit -m terminal")
    nb = tmp_path / "other.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    run(shell, f"__session__ = {str(nb)!r}\n%mlvc commit -m in-notebook")
    capsys.readouterr()
    run(shell, "%mlvc log")
    assert "terminal" not in capsys.readouterr().out
    run(shell, "%mlvc log --all")
    out = capsys.readouterr().out
    assert "terminal" in out and "in-notebook" in out and "other.ipynb" in out


def test_log_and_status_before_any_commit(shell, capsys, tmp_path):
    run(shell, "%mlvc log\n%mlvc status")
    out = capsys.readouterr().out
    assert out.count(f"No .mlvc store in {tmp_path} or above yet") == 2
    assert not (tmp_path / ".mlvc").exists()


def test_show(shell, capsys):
    run(
        shell,
        "import pandas as pd\ndf = pd.DataFrame({'a': range(4), 'b': 1.5})\nf = open('data.txt', 'w')",
    )
    run(shell, '%mlvc commit -m "with a frame" --metric acc=0.9')
    run(shell, "%mlvc tag good")
    capsys.readouterr()
    run(shell, "%mlvc show good")
    out = capsys.readouterr().out
    for expected in [
        "message:  with a frame",
        "branch:   main",
        "tags:     good",
        "acc=0.9",
        "4 rows x 2 cols",
        "f: open file",
        "python:",
        "parents:  (none)",
        "notebook: (no notebook file) (history)",
    ]:
        assert expected in out, expected
    run(shell, "%mlvc show")  # HEAD by default
    assert "with a frame" in capsys.readouterr().out


def test_status_reports_changes_and_writes_nothing(shell, capsys):
    run(shell, "a = 1\nb = 2\nc = 3")
    run(shell, "%mlvc commit -m base")
    run(shell, "b = 20\ndel c\nd = 4")
    before = len(store().log(""))
    capsys.readouterr()
    run(shell, "%mlvc status")
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(HEAD): 1 added, 1 changed, 1 removed, 1 unchanged.")
    assert out[1:] == ["  + d", "  ~ b", "  - c"]
    assert len(store().log("")) == before
    run(shell, "%mlvc commit -m next\n%mlvc status")
    assert "No changes since" in capsys.readouterr().out


# -- checkout ------------------------------------------------------------------------------


def test_checkout_restores_removes_later_variables_and_autocommits_first(shell, capsys):
    run(
        shell,
        "import numpy as np, pandas as pd\narr = np.arange(6.0).reshape(2, 3)\ndf = pd.DataFrame({'a': [1, 2]})\nn = 1",
    )
    run(shell, '%mlvc commit -m "good"')
    good = store().head("").id
    originals = {"arr": shell.user_ns["arr"].copy(), "df": shell.user_ns["df"].copy(), "n": 1}
    run(shell, "arr[0, 0] = -1\ndf['a'] = 0\nn = 2\nlater = 'made after'")
    capsys.readouterr()
    run(shell, f"%mlvc checkout {good[:8]}")
    out = capsys.readouterr().out
    ns = shell.user_ns
    np.testing.assert_array_equal(ns["arr"], originals["arr"])
    pd.testing.assert_frame_equal(ns["df"], originals["df"])
    assert ns["n"] == 1 and "later" not in ns
    log = store().log("")
    assert log["message"][0] == f"auto: before checkout of {good[:8]}" and bool(log["auto"][0])
    assert out.splitlines()[0].startswith(
        f"Checked out {good[:8]} (main) \u201cgood\u201d: restored 3, removed 1"
    )
    assert f"Saved the previous state first as {log['short_id'][0]}" in out
    assert "removed: later" in out
    assert store().head("").id == good
    # the auto commit kept the broken state: nothing was lost
    assert store().load("HEAD~0", "n", "") == 1
    assert store().load(log["id"][0], "later", "") == "made after"


def test_checkout_of_a_clean_state_does_not_autocommit(shell):
    run(shell, "x = 1\n%mlvc commit -m one\nx = 2\n%mlvc commit -m two")
    run(shell, "%mlvc checkout HEAD~1")
    assert shell.user_ns["x"] == 1
    assert list(store().log("")["message"]) == ["two", "one"]


def test_checkout_no_save(shell):
    run(shell, "x = 1\n%mlvc commit -m one\nx = 99")
    run(shell, "%mlvc checkout HEAD --no-save")
    assert shell.user_ns["x"] == 1
    assert list(store().log("")["message"]) == ["one"]
    run(shell, "%config MLVC.save_before_checkout = False\nx = 98\n%mlvc checkout HEAD")
    assert list(store().log("")["message"]) == ["one"]


def test_partial_checkout_restores_only_named_variables(shell, capsys):
    run(shell, "a = [1]\nb = {'k': 'v'}\nc = 3\n%mlvc commit -m base")
    base = store().head("").id
    run(shell, "a = [2]\nb = {}\nc = 30\nnew = 'stays'\n%mlvc commit -m later")
    later = store().head("").id
    capsys.readouterr()
    run(shell, f"%mlvc checkout {base[:8]} a b")
    out = capsys.readouterr().out
    ns = shell.user_ns
    assert ns["a"] == [1] and ns["b"] == {"k": "v"}
    assert ns["c"] == 30 and ns["new"] == "stays"
    assert "restored 2" in out and "HEAD did not move" in out
    assert store().head("").id == later


def test_checkout_unknown_variable(shell):
    run(shell, "a = 1\n%mlvc commit -m base")
    with pytest.raises(UsageError):
        mlvc(shell, "checkout HEAD nope")


def test_an_index_damaged_meanwhile_is_one_line(shell, tmp_path):
    """The index broken between two commands (a failing disk): the next command says
    which file and how to repair it, in one line, with no traceback from SQLite."""
    run(shell, "a = 1\n%mlvc commit -m base\na = 2\n%mlvc commit -m next")
    index = tmp_path / ".mlvc" / "index.sqlite"
    Repo.open(tmp_path).index.conn.execute("pragma wal_checkpoint(truncate)")
    with open(index, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * (index.stat().st_size - 4096))
    with pytest.raises(UsageError) as err:
        mlvc(shell, "log")
    assert str(err.value) == (
        f"the index {index} is damaged (database disk image is malformed); "
        "`mlvc fsck --rebuild-index` recovers it"
    )


def test_checkout_by_tag_and_branch(shell):
    run(shell, "x = 'v1'\n%mlvc commit -m one\n%mlvc tag v1\nx = 'v2'\n%mlvc commit -m two")
    run(shell, "%mlvc checkout v1")
    assert shell.user_ns["x"] == "v1"
    run(shell, "%mlvc checkout main")
    assert shell.user_ns["x"] == "v2"


# -- branch, tag, trust, help -------------------------------------------------------------------


def test_branch_list_and_create(shell, capsys):
    run(shell, "x = 1\n%mlvc commit -m one")
    capsys.readouterr()
    run(shell, "%mlvc branch")
    assert capsys.readouterr().out.split() == ["*", "main", store().head("").short_id]
    run(shell, "%mlvc branch experiment")
    assert "Started branch experiment" in capsys.readouterr().out
    run(shell, "x = 2\n%mlvc commit -m on-branch")
    assert store().head("").branch == "experiment"
    run(shell, "%mlvc branch")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].split()[:2] == ["*", "experiment"] and lines[-1].split()[0] == "main"
    with pytest.raises(UsageError, match="already exists"):
        mlvc(shell, "branch main")


def test_tag(shell, capsys):
    run(shell, "x = 1\n%mlvc commit -m one\nx = 2\n%mlvc commit -m two")
    capsys.readouterr()
    run(shell, "%mlvc tag first HEAD~1")
    assert capsys.readouterr().out.startswith("Tagged " + store().resolve("HEAD~1", "")[:8])
    assert store().tags()["first"] == store().resolve("HEAD~1", "")
    with pytest.raises(UsageError, match="already exists"):
        mlvc(shell, "tag first")


def test_trust_lets_a_foreign_snapshot_be_checked_out(shell, other_key, capsys):
    run(shell, "x = 'mine'\n%mlvc commit -m one\nx = 'changed'")
    other_key()
    capsys.readouterr()  # the store now looks like someone else's
    with pytest.raises(UsageError, match="not signed with your key"):
        mlvc(shell, "checkout HEAD --no-save")
    assert shell.user_ns["x"] == "changed"
    run(shell, "%mlvc trust HEAD")
    assert capsys.readouterr().out.startswith("Trusted ")
    run(shell, "%mlvc checkout HEAD --no-save")
    assert shell.user_ns["x"] == "mine"
    run(shell, "%mlvc trust")
    assert "Trusted every snapshot" in capsys.readouterr().out


def test_help_shows_every_command(shell, capsys):
    run(shell, "%mlvc help")
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"%mlvc {command}" in out or command == "help"
    assert "--metric" in out and "--no-save" in out
    run(shell, "%mlvc help checkout")
    assert capsys.readouterr().out.startswith("usage: %mlvc checkout")
    run(shell, "%mlvc")  # no command: the usage
    assert "Commands:" in capsys.readouterr().out
    run(shell, "%mlvc commit -h")
    assert "usage: %mlvc commit" in capsys.readouterr().out


def test_question_mark_shows_the_full_usage(shell, capsys):
    doc = shell.find_line_magic("mlvc").__doc__
    assert "%mlvc checkout" in doc and "--no-save" in doc
    run(shell, "%mlvc?")
    out = capsys.readouterr().out
    assert "%mlvc checkout" in out and "--metric" in out


# -- mistakes are one-line UsageErrors ------------------------------------------------------------


@pytest.mark.parametrize(
    "line, match",
    [
        ("comit -m x", r"invalid choice: 'comit'.*Usage: %mlvc"),
        ("checkout", r"required: ref\. Usage: %mlvc checkout"),
        ("tag", r"required: name\. Usage: %mlvc tag"),
        ("checkout nosuchref", r"unknown ref 'nosuchref'"),
        ("show HEAD~5", r"goes back 5 snapshots"),
        ('commit -m "unbalanced', r"quote is not closed"),
        ("commit -m", r"expected one argument"),
        ("commit --metric acc=high", r"not a number"),
        ("commit --bogus", r"unrecognized arguments: --bogus"),
        ("log -n 0", r"positive"),
        ("tag 'bad name!'", r"."),
        ("help nonsense", r"invalid choice"),
        ("diff nosuchref", r"unknown ref 'nosuchref'"),
        ("diff HEAD~3 HEAD", r"goes back 3 snapshots"),
        ("compare HEAD", r"two or more snapshots"),
        ("compare HEAD nosuchref", r"unknown ref 'nosuchref'"),
        ("log --sort nope", r"cannot sort by 'nope': no such metric \(metrics: none"),
        ("log --sort", r"--sort: expected one argument"),
        ("log --sort --all", r"--sort: expected one argument"),
        ("commit -m m --metrics-from nothing", r"there is no variable 'nothing'"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(shell, capsys, line, match):
    run(shell, "x = 1\n%mlvc commit -m base")
    with pytest.raises(UsageError, match=match) as info:
        mlvc(shell, line)
    assert "\n" not in str(info.value)
    capsys.readouterr()
    result = shell.run_cell(f"%mlvc {line}")
    err = capsys.readouterr().err
    assert isinstance(result.error_in_exec, UsageError)
    assert err.startswith("UsageError: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert list(store().log("")["message"]) == ["base"]  # nothing was written


def test_commands_that_need_a_store(shell, tmp_path):
    for line in (
        "show",
        "checkout HEAD",
        "branch",
        "tag t",
        "trust",
        "browse",
        "diff",
        "compare a b",
    ):
        with pytest.raises(UsageError, match=r"No \.mlvc store"):
            mlvc(shell, line)
    assert not (tmp_path / ".mlvc").exists()


# -- where the store and the notebook are -------------------------------------------------------------


def write_notebook(path: Path, source: str = "x = 1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return path


def test_saved_notebook_found_through_session_is_stored(shell, tmp_path):
    nb = write_notebook(tmp_path / "project" / "analysis.ipynb", "print('saved version')")
    run(shell, f"__session__ = {str(nb)!r}\nx = 1")
    run(shell, '%mlvc commit -m "from the notebook"')
    repo = Repo.open(nb.parent)
    assert repo.root == nb.parent  # created next to the notebook, not in the cwd
    assert not (tmp_path / ".mlvc").exists()
    snap = repo.head(nb)
    assert snap.notebook_path == "analysis.ipynb" and snap.notebook_source == "saved"
    assert repo.notebook("HEAD", nb).cells[0].source == "print('saved version')"


def test_store_is_the_nearest_above_the_notebook(shell, tmp_path):
    Repo.init(tmp_path)
    nb = write_notebook(tmp_path / "a" / "b" / "deep.ipynb")
    run(shell, f"__vsc_ipynb_file__ = {str(nb)!r}\nx = 1\n%mlvc commit -m deep")
    assert not (nb.parent / ".mlvc").exists()
    assert Repo.open(tmp_path).head(nb).notebook_path == "a/b/deep.ipynb"


def test_store_setting_overrides(shell, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(shell, f"%config MLVC.store = {str(elsewhere)!r}\nx = 1\n%mlvc commit -m m")
    assert (elsewhere / ".mlvc").is_dir() and not (tmp_path / ".mlvc").exists()


def test_editor_content_is_preferred_over_the_saved_file(shell, tmp_path):
    nb = write_notebook(tmp_path / "live.ipynb", "saved = True")
    editor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("unsaved = True")])
    write_live_notebook(nb, editor)
    run(shell, f"__session__ = {str(nb)!r}\nx = 1\n%mlvc commit -m m")
    repo = Repo.open(tmp_path)
    assert repo.head(nb).notebook_source == "editor"
    assert repo.notebook("HEAD", nb).cells[0].source == "unsaved = True"
    run(shell, "%config MLVC.use_editor_content = False\nx = 2\n%mlvc commit -m m2")
    assert repo.head(nb).notebook_source == "saved"


def test_commit_waits_for_the_editor_content_of_the_running_cell(shell, tmp_path):
    import threading

    nb = write_notebook(tmp_path / "race.ipynb", "old = 1")
    cell = f"__session__ = {str(nb)!r}\nx = 1\n%mlvc commit -m m"
    stale = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("old = 1")])
    fresh = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    write_live_notebook(nb, stale)
    # The frontend's hand-off of the running cell arrives a moment after the kernel starts it.
    late = threading.Timer(0.2, write_live_notebook, (nb, fresh))
    late.start()
    run(shell, cell)
    late.join()
    repo = Repo.open(tmp_path)
    assert repo.notebook("HEAD", nb).cells[0].source == cell


def test_without_a_notebook_the_history_is_stored(shell, tmp_path):
    run(shell, "a = 40\nb = a + 2")
    run(shell, '%mlvc commit -m "from a terminal"')
    repo = Repo.open(tmp_path)
    assert repo.head("").notebook_source == "history"
    sources = [c.source for c in repo.notebook("HEAD", "").cells]
    assert sources == ["a = 40\nb = a + 2", '%mlvc commit -m "from a terminal"']


# -- progress -----------------------------------------------------------------------------------------


def test_slow_commit_shows_progress_in_a_terminal(shell, capsys):
    run(
        shell,
        "import numpy as np\nbig = np.random.default_rng(0).random(2_000_000)\n%mlvc commit -m small",
    )
    capsys.readouterr()
    run(shell, "big = big * 2\n%config MLVC.progress_after = 0.0\n%mlvc commit -m big")
    captured = capsys.readouterr()
    assert "\rCommitting… " in captured.err
    assert captured.err.endswith("\r")  # the progress line erases itself
    assert captured.out.startswith("Committed ")
    run(shell, "big[0] = -1\n%mlvc checkout HEAD --no-save")
    assert "\rChecking out… " in capsys.readouterr().err
    assert shell.user_ns["big"][0] != -1


def test_quick_commit_shows_no_progress(shell, capsys):
    run(shell, "x = 1\n%mlvc commit -m quick")
    assert "Committing" not in capsys.readouterr().err


def test_slow_commit_shows_a_widget_progress_bar_in_a_notebook(shell):
    from jupyter_mlvc.progress import Progress

    published = []
    shell.display_pub.publish = lambda data, **kw: published.append((data, kw))
    with Progress("Committing", after=0, notebook=True) as progress:
        progress.update(3, 4)
        bar, label = progress._widget.children
        deadline = time.monotonic() + 5
        while bar.value != 0.75 and time.monotonic() < deadline:
            time.sleep(0.05)  # the next tick of the progress thread shows it
        assert (
            bar.value == 0.75
            and label.value.startswith("Committing… ")
            and label.value.endswith(" 75%")
        )
    assert "application/vnd.jupyter.widget-view+json" in published[0][0]
    # at the end the bar is closed and its output replaced by nothing
    assert published[-1][0] == {"text/plain": ""} and published[-1][1].get("update") is True
    assert progress._widget.comm is None


# -- rich reprs of the Python API's results ----------------------------------------------------------


def test_core_results_render_as_html_and_text(shell):
    run(shell, "x = '<script>alert(1)</script>'\n%mlvc commit -m '<b>bold</b>'")
    snap = store().head("")
    data, _ = shell.display_formatter.format(snap)
    assert "&lt;b&gt;bold&lt;/b&gt;" in data["text/html"] and "<b>bold</b>" not in data["text/html"]
    assert "<script>" not in data["text/html"]
    assert data["text/plain"].startswith("id:       " + snap.id)
    status = store().status({"x": 1})
    data, _ = shell.display_formatter.format(status)
    assert "1 changed" in data["text/html"] and data["text/plain"].startswith("Since ")
    data, _ = shell.display_formatter.format(store().diff("HEAD", {"x": 1}))
    assert "<h4>Variables</h4>" in data["text/html"] and "<script>" not in data["text/html"]
    assert data["text/plain"].startswith(f"Diff {snap.short_id} ")
    shell.run_line_magic("unload_ext", "jupyter_mlvc")
    data, _ = shell.display_formatter.format(snap)
    assert "text/html" not in data
    shell.run_line_magic("load_ext", "jupyter_mlvc")


# -- metrics: --metrics-from, log_metrics, --sort --------------------------------------------------


@pytest.fixture
def no_staged_metrics(monkeypatch):
    """Metrics staged by jupyter_mlvc.log_metrics live for the process: start each test without."""
    from jupyter_mlvc.ops import commit

    monkeypatch.setattr(commit, "_staged_metrics", {})


def test_commit_metrics_from_a_dict_variable(shell, no_staged_metrics):
    run(
        shell,
        "import numpy as np\nresults = {'acc': np.float32(0.5), 'n': 3, 'auc': np.array(0.75)}",
    )
    run(shell, "%mlvc commit -m one --metrics-from results")
    assert store().head("").metrics == {"acc": 0.5, "n": 3.0, "auc": 0.75}
    # --metric names one more precisely: it wins over the dict's
    run(shell, "%mlvc commit -m two --metrics-from results --metric acc=0.9")
    assert store().head("").metrics == {"acc": 0.9, "n": 3.0, "auc": 0.75}


def test_cell_magic_reads_metrics_from_after_the_cell_ran(shell, no_staged_metrics):
    run(shell, "scores = {'acc': 0.1}")
    run(shell, "%%mlvc commit -m trained --metrics-from scores\nscores = {'acc': 0.8, 'loss': 0.3}")
    assert store().head("").metrics == {"acc": 0.8, "loss": 0.3}


@pytest.mark.parametrize(
    "value, match",
    [
        ("{'acc': 'high'}", r"--metrics-from bad: 'acc' is 'high', not a number\."),
        ("{'acc': [0.1, 0.2]}", r"'acc' is \[0\.1, 0\.2\], not a number"),
        ("{'acc': None}", r"'acc' is None, not a number"),
        ("{1: 0.5}", r"the key 1 is not a metric name"),
        ("[('acc', 0.5)]", r"bad is a list, not a dict of metrics"),
    ],
)
def test_metrics_from_a_variable_that_is_not_numbers(
    shell, capsys, no_staged_metrics, value, match
):
    run(shell, f"x = 1\n%mlvc commit -m base\nbad = {value}")
    with pytest.raises(UsageError, match=match) as info:
        mlvc(shell, "commit -m nope --metrics-from bad")
    assert "\n" not in str(info.value)
    capsys.readouterr()
    shell.run_cell("%mlvc commit -m nope --metrics-from bad")
    err = capsys.readouterr().err
    assert err.startswith("UsageError: --metrics-from bad: ") and len(err.strip().splitlines()) == 1
    assert list(store().log("")["message"]) == ["base"]


def test_commit_honours_metrics_staged_with_log_metrics(shell, no_staged_metrics):
    run(shell, "import jupyter_mlvc\nx = 1\njupyter_mlvc.log_metrics(acc=0.7, loss=0.4)")
    run(shell, "%mlvc commit -m staged --metric loss=0.2")
    assert store().head("").metrics == {"acc": 0.7, "loss": 0.2}
    run(shell, "x = 2\n%mlvc commit -m next")  # staged metrics go with one commit only
    assert store().head("").metrics == {}


def commit_runs(shell):
    """Three snapshots whose accuracy and loss order them differently."""
    for i, (acc, loss) in enumerate([(0.8, 0.5), (0.9, 0.7), (0.7, 0.3)]):
        run(shell, f"x = {i}\n%mlvc commit -m run{i} --metric acc={acc} loss={loss}")
    run(shell, "x = 3\n%mlvc commit -m unscored")


def messages(out: str) -> list[str]:
    """The message column of a `%mlvc log` printed in a terminal."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("id ")) + 2
    return [line.split()[3] for line in lines[start:]]


def test_log_sort_by_a_metric_both_ways(shell, capsys):
    commit_runs(shell)
    capsys.readouterr()
    run(shell, "%mlvc log --sort acc")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "sorted by acc"
    assert messages(out) == ["run1", "run0", "run2", "unscored"]  # highest first, unscored last
    run(shell, "%mlvc log --sort -loss")  # a value that starts with "-"
    assert messages(capsys.readouterr().out) == ["run2", "run0", "run1", "unscored"]
    run(shell, "%mlvc log --sort=-acc -n 2")
    assert messages(capsys.readouterr().out) == ["run2", "run0"]
    run(shell, "%mlvc log -n 1 --sort loss")  # -n keeps the best, not the newest
    assert messages(capsys.readouterr().out) == ["run1"]
    with pytest.raises(UsageError, match=r"no such metric \(metrics: acc, loss\)"):
        mlvc(shell, "log --sort f1")


# -- diff and compare ------------------------------------------------------------------------------


def test_diff_with_the_current_state_in_a_terminal(shell, capsys):
    run(shell, "import numpy as np\narr = np.zeros(100)\nn = 1\nold = 'x'\ntmp_scratch = 0")
    run(shell, "%mlvc commit -m base --metric acc=0.5")
    base = store().head("")
    run(shell, "arr[:4] = 2.0\nn = 5\ndel old\nnew = [1, 2]\ntmp_scratch = 1")
    capsys.readouterr()
    run(shell, "%mlvc diff --exclude tmp_*")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"Diff {base.short_id} \u201cbase\u201d -> the current state"
    assert lines[1] == "variables: 1 added, 2 changed, 1 removed, 0 unchanged; 2 cells changed"
    assert "  + new  list  [1, 2]" in out and "  - old  str  'x'" in out
    assert "  ~ n    1 -> 5 (+4)" in out
    assert "4 of 100 elements differ, max abs diff 2" in out
    variables, notebook = out.split("\nnotebook: ")
    assert "tmp_scratch" not in variables and "metrics:" not in variables
    # without a notebook, the session's inputs since the commit are the cells that changed
    assert "    +arr[:4] = 2.0" in notebook
    assert len(store().log("")) == 1  # a diff writes nothing
    run(shell, "%mlvc diff")
    assert "  ~ tmp_scratch  0 -> 1 (+1)" in capsys.readouterr().out
    run(shell, "%config MLVC.exclude = ['tmp_*']\n%mlvc diff HEAD")
    assert "tmp_scratch" not in capsys.readouterr().out.split("\nnotebook: ")[0]


def test_diff_between_two_snapshots(shell, capsys):
    from sklearn.linear_model import LogisticRegression  # noqa: F401  (imported for the shell)

    run(
        shell,
        "from sklearn.linear_model import LogisticRegression\n"
        "X = [[0, 1], [1, 0], [1, 1], [0, 0]]\ny = [0, 1, 1, 0]\n"
        "model = LogisticRegression(C=1.0).fit(X, y)",
    )
    run(shell, "%mlvc commit -m strong --metric acc=0.5\n%mlvc tag strong")
    run(
        shell,
        "model = LogisticRegression(C=0.01).fit(X, y)\n%mlvc commit -m weak --metric acc=0.75",
    )
    capsys.readouterr()
    run(shell, "%mlvc diff strong HEAD")
    out = capsys.readouterr().out
    assert "  ~ model  C: 1.0 -> 0.01" in out
    assert re.search(r"acc\s+0\.5\s+0\.75\s+\+0\.25", out)
    run(shell, "%mlvc diff HEAD strong")  # the other way round
    out = capsys.readouterr().out
    assert "C: 0.01 -> 1.0" in out and re.search(r"acc\s+0\.75\s+0\.5\s+-0\.25", out)


def test_diff_compares_the_notebook_as_the_magic_reads_it(shell, capsys, tmp_path):
    nb = write_notebook(tmp_path / "analysis.ipynb", "x = 1\nprint(x)")
    run(shell, f"__session__ = {str(nb)!r}\nx = 1\n%mlvc commit -m base")
    write_notebook(nb, "x = 2\nprint(x)")
    capsys.readouterr()
    run(shell, "%mlvc diff")
    out = capsys.readouterr().out
    assert (
        "cell 0 modified (code)\n    @@ -1,2 +1,2 @@\n    -x = 1\n    +x = 2\n     print(x)" in out
    )
    editor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 3 # unsaved")])
    write_live_notebook(nb, editor)  # the editor's content wins, as for a commit
    run(shell, "%mlvc diff")
    assert "    +x = 3 # unsaved" in capsys.readouterr().out


def html_outputs(shell) -> list[str]:
    """Make the shell render like a notebook; collect the HTML it displays."""
    shell.display_formatter.active_types = ["text/plain", "text/html"]
    outputs: list[str] = []
    shell.display_pub.publish = lambda data, **kw: outputs.append(data.get("text/html", ""))
    return outputs


def test_diff_is_html_in_a_notebook_and_escapes_what_users_control(shell):
    evil = "<script>alert(1)</script>"
    run(shell, f"label = 'plain'\nn = 1\n%mlvc commit -m {evil!r} --metric acc=0.5")
    outputs = html_outputs(shell)
    run(shell, f"label = {evil!r}\nn = 2\n%mlvc diff")
    html = outputs[-1]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the message and the value, as text
    assert '<tr class="changed"><td class="">changed</td><td class="">n</td>' in html
    assert "1 \u2192 2 (+1)" in html and "<h4>Variables</h4>" in html


def commit_three_runs(shell):
    run(shell, "import numpy as np\nweights = np.zeros(3)\nsame = 'kept'\nlr = 0.1")
    run(shell, "%mlvc commit -m slow --metric acc=0.7")
    run(shell, "weights = np.ones(3)\nlr = 0.5\n%mlvc commit -m fast --metric acc=0.8 loss=0.4")
    run(shell, "weights = np.ones(4)\nlr = 1.0\n%mlvc commit -m 'too fast' --metric acc=0.6")


def test_compare_three_snapshots(shell, capsys):
    commit_three_runs(shell)
    ids = list(store().log("")["short_id"])[::-1]
    capsys.readouterr()
    run(shell, "%mlvc compare HEAD~2 HEAD~1 HEAD")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "3 snapshots side by side: 2 metrics, 2 variables that differ (1 identical in all left out)"
    )
    assert lines[1].split() == ids
    rows = {line.split()[0]: line for line in lines[3:]}
    assert rows["acc"].split()[1:] == ["0.7", "0.8", "0.6"]
    assert rows["loss"].split()[1:] == ["0.4"]  # only "fast" recorded a loss
    assert rows["lr"].split()[1:] == ["0.1", "0.5", "1.0"]
    assert rows["weights"].split()[1:] == ["float64", "3", "float64", "3", "float64", "4"]
    assert "same" not in rows
    outputs = html_outputs(shell)
    run(shell, "%mlvc log --compare")  # the snapshots the log shows, newest first
    html = outputs[-1]
    assert html.index(f"<th>{ids[2]}</th>") < html.index(f"<th>{ids[0]}</th>")
    assert "<td>too fast</td>" in html and '<td class="num">0.6</td>' in html


def test_log_compare_with_one_snapshot(shell, capsys):
    run(shell, "x = 1\n%mlvc commit -m only")
    capsys.readouterr()
    run(shell, "%mlvc log --compare")
    assert "Nothing to compare" in capsys.readouterr().out


def test_show_has_the_model_card(shell, capsys):
    run(
        shell,
        "import pandas as pd\nfrom sklearn.tree import DecisionTreeClassifier\n"
        "X = pd.DataFrame({'height': [1, 2, 3, 4], 'weight': [4, 3, 2, 1]})\n"
        "clf = DecisionTreeClassifier(max_depth=2).fit(X, [0, 0, 1, 1])",
    )
    run(shell, "%mlvc commit -m tree")
    capsys.readouterr()
    run(shell, "%mlvc show")
    out = capsys.readouterr().out
    assert re.search(
        r"clf\s+sklearn\.DecisionTreeClassifier\s+DecisionTreeClassifier \(scikit-learn [\d.]+\), fitted, 2 features",
        out,
    )
    card = out.split("models:\n", 1)[1]
    assert card.startswith("  clf: DecisionTreeClassifier (scikit-learn")
    assert "max_depth=2" in card and "    features: height, weight" in card


def test_auto_commits_after_cells_that_change_state(shell, tmp_path):
    from jupyter_mlvc import Repo

    shell.run_line_magic("mlvc", "auto on")
    shell.run_cell("import numpy as np\nbig = np.zeros(1_000_000)\nsmall = 1")
    shell.run_cell("small = 2  # bump")
    shell.run_cell("print(small)")  # reads only: no snapshot
    shell.run_cell("big[:10] = 5")
    shell.run_cell("x = = 1")  # a syntax error changes nothing
    shell.run_line_magic("mlvc", "auto off")
    shell.run_cell("small = 3")
    repo = Repo.find(tmp_path)
    log = repo.log(all=True)
    assert list(log["message"]) == ["big[:10] = 5", "small = 2  # bump", "import numpy as np"]
    assert log["auto"].all()
    head = repo.show(log["id"].iloc[0])
    assert head.variables["big"].changed and not head.variables["small"].changed
    assert repo.load(log["id"].iloc[1], "small") == 2
    assert repo.load(log["id"].iloc[0], "big")[:10].tolist() == [5.0] * 10
    assert repo.fsck() == []


def test_checkout_can_leave_the_random_state_alone(shell):
    import random

    shell.run_cell("import random\nrandom.seed(1)\nv = 1")
    shell.run_line_magic("mlvc", 'commit -m "seeded"')
    random.seed(99)
    expected = random.random()
    random.seed(99)
    shell.run_line_magic("config", "MLVC.restore_random_state = False")
    shell.run_line_magic("mlvc", "checkout HEAD --no-save")
    assert random.random() == expected


def test_remote_push_log_and_pull(shell, tmp_path, tmp_path_factory, capsys):
    from jupyter_mlvc import Repo

    remote_dir = tmp_path_factory.mktemp("remote")
    shell.run_cell("import numpy as np\nweights = np.arange(200_000.0)\nnote = 'v1'")
    shell.run_line_magic("mlvc", 'commit -m "to share"')
    shell.run_line_magic("mlvc", f"remote add team {remote_dir}")
    shell.run_line_magic("mlvc", "remote")
    shell.run_line_magic("mlvc", "push team")
    capsys.readouterr()
    shell.run_line_magic("mlvc", "log --remote team")
    assert "to share" in capsys.readouterr().out
    with pytest.raises(UsageError, match="pull them first"):
        shell.run_line_magic("mlvc", "log --remote team --compare")
    with pytest.raises(UsageError, match="Usage: %mlvc remote add"):
        shell.run_line_magic("mlvc", "remote add onlyname")

    elsewhere = Repo.init(tmp_path_factory.mktemp("elsewhere"))
    elsewhere.remote_add("team", str(remote_dir))
    elsewhere.pull("team", all=True)
    snap = elsewhere.log(all=True)
    assert list(snap["message"]) == ["to share"]
    assert elsewhere.load(snap["id"].iloc[0], "note") == "v1"  # same user: signed with this key
