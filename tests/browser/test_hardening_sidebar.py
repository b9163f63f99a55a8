"""The sidebar against an untrusted store, and a notebook renamed while its kernel runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from jupyter_mlvc import Repo

from .conftest import Lab
from .test_sidebar import IDLE, cells, items, open_notebook, open_sidebar, run_cell

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
