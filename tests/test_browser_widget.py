"""The ipywidgets snapshot browser, driven through its buttons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.browser import CURRENT, SnapshotBrowser

NB = ""  # a session without a notebook file


@pytest.fixture
def project(tmp_path):
    """A store with two snapshots of one namespace, and that namespace as it is now."""
    repo = Repo.init(tmp_path)
    ns = {
        "arr": np.arange(5.0),
        "df": pd.DataFrame({"a": [1, 2, 3]}),
        "params": {"C": 1.0},
    }
    first = repo.commit(
        ns, "first <script>alert(1)</script>", notebook_path=NB, metrics={"acc": 0.8}
    )
    ns["params"] = {"C": 0.1}
    ns["extra"] = "added later"
    second = repo.commit(ns, "second", notebook_path=NB, metrics={"acc": 0.9})
    yield repo, ns, first, second
    repo.close()


def test_lists_the_snapshots_with_metrics_and_selects_head(project):
    repo, ns, first, second = project
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)
    labels = [label for label, _ in browser.snapshots.options]
    assert [value for _, value in browser.snapshots.options] == [second.id, first.id]
    assert labels[0].startswith("● " + second.short_id) and "acc=0.9" in labels[0]
    assert "first <script>" in labels[1]  # a Select shows text, never markup
    assert browser.selected == second.id
    assert [value for _, value in browser.variables.options] == ["arr", "df", "extra", "params"]
    assert "second" in browser.details.value and "acc=0.9" in browser.details.value
    browser.select(first.id)
    assert "&lt;script&gt;" in browser.details.value and "<script>" not in browser.details.value
    assert [value for _, value in browser.variables.options] == ["arr", "df", "params"]


def test_restore_all_button_restores_values_and_removes_later_ones(project):
    repo, ns, first, _ = project
    original_arr = ns["arr"].copy()
    ns["arr"][0] = -1.0
    ns["scratch"] = 123
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)
    browser.select(first.short_id)
    browser.restore_all_button.click()
    np.testing.assert_array_equal(ns["arr"], original_arr)
    assert ns["params"] == {"C": 1.0}
    pd.testing.assert_frame_equal(ns["df"], pd.DataFrame({"a": [1, 2, 3]}))
    assert "scratch" not in ns and "extra" not in ns
    assert "Checked out " + first.short_id in browser.result.value
    assert "Saved the previous state first as" in browser.result.value
    # the auto commit appears in the refreshed list, and the selection stays put
    assert len(browser.snapshots.options) == 3 and browser.selected == first.id
    assert repo.head(NB).id == first.id
    assert repo.load(repo.log(NB)["id"][0], "scratch", NB) == 123


def test_restore_selected_button_restores_only_those(project):
    repo, ns, first, second = project
    ns["arr"] = "overwritten"
    browser = SnapshotBrowser(repo, ns, notebook_path=NB, save=False)
    browser.select(first.id)
    browser.variables.value = ("params",)
    browser.restore_selected_button.click()
    assert ns["params"] == {"C": 1.0}
    assert ns["arr"] == "overwritten" and ns["extra"] == "added later"
    assert repo.head(NB).id == second.id
    assert "restored 1" in browser.result.value and "HEAD did not move" in browser.result.value


def test_restore_selected_without_a_selection_says_so(project):
    repo, ns, *_ = project
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)
    browser.variables.value = ()
    browser.restore_selected_button.click()
    assert "Select one or more variables first." in browser.result.value


def test_compare_button_shows_the_diff_with_the_current_state(project):
    repo, ns, first, _ = project
    ns["params"]["C"] = 5.0
    del ns["df"]
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)
    browser.select(first.id)
    assert browser.compare_with.value == CURRENT
    browser.compare_button.click()
    html = browser.result.value
    assert f"Diff {first.short_id}" in html and "the current state" in html
    assert "variables: 1 added, 1 changed, 1 removed, 1 unchanged" in html
    assert '<tr class="added"><td class="">added</td><td class="">extra</td>' in html
    assert '<tr class="changed"><td class="">changed</td><td class="">params</td>' in html
    assert "changed keys: &#x27;C&#x27;" in html  # how it changed, escaped
    assert '<tr class="removed"><td class="">removed</td><td class="">df</td>' in html
    assert "<script>" not in html  # the first snapshot's message is hostile
    assert ns["params"]["C"] == 5.0  # comparing touches nothing


def test_compare_two_snapshots(project):
    repo, ns, first, second = project
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)
    assert [v for _, v in browser.compare_with.options] == [CURRENT, second.id, first.id]
    browser.select(first.id)
    browser.compare_with.value = second.id
    browser.compare_button.click()
    html = browser.result.value
    assert f"{second.short_id} \u201csecond\u201d" in html
    assert '<td class="">params</td>' in html and "changed keys: &#x27;C&#x27;" in html
    assert '<td class="num">0.8</td><td class="num">0.9</td><td class="num">+0.1</td>' in html
    # the choice survives a refresh, and falls back to the current state when it is gone
    browser.refresh()
    assert browser.compare_with.value == second.id
    repo.commit(ns, "third", notebook_path=NB)
    browser.refresh_button.click()
    assert len(browser.compare_with.options) == 4 and browser.compare_with.value == second.id


def test_compare_with_current_includes_the_notebook(project):
    import nbformat

    repo, ns, *_ = project
    stored = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("C = 1.0")])
    third = repo.commit(ns, "with a notebook", notebook=stored, notebook_path=NB)
    now = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("C = 0.1 <b>")])
    browser = SnapshotBrowser(repo, ns, notebook_path=NB, notebook=lambda: (now, "editor"))
    browser.select(third.id)
    browser.compare_button.click()
    html = browser.result.value
    assert "notebook: " in html and "cell 0 " in html
    assert '<span class="del" style="color:#cf222e;background:#ffebe9">-C = 1.0</span>' in html
    assert (
        '<span class="add" style="color:#1a7f37;background:#e6ffec">+C = 0.1 &lt;b&gt;</span>'
        in html
    )


def test_model_cards_in_the_variable_list_and_details(tmp_path):
    from sklearn.linear_model import LogisticRegression

    repo = Repo.init(tmp_path)
    X = pd.DataFrame({"height": [1.0, 2.0, 3.0, 4.0], "weight": [4.0, 3.0, 2.0, 1.0]})
    model = LogisticRegression(C=0.25).fit(X, [0, 0, 1, 1])
    repo.commit({"model": model, "X": X}, "a model", notebook_path=NB)
    browser = SnapshotBrowser(repo, {}, notebook_path=NB)
    labels = dict((v, label) for label, v in browser.variables.options)
    assert (
        "LogisticRegression (scikit-learn" in labels["model"]
        and "fitted, 2 features" in labels["model"]
    )
    assert "C=0.25" in browser.models.value and "height, weight" in browser.models.value
    plain = repo.commit({"X": X}, "no model", notebook_path=NB)
    browser.refresh()
    browser.select(plain.id)
    assert browser.models.value == ""


def test_errors_in_callbacks_are_shown_in_the_widget(project, monkeypatch):
    repo, ns, *_ = project
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire <b>")

    monkeypatch.setattr(repo, "restore", broken)
    browser.restore_all_button.click()
    assert "RuntimeError: disk on fire &lt;b&gt;" in browser.result.value
    assert "Traceback" in browser.result.value


def test_user_errors_are_one_line_in_the_widget(project, other_key):
    repo, ns, first, _ = project
    other_key()  # the snapshots now look like someone else's
    repo = Repo.open(repo.root)
    browser = SnapshotBrowser(repo, ns, notebook_path=NB)
    browser.select(first.id)
    browser.restore_all_button.click()
    assert "not signed with your key" in browser.result.value
    assert "Traceback" not in browser.result.value
    assert ns["params"] == {"C": 0.1}


def test_empty_store(tmp_path):
    repo = Repo.init(tmp_path)
    browser = SnapshotBrowser(repo, {}, notebook_path=NB)
    assert browser.snapshots.options == ()
    assert "No snapshots yet" in browser.details.value
    browser.restore_all_button.click()
    assert "Select a snapshot first." in browser.result.value


def test_browse_magic_displays_the_browser(shell):
    displayed = []
    shell.display_pub.publish = lambda data, **kw: displayed.append(data)
    assert shell.run_cell("x = 1\n%mlvc commit -m one\n%mlvc browse", store_history=True).success
    assert any("application/vnd.jupyter.widget-view+json" in d for d in displayed)
    magics = shell.magics_manager.registry["MlvcMagics"]
    browser = magics.browser()
    shell.user_ns["x"] = 2
    browser.restore_all_button.click()
    assert shell.user_ns["x"] == 1
