"""Several snapshots side by side from the sidebar's multi-select: a real JupyterLab, a
real Chromium.

A comparison reads only the index (no pickle is loaded), so the snapshots are made
here with ``Repo``: the first two with the lab's key, the third with another one, so
that its column is marked untrusted. The table must show what ``Repo.compare`` returns.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from sklearn.linear_model import LogisticRegression

from jupyter_mlvc import Repo
from jupyter_mlvc.present.format import format_metric

from .conftest import ARTIFACTS, Lab
from .test_compare_images import dismiss_toasts, open_lab
from .test_merge_graph import ids_by_message
from .test_sidebar import compare_tab, items, open_sidebar

pytestmark = pytest.mark.browser

SIDEBAR = "#jp-mlvc-sidebar"
# A message is data from someone else: it must reach the page as text.
HOSTILE = 'C=10 <img src=x onerror="window.__xss=1">'
#: (message, C, metrics, has epochs), oldest first.
RUNS = [
    ("C=0.1", 0.1, {"acc": 0.8, "loss": 0.5}, False),
    ("C=1.0", 1.0, {"acc": 0.9}, True),
    (HOSTILE, 10.0, {"acc": 0.85, "loss": 0.4}, True),
]


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def commit_runs(lab: Lab, notebook: Path, monkeypatch, stranger: Path) -> None:
    """Three fits of one model with different C; the third signed with a stranger's key."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    lab_data = str(lab.root.parent / "jupyter" / "data")
    for i, (message, c, metrics, epochs) in enumerate(RUNS):
        monkeypatch.setenv("JUPYTER_DATA_DIR", lab_data if i < 2 else str(stranger))
        namespace = {"X": X, "y": y, "model": LogisticRegression(C=c).fit(X, y)}
        if epochs:
            namespace["epochs"] = 5
        with Repo.init(lab.root) if i == 0 else Repo.open(lab.root) as repo:
            repo.commit(namespace, message, notebook_path=notebook, metrics=metrics)
    monkeypatch.setenv("JUPYTER_DATA_DIR", lab_data)


