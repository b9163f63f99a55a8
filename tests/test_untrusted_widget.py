"""A store copied from another user, with a planted pickle, through the ipywidgets browser.

The magics, the core and the command line are attacked in test_hardening.py, the
JupyterLab sidebar in tests/browser/test_hardening_sidebar.py.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_mlvc import Repo
from jupyter_mlvc.browser import SnapshotBrowser

NB = ""  # a session without a notebook file


class Planted:
    """Unpickling this opens (creates) a file: what a hostile store would plant."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_restore_buttons_refuse_a_planted_pickle(tmp_path, other_key):
    marker = tmp_path / "pwned"
    with Repo.init(tmp_path) as repo:
        planted = repo.commit(
            {"evil": Planted(str(marker)), "fine": 1}, "planted", notebook_path=NB
        )
    other_key()  # from here on, another user (another key) opens the store

    namespace = {"fine": 2}
    with Repo.open(tmp_path) as repo:
        browser = SnapshotBrowser(repo, namespace, notebook_path=NB, save=False)
        assert browser.selected == planted.id
        assert [name for _, name in browser.variables.options] == ["evil", "fine"]

        browser.restore_all_button.click()
        error = browser.result.value
        assert "not signed with your key" in error and "%mlvc trust" in error
        assert "#cf222e" in error and "Traceback" not in error

        browser.result.value = ""
        browser.variables.value = ("evil",)
        browser.restore_selected_button.click()
        assert "not signed with your key" in browser.result.value

        # Comparing with the current state loads nothing it may not trust either.
        browser.compare_button.click()
        assert not marker.exists()
        assert namespace == {"fine": 2}
        assert repo.head(NB).id == planted.id

        # Saving first (the default) does not let it through either.
        browser.save = True
        browser.restore_all_button.click()
        assert "not signed with your key" in browser.result.value

    assert not marker.exists()
    assert namespace == {"fine": 2}


def test_a_planted_variable_name_is_refused_by_the_restore_button(tmp_path):
    """The browser restores through the kernel protocol: a name must be an identifier."""
    import sqlite3

    hostile = '{__import__("pathlib").Path("PWNED").touch()}'
    with Repo.init(tmp_path) as repo:
        snap = repo.commit({"fine": 1, "planted": 2}, "planted", notebook_path=NB)
    db = sqlite3.connect(tmp_path / ".mlvc" / "index.sqlite")
    with db:
        db.execute(
            "update variables set name = ? where snapshot = ? and name = 'planted'",
            [hostile, snap.id],
        )
    db.close()

    namespace = {"fine": 2}
    with Repo.open(tmp_path) as repo:
        browser = SnapshotBrowser(repo, namespace, notebook_path=NB, save=False)
        assert hostile in [name for _, name in browser.variables.options]
        browser.variables.value = ("fine", hostile)
        browser.restore_selected_button.click()
        assert "is not a variable name" in browser.result.value
        assert "Traceback" not in browser.result.value
    assert namespace == {"fine": 2}
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
