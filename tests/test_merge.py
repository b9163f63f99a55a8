"""Merging branches of kernel state: merge base, three-way variable merge, the notebook
through nbdime, the magic, the kernel protocol and the text graph."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
from IPython.core.error import UsageError

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadInput, MergeConflict, Untrusted
from jupyter_mlvc.kernel_protocol import RepoTarget, run
from jupyter_mlvc.present.merging import graph_view
from jupyter_mlvc.present.render import DiffView, LogView

NB = "analysis.ipynb"


def book(*sources: str) -> dict:
    """A notebook whose cells keep their ids across versions, as the editor keeps them."""
    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"cell-{i}"
        nb.cells.append(cell)
    return json.loads(nbformat.writes(nb))


def diverged(repo: Repo, ns: dict, *, ours: dict, theirs: dict, drop_theirs=()):
    """base (ns) -> branch feature (theirs' changes) and main (ours' changes); the
    namespace ends on main with ours' changes committed."""
    base = repo.commit(ns, "base", notebook=book("x = 1", "y = 1"))
    repo.branch("feature")
    ns.update(theirs)
    for name in drop_theirs:
        del ns[name]
    feature = repo.commit(ns, "feature", notebook=book("x = 1", "y = 2"))
    repo.restore("main", ns)
    ns.update(ours)
    main = repo.commit(ns, "main", notebook=book("x = 3", "y = 1"))
    return base, feature, main


def snapshot_count(repo: Repo) -> int:
    return repo.list(limit=None, all=True)[1]


def test_each_sides_change_arrives_and_the_merge_has_two_parents(repo):
    ns = {"x": 1, "y": np.arange(3), "z": "base", "keep": 0}
    base, feature, main = diverged(
        repo,
        ns,
        ours={"y": np.arange(5)},
        theirs={"x": 2, "w": "new"},
        drop_theirs=["z"],
    )
    assert repo.merge_base("main", "feature") == base.id

    result = repo.merge("feature", ns)

    assert ns["x"] == 2 and ns["w"] == "new" and "z" not in ns
    np.testing.assert_array_equal(ns["y"], np.arange(5))
    assert result.from_theirs == ["w", "x"] and result.removed == ["z"]
    assert result.kept_ours == ["y"] and result.conflicts == []
    merged = repo.show("HEAD")
    assert merged.id == result.snapshot.id
    assert merged.parents == [main.id, feature.id]
    assert merged.message == f"Merge feature ({feature.id[:8]}) into main"
    assert merged.branch == "main" and repo.current_branch() == "main"
    # HEAD~1 follows the first parent: the snapshot merged into.
    assert repo.resolve("HEAD~1") == main.id
    # The stored variables are the merged state: a checkout gives it back.
    stored = repo.checkout("HEAD")
    np.testing.assert_array_equal(stored.pop("y"), np.arange(5))
    assert stored == {"x": 2, "w": "new", "keep": 0}
    # Both sides' notebook edits arrive (different cells: no conflict).
    cells = [c["source"] for c in repo.notebook("HEAD")["cells"]]
    assert cells == ["x = 3", "y = 2"] and result.notebook_conflicts == 0
    # The diff of a merge says which side each change came from.
    diff = repo.diff("HEAD~1", "HEAD").to_dict()
    assert diff["merge"] == {
        "parents": [main.id, feature.id],
        "from_first": [],
        "from_second": ["w", "x"],
    }
    assert f"B merges {feature.short_id} into {main.short_id}; from {feature.short_id}: w, x" in (
        DiffView(diff).text()
    )
    assert repo.diff(base.id, main.id).to_dict()["merge"] is None
    # The log lists both parents of the merge; the text view names them.
    log = repo.log()
    assert log.loc[0, "parents"] == [main.id, feature.id] and log.loc[1, "parents"] == [base.id]
    assert f"{main.short_id} + {feature.short_id}" in LogView(log).text()


