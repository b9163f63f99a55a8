"""The sidebar end to end: a real JupyterLab, a real kernel, a real Chromium."""

from __future__ import annotations

import re

import nbformat
import pytest
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, Lab

pytestmark = pytest.mark.browser

SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="jp-mlvc-sidebar"]'
IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'


def open_notebook(lab: Lab, page: Page, name: str, cells: list | None = None) -> None:
    """Write a notebook (``cells``, then an empty code cell) and open it; wait for its kernel."""
    nb = nbformat.v4.new_notebook(cells=[*(cells or []), nbformat.v4.new_code_cell("")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / name)
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel")
    # A code cell: a rendered markdown cell keeps its editor hidden.
    page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell .cm-content")
    expect(page.locator(".jp-NotebookPanel .jp-Toolbar-kernelName")).to_contain_text(
        "Python", timeout=60_000
    )
    page.wait_for_selector(IDLE, timeout=60_000)


def cells(page: Page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def type_in_last_cell(page: Page, code: str) -> None:
    editor = cells(page).last.locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(code)


def run_cell(page: Page, code: str) -> str:
    """Type ``code`` into the last cell, run it, wait for it to finish; its output text."""
    index = cells(page).count() - 1
    type_in_last_cell(page, code)
    page.keyboard.press("Shift+Enter")
    cell = cells(page).nth(index)
    expect(cell.locator(".jp-InputArea-prompt")).to_have_text(
        re.compile(r"\[\d+\]"), timeout=60_000
    )
    outputs = cell.locator(".jp-OutputArea-output")
    return "\n".join(outputs.all_inner_texts())


def open_sidebar(page: Page) -> None:
    page.click(SIDEBAR_TAB)
    expect(page.locator("#jp-mlvc-sidebar")).to_be_visible()


def items(page: Page):
    return page.locator("#jp-mlvc-sidebar .jp-mlvc-item")


def images_settled(page: Page) -> None:
    """Wait until every image in the page has loaded or failed.

    A failed image fires its ``error`` event in the task that marks it complete,
    so after this an ``onerror`` handler that was going to run has run.
    """
    page.wait_for_function("() => [...document.images].every(image => image.complete)")


def commit_from_sidebar(page: Page, message: str) -> None:
    """Commit with the sidebar's button (the panel must be open); wait until it is done."""
    page.locator("#jp-mlvc-sidebar").get_by_role("button", name="Commit", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill(message)
    dialog.get_by_role("button", name="Commit").click()
    expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-info")).to_contain_text("Committed")


def test_restore_one_variable_from_the_sidebar(lab: Lab, page: Page):
    open_notebook(lab, page, "analysis.ipynb")
    run_cell(page, '%load_ext jupyter_mlvc\nx = 1\ny = "first"')
    assert "Committed" in run_cell(page, "%mlvc commit -m one")
    run_cell(page, 'x = 2\ny = "second"')
    assert "Committed" in run_cell(page, "%mlvc commit -m two")

    open_sidebar(page)
    expect(items(page)).to_have_count(2)
    expect(items(page).locator(".jp-mlvc-message")).to_have_text(["two", "one"])
    expect(items(page).first.locator(".jp-mlvc-badge.jp-mlvc-head")).to_have_text("HEAD")

    # A commit from a cell shows up by itself, without pressing Refresh.
    run_cell(page, "z = [1, 2, 3]\n%mlvc commit -m three --metric acc=0.91\n%mlvc tag best")
    expect(items(page).locator(".jp-mlvc-message")).to_have_text(
        ["three", "two", "one"], timeout=5_000
    )
    expect(items(page).first.locator(".jp-mlvc-tag")).to_have_text("best")
    expect(items(page).first.locator(".jp-mlvc-metric")).to_have_text("acc 0.91")

    items(page).filter(has_text="one").click()
    details = page.locator("#jp-mlvc-sidebar .jp-mlvc-details")
    expect(details.locator('tr[data-name="x"] .jp-mlvc-summary')).to_contain_text("1")
    expect(details.locator('tr[data-name="y"]')).to_contain_text("first")
    expect(details.locator('tr[data-name="z"]')).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#jp-mlvc-sidebar").screenshot(path=str(ARTIFACTS / "sidebar.png"))
    page.screenshot(path=str(ARTIFACTS / "lab.png"))

    details.get_by_label("Choose x").check()
    details.get_by_role("button", name="Restore 1 chosen").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    notice = page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-info")
    expect(notice).to_contain_text("Kernel state restored")
    expect(notice).to_contain_text("restored: x")

    # Only x came back; y and z were left as they were.
    assert run_cell(page, "print(x, y, z)").strip() == "1 second [1, 2, 3]"

    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).hover()
    page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
    page.wait_for_selector('body[data-jp-theme-light="false"]', state="attached")
    page.wait_for_timeout(500)
    page.locator("#jp-mlvc-sidebar").screenshot(path=str(ARTIFACTS / "sidebar-dark.png"))
    assert not page.errors  # type: ignore[attr-defined]


def test_commit_button_stores_unsaved_edits(lab: Lab, page: Page):
    open_notebook(lab, page, "draft.ipynb")
    run_cell(page, "w = 41 + 1")
    # An edit that is neither run nor saved.
    type_in_last_cell(page, "# unsaved edit 7f3a")
    expect(page.locator(".jp-mod-dirty")).not_to_have_count(0)

    open_sidebar(page)
    expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-first")).to_contain_text("%mlvc commit")
    message = 'from the button <img src=x onerror="window.__xss=1">'
    commit_from_sidebar(page, message)

    expect(items(page)).to_have_count(1)
    item = items(page).first
    expect(item.locator(".jp-mlvc-message")).to_have_text(message)
    expect(page.locator("#jp-mlvc-sidebar img")).to_have_count(0)
    assert page.evaluate("window.__xss") is None

    # The keyboard shortcut opens the same dialog.
    cells(page).last.locator(".cm-content").click()
    page.keyboard.press("Control+Alt+s")
    expect(page.locator(".jp-Dialog")).to_contain_text("Commit a snapshot")
    page.keyboard.press("Escape")
    expect(page.locator(".jp-Dialog")).to_have_count(0)

    # The snapshot's notebook is the editor's, not the file on disk.
    listing = lab.api("/mlvc/api/snapshots", path="draft.ipynb")
    snap = listing["snapshots"][0]  # type: ignore[index]
    assert snap["message"] == message and snap["notebook_source"] == "editor"
    nb = lab.api(f"/mlvc/api/snapshots/{snap['id']}/notebook", path="draft.ipynb")
    sources = [cell["source"] for cell in nb["cells"]]  # type: ignore[index]
    assert "# unsaved edit 7f3a" in sources
    assert "unsaved edit" not in (lab.root / "draft.ipynb").read_text()
    detail = lab.api(f"/mlvc/api/snapshots/{snap['id']}", path="draft.ipynb")
    assert detail["variables"]["w"]["summary"]["repr"] == "42"  # type: ignore[index]
    assert not page.errors  # type: ignore[attr-defined]


def test_restore_notebook_and_view_a_snapshot(lab: Lab, page: Page):
    open_notebook(lab, page, "story.ipynb")
    run_cell(page, "a = 'kept'  # first draft")
    # The snapshot holds the editor as it is when the commit runs. The sidebar's
    # Commit hands the editor over before the kernel commits, so that is known
    # here: the cell that ran and the empty one JupyterLab added below it.
    open_sidebar(page)
    commit_from_sidebar(page, "first draft")
    type_in_last_cell(page, "# second draft only")
    expect(items(page)).to_have_count(1)
    committed = lab.api("/mlvc/api/snapshots", path="story.ipynb")["snapshots"][0]  # type: ignore[index]
    stored = lab.api(f"/mlvc/api/snapshots/{committed['id']}/notebook", path="story.ipynb")
    assert [c["source"] for c in stored["cells"]] == ["a = 'kept'  # first draft", ""]  # type: ignore[index]

    items(page).filter(has_text="first draft").click()
    details = page.locator("#jp-mlvc-sidebar .jp-mlvc-details")

    # Read-only view of the snapshot's notebook in the main area.
    details.get_by_role("button", name="View notebook").click()
    viewer = page.locator(".jp-mlvc-viewer")
    expect(viewer.locator(".jp-Cell").first).to_contain_text("first draft")
    expect(viewer.locator(".jp-Cell")).to_have_count(2)
    source = viewer.locator(".cm-content").first
    expect(source).to_have_attribute("aria-readonly", "true")
    source.click()
    page.keyboard.type("typed")
    expect(source).not_to_contain_text("typed")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="story.ipynb").first.click()

    details.get_by_role("button", name="Restore notebook").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-notice-info")).to_contain_text(
        "Notebook restored"
    )
    # The editor holds the snapshot's content; the draft is in the new snapshot.
    expect(cells(page)).to_have_count(2)
    expect(cells(page).first).to_contain_text("a = 'kept'  # first draft")
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")).not_to_contain_text(
        "second draft only"
    )
    expect(items(page).first).to_contain_text("before restoring the notebook")
    listing = lab.api("/mlvc/api/snapshots", path="story.ipynb")
    saved = listing["snapshots"][0]  # type: ignore[index]
    nb = lab.api(f"/mlvc/api/snapshots/{saved['id']}/notebook", path="story.ipynb")
    assert "# second draft only" in [c["source"] for c in nb["cells"]]  # type: ignore[index]
    assert not page.errors  # type: ignore[attr-defined]


