"""The compare tab's images and models on data: a real JupyterLab, a real kernel, a
real Chromium.

Output images are drawn with Pillow on a white canvas, so how many pixels change
is known exactly: a 50 x 30 red rectangle on a 200 x 100 image is 7.5 % of it.
"""

from __future__ import annotations

import base64
import io
import re

import nbformat
import pytest
from playwright.sync_api import Page, expect

from jupyter_mlvc import Repo
from jupyter_mlvc.present.images import percent

from .conftest import ARTIFACTS, Lab
from .test_merge_graph import ids_by_message
from .test_sidebar import (
    compare_first_and_last,
    compare_tab,
    images_settled,
    items,
    open_notebook,
    open_sidebar,
    run_cell,
)

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 200, 100
#: The rectangle drawn on the second image: left, top, width, height.
RECT = (10, 10, 50, 30)
SVG_BEFORE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
    '<circle cx="20" cy="20" r="10" fill="blue"/></svg>'
)
# Active content: drawn through <img> it must stay a picture.
SVG_AFTER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" '
    'onload="window.__svg=1"><script>window.__svg=2</script>'
    '<circle cx="20" cy="20" r="15" fill="red"/></svg>'
)


def png(rect: tuple[int, int, int, int] | None = None) -> str:
    """A white 200 x 100 PNG with a black line, and a red rectangle if given: base64."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(0, 90), (WIDTH - 1, 90)], fill="black")
    if rect:
        x, y, w, h = rect
        draw.rectangle([x, y, x + w - 1, y + h - 1], fill="red")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figure(ys: list[float]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot(ys)
    return fig


def plots_notebook(image: str, svg: str) -> nbformat.NotebookNode:
    """A changed plot, an identical one, an SVG, then an empty cell to type in."""

    def shown(mime: str, data: str):
        return nbformat.v4.new_output("display_data", data={mime: data, "text/plain": "<Figure>"})

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("plot()", outputs=[shown("image/png", image)]),
            nbformat.v4.new_code_cell("same()", outputs=[shown("image/png", png())]),
            nbformat.v4.new_code_cell("draw()", outputs=[shown("image/svg+xml", svg)]),
            nbformat.v4.new_code_cell(""),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def dismiss_toasts(page: Page) -> None:
    """Close JupyterLab's own notifications (the news question), for a clean screenshot."""
    for button in page.locator(".jp-toast-button", has_text="No").all():
        button.click()
    expect(page.locator(".Toastify__toast")).to_have_count(0)


def open_lab(lab: Lab, page: Page, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel")
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)