def test_a_conflict_changes_nothing_and_names_both_sides(repo):
    ns = {"x": 1, "model": "base"}
    diverged(repo, ns, ours={"model": "ours"}, theirs={"model": "theirs", "x": 5})
    before = (dict(ns), snapshot_count(repo), repo.head_id(), repo.branches())

    with pytest.raises(MergeConflict) as info:
        repo.merge("feature", ns)

    message = str(info.value)
    assert "model (changed here, changed in theirs)" in message and "\n" not in message
    assert info.value.result.unresolved == ["model"]
    assert (dict(ns), snapshot_count(repo), repo.head_id(), repo.branches()) == before


@pytest.mark.parametrize(
    "how, expected",
    [
        ({"resolve": {"model": "theirs"}}, "theirs"),
        ({"resolve": {"model": "ours"}}, "ours"),
        ({"strategy": "theirs"}, "theirs"),
        ({"strategy": "ours"}, "ours"),
        # A variable's own choice wins over the strategy.
        ({"strategy": "theirs", "resolve": {"model": "ours"}}, "ours"),
    ],
)
def test_a_conflict_is_decided_by_resolve_or_strategy(repo, how, expected):
    ns = {"x": 1, "model": "base"}
    diverged(repo, ns, ours={"model": "ours"}, theirs={"model": "theirs", "x": 5})

    result = repo.merge("feature", ns, **how)

    assert ns["model"] == expected and ns["x"] == 5
    assert [c.resolution for c in result.conflicts] == [expected]
    assert repo.checkout("HEAD", ["model"])["model"] == expected


def test_variables_that_share_objects_merge_as_one(repo):
    shared = [1, 2]
    ns = {"a": shared, "b": shared, "c": 0}
    diverged(repo, ns, ours={"c": 1}, theirs={})
    # theirs changes the shared list: both names change, and come back still shared.
    repo.restore("feature", ns)
    ns["a"].append(3)
    repo.commit(ns, "grow the shared list")
    repo.restore("main", ns)

    result = repo.merge("feature", ns)

    assert ns["a"] == [1, 2, 3] and ns["a"] is ns["b"] and ns["c"] == 1
    assert result.from_theirs == ["a", "b"]


def test_a_conflict_on_one_shared_variable_is_a_conflict_on_the_unit(repo):
    shared = [1]
    ns = {"a": shared, "b": shared}
    base = repo.commit(ns, "base")
    repo.branch("feature")
    ns["b"] = "rebound"  # theirs: b no longer shares with a
    repo.commit(ns, "feature")
    repo.restore(base.id, ns)
    repo.branch("ours-side", base.id)
    repo.restore("ours-side", ns)
    ns["a"].append(2)  # ours: the shared list grows (a and b change)
    repo.commit(ns, "ours")

    with pytest.raises(MergeConflict) as info:
        repo.merge("feature", ns)
    assert [c.names for c in info.value.result.conflicts] == [["a", "b"]]
    with pytest.raises(BadInput, match="merge as one"):
        repo.merge("feature", ns, resolve={"a": "ours", "b": "theirs"})

    repo.merge("feature", ns, resolve={"a": "theirs"})
    assert ns["a"] == [1] and ns["b"] == "rebound"


def test_conflicting_cells_carry_nbdimes_marks(repo):
    ns = {"x": 1}
    repo.commit(ns, "base", notebook=book("lr = 0.1"))
    repo.branch("feature")
    ns["x"] = 2
    repo.commit(ns, "feature", notebook=book("lr = 0.5"))
    repo.restore("main", ns)

    result = repo.merge("feature", ns, notebook=book("lr = 0.01"))

    assert result.notebook_conflicts == 1
    source = repo.notebook("HEAD")["cells"][0]["source"]
    assert source.startswith("<<<<<<< local") and "lr = 0.01" in source and "lr = 0.5" in source
    assert ns["x"] == 2