def compare_tab(page: Page, title: str = r"Compare [0-9a-f]{8} ↔ [0-9a-f]{8}"):
    """The comparison tab whose title matches ``title`` (a regular expression), once open."""
    tab = page.get_by_role("tab", name=re.compile(f"^{title}$"))
    expect(tab).to_be_visible()
    return page.locator(f"#{tab.get_attribute('data-id')}")


def compare_first_and_last(page: Page):
    """Tick the newest and the oldest snapshot, press Compare: the tab that opens."""
    for item in (items(page).first, items(page).last):
        item.get_by_role("checkbox").check()
    page.locator("#jp-mlvc-sidebar .jp-mlvc-compare-bar").get_by_role(
        "button", name=re.compile("^Compare ")
    ).click()
    return compare_tab(page)


def test_compare_two_snapshots_and_the_current_state(lab: Lab, page: Page):
    open_notebook(lab, page, "tune.ipynb")
    run_cell(page, "%load_ext jupyter_mlvc\nlr = 0.1\nepochs = 3")
    assert "Committed" in run_cell(page, "%mlvc commit -m one --metric acc=0.5")
    # Edit the first cell's source and run it again, then commit from the last cell.
    first = cells(page).first.locator(".cm-content")
    first.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text("%load_ext jupyter_mlvc\nlr = 0.025  # tuned 9c4e\nepochs = 3")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(IDLE)
    assert "Committed" in run_cell(page, "%mlvc commit -m two --metric acc=0.75")

    open_sidebar(page)
    expect(items(page)).to_have_count(2)
    items(page).filter(has_text="one").get_by_role("checkbox").check()
    items(page).filter(has_text="two").get_by_role("checkbox").check()
    bar = page.locator("#jp-mlvc-sidebar .jp-mlvc-compare-bar")
    bar.get_by_role("button", name=re.compile(r"^Compare [0-9a-f]{8} ↔ [0-9a-f]{8}$")).click()

    tab = compare_tab(page)
    lr = tab.locator('.jp-mlvc-compare-variables tr[data-name="lr"]')
    expect(lr).to_contain_text("changed", timeout=30_000)
    expect(lr).to_contain_text("0.1 → 0.025")
    expect(tab.locator(".jp-mlvc-compare-variables tr")).to_have_count(2)  # header + lr
    expect(tab.locator('.jp-mlvc-compare-metrics tr[data-name="acc"]')).to_contain_text("+0.25")
    # nbdime draws the edited cell, old and new source side by side.
    notebook = tab.locator(".jp-mlvc-compare-notebook")
    expect(notebook.locator(".jp-Cell-diff").first).to_be_visible()
    expect(notebook).to_contain_text("lr = 0.025  # tuned 9c4e")
    expect(notebook).to_contain_text("lr = 0.1")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare.png"))

    # The current state: variables from the kernel, the notebook from the editor.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="tune.ipynb").click()
    run_cell(page, "lr = 1.5\nextra = [1, 2]")
    type_in_last_cell(page, "# not run yet 5d1f")
    items(page).filter(has_text="two").locator(".jp-mlvc-message").click()
    details = page.locator("#jp-mlvc-sidebar .jp-mlvc-details")
    details.get_by_role("button", name="Compare with current").click()
    tab = compare_tab(page, r"Compare [0-9a-f]{8} ↔ current")
    # The kernel imports the helper the first time: allow for a slow, shared machine.
    expect(tab.locator('tr[data-name="lr"]')).to_contain_text("0.025 → 1.5", timeout=30_000)
    expect(tab.locator('tr[data-name="extra"]')).to_contain_text("added")
    expect(tab.locator(".jp-mlvc-compare-notebook")).to_contain_text("# not run yet 5d1f")
    page.screenshot(path=str(ARTIFACTS / "compare-current.png"))
    # Nothing of this reached the notebook: the kernel ran it silently.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="tune.ipynb").click()
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")).not_to_contain_text("mlvc-diff")

    # Restoring "one" saves the current state first: an automatic snapshot.
    items(page).filter(has_text="one").locator(".jp-mlvc-message").click()
    details.get_by_role("button", name="Restore all variables").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    expect(items(page)).to_have_count(3)
    expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-item.jp-mlvc-auto")).to_have_count(1)
    toggle = page.locator("#jp-mlvc-sidebar").get_by_label("auto", exact=True)
    toggle.uncheck()
    expect(items(page).locator(".jp-mlvc-message")).to_have_text(["two", "one"])
    # The choice is kept in the settings, for the next session.
    for _ in range(20):
        raw = lab.api("/lab/api/settings/jupyter-mlvc:plugin")["raw"]  # type: ignore[index]
        if '"showAutoSnapshots": false' in raw:
            break
        page.wait_for_timeout(250)
    assert '"showAutoSnapshots": false' in raw
    toggle.check()
    expect(items(page)).to_have_count(3)
    assert not page.errors  # type: ignore[attr-defined]


