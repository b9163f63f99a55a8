"""The sidebar's metric chart: a real JupyterLab, a real Chromium, Vega drawing the
spec of GET /mlvc/api/chart; hovering shows a snapshot, clicking selects it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

from jupyter_mlvc import Repo

from .conftest import ARTIFACTS, Lab
from .test_sidebar import cells, open_notebook, open_sidebar, run_cell

pytestmark = pytest.mark.browser

SIDEBAR = "#jp-mlvc-sidebar"
CHART = f"{SIDEBAR} .jp-mlvc-chart"
POINTS = f'{CHART} svg path[aria-roledescription="point"]'
NOTEBOOK = "metrics.ipynb"
#: A message that must show as text in the tooltip, never as markup.
HOSTILE = 'wider <img src=x onerror="window.pwned=1"> {trees} "quoted"'


def build_history(root: Path) -> tuple[dict[str, str], int]:
    """Snapshots with metrics on main and on exp; returns their ids by message and how
    many (snapshot, metric) values they hold."""
    notebook = root / NOTEBOOK
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    ids: dict[str, str] = {}
    held = 0

    def commit(repo: Repo, step: int, message: str, metrics: dict[str, float]) -> None:
        nonlocal held
        snap = repo.commit({"step": step}, message, None, notebook, metrics)
        ids[message] = snap.id
        held += len(metrics)

    with Repo.init(root) as repo:
        for i in range(4):
            commit(repo, i, f"main {i}", {"acc": 0.5 + 0.05 * i, "loss": 1.0 - 0.2 * i})
        repo.branch("exp", notebook_path=notebook)
        commit(repo, 10, HOSTILE, {"acc": 0.9, "loss": 0.1})
        commit(repo, 11, "exp longer", {"acc": 0.92})
        commit(repo, 12, "exp no metrics", {})
        repo.restore("main", {"step": 12}, notebook_path=notebook, save=False)
        commit(repo, 4, "main 4", {"acc": 0.71, "loss": 0.15})
    return ids, held


def show_chart(page: Page) -> None:
    page.locator(SIDEBAR).get_by_role("button", name="Chart", exact=True).click()
    expect(page.locator(f"{SIDEBAR} .jp-mlvc-chart-section")).to_have_attribute(
        "data-drawn", "true"
    )


def points_of(page: Page, short_id: str):
    """The points drawn for one snapshot (Vega labels each with its tooltip's fields)."""
    return page.locator(f'{POINTS}[aria-label*="snapshot: {short_id};"]')


def test_metric_chart_draws_every_value_and_selects_a_snapshot(lab: Lab, page: Page):
    ids, held = build_history(lab.root)
    answer = lab.api("/mlvc/api/chart", path=NOTEBOOK)
    assert answer["points"] == held == 13  # type: ignore[index]

    open_notebook(lab, page, NOTEBOOK)
    open_sidebar(page)
    show_chart(page)
    # One symbol per (snapshot, metric) value the store holds: 8 snapshots, 13 values.
    expect(page.locator(POINTS)).to_have_count(held)
    expect(page.locator(f"{SIDEBAR} .jp-mlvc-count")).to_contain_text("13 values of 2 metrics")
    # One panel per metric, one line per branch and metric.
    expect(page.locator(f"{CHART} svg .mark-line.role-mark path")).to_have_count(4)

    # Hovering a point shows its snapshot; the message is text, not markup.
    exp = ids[HOSTILE]
    points_of(page, exp[:8]).first.hover()
    tooltip = page.locator("#vg-tooltip-element")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(exp[:8])
    expect(tooltip).to_contain_text(HOSTILE)
    expect(tooltip).to_contain_text("exp")
    expect(tooltip.locator("img")).to_have_count(0)
    assert page.evaluate("() => window.pwned") is None

    # Clicking a point selects its snapshot: its details open, its points are ringed.
    target = ids["main 2"]
    expect(points_of(page, target[:8])).to_have_count(2)
    points_of(page, target[:8]).first.click()
    details = page.locator(f"{SIDEBAR} .jp-mlvc-details")
    expect(details.locator(".jp-mlvc-id")).to_have_text(target)
    expect(details.locator(".jp-mlvc-details-title")).to_have_text("main 2")
    for i in range(2):
        expect(points_of(page, target[:8]).nth(i)).to_have_attribute("stroke-width", "2")
    expect(points_of(page, exp[:8]).first).to_have_attribute("stroke-width", "0")

    # The x axis: the snapshot's place (#1, #2, ...), or its time.
    labels = page.locator(f"{CHART} svg .role-axis-label text")
    expect(labels.filter(has_text=re.compile(r"^#\d+$")).first).to_be_visible()
    page.locator(f"{CHART} .vega-bindings").get_by_label("time").check()
    expect(labels.filter(has_text=re.compile(r"^#\d+$"))).to_have_count(0)
    expect(page.locator(POINTS)).to_have_count(held)
    page.locator(f"{CHART} .vega-bindings").get_by_label("snapshot order").check()
    expect(labels.filter(has_text=re.compile(r"^#\d+$")).first).to_be_visible()

    # A wider sidebar redraws the chart wider: the same points, the selection kept.
    svg = page.locator(f"{CHART} svg")
    narrow = float(svg.get_attribute("width") or 0)
    page.set_viewport_size({"width": 1400, "height": 1300})
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").first
    box = handle.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 0.5, 400)
    page.mouse.down()
    page.mouse.move(box["x"] + 220, 400, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "([selector, width]) => Number(document.querySelector(selector)?.getAttribute('width')) > width",
        arg=[f"{CHART} svg", narrow + 100],
    )
    expect(page.locator(POINTS)).to_have_count(held)
    expect(points_of(page, target[:8]).first).to_have_attribute("stroke-width", "2")

    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    page.locator(CHART).evaluate("element => { element.scrollTop = 0; }")
    page.locator(SIDEBAR).screenshot(path=str(ARTIFACTS / "sidebar-metric-chart.png"))
    assert not page.errors  # type: ignore[attr-defined]


