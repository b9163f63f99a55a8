"""Output images and figures compared by pixel (ops/image_diff.py), and how a diff
shows them (present/images.py): numbers on images drawn here, notebooks committed
through a real store, the text of the command line and the HTML of the notebook."""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import subprocess
import sys
import zlib

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from PIL import Image

from jupyter_mlvc.ops import diff_format, image_diff
from jupyter_mlvc.ops.diff import describe_change, notebook_diff
from jupyter_mlvc.present import images as shown
from jupyter_mlvc.present.render import DiffView

WHITE = (255, 255, 255)


def canvas(width=200, height=100, colour=WHITE):
    return np.full((height, width, 3), colour, dtype=np.uint8)


def png(pixels, mode="RGB", **save) -> str:
    """An array as a notebook stores a PNG: base64 text."""
    buf = io.BytesIO()
    Image.fromarray(pixels, mode).save(buf, format="PNG", **save)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def jpeg(pixels) -> str:
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="JPEG", quality=95)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` by ``height`` pixels and that holds no pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def image_cell(*images, source="plot()"):
    """A code cell with one display_data output per image, each a {mime: data} bundle."""
    outputs = [new_output("display_data", data=bundle) for bundle in images]
    return new_code_cell(source, outputs=outputs)


def copy(nb):
    return nbformat.from_dict(json.loads(json.dumps(nb)))


# -- numbers on known images ------------------------------------------------------------


def test_a_shifted_line():
    before, after = canvas(), canvas()
    before[10:12, :] = 0  # a black line two pixels high, across the image
    after[14:16, :] = 0  # the same line, four pixels lower
    c = image_diff.compare(image_diff.PNG, png(before), png(after))
    # Rows 10, 11 (the line left) and 14, 15 (where it went): 4 rows of 200 of 20,000 pixels.
    assert c["fraction_changed"] == 800 / 20_000
    assert c["box"] == {"x": 0, "y": 10, "width": 200, "height": 6}
    assert c["size_before"] == c["size_after"] == [200, 100]
    assert c["where"] == "in the top half"


def test_a_recoloured_region():
    before = canvas()
    before[20:40, 120:160] = (0, 0, 255)
    after = before.copy()
    after[20:40, 120:160] = (255, 0, 0)
    c = image_diff.compare(image_diff.PNG, png(before), png(after))
    assert c["fraction_changed"] == 800 / 20_000
    assert c["box"] == {"x": 120, "y": 20, "width": 40, "height": 20}
    assert c["where"] == "in the upper-right quarter"


def test_the_tolerance_and_transparency():
    before = canvas()
    within, beyond = before.copy(), before.copy()
    within[0:10, 0:10] = 255 - image_diff.TOLERANCE
    beyond[0:10, 0:10] = 255 - image_diff.TOLERANCE - 1
    assert image_diff.compare(image_diff.PNG, png(before), png(within))["fraction_changed"] == 0
    assert image_diff.compare(image_diff.PNG, png(before), png(beyond))["fraction_changed"] == (
        100 / 20_000
    )
    # A transparent background is drawn on white, as a notebook shows it.
    clear = np.zeros((100, 200, 4), dtype=np.uint8)
    c = image_diff.compare(image_diff.PNG, png(before), png(clear, "RGBA"))
    assert c["fraction_changed"] == 0 and c["box"] is None and image_diff.unchanged(c)


def test_a_size_change_counts_what_lies_outside_the_smaller_image():
    before, after = canvas(200, 100), canvas(200, 120)
    c = image_diff.compare(image_diff.PNG, png(before), png(after))
    assert c["size_before"] == [200, 100] and c["size_after"] == [200, 120]
    assert c["fraction_changed"] == 4_000 / 24_000
    assert c["box"] == {"x": 0, "y": 100, "width": 200, "height": 20}
    assert c["where"] == "size changed from 200\u00d7100 to 200\u00d7120"


def test_jpeg_is_compared_by_pixel():
    before = canvas(64, 64, (40, 90, 160))
    after = before.copy()
    after[8:24, 40:56] = (230, 200, 20)
    c = image_diff.compare(image_diff.JPEG, jpeg(before), jpeg(after))
    box = c["box"]
    # JPEG blurs an edge into its 8x8 block at most: the box is the region, give or take that.
    assert 32 <= box["x"] <= 40 and 56 <= box["x"] + box["width"] <= 64
    assert 0 <= box["y"] <= 8 and 24 <= box["y"] + box["height"] <= 32
    assert 256 / 4096 <= c["fraction_changed"] <= 1024 / 4096
    assert c["where"] == "in the upper-right quarter"
    # Re-encoding the same picture moves no pixel beyond the tolerance.
    assert image_diff.unchanged(image_diff.compare(image_diff.JPEG, jpeg(before), jpeg(before)))


@pytest.mark.parametrize(
    ("box", "words"),
    [
        (None, "no pixel differs beyond the tolerance"),
        ((0, 0, 200, 100), "across the image"),
        ((10, 10, 20, 20), "in the upper-left quarter"),
        ((150, 60, 10, 10), "in the lower-right quarter"),
        ((0, 60, 200, 10), "in the bottom half"),
        ((20, 0, 10, 100), "in the left half"),
        ((80, 40, 40, 20), "in the middle"),
        ((0, 40, 200, 20), "in a band across the middle"),
        ((90, 0, 20, 100), "in a band down the middle"),
        ((10, 10, 180, 60), "across most of the image"),
        ((10, 10, 120, 60), "around the middle"),
    ],
)
def test_where_in_words(box, words):
    if box is not None:
        box = dict(zip(("x", "y", "width", "height"), box))
    assert image_diff.where(box, 200, 100) == words


# -- bad images ---------------------------------------------------------------------


def test_a_corrupt_image_is_an_entry_not_an_exception():
    good = png(canvas())
    truncated = base64.b64encode(base64.b64decode(good)[:60]).decode()
    for bad, reason in [
        ("%%% not base64 %%%", "not base64"),
        (base64.b64encode(b"GIF89a" + b"\0" * 40).decode(), "not a PNG image"),
        (truncated, "corrupt PNG"),
    ]:
        c = image_diff.compare(image_diff.PNG, good, bad)
        assert c["fraction_changed"] is None and c["box"] is None
        assert c["where"].startswith("the image after could not be read") and reason in c["where"]
    nb_a = new_notebook(cells=[image_cell({"image/png": good})])
    nb_b = new_notebook(cells=[image_cell({"image/png": truncated})])
    (entry,) = notebook_diff(nb_a, nb_b)["images"]
    assert entry["status"] == "changed" and "could not be read" in entry["where"]


def test_a_huge_declared_size_is_refused_before_decoding(monkeypatch):
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("a pixel was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    good = png(canvas())
    for width, height in [(5_000, 5_000), (50_000, 50_000)]:
        huge = base64.b64encode(header_only_png(width, height)).decode()
        c = image_diff.compare(image_diff.PNG, huge, good)
        assert c["fraction_changed"] is None
        assert "the image before could not be read" in c["where"]
        assert f"{image_diff.MAX_PIXELS:,} pixels" in c["where"]
    assert image_diff.size_of(image_diff.PNG, header_only_png(5_000, 5_000)) == [5_000, 5_000]


# -- SVG ----------------------------------------------------------------------------

SVG_A = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">\n<rect width="10" height="10" fill="red"/>\n</svg>\n'
SVG_B = SVG_A.replace("red", "blue").replace("</svg>", '<script>alert("x")</script>\n</svg>')


def test_svg_is_compared_as_text_and_shown_only_as_an_image():
    c = image_diff.compare(image_diff.SVG, SVG_A, SVG_B)
    assert c["fraction_changed"] is None and c["box"] is None and c["size_before"] is None
    assert c["where"] == "2 of 4 lines differ (compared as text)"
    nb_a = new_notebook(cells=[image_cell({"image/svg+xml": SVG_A})])
    nb_b = new_notebook(cells=[image_cell({"image/svg+xml": SVG_B.splitlines(True)})])
    (entry,) = notebook_diff(nb_a, nb_b)["images"]
    assert entry["after"] == SVG_B and entry["trusted"] is False
    assert shown.image_lines({"images": [entry]}) == [
        "cell 0: figure changed (SVG), 2 of 4 lines differ (compared as text)"
    ]
    page = shown.images_html({"notebook": {"images": [entry]}})
    # The markup of the SVG never reaches the page: only base64 inside an <img>.
    assert "<svg" not in page and "<script" not in page and "alert" not in page
    uris = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert [base64.b64decode(u).decode() for u in uris] == [SVG_A, SVG_B]


# -- notebooks ----------------------------------------------------------------------


def two_notebooks():
    """Cell 0's plot recoloured, cell 1's unchanged, A's cell 2 (a plot) removed, a cell
    with a plot added at the end of B; the markdown cell has no image."""
    red, blue = canvas(), canvas()
    red[20:40, 120:160] = (255, 0, 0)
    blue[20:40, 120:160] = (0, 0, 255)
    same = png(canvas(50, 50, (10, 200, 10)))
    a = new_notebook(
        cells=[
            image_cell({"image/png": png(red), "text/plain": "<Figure>"}, source="plot(1)"),
            image_cell({"image/png": same}, source="plot(2)"),
            image_cell({"image/png": png(canvas(30, 20))}, source="old()"),
            nbformat.v4.new_markdown_cell("# notes"),
        ]
    )
    b = copy(a)
    b.cells[0].outputs[0]["data"]["image/png"] = png(blue)
    del b.cells[2]
    b.cells.append(image_cell({"image/png": png(canvas(40, 30))}, source="import seaborn"))
    return a, b


def test_notebook_images_by_cell_and_output():
    a, b = two_notebooks()
    d = notebook_diff(a, b, trusted=True)
    assert d["images_unchanged"] == 1
    changed, removed, added = d["images"]
    assert (changed["status"], changed["a_index"], changed["b_index"]) == ("changed", 0, 0)
    assert changed["fraction_changed"] == 800 / 20_000 and changed["output"] == 0
    assert changed["box"] == {"x": 120, "y": 20, "width": 40, "height": 20}
    assert changed["before"] == a.cells[0].outputs[0]["data"]["image/png"]
    assert changed["trusted"] is True
    assert (removed["status"], removed["a_index"], removed["b_index"]) == ("removed", 2, None)
    assert removed["size_before"] == [30, 20] and removed["after"] is None
    assert (added["status"], added["b_index"], added["size_after"]) == ("added", 3, [40, 30])
    # Identical notebooks: nothing listed, every image counted.
    same = notebook_diff(a, copy(a))
    assert same["images"] == [] and same["images_unchanged"] == 3
    # A notebook without images keeps the cell diff as it was.
    plain = new_notebook(cells=[new_code_cell("x = 1")])
    assert notebook_diff(plain, plain) == {"available": True, "cells": [], "unchanged": 1}


def test_a_png_encoded_differently_with_the_same_pixels_is_unchanged():
    pixels = canvas()
    pixels[5:9, 5:9] = 0
    a = new_notebook(cells=[image_cell({"image/png": png(pixels, compress_level=1)})])
    b = new_notebook(cells=[image_cell({"image/png": png(pixels, compress_level=9)})])
    assert a.cells[0].outputs[0]["data"] != b.cells[0].outputs[0]["data"]
    d = notebook_diff(a, b)
    assert d["images"] == [] and d["images_unchanged"] == 1


def test_repo_diff_lists_the_images_that_changed(repo, other_key, tmp_path):
    from jupyter_mlvc import Repo

    a, b = two_notebooks()
    s1 = repo.commit({"v": 1}, "red", notebook=a)
    s2 = repo.commit({"v": 1}, "blue", notebook=b)
    d = repo.diff(s1.id, s2.id)
    data = diff_format.validate(d.to_dict())
    images = data["notebook"]["images"]
    assert [i["status"] for i in images] == ["changed", "removed", "added"]
    assert all(i["trusted"] for i in images)
    assert images[0]["fraction_changed"] == 0.04
    # Someone else's store: the same numbers, and the entries say it is not trusted.
    other_key()
    with Repo.open(tmp_path) as theirs:
        images = theirs.diff(s1.id, s2.id).to_dict()["notebook"]["images"]
    assert images[0]["fraction_changed"] == 0.04 and not any(i["trusted"] for i in images)


def test_the_current_notebook_counts_as_trusted(repo):
    a, b = two_notebooks()
    s1 = repo.commit({"v": 1}, "red", notebook=a)
    d = repo.diff(s1.id, {"v": 1}, current_notebook=b)
    assert [i["trusted"] for i in d.notebook["images"]] == [True, True, True]


# -- figures held in variables -------------------------------------------------------


def plot(ys):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2, 3], ys)
    ax.set_ylim(0, 10)
    return fig


def test_a_figure_in_a_variable_is_drawn_and_compared(repo):
    s1 = repo.commit({"fig": plot([6, 7, 8, 8]), "n": 1}, "one")
    s2 = repo.commit({"fig": plot([6, 7, 8, 9.5]), "n": 1}, "two")
    d = repo.diff(s1.id, s2.id)
    diff_format.validate(d.to_dict())
    (changed,) = d.changed
    change = changed["change"]
    assert changed["name"] == "fig" and change["kind"] == "figure"
    assert change["library"] == "matplotlib"
    image = change["image"]
    size = [4 * image_diff.FIGURE_DPI, 3 * image_diff.FIGURE_DPI]
    assert image["size_before"] == image["size_after"] == size
    # Only the last segment of the line moved, high on the right: a small share there.
    assert 0 < image["fraction_changed"] < 0.05
    assert image["box"]["x"] > size[0] / 2 and image["where"] == "in the upper-right quarter"
    drawn = Image.open(io.BytesIO(base64.b64decode(change["after"])))
    assert drawn.format == "PNG" and list(drawn.size) == size
    text = DiffView(d).text()
    assert re.search(
        r"~ fig\s+figure changed, \d+\.\d % of pixels, in the upper-right quarter", text
    )


def test_the_same_figure_drawn_again_looks_the_same():
    change = describe_change(plot([1, 2, 3, 4]), plot([1, 2, 3, 4]))
    assert change["kind"] == "figure" and change["image"]["fraction_changed"] == 0
    assert shown.figure_lines(change) == [
        "figure looks the same (no pixel differs beyond the tolerance)"
    ]


# -- how a diff shows them ------------------------------------------------------------------


def test_the_text_form_lists_each_image(repo):
    a, b = two_notebooks()
    s1 = repo.commit({"v": 1}, "red", notebook=a)
    s2 = repo.commit({"v": 1}, "blue", notebook=b)
    text = DiffView(repo.diff(s1.id, s2.id)).text()
    section = text[text.index("\nimages:\n") :].splitlines()[2:]
    assert section == [
        "  cell 0: figure changed, 4.0 % of pixels, in the upper-right quarter",
        "  cell 2: figure removed, 30\u00d720",
        "  cell 3: figure added, 40\u00d730",
        "  1 image unchanged",
    ]


def test_the_command_line_prints_the_image_lines(repo, tmp_path):
    a, b = two_notebooks()
    s1 = repo.commit({"v": 1}, "red", notebook=a)
    s2 = repo.commit({"v": 1}, "blue", notebook=b)
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", "diff", s1.id[:8], s2.id[:8]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert out.returncode == 0, out.stderr
    assert "cell 0: figure changed, 4.0 % of pixels, in the upper-right quarter" in out.stdout
    assert "1 image unchanged" in out.stdout


def test_the_html_shows_before_after_and_the_difference(repo):
    a, b = two_notebooks()
    s1 = repo.commit({"v": 1}, "red", notebook=a)
    s2 = repo.commit({"v": 1}, "blue", notebook=b)
    page = DiffView(repo.diff(s1.id, s2.id))._repr_html_()
    assert "<h4>Images</h4>" in page and "1 image unchanged" in page
    block = page[page.index("cell 0: figure changed") :].split('<div class="mlvc-image"')[0]
    uris = re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', block)
    assert [alt for alt, _ in uris] == ["before", "after", "difference"]
    overlay = np.asarray(Image.open(io.BytesIO(base64.b64decode(uris[2][1]))).convert("RGB"))
    red = np.all(overlay == (214, 39, 40), axis=2)
    # The red pixels are the ones the core counted, plus the outline of their box.
    assert red[20:40, 120:160].all() and red[10:15, 10:100].sum() == 0
    inside = red.copy()
    inside[19, :] = inside[40, :] = inside[:, 119] = inside[:, 160] = False
    assert inside.sum() == 800


def test_the_html_escapes_what_a_notebook_holds():
    entry = {
        "mime": "image/png",
        "size_before": None,
        "size_after": None,
        "fraction_changed": None,
        "box": None,
        "where": "<b>x</b>",
        "status": "changed",
        "a_index": 0,
        "b_index": 0,
        "output": 0,
        "before": '" onerror="alert(1)',
        "after": "<img src=x>",
        "trusted": False,
    }
    page = shown.images_html({"notebook": {"images": [entry]}})
    assert "onerror" not in page and "<img src=x>" not in page and "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_overlay_uses_the_comparisons_tolerance():
    assert shown.TOLERANCE == image_diff.TOLERANCE


def test_importing_the_diff_imports_no_imaging_library():
    code = (
        "import sys\n"
        "import jupyter_mlvc.ops.diff, jupyter_mlvc.ops.image_diff, jupyter_mlvc.present.render\n"
        "print(','.join(m for m in ('PIL', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