def test_hostile_message_and_notebook_stay_inert(lab: Lab, page: Page):
    payload = '<img src=x onerror="window.__pwned=1">'
    html_output = nbformat.v4.new_output(
        "display_data", data={"text/html": payload + " shown", "text/plain": "shown"}
    )
    open_notebook(
        lab,
        page,
        "hostile.ipynb",
        [
            nbformat.v4.new_markdown_cell(payload + " notes"),
            nbformat.v4.new_code_cell("show()", outputs=[html_output], execution_count=1),
        ],
    )
    run_cell(page, "%load_ext jupyter_mlvc\nv = 1\n%mlvc commit -m first")
    assert "Committed" in run_cell(page, f"v = 2\n%mlvc commit -m '{payload}'")

    open_sidebar(page)
    expect(items(page)).to_have_count(2)
    hostile = items(page).first
    expect(hostile.locator(".jp-mlvc-message")).to_have_text(payload)
    hostile.locator(".jp-mlvc-message").click()
    expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-details-title")).to_have_text(payload)
    expect(page.locator("#jp-mlvc-sidebar img")).to_have_count(0)

    tab = compare_first_and_last(page)
    expect(tab.locator(".jp-mlvc-side-message").last).to_have_text(payload)
    expect(tab.locator('tr[data-name="v"]')).to_contain_text("1 → 2")
    # Show the unchanged cells too: the markdown and the HTML output are drawn by nbdime.
    tab.get_by_label("Hide unchanged cells").uncheck()
    expect(tab.locator(".jp-mlvc-compare-notebook")).to_contain_text("notes")
    # The sanitized HTML output: the image is there, its handler is not.
    expect(tab.locator(".jp-mlvc-compare-notebook .jp-RenderedHTMLCommon img")).not_to_have_count(0)
    images_settled(page)
    page.screenshot(path=str(ARTIFACTS / "compare-hostile.png"))
    expect(tab.locator("img[onerror]")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
    assert not page.errors  # type: ignore[attr-defined]