def test_compare_three_snapshots_side_by_side(lab: Lab, page: Page, monkeypatch, tmp_path):
    notebook = lab.root / "runs.ipynb"
    write_notebook(notebook)
    commit_runs(lab, notebook, monkeypatch, tmp_path / "stranger")
    by_message = ids_by_message(lab, "runs.ipynb")
    ordered = [by_message[message] for message, *_ in RUNS]
    # What the core says, as the lab's user (whose key made the first two).
    with Repo.open(lab.root) as repo:
        expected = repo.compare(ordered, notebook).to_dict()
    assert [s["trusted"] for s in expected["snapshots"]] == [True, True, False]
    assert [m["name"] for m in expected["metrics"]] == ["acc", "loss"]
    assert [v["name"] for v in expected["variables"]] == ["epochs", "model"]
    assert expected["same"] == ["X", "y"]

    open_lab(lab, page, "runs.ipynb")
    open_sidebar(page)
    expect(items(page)).to_have_count(3)
    bar = page.locator(f"{SIDEBAR} .jp-mlvc-compare-bar")
    # Ticked newest, oldest, middle: the columns come out oldest first all the same.
    items(page).nth(0).get_by_role("checkbox").check()
    items(page).nth(2).get_by_role("checkbox").check()
    # Two ticked: the two-way comparison, as before.
    pair = f"Compare {ordered[0][:8]} ↔ {ordered[2][:8]}"
    expect(bar.get_by_role("button", name=pair, exact=True)).to_be_visible()
    items(page).nth(1).get_by_role("checkbox").check()
    expect(bar.get_by_role("button", name=pair, exact=True)).to_have_count(0)
    bar.get_by_role("button", name="Compare 3", exact=True).click()

    tab = compare_tab(page, "Compare 3 snapshots")
    table = tab.locator(".jp-mlvc-compare-many-table")
    columns = table.locator("thead th[data-id]")
    expect(columns).to_have_count(3, timeout=30_000)
    assert [columns.nth(i).get_attribute("data-id") for i in range(3)] == [
        s["id"] for s in expected["snapshots"]
    ]
    assert [s["id"] for s in expected["snapshots"]] == ordered
    expect(columns.locator(".jp-mlvc-id")).to_have_text(
        [s["short_id"] for s in expected["snapshots"]]
    )
    expect(columns.locator(".jp-mlvc-column-message")).to_have_text(
        [s["message"] for s in expected["snapshots"]]
    )
    expect(columns.locator(".jp-mlvc-branch")).to_have_text(
        [s["branch"] for s in expected["snapshots"]]
    )
    # Only the stranger's snapshot is marked.
    expect(table.locator("thead .jp-mlvc-untrusted")).to_have_count(1)
    expect(columns.nth(2).locator(".jp-mlvc-untrusted")).to_have_text("untrusted")
    expect(tab).to_contain_text("3 snapshots side by side: 2 metrics, 2 variables that differ")

    # Metrics: a row each, a cell per snapshot ("—" where it has none), the best marked.
    for metric in expected["metrics"]:
        cells = table.locator(f'tr[data-metric="{metric["name"]}"] td')
        expect(cells).to_have_text(
            ["—" if v is None else format_metric(v) for v in metric["values"]]
        )
        best = table.locator(f'tr[data-metric="{metric["name"]}"] td.jp-mlvc-best')
        expect(best).to_have_count(1)
        expect(best).to_have_attribute("data-column", str(metric["best"]))
    expect(table.locator('tr[data-metric="loss"] td')).to_have_text(["0.5", "—", "0.4"])
    expect(table.locator('tr[data-metric="acc"] td.jp-mlvc-best')).to_have_text("0.9")

    # Variables that differ, each followed by its hyperparameters that differ.
    names = table.locator("tbody tr[data-name]")
    expected_rows = [
        row
        for v in expected["variables"]
        for row in [v["name"], *(f"{v['name']}.{p['name']}" for p in v["params"])]
    ]
    assert expected_rows[:3] == ["epochs", "model", "model.C"]
    expect(names).to_have_count(len(expected_rows))
    assert [names.nth(i).get_attribute("data-name") for i in range(len(expected_rows))] == (
        expected_rows
    )
    expect(table.locator('tr[data-name="epochs"] td')).to_have_text(["—", "5", "5"])
    model = next(v for v in expected["variables"] if v["name"] == "model")
    c_values = next(p["values"] for p in model["params"] if p["name"] == "C")
    assert c_values == [0.1, 1.0, 10.0]
    shown = table.locator('tr[data-name="model.C"] td').all_inner_texts()
    assert [float(t) for t in shown] == c_values
    expect(table.locator('tr[data-name="model"] td')).to_have_text(
        ["LogisticRegression, fitted, 3 features"] * 3
    )

    same = tab.locator(".jp-mlvc-compare-many-same")
    expect(same).to_have_attribute("data-count", str(len(expected["same"])))
    expect(same).to_contain_text("2 variables are the same in all 3 snapshots: X, y")

    # Everything from the snapshots is text: the message's markup is not an element.
    expect(tab.locator("img")).to_have_count(0)
    assert page.evaluate("window.__xss") is None

    # A column's head selects its snapshot in the sidebar.
    columns.nth(1).click()
    selected = page.locator(f'{SIDEBAR} .jp-mlvc-item[data-id="{ordered[1]}"]')
    expect(selected).to_have_attribute("aria-selected", "true")
    expect(page.locator(f"{SIDEBAR} .jp-mlvc-item.jp-mod-selected")).to_have_count(1)
    expect(page.locator(f"{SIDEBAR} .jp-mlvc-details-title")).to_have_text("C=1.0")
    columns.nth(2).locator("button.jp-mlvc-column-select").click()
    expect(page.locator(f'{SIDEBAR} .jp-mlvc-item[data-id="{ordered[2]}"]')).to_have_attribute(
        "aria-selected", "true"
    )

    # Room for every column beside the notebook, the table shown from its first one.
    page.set_viewport_size({"width": 1700, "height": 900})
    tab.locator(".jp-mlvc-compare-many-scroll").evaluate("el => { el.scrollLeft = 0; }")
    dismiss_toasts(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar-compare-many.png"))
    assert not page.errors  # type: ignore[attr-defined]