def test_merge_base_of_criss_cross_histories(repo):
    ns = {"v": 0}
    root = repo.commit(ns, "root")
    repo.branch("left")
    ns["v"] = 1
    b1 = repo.commit(ns, "b1")
    repo.restore(root.id, ns)
    repo.branch("right", root.id)
    repo.restore("right", ns)
    ns["w"] = 1
    b2 = repo.commit(ns, "b2")
    # Each side merges the other's tip: two lowest common ancestors, b1 and b2.
    repo.merge("left", ns, message="c2")
    c2 = repo.head_id()
    repo.branch("left2", b1.id)
    repo.restore("left2", ns)
    repo.merge(b2.id, ns, message="c1")
    c1 = repo.head_id()

    base = repo.merge_base(c1, c2)

    assert base in (b1.id, b2.id)
    # The newest of them, the same every time.
    assert base == b2.id and repo.merge_base(c2, c1) == base


def test_merging_an_ancestor_is_already_up_to_date(repo):
    ns = {"x": 1}
    first = repo.commit(ns, "first")
    ns["x"] = 2
    repo.commit(ns, "second")
    count = snapshot_count(repo)

    result = repo.merge(first.id, ns)

    assert result.up_to_date and result.snapshot is None and snapshot_count(repo) == count
    assert "Already up to date" in result.summary_line()


def test_a_preview_changes_nothing(repo):
    ns = {"x": 1, "model": "base"}
    diverged(repo, ns, ours={"model": "ours"}, theirs={"model": "theirs", "x": 5})
    before = (dict(ns), snapshot_count(repo), repo.head_id())

    result = repo.merge("feature", ns, preview=True)

    assert result.preview and result.from_theirs == ["x"] and result.unresolved == ["model"]
    row = result.conflicts[0]
    assert (row.base, row.ours, row.theirs) == ("str 'base'", "str 'ours'", "str 'theirs'")
    assert (dict(ns), snapshot_count(repo), repo.head_id()) == before


def test_unsaved_changes_are_saved_before_the_merge(repo):
    ns = {"x": 1, "y": 1}
    diverged(repo, ns, ours={}, theirs={"x": 2})
    ns["y"] = "unsaved"

    result = repo.merge("feature", ns)

    assert result.saved is not None and result.saved.message.startswith("auto: before merge")
    assert repo.show("HEAD").parents[0] == result.saved.id
    assert ns == {"x": 2, "y": "unsaved"}


def test_an_untrusted_branch_is_not_merged(repo, other_key):
    ns = {"x": 1}
    diverged(repo, ns, ours={}, theirs={"x": 2})
    other_key()
    mine = Repo.open(repo.root, notebook_path=repo.root / NB)
    mine.notebook_path = repo.notebook_path
    # The other user's own snapshots are untrusted for this one: even theirs' base.
    with pytest.raises(Untrusted):
        mine.merge("feature", {"x": 1})


def test_bad_choices_are_one_line_errors(repo):
    ns = {"x": 1}
    repo.commit(ns, "only")
    for kwargs, says in [
        ({"strategy": "mine"}, "strategy must be"),
        ({"resolve": {"x": "both"}}, "must be 'ours' or 'theirs'"),
        ({"resolve": {"not a name": "ours"}}, "not a variable name"),
    ]:
        with pytest.raises(BadInput, match=says):
            repo.merge("HEAD", ns, **kwargs)


def test_the_protocol_previews_then_merges(repo):
    ns = {"x": 1, "model": "base"}
    diverged(repo, ns, ours={"model": "ours"}, theirs={"model": "theirs", "x": 5})
    target = RepoTarget(repo, ns, notebook_path=repo.root / NB)
    from jupyter_mlvc.kernel_protocol import reply

    preview = reply(lambda: target, json.dumps({"op": "merge", "ref": "feature", "preview": True}))
    assert preview["ok"] and preview["result"]["unresolved"] == ["model"]
    assert preview["result"]["theirs"]["branch"] == "feature" and ns["model"] == "ours"
    refused = reply(lambda: target, json.dumps({"op": "merge", "ref": "feature"}))
    assert refused["ok"] is False and refused["error"] == "MergeConflict"

    done = run(target, {"op": "merge", "ref": "feature", "resolve": {"model": "theirs"}})
    assert ns["model"] == "theirs" and done.snapshot.parents[1] == repo.resolve("feature")
    bad = reply(lambda: target, json.dumps({"op": "merge", "ref": "x", "resolve": {"m": "all"}}))
    assert bad["error"] == "BadRequest"


