"""The commit graph, merging a branch from the sidebar, and restoring without what a
snapshot could not save: a real JupyterLab, a real kernel, a real Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..big_store import build_big_store
from .conftest import ARTIFACTS, Lab
from .test_sidebar import cells, items, open_notebook, open_sidebar, run_cell

pytestmark = pytest.mark.browser

SIDEBAR = "#jp-mlvc-sidebar"
GRAPH = f"{SIDEBAR} .jp-mlvc-graph"


def graph_rows(page: Page):
    return page.locator(f"{GRAPH} .jp-mlvc-graph-row")


def show_graph(page: Page) -> None:
    page.locator(SIDEBAR).get_by_role("button", name="Graph", exact=True).click()
    expect(page.locator(GRAPH)).to_be_visible()


def run_in_new_cell(page: Page, code: str) -> str:
    """Add a code cell at the end of the notebook, run ``code`` in it: its output text.

    After a merge the editor holds the merged notebook, whose last cell may be
    anything (markdown, conflict markers): a new cell is the one place to type.
    """
    last = cells(page).last
    last.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    index = cells(page).count() - 1
    cell = cells(page).nth(index)
    expect(cell).to_have_class(re.compile(r"\bjp-CodeCell\b"))
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=60_000)
    return "\n".join(cell.locator(".jp-OutputArea-output").all_inner_texts())


def ids_by_message(lab: Lab, notebook: str) -> dict[str, str]:
    listing = lab.api("/mlvc/api/snapshots", path=notebook)
    return {s["message"]: s["id"] for s in listing["snapshots"]}  # type: ignore[index]


def test_merge_a_branch_from_the_graph(lab: Lab, page: Page):
    open_notebook(lab, page, "merge.ipynb")
    run_cell(page, "%load_ext jupyter_mlvc\nx = 1\ny = 1\nz = 1\n%mlvc commit -m base")
    # feature changes x and z; main changes x: x conflicts, z comes from feature.
    out = run_cell(page, '%mlvc branch feature\nx = 2\nz = 2\n%mlvc commit -m "feature work"')
    assert "Committed" in out
    run_cell(page, "%mlvc checkout main")
    assert "Committed" in run_cell(page, 'x = 3\n%mlvc commit -m "main work"')
    ids = ids_by_message(lab, "merge.ipynb")

    open_sidebar(page)
    show_graph(page)
    expect(graph_rows(page)).to_have_count(3)
    expect(graph_rows(page).locator(".jp-mlvc-message")).to_have_text(
        ["main work", "feature work", "base"]
    )
    # The fork: both branches leave base, each in its own lane; main keeps the first.
    base = graph_rows(page).filter(has_text="base")
    expect(base).to_have_attribute("data-fork", "true")
    main = page.locator(f'{GRAPH} .jp-mlvc-graph-row[data-id="{ids["main work"]}"]')
    feature = page.locator(f'{GRAPH} .jp-mlvc-graph-row[data-id="{ids["feature work"]}"]')
    expect(main).to_have_attribute("data-lane", "0")
    expect(feature).to_have_attribute("data-lane", "1")
    expect(main).to_have_attribute("data-head", "true")
    expect(feature.locator(".jp-mlvc-branch")).to_have_text("feature")

    # Selecting a node selects the snapshot: its details, with the merge offered.
    feature.click()
    details = page.locator(f"{SIDEBAR} .jp-mlvc-details")
    expect(details.locator(".jp-mlvc-details-title")).to_have_text("feature work")
    details.get_by_role("button", name="Merge into current…").click()

    panel = page.locator(f"{SIDEBAR} .jp-mlvc-merge")
    # The kernel works out the preview (the first merge imports nbdime): allow for a slow machine.
    expect(panel).to_contain_text("Merge feature into main", timeout=60_000)
    expect(panel.locator('[data-list="from feature"]')).to_contain_text("z")
    conflict = panel.locator('.jp-mlvc-merge-conflicts tr[data-names="x"]')
    expect(conflict).to_be_visible()
    expect(panel.locator(".jp-mlvc-merge-conflicts tbody tr")).to_have_count(1)
    merge = panel.get_by_role("button", name="Merge", exact=True)
    expect(merge).to_be_disabled()  # the conflict is not decided yet
    conflict.get_by_label("Keep theirs for x").check()
    expect(merge).to_be_enabled()
    merge.click()

    notice = page.locator(f"{SIDEBAR} .jp-mlvc-notice-info")
    expect(notice).to_contain_text("Merged", timeout=60_000)
    expect(notice).to_contain_text("from theirs: x, z")
    expect(notice).to_contain_text("conflicts resolved: x (theirs)")
    expect(panel).to_have_count(0)

    # The kernel holds the chosen side for the conflict, theirs for the one-sided change.
    assert run_in_new_cell(page, "print(x, y, z)").strip() == "2 1 2"

    # The merge node, with its two parents, first parent first, and an edge to each.
    expect(graph_rows(page)).to_have_count(4)
    top = graph_rows(page).first
    expect(top).to_have_attribute("data-merge", "true")
    expect(top).to_have_attribute("data-head", "true")
    expect(top).to_have_attribute("data-parents", f"{ids['main work']} {ids['feature work']}")
    merge_id = top.get_attribute("data-id")
    edges = page.locator(f'{GRAPH} .jp-mlvc-graph-edge[data-from="{merge_id}"]')
    expect(edges).to_have_count(2)
    assert {edges.nth(i).get_attribute("data-to") for i in range(2)} == {
        ids["main work"],
        ids["feature work"],
    }
    stored = lab.api(f"/mlvc/api/snapshots/{merge_id}", path="merge.ipynb")
    assert stored["parents"] == [ids["main work"], ids["feature work"]]  # type: ignore[index]
    assert stored["variables"]["x"]["summary"]["repr"] == "2"  # type: ignore[index]
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(SIDEBAR).screenshot(path=str(ARTIFACTS / "sidebar-graph.png"))
    assert not page.errors  # type: ignore[attr-defined]


def test_graph_of_2000_snapshots_draws_only_the_rows_in_view(lab: Lab, page: Page):
    n = 2_000
    build_big_store(lab.root, n)
    open_notebook(lab, page, "big.ipynb")
    open_sidebar(page)
    show_graph(page)
    graph = page.locator(GRAPH)
    expect(graph).to_have_attribute("aria-rowcount", str(n))
    expect(graph_rows(page).first.locator(".jp-mlvc-message")).to_have_text(f"step {n - 1}")
    in_dom = graph_rows(page).count()
    assert 5 < in_dom <= 60, in_dom

    # Scrolled to the end: the oldest snapshot is drawn, still only a window of rows.
    graph.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    oldest = graph_rows(page).filter(
        has=page.locator(".jp-mlvc-message", has_text=re.compile(r"^step 0$"))
    )
    expect(oldest).to_have_count(1)
    expect(oldest).to_be_in_viewport()
    assert graph_rows(page).count() <= 60
    assert page.locator(f"{GRAPH} [aria-rowindex='{n}']").count() == 1

    # A node far down selects its snapshot, as in the list.
    oldest.click()
    expect(page.locator(f"{SIDEBAR} .jp-mlvc-details-title")).to_have_text("step 0")
    assert not page.errors  # type: ignore[attr-defined]


def test_restore_can_remove_what_the_snapshot_could_not_save(lab: Lab, page: Page):
    open_notebook(lab, page, "stream.ipynb")
    run_cell(
        page,
        "%load_ext jupyter_mlvc\na = 1\nbatches = (i for i in range(3))\n"
        '%mlvc commit -m "with a generator"',
    )
    run_cell(page, "a = 2")
    open_sidebar(page)
    expect(items(page)).to_have_count(1)
    items(page).first.locator(".jp-mlvc-message").click()
    details = page.locator(f"{SIDEBAR} .jp-mlvc-details")
    drop = details.get_by_label(re.compile("Also remove the variable this snapshot could not save"))
    expect(drop).not_to_be_checked()
    expect(details.locator(".jp-mlvc-drop-skipped")).to_contain_text("batches")
    drop.check()
    details.get_by_role("button", name="Restore all variables").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("batches (not saved in the snapshot) will be removed too")
    dialog.get_by_role("button", name="Restore").click()
    notice = page.locator(f"{SIDEBAR} .jp-mlvc-notice-info")
    expect(notice).to_contain_text("Kernel state restored")
    expect(notice.locator(".jp-mlvc-notice-list", has_text="removed")).to_contain_text("batches")

    assert run_cell(page, "print(a, 'batches' in globals())").strip() == "1 False"
    assert not page.errors  # type: ignore[attr-defined]