def test_compare_shows_changed_images(lab: Lab, page: Page, monkeypatch):
    # Committed with the server's key (conftest's data folder), so the server trusts the
    # snapshots and loads the figures to compare them.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(lab.root.parent / "jupyter" / "data"))
    path = lab.root / "plots.ipynb"
    before = plots_notebook(png(), SVG_BEFORE)
    after = plots_notebook(png(RECT), SVG_AFTER)
    nbformat.write(after, path)
    with Repo.init(lab.root) as repo:
        repo.commit({"fig": figure([1, 2, 3]), "k": 1}, "before", before, path)
        repo.commit({"fig": figure([1, 3, 2]), "k": 2}, "after", after, path)
    ids = ids_by_message(lab, "plots.ipynb")
    served = lab.api("/mlvc/api/diff", path="plots.ipynb", a=ids["before"], b=ids["after"])
    entry_data = served["notebook"]["images"][0]  # type: ignore[index]
    # The share the test drew: the rectangle, on the whole canvas.
    share = RECT[2] * RECT[3] / (WIDTH * HEIGHT)
    assert entry_data["fraction_changed"] == pytest.approx(share)
    assert entry_data["box"] == dict(zip(("x", "y", "width", "height"), RECT, strict=True))

    open_lab(lab, page, "plots.ipynb")
    open_sidebar(page)
    expect(items(page)).to_have_count(2)
    tab = compare_first_and_last(page)
    section = tab.locator(".jp-mlvc-compare-images")
    entry = section.locator('.jp-mlvc-image-entry[data-cell="0"]')
    expect(entry).to_have_attribute("data-status", "changed", timeout=30_000)
    expect(entry.locator(".jp-mlvc-image-share")).to_have_text(
        f"{percent(share)} of pixels, in the upper-left quarter"
    )
    expect(entry.locator(".jp-mlvc-image-share")).to_have_text(
        "7.5 % of pixels, in the upper-left quarter"
    )
    expect(entry.locator(".jp-mlvc-image-sizes")).to_have_text("200\u00d7100 → 200\u00d7100")
    expect(entry).to_contain_text("image/png")
    # The identical image is only counted.
    expect(section.locator(".jp-mlvc-image-entry")).to_have_count(2)
    expect(section.locator(".jp-mlvc-images-unchanged")).to_contain_text(
        "1 image is the same on both sides"
    )

    # Side by side first: both images, from data: URIs.
    pictures = entry.locator("img.jp-mlvc-image")
    expect(pictures).to_have_count(2)
    for i in range(2):
        assert pictures.nth(i).get_attribute("src").startswith("data:image/png;base64,")

    # Swipe: after is clipped at the slider.
    entry.get_by_role("button", name="Swipe").click()
    expect(entry.locator(".jp-mlvc-image-diff")).to_have_attribute("data-view", "swipe")
    top = entry.locator(".jp-mlvc-image-top")
    expect(top).to_have_attribute("style", re.compile(r"clip-path: inset\(0(px)? 50%"))
    entry.get_by_label("How much of after to show").fill("20")
    expect(top).to_have_attribute("style", re.compile(r"clip-path: inset\(0(px)? 80%"))
    divider = entry.locator(".jp-mlvc-image-divider")
    expect(divider).to_have_attribute("style", re.compile(r"left: 20%"))

    # The difference: the changed rectangle, as a share of the canvas.
    entry.get_by_label("Difference").check()
    box = entry.locator(".jp-mlvc-image-box")
    expect(box).to_be_visible()
    style = box.get_attribute("style") or ""
    for prop, value in (("left", 5), ("top", 10), ("width", 25), ("height", 30)):
        assert re.search(rf"(^|;|\s){prop}: {value}%", style), (prop, style)
    # Drawn where the rectangle is: its box on screen over the frame's.
    frame = entry.locator(".jp-mlvc-image-stack").bounding_box()
    drawn = box.bounding_box()
    assert frame and drawn
    assert drawn["x"] - frame["x"] == pytest.approx(frame["width"] * RECT[0] / WIDTH, abs=1.5)
    assert drawn["width"] == pytest.approx(frame["width"] * RECT[2] / WIDTH, abs=1.5)
    assert drawn["height"] == pytest.approx(frame["height"] * RECT[3] / HEIGHT, abs=1.5)

    entry.get_by_label("How much of after to show").fill("45")
    images_settled(page)
    entry.scroll_into_view_if_needed()
    dismiss_toasts(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar-image-diff.png"))

    # Onion skin: after over before, at the slider's opacity.
    entry.get_by_role("button", name="Onion skin").click()
    expect(top).to_have_attribute("style", re.compile(r"opacity: 0\.5"))
    entry.get_by_label("Opacity of after").fill("25")
    expect(top).to_have_attribute("style", re.compile(r"opacity: 0\.25"))
    expect(entry.locator(".jp-mlvc-image-divider")).to_have_count(0)

    # The SVG: compared as text, drawn only as an image; its script never runs.
    svg = section.locator('.jp-mlvc-image-entry[data-cell="2"]')
    expect(svg).to_contain_text("image/svg+xml")
    svg_data = served["notebook"]["images"][1]  # type: ignore[index]
    assert svg_data["mime"] == "image/svg+xml" and "compared as text" in svg_data["where"]
    expect(svg.locator(".jp-mlvc-image-share")).to_have_text(svg_data["where"])
    svg_images = svg.locator("img.jp-mlvc-image")
    expect(svg_images).to_have_count(2)
    for i in range(2):
        assert svg_images.nth(i).get_attribute("src").startswith("data:image/svg+xml;base64,")
    images_settled(page)
    expect(tab.locator(".jp-mlvc-compare-summary svg")).to_have_count(0)
    assert page.evaluate("window.__svg") is None

    # The figure held in a variable: the same view, under its row.
    row = tab.locator('.jp-mlvc-compare-variables tr[data-name="fig"]')
    expect(row).to_contain_text("figure changed")
    figure_row = tab.locator('.jp-mlvc-figure-row[data-figure="fig"]')
    expect(figure_row.locator("img.jp-mlvc-image")).to_have_count(2)
    figure_row.get_by_role("button", name="Onion skin").click()
    expect(figure_row.get_by_label("Opacity of after")).to_be_visible()
    assert not page.errors  # type: ignore[attr-defined]


MODELS_SETUP = """%load_ext jupyter_mlvc
import numpy as np
from sklearn.linear_model import LogisticRegression
rng = np.random.RandomState(0)
X = rng.normal(size=(300, 4))
y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.8, size=300) > 0).astype(int)
X_train, y_train, X_test, y_test = X[:200], y[:200], X[200:], y[200:]
clf = LogisticRegression(C=0.05).fit(X_train[:30], y_train[:30])
%mlvc commit -m weak"""

MODELS_REFIT = """weak_pred = clf.predict(X_test)
clf = LogisticRegression(C=10.0).fit(X_train, y_train)
%mlvc commit -m strong"""


def test_models_run_on_the_kernels_data(lab: Lab, page: Page):
    open_notebook(lab, page, "models.ipynb")
    assert "Committed" in run_cell(page, MODELS_SETUP)
    assert "Committed" in run_cell(page, MODELS_REFIT)
    # What the two fits disagree on, and their accuracy, computed here in the kernel.
    out = run_cell(
        page,
        "new_pred = clf.predict(X_test)\nprint(int((weak_pred != new_pred).sum()), len(X_test))",
    )
    n_differ, n = (int(v) for v in out.split())
    assert 0 < n_differ < n

    open_sidebar(page)
    expect(items(page)).to_have_count(2)
    tab = compare_first_and_last(page)
    models = tab.locator(".jp-mlvc-compare-models")
    models.get_by_role("button", name="Run models on data…").click()
    x = models.get_by_label("X: the data to predict from")
    expect(x).to_be_visible(timeout=30_000)
    # Only data is offered: arrays (and lists, tables), not the model.
    options = x.locator("option").all_inner_texts()
    assert any(o.startswith("X_test — ") for o in options), options
    assert not any(o.startswith("clf") for o in options), options
    x.select_option("X_test")
    models.get_by_label(re.compile("^y: the true values")).select_option("y_test")
    models.get_by_role("button", name="Run models", exact=True).click()

    card = models.locator('.jp-mlvc-model-on-data[data-name="clf"]')
    differ = card.locator(".jp-mlvc-model-differ")
    expect(differ).to_have_attribute("data-differ", str(n_differ), timeout=60_000)
    expect(differ).to_have_attribute("data-samples", str(n))
    expect(differ).to_contain_text(f"{n_differ} of {n} predictions differ")
    expect(tab.locator(".jp-mlvc-section h3", has_text="Models on X_test")).to_have_text(
        "Models on X_test, scored on y_test"
    )
    expect(card.locator(".jp-mlvc-model-score")).to_contain_text("accuracy")
    # The confusion of old (rows) and new (columns) predictions: off the diagonal, n_differ.
    cells = card.locator(".jp-mlvc-confusion tbody tr")
    expect(cells).to_have_count(2)
    matrix = [[int(t) for t in cells.nth(i).locator("td").all_inner_texts()] for i in range(2)]
    assert matrix[0][1] + matrix[1][0] == n_differ
    assert sum(map(sum, matrix)) == n
    models.scroll_into_view_if_needed()
    dismiss_toasts(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar-models-on-data.png"))

    # The refresh button compares again, on the same data.
    tab_id = tab.get_attribute("id")
    page.locator(f"#{tab_id} .jp-Toolbar").get_by_title("Compare again").click()
    expect(differ).to_have_attribute("data-differ", str(n_differ), timeout=60_000)

    # With the current state, B's models are the kernel's: clf is the strong fit.
    items(page).filter(has_text="weak").locator(".jp-mlvc-message").click()
    page.locator("#jp-mlvc-sidebar .jp-mlvc-details").get_by_role(
        "button", name="Compare with current"
    ).click()
    current = compare_tab(page, r"Compare [0-9a-f]{8} ↔ current")
    models = current.locator(".jp-mlvc-compare-models")
    models.get_by_role("button", name="Run models on data…").click()
    expect(models.get_by_label("X: the data to predict from")).to_have_value(
        "X_test", timeout=30_000
    )
    expect(models.get_by_label(re.compile("^y: the true values"))).to_have_value("y_test")
    models.get_by_role("button", name="Run models", exact=True).click()
    differ = models.locator('.jp-mlvc-model-on-data[data-name="clf"] .jp-mlvc-model-differ')
    expect(differ).to_have_attribute("data-differ", str(n_differ), timeout=60_000)
    assert not page.errors  # type: ignore[attr-defined]
