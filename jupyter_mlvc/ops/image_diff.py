"""Where two images are compared: the output images of notebook cells, and figures.

PNG and JPEG are compared by pixel. Both images are composited on white (so a
transparent background and a white one look the same, as they do on screen) and
laid at the top-left corner of a common canvas, the larger width by the larger
height. A pixel differs when any of its channels moves by more than
:data:`TOLERANCE`; a pixel of the canvas that is not inside both images differs
too. The result is the share of the canvas that differs, the smallest rectangle
holding it, and where that is, in words.

SVG is compared as text, line by line: rendering it needs a library built on
system graphics (cairo), and an SVG from someone else's snapshot is active content
that should not reach a renderer that can fetch what it names.

Images come from notebooks and snapshots written by someone else: the declared
size is read from the header and checked against :data:`MAX_PIXELS` before a pixel
is decoded, only the decoder the MIME type names is used, and an image that cannot
be read becomes an entry saying so. Nothing here raises on bad data.

Pillow and numpy are imported when an image is compared, never with the module.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import io
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from . import diff_format as schema

PNG = "image/png"
JPEG = "image/jpeg"
SVG = "image/svg+xml"
#: The output MIME types compared, in the order a cell's entries are listed.
MIME_TYPES = (PNG, JPEG, SVG)
#: The Pillow decoder each pixel format may use (and no other).
_DECODERS = {PNG: "PNG", JPEG: "JPEG"}

#: How far (out of 255) a channel may move before its pixel counts as changed: 8/255
#: absorbs JPEG re-encoding and antialiasing that differs by a shade, not a line.
TOLERANCE = 8
#: The largest image (width times height, read from its header) that is decoded: 4,000
#: by 4,000. Well under Pillow's own decompression-bomb limit, and a few tens of MB of memory.
MAX_PIXELS = 16_000_000
#: Figures held in variables are drawn at this resolution to be compared.
FIGURE_DPI = 72
#: An SVG longer than this many lines is compared as a multiset of lines (linear
#: time) rather than aligned.
MAX_ALIGNED_LINES = 5_000

#: The share of the canvas a box must span, in both directions, to be "across the image".
_ACROSS = 2 / 3

Status = Literal["added", "removed", "changed"]


class Unreadable(Exception):
    """An image that cannot be compared; the message says why, for ``where``."""

    def __init__(self, reason: str, size: list[int] | None = None):
        super().__init__(reason)
        self.size = size


# -- reading ----------------------------------------------------------------------


def as_text(data: Any) -> str | None:
    """An output's MIME data as one string (nbformat may keep it as a list of lines)."""
    if isinstance(data, str):
        return data
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        return "".join(data)
    return None