def test_metric_chart_follows_new_commits(lab: Lab, page: Page):
    _, held = build_history(lab.root)
    open_notebook(lab, page, NOTEBOOK)
    open_sidebar(page)
    show_chart(page)
    expect(page.locator(POINTS)).to_have_count(held)
    # A commit from elsewhere (a script, another kernel): the sidebar's poll redraws.
    with Repo.open(lab.root) as repo:
        snap = repo.commit(
            {"step": 99}, "from a script", None, lab.root / NOTEBOOK, {"acc": 0.99, "f1": 0.5}
        )
    expect(page.locator(POINTS)).to_have_count(held + 2)
    expect(points_of(page, snap.id[:8])).to_have_count(2)
    assert not page.errors  # type: ignore[attr-defined]


def test_log_plot_in_a_cell_draws_the_same_chart(lab: Lab, page: Page):
    _, held = build_history(lab.root)
    open_notebook(lab, page, NOTEBOOK)
    run_cell(page, "%load_ext jupyter_mlvc\n%mlvc log --plot")
    # JupyterLab's own Vega renderer draws the output (application/vnd.vegalite.v5+json).
    output = cells(page).first.locator(".jp-OutputArea-output")
    expect(output.locator(".vega-embed")).to_be_visible()
    expect(output.locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible()
    expect(output.locator(".vega-bindings")).to_contain_text("snapshot order")
    ARTIFACTS.mkdir(exist_ok=True)
    output.screenshot(path=str(ARTIFACTS / "notebook-metric-chart.png"))
    answer = lab.api("/mlvc/api/chart", path=NOTEBOOK)
    assert answer["points"] == held  # type: ignore[index]
    assert not page.errors  # type: ignore[attr-defined]