def test_the_protocol_restore_can_drop_skipped_variables(repo):
    ns = {"x": 1, "gen": (i for i in range(3))}
    snap = repo.commit(ns, "with a generator")
    assert "gen" in snap.skipped
    target = RepoTarget(repo, ns, notebook_path=repo.root / NB, save=False)
    report = run(target, {"op": "restore", "ref": snap.id, "skipped": "remove"})
    assert "gen" not in ns and "gen" in report.removed and report.kept == {}


def test_the_text_graph_shows_the_merge(repo):
    ns = {"x": 1, "y": 1}
    base, feature, _ = diverged(repo, ns, ours={"y": 2}, theirs={"x": 2})
    merge = repo.merge("feature", ns).snapshot

    lines = graph_view(repo, None, None, True).lines()

    assert lines[0].startswith(f"*   {merge.short_id} (HEAD, main) Merge feature")
    assert lines[1] == "| \\"
    body = "\n".join(lines)
    assert f"| * {feature.short_id} (feature) feature" in body
    assert lines[-1].startswith(f"* {base.short_id}") and "| /" in body


# -- the magic ---------------------------------------------------------------------------


def mlvc(shell, line: str):
    return shell.run_line_magic("mlvc", line)


def run_cell(shell, code: str):
    result = shell.run_cell(code)
    assert result.success


def test_the_magic_merges_and_draws(shell, capsys):
    run_cell(shell, "x = 1\nmodel = 'base'")
    mlvc(shell, "commit -m base")
    mlvc(shell, "branch feature")
    run_cell(shell, "x = 2\nmodel = 'theirs'")
    mlvc(shell, "commit -m feature")
    mlvc(shell, "checkout main")
    run_cell(shell, "model = 'ours'")
    mlvc(shell, "commit -m mine")
    capsys.readouterr()

    with pytest.raises(UsageError, match=r"conflicts on model \(changed here, changed in theirs\)"):
        mlvc(shell, "merge feature")
    assert shell.user_ns["x"] == 1
    with pytest.raises(UsageError, match="NAME=ours or NAME=theirs"):
        mlvc(shell, "merge feature --take model")
    mlvc(shell, "merge feature --take model=theirs")
    out = capsys.readouterr().out
    assert "Merged" in out and "from theirs: model, x" in out
    assert (shell.user_ns["x"], shell.user_ns["model"]) == (2, "theirs")

    mlvc(shell, "log --graph")
    graph = capsys.readouterr().out
    assert graph.splitlines()[0].startswith("*   ") and "Merge feature" in graph


def test_the_apis_results_display_as_views_in_a_notebook(shell, tmp_path):
    (tmp_path / "p").mkdir()
    repo = Repo.init(tmp_path / "p")
    ns = {"x": 1, "y": 1}
    diverged(repo, ns, ours={"y": 2}, theirs={"x": 2})
    shell.run_line_magic("load_ext", "jupyter_mlvc")
    shell.display_formatter.active_types = ["text/plain", "text/html"]
    data, _ = shell.display_formatter.format(repo.merge("feature", ns))
    assert data["text/plain"].startswith("Merged feature") and "<b>Merged" in data["text/html"]
    found = repo.bisect("HEAD~1", "HEAD", "x == 1")
    data, _ = shell.display_formatter.format(found)
    assert "is the first snapshot where 'x == 1' fails" in data["text/plain"]