def _raw(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        raise Unreadable("not base64") from None


def _dims(size: list[int]) -> str:
    return f"{size[0]}\u00d7{size[1]}"


def _open(mime: str, data: str | bytes) -> Any:
    """The image, opened (its header read, no pixel decoded yet); ``Unreadable`` if not."""
    from PIL import Image

    name = _DECODERS[mime]
    raw = _raw(data)
    try:
        with warnings.catch_warnings():
            # Our own limit, below, is the lower one: Pillow's warning says nothing new.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw), formats=[name])
    except Image.DecompressionBombError:
        raise Unreadable(f"larger than the {MAX_PIXELS:,} pixels compared") from None
    except Exception:  # UnidentifiedImageError, or whatever a damaged header raises
        raise Unreadable(f"not a {name} image") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        size = [width, height]
        raise Unreadable(f"{_dims(size)} is more than the {MAX_PIXELS:,} pixels compared", size)
    return img


def size_of(mime: str, data: str | bytes) -> list[int] | None:
    """[width, height] from the image's header (also of one too large to decode);
    ``None`` for SVG or an image whose header cannot be read."""
    if mime not in _DECODERS:
        return None
    try:
        return list(_open(mime, data).size)
    except Unreadable as exc:
        return exc.size


def pixels(mime: str, data: str | bytes) -> Any:
    """The image as an RGB ``uint8`` array of shape (height, width, 3), composited on white."""
    import numpy as np
    from PIL import Image

    img = _open(mime, data)
    try:
        rgba = img.convert("RGBA")
    except Exception:  # a truncated stream, a bad chunk: whatever the decoder raises
        raise Unreadable(f"a corrupt {_DECODERS[mime]} image", list(img.size)) from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return np.asarray(white.convert("RGB"))


# -- comparing --------------------------------------------------------------------


def compare(mime: str, before: str | bytes, after: str | bytes) -> schema.ImageComparison:
    """How ``after`` differs from ``before``, two images of type ``mime``.

    PNG and JPEG come base64-encoded, as notebooks store them, or as bytes; SVG as
    its text. Never raises: an image that cannot be read gives an entry whose
    ``where`` says so.
    """
    if mime == SVG:
        return _compare_svg(as_text(before) or "", as_text(after) or "")
    if mime not in _DECODERS:
        return _comparison(mime, None, None, None, None, f"{mime} is not compared")
    sides: list[Any] = []
    for label, data in (("before", before), ("after", after)):
        try:
            sides.append(pixels(mime, data))
        except Unreadable as exc:
            sizes = [size_of(mime, before), size_of(mime, after)]
            return _comparison(
                mime, sizes[0], sizes[1], None, None, f"the image {label} could not be read: {exc}"
            )
    return compare_pixels(mime, sides[0], sides[1])


def compare_pixels(mime: str, a: Any, b: Any) -> schema.ImageComparison:
    """Two RGB arrays (height, width, 3) compared on their common canvas."""
    import numpy as np

    (ha, wa), (hb, wb) = a.shape[:2], b.shape[:2]
    width, height = max(wa, wb), max(ha, hb)
    h, w = min(ha, hb), min(wa, wb)
    differs = np.ones((height, width), dtype=bool)
    moved = np.abs(a[:h, :w].astype(np.int16) - b[:h, :w].astype(np.int16))
    differs[:h, :w] = moved.max(axis=2, initial=0) > TOLERANCE
    n = int(np.count_nonzero(differs))
    size_before, size_after = [int(wa), int(ha)], [int(wb), int(hb)]
    box: schema.ImageBox | None = None
    if n:
        rows = np.flatnonzero(differs.any(axis=1))
        cols = np.flatnonzero(differs.any(axis=0))
        box = {
            "x": int(cols[0]),
            "y": int(rows[0]),
            "width": int(cols[-1] - cols[0] + 1),
            "height": int(rows[-1] - rows[0] + 1),
        }
    if size_before != size_after:
        words = f"size changed from {_dims(size_before)} to {_dims(size_after)}"
    else:
        words = where(box, width, height)
    fraction = n / (width * height) if width * height else 0.0
    return _comparison(mime, size_before, size_after, fraction, box, words)


def where(box: schema.ImageBox | None, width: int, height: int) -> str:
    """Where ``box`` lies on a canvas of ``width`` by ``height`` pixels, in words."""
    if box is None:
        return "no pixel differs beyond the tolerance"
    x0, y0 = box["x"], box["y"]
    x1, y1 = x0 + box["width"], y0 + box["height"]
    wide, tall = box["width"] >= _ACROSS * width, box["height"] >= _ACROSS * height
    if wide and tall:
        return "across the image"
    side = "left" if x1 <= width / 2 else "right" if x0 >= width / 2 else None
    level = "upper" if y1 <= height / 2 else "lower" if y0 >= height / 2 else None
    if side and level:
        return f"in the {level}-{side} quarter"
    if level:
        return f"in the {'top' if level == 'upper' else 'bottom'} half"
    if side:
        return f"in the {side} half"
    # The box straddles both middle lines.
    if x0 >= width / 4 and x1 <= width * 3 / 4 and y0 >= height / 4 and y1 <= height * 3 / 4:
        return "in the middle"
    if wide and box["height"] <= height / 2:
        return "in a band across the middle"
    if tall and box["width"] <= width / 2:
        return "in a band down the middle"
    return "across most of the image" if wide or tall else "around the middle"


def _compare_svg(before: str, after: str) -> schema.ImageComparison:
    a, b = before.splitlines(), after.splitlines()
    if max(len(a), len(b)) <= MAX_ALIGNED_LINES:
        ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
        n = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal")
    else:
        ca, cb = Counter(a), Counter(b)
        n = max(sum((ca - cb).values()), sum((cb - ca).values()))
    total = max(len(a), len(b))
    words = f"{n} of {total} lines differ (compared as text)"
    return _comparison(SVG, None, None, None, None, words)


def _comparison(
    mime: str,
    size_before: list[int] | None,
    size_after: list[int] | None,
    fraction: float | None,
    box: schema.ImageBox | None,
    words: str,
) -> schema.ImageComparison:
    return {
        "mime": mime,
        "size_before": size_before,
        "size_after": size_after,
        "fraction_changed": fraction,
        "box": box,
        "where": words,
    }


def unchanged(comparison: schema.ImageComparison) -> bool:
    """Whether two images that differ as data look the same (no pixel beyond the tolerance)."""
    return comparison["fraction_changed"] == 0.0 and comparison["box"] is None


# -- notebook outputs ---------------------------------------------------------------


def output_images(cell: Mapping[str, Any]) -> dict[tuple[int, str], str]:
    """A code cell's output images, by (output index, MIME type)."""
    if cell.get("cell_type") != "code":
        return {}
    found = {}
    for k, output in enumerate(cell.get("outputs") or []):
        data = output.get("data") if isinstance(output, Mapping) else None
        if not isinstance(data, Mapping):
            continue
        for mime in MIME_TYPES:
            text = as_text(data.get(mime))
            if text is not None:
                found[(k, mime)] = text
    return found


def cell_images(
    ca: Mapping[str, Any] | None,
    cb: Mapping[str, Any] | None,
    ia: int | None,
    ib: int | None,
    *,
    trusted: bool,
) -> tuple[list[schema.ImageChange], int]:
    """The images of cell ``ca`` (index ``ia`` in A) against those of ``cb`` (``ib`` in B),
    matched by output index and MIME type: the entries of those that differ, and how
    many are the same. A cell missing on one side has all its images added or removed."""
    images_a = output_images(ca) if ca is not None else {}
    images_b = output_images(cb) if cb is not None else {}
    entries: list[schema.ImageChange] = []
    same = 0
    for key in sorted(set(images_a) | set(images_b), key=_order):
        k, mime = key
        before, after = images_a.get(key), images_b.get(key)
        if before is not None and after is not None:
            if before == after:
                same += 1
                continue
            comparison = compare(mime, before, after)
            if unchanged(comparison):
                same += 1
                continue
            status: Status = "changed"
        elif after is not None:
            comparison = _one_side(mime, after, added=True)
            status = "added"
        else:
            assert before is not None
            comparison = _one_side(mime, before, added=False)
            status = "removed"
        entries.append(
            {
                **comparison,
                "status": status,
                "a_index": ia,
                "b_index": ib,
                "output": k,
                "before": before,
                "after": after,
                "trusted": trusted,
            }
        )
    return entries, same


def notebook_images(
    pairs: Iterable[tuple[Any, Any, int | None, int | None]], *, trusted: bool
) -> tuple[list[schema.ImageChange], int]:
    """:func:`cell_images` over the aligned cells of two notebooks, given as ``(cell in A,
    cell in B, index in A, index in B)`` (``None`` for a side without the cell); the
    entries in notebook order (B's, a removed cell just before where it stood)."""
    entries: list[schema.ImageChange] = []
    same = 0
    for ca, cb, ia, ib in pairs:
        found, n = cell_images(ca, cb, ia, ib, trusted=trusted)
        entries += found
        same += n
    entries.sort(
        key=lambda e: (
            e["b_index"] if e["b_index"] is not None else (e["a_index"] or 0) - 0.5,
            e["output"],
            MIME_TYPES.index(e["mime"]),
        )
    )
    return entries, same


def _order(key: tuple[int, str]) -> tuple[int, int]:
    return key[0], MIME_TYPES.index(key[1])


def _one_side(mime: str, data: str, *, added: bool) -> schema.ImageComparison:
    """An image on one side only: its size, and that all of it is new (or gone)."""
    size = size_of(mime, data)
    if mime == SVG:
        words = f"an SVG of {len(data.splitlines())} lines"
    elif size is None:
        words = "the image could not be read"
    else:
        words = "the whole image"
    if added:
        return _comparison(mime, None, size, None, None, words)
    return _comparison(mime, size, None, None, None, words)


# -- figures held in variables ------------------------------------------------------


def render_figure(figure: Any) -> bytes:
    """A matplotlib ``Figure`` drawn to PNG in memory (Agg, :data:`FIGURE_DPI`).

    ``savefig`` draws on a canvas of its own and puts the figure's back, so a figure
    shown in the notebook is left as it was.
    """
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buf.getvalue()


def figure_change(before: Any, after: Any) -> schema.FigureChange:
    """Two matplotlib figures, drawn and compared by pixel."""
    png_before, png_after = render_figure(before), render_figure(after)
    return {
        "kind": "figure",
        "library": "matplotlib",
        "image": compare(PNG, png_before, png_after),
        "before": base64.b64encode(png_before).decode("ascii"),
        "after": base64.b64encode(png_after).decode("ascii"),
    }


__all__ = [
    "FIGURE_DPI",
    "JPEG",
    "MAX_PIXELS",
    "MIME_TYPES",
    "PNG",
    "SVG",
    "TOLERANCE",
    "Unreadable",
    "as_text",
    "cell_images",
    "compare",
    "compare_pixels",
    "figure_change",
    "notebook_images",
    "output_images",
    "pixels",
    "render_figure",
    "size_of",
    "unchanged",
    "where",
]
