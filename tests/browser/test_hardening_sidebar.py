"""The sidebar against an untrusted store, and a notebook renamed while its kernel runs."""

from __future__ import annotations

import sqlite3

import nbformat
import pytest
from playwright.sync_api import Page, expect

from jupyter_mlvc import Repo

from .conftest import Lab
from .test_sidebar import (
    IDLE,
    cells,
    compare_first_and_last,
    images_settled,
    items,
    open_notebook,
    open_sidebar,
    run_cell,
)

pytestmark = pytest.mark.browser


class Planted:
    """Unpickling this opens (creates) a file: what a hostile store would plant."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_untrusted_snapshot_is_not_restored_from_the_sidebar(lab: Lab, page: Page):
    marker = lab.root / "pwned"
    notebook = lab.root / "planted.ipynb"
    # The store comes from another user: this test process signs with another key
    # (its own JUPYTER_DATA_DIR) than the lab and its kernels.
    with Repo.init(lab.root) as repo:
        repo.commit({"evil": Planted(str(marker)), "fine": 1}, "planted", notebook_path=notebook)

    open_notebook(lab, page, "planted.ipynb")
    run_cell(page, "fine = 2")
    open_sidebar(page)
    expect(items(page)).to_have_count(1)
    item = items(page).first
    expect(item.locator(".jp-mlvc-untrusted")).to_be_visible()
    item.locator(".jp-mlvc-message").click()
    details = page.locator("#jp-mlvc-sidebar .jp-mlvc-details")
    expect(details.locator('tr[data-name="evil"]')).to_be_visible()

    error = page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-error")
    details.get_by_role("button", name="Restore all variables").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    expect(error).to_contain_text("Restore failed")
    expect(error).to_contain_text("not signed with your key")
    expect(error).to_contain_text("%mlvc trust")

    # Only the planted variable, chosen on its own: refused the same way.
    page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-error .jp-mlvc-link").click()
    details.get_by_label("Choose evil").check()
    details.get_by_role("button", name="Restore 1 chosen").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    expect(error).to_contain_text("not signed with your key")

    assert not marker.exists()
    assert run_cell(page, "print('evil' in globals(), fine)").strip() == "False 2"
    assert not marker.exists()
    assert not page.errors  # type: ignore[attr-defined]


#: A variable "name" that runs code once a frontend composes it into a %mlvc line.
HOSTILE_NAME = '{__import__("pathlib").Path("PWNED").touch()}'


def hostile_notebook(version: str) -> nbformat.NotebookNode:
    """A notebook whose outputs run script when rendered trusted, and which says it is."""
    html = nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": f'<img src=x onerror="window.__pwned=1"> html {version}',
            "text/plain": f"html {version}",
        },
    )
    script = nbformat.v4.new_output(
        "display_data",
        data={"application/javascript": "window.__pwned2 = 1", "text/plain": f"js {version}"},
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("show()", outputs=[html], execution_count=1),
            nbformat.v4.new_code_cell("run()", outputs=[script], execution_count=2),
        ],
        metadata={"trusted": True},
    )
    for cell in nb.cells:
        cell.metadata["trusted"] = True
    return nb


def assert_nothing_ran(page: Page) -> None:
    images_settled(page)
    expect(page.locator("img[onerror]")).to_have_count(0)
    assert page.evaluate("[window.__pwned, window.__pwned2]") == [None, None]


def test_outputs_of_an_untrusted_notebook_never_run(lab: Lab, page: Page):
    notebook = lab.root / "pulled.ipynb"
    # Made with another key (this test process's), as a pulled store would be.
    with Repo.init(lab.root) as repo:
        for version in ("v1", "v2"):
            repo.commit({"n": version}, version, hostile_notebook(version), notebook)

    open_notebook(lab, page, "pulled.ipynb")
    open_sidebar(page)
    expect(items(page).locator(".jp-mlvc-untrusted")).to_have_count(2)
    details = page.locator("#jp-mlvc-sidebar .jp-mlvc-details")

    # View: read-only, and untrusted. The script output falls back to its text.
    items(page).filter(has_text="v2").locator(".jp-mlvc-message").click()
    details.get_by_role("button", name="View notebook").click()
    viewer = page.locator(".jp-mlvc-viewer")
    expect(viewer.locator(".jp-OutputArea-output")).to_have_count(2)
    expect(viewer.locator(".jp-OutputArea-output").last).to_have_text("js v2")
    expect(viewer.locator(".jp-RenderedHTMLCommon img")).to_have_count(1)
    assert_nothing_ran(page)

    # Compare: nbdime renders outputs untrusted, and its Trust buttons are taken away.
    tab = compare_first_and_last(page)
    expect(tab.locator(".jp-mlvc-compare-notebook.jp-mlvc-rendered")).to_be_attached()
    expect(tab.locator(".jp-mlvc-compare-notebook")).to_contain_text("js v2")
    trust = tab.locator(".jp-Diff-trustOutputButton")
    expect(trust).not_to_have_count(0)
    expect(tab.locator(".jp-Diff-trustOutputButton:visible")).to_have_count(0)
    expect(tab.locator(".jp-Diff-trustOutputButton:not([disabled])")).to_have_count(0)
    # Not even a script's click gets through a disabled button.
    page.evaluate("document.querySelectorAll('.jp-Diff-trustOutputButton').forEach(b => b.click())")
    expect(tab.locator(".jp-mlvc-compare-notebook .jp-RenderedHTMLCommon img")).not_to_have_count(0)
    assert_nothing_ran(page)

    # Restore: the editor gets the notebook with every cell untrusted.
    page.get_by_role("tab", name="pulled.ipynb", exact=True).click()
    details.get_by_role("button", name="Restore notebook").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    notice = page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-info")
    expect(notice).to_contain_text("Notebook restored")
    expect(notice).to_contain_text("its outputs are shown untrusted")
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(editor.locator(".jp-OutputArea-output")).to_have_count(2)
    expect(editor.locator(".jp-OutputArea-output").last).to_have_text("js v2")
    assert_nothing_ran(page)

    # Saving it does not sign it: opened again, it is still untrusted.
    cells(page).first.locator(".jp-InputPrompt").click()
    page.keyboard.press("ControlOrMeta+s")
    expect(page.locator(".lm-DockPanel-tabBar .jp-mod-dirty")).to_have_count(0)
    saved = lab.api("/api/contents/pulled.ipynb", content="1")
    code = [c for c in saved["content"]["cells"] if c["cell_type"] == "code"]  # type: ignore[index]
    assert [c["source"] for c in code] == ["show()", "run()"]
    assert [c["metadata"]["trusted"] for c in code] == [False, False]
    assert not page.errors  # type: ignore[attr-defined]


def test_a_planted_variable_name_never_runs(lab: Lab, page: Page):
    marker = lab.root / "PWNED"
    notebook = lab.root / "injected.ipynb"
    with Repo.init(lab.root) as repo:
        snap = repo.commit({"fine": 1, "planted": 2}, "planted name", notebook_path=notebook)
    # Commits and pulls keep to identifiers; a store can still be edited by hand.
    db = sqlite3.connect(lab.root / ".mlvc" / "index.sqlite")
    with db:
        db.execute(
            "update variables set name = ? where snapshot = ? and name = 'planted'",
            [HOSTILE_NAME, snap.id],
        )
    db.close()

    open_notebook(lab, page, "injected.ipynb")
    open_sidebar(page)
    items(page).first.locator(".jp-mlvc-message").click()
    details = page.locator("#jp-mlvc-sidebar .jp-mlvc-details")
    expect(details.get_by_label(f"Choose {HOSTILE_NAME}")).to_be_visible()
    error = page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-error")

    def restore_everything_chosen() -> None:
        details.get_by_label("Choose all variables").check()
        details.get_by_role("button", name="Restore 2 chosen").click()
        page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
        expect(error).to_contain_text("Restore failed")
        expect(error).to_contain_text("is not a variable name")

    # The reply has come back: whatever the kernel was going to run has run.
    restore_everything_chosen()
    assert not marker.exists()

    # Trusting the snapshot changes nothing: a name is never code.
    run_cell(page, f"%load_ext jupyter_mlvc\n%mlvc trust {snap.id[:12]}")
    error.locator(".jp-mlvc-link").click()
    restore_everything_chosen()
    assert not marker.exists()
    assert not page.errors  # type: ignore[attr-defined]


def rename_notebook(page: Page, new_name: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Rename Notebook…", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill(new_name)
    dialog.get_by_role("button", name="Rename").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    expect(
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    ).to_have_text(new_name)


def test_commits_follow_a_renamed_notebook(lab: Lab, page: Page):
    open_notebook(lab, page, "before.ipynb")
    run_cell(page, "%load_ext jupyter_mlvc\nx = 1")
    assert "Committed" in run_cell(page, "%mlvc commit -m one")

    rename_notebook(page, "after.ipynb")
    page.wait_for_selector(IDLE)
    assert "Committed" in run_cell(page, "x = 2\n%mlvc commit -m two")
    assert run_cell(page, "print(__session__)").strip().endswith("/after.ipynb")

    after = lab.api("/mlvc/api/snapshots", path="after.ipynb")
    assert [s["message"] for s in after["snapshots"]] == ["two"]  # type: ignore[index]
    assert after["snapshots"][0]["notebook_path"] == "after.ipynb"  # type: ignore[index]
    before = lab.api("/mlvc/api/snapshots", path="before.ipynb")
    assert [s["message"] for s in before["snapshots"]] == ["one"]  # type: ignore[index]

    # The sidebar follows the new name, and the silent update left no trace in the notebook.
    open_sidebar(page)
    expect(items(page).locator(".jp-mlvc-message")).to_have_text(["two"])
    expect(cells(page)).to_have_count(5)
    prompts = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputArea-prompt")
    expect(prompts.nth(3)).to_have_text("[4]:")

    # After a restart the kernel is told again (the server updated its session too).
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Restart Kernel…", exact=True).click()
    page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()
    page.wait_for_selector(IDLE)
    out = run_cell(page, "%load_ext jupyter_mlvc\nx = 3\n%mlvc commit -m three")
    assert "Committed" in out
    after = lab.api("/mlvc/api/snapshots", path="after.ipynb")
    assert [s["message"] for s in after["snapshots"]] == ["three", "two"]  # type: ignore[index]
    assert not page.errors  # type: ignore[attr-defined]
