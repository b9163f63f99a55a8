"""How changed images and figures are shown: a line each in text, before | after |
difference in HTML.

The numbers come from the core (``ops.image_diff``, through ``Diff.to_dict()``):
``notebook.images`` for the notebooks' output images, ``change`` of kind
``figure`` for figures held in variables. The HTML shows each image as an
``<img>`` with a ``data:`` URI built here from bytes that were decoded and
encoded again, so nothing from a snapshot reaches the page as markup. An SVG is
shown the same way, as an image, never inlined: a browser draws an SVG loaded
through ``<img>`` without running its scripts or fetching what it names, so an
untrusted one is harmless there.

The difference overlay is drawn here with Pillow (imported only when a diff with
images is shown as HTML): the new image faded, the pixels that differ in red and
the box around them outlined. It is drawn only for images the core could read,
and only when an image's header still gives the size the core measured.
"""

from __future__ import annotations

import base64
import binascii
import html
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

#: The same tolerance as the comparison's (``ops.image_diff.TOLERANCE``; a test keeps
#: them equal): a pixel is drawn red when a channel moved by more than this.
TOLERANCE = 8
#: At most this many images are shown in HTML; the others are counted.
MAX_SHOWN = 20

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
_TAGS = {"image/jpeg": " (JPEG)", "image/svg+xml": " (SVG)"}
_IMG_STYLE = "max-width:320px;max-height:320px;border:1px solid #ddd;background:#fff"
_RED = (214, 39, 40)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def percent(fraction: float) -> str:
    """A share of pixels as a percentage: ``12.4 %``, ``0.012 %``, ``100 %``."""
    pct = fraction * 100
    if pct == 0 or pct == 100:
        return f"{pct:.0f} %"
    if pct < 0.05:
        return f"{pct:.2g} %"
    return f"{min(pct, 99.9):.1f} %"


def _dims(size: Sequence[int] | None) -> str:
    return f"{size[0]}\u00d7{size[1]}" if size else ""


def _how(image: Mapping[str, Any]) -> str:
    """How much changed and where, from an ``ImageComparison``."""
    fraction = image.get("fraction_changed")
    where = str(image.get("where") or "")
    if fraction is None:
        return where
    if fraction == 0:
        return f"looks the same ({where})"
    return f"{percent(fraction)} of pixels, {where}"


def figure_lines(change: Mapping[str, Any]) -> list[str]:
    """A ``figure`` change of a variable, as :func:`render.change_lines` lists it."""
    how = _how(change.get("image") or {})
    if how.startswith("looks the same"):
        return [f"figure {how}"]
    return [f"figure changed, {how}"]


def _cell(entry: Mapping[str, Any]) -> Any:
    return entry["b_index"] if entry.get("b_index") is not None else entry.get("a_index")


def image_line(entry: Mapping[str, Any], *, with_output: bool = False) -> str:
    """One ``ImageChange``: ``cell 7: figure changed, 12.4 % of pixels, in the upper-left quarter``."""
    label = f"cell {_cell(entry)}"
    if with_output:
        label += f", output {entry.get('output')}"
    status = entry.get("status", "changed")
    tag = _TAGS.get(str(entry.get("mime")), "")
    if status == "changed":
        return f"{label}: figure changed{tag}, {_how(entry)}"
    size = entry.get("size_after") if status == "added" else entry.get("size_before")
    return f"{label}: figure {status}{tag}, {_dims(size) or entry.get('where', '')}"


def _labelled(images: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    per_cell = Counter(_cell(e) for e in images)
    return [(image_line(e, with_output=per_cell[_cell(e)] > 1), e) for e in images]


def image_lines(notebook: Mapping[str, Any] | None) -> list[str]:
    """The notebook's output images that changed, a line each, and how many did not."""
    nb = notebook or {}
    images = list(nb.get("images") or [])
    lines = [line for line, _ in _labelled(images)]
    if nb.get("images_unchanged"):
        lines.append(f"{_plural(nb['images_unchanged'], 'image')} unchanged")
    return lines


# -- HTML ---------------------------------------------------------------------------


def data_uri(mime: str, data: Any) -> str | None:
    """``data:`` URI of an image as a notebook stores it; ``None`` if it is not one.

    The base64 of PNG and JPEG is decoded and encoded again, so the URI holds only
    base64 characters whatever the notebook held.
    """
    if isinstance(data, list):
        data = "".join(str(x) for x in data)
    if not isinstance(data, str):
        return None
    if mime == "image/svg+xml":
        raw = data.encode("utf-8", "replace")
    elif mime in _FORMATS:
        try:
            raw = base64.b64decode(data)
        except (binascii.Error, ValueError):
            return None
    else:
        return None
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _img(uri: str | None, alt: str) -> str:
    if uri is None:
        return '<span class="muted">(none)</span>'
    return f'<img alt="{_esc(alt)}" src="{_esc(uri)}" style="{_IMG_STYLE}">'


def _rgb(mime: str, data: Any, size: Sequence[int] | None) -> Any:
    """The image as an RGB array composited on white, or ``None``: only an image whose
    header gives the size the core measured (and so bounded) is decoded."""
    import numpy as np
    from PIL import Image

    if mime not in _FORMATS or not size or not isinstance(data, str):
        return None
    try:
        img = Image.open(io.BytesIO(base64.b64decode(data)), formats=[_FORMATS[mime]])
        if list(img.size) != list(size):
            return None
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return np.asarray(white.convert("RGB"))
    except Exception:  # whatever a damaged image raises: then there is no overlay
        return None


def overlay_png(
    mime: str,
    before: Any,
    after: Any,
    size_before: Sequence[int] | None,
    size_after: Sequence[int] | None,
    box: Mapping[str, int] | None = None,
) -> bytes | None:
    """The difference of two images as a PNG: ``after`` faded on the common canvas, the
    pixels that differ in red, ``box`` outlined. ``None`` when either cannot be read."""
    import numpy as np
    from PIL import Image, ImageDraw

    a, b = _rgb(mime, before, size_before), _rgb(mime, after, size_after)
    if a is None or b is None:
        return None
    (ha, wa), (hb, wb) = a.shape[:2], b.shape[:2]
    height, width, h, w = max(ha, hb), max(wa, wb), min(ha, hb), min(wa, wb)
    differs = np.ones((height, width), dtype=bool)
    moved = np.abs(a[:h, :w].astype(np.int16) - b[:h, :w].astype(np.int16))
    differs[:h, :w] = moved.max(axis=2, initial=0) > TOLERANCE
    gray = np.full((height, width), 255, dtype=np.uint8)
    gray[:hb, :wb] = b.mean(axis=2).astype(np.uint8)
    faded = (255 - (255 - gray.astype(np.uint16)) * 3 // 10).astype(np.uint8)
    canvas = np.repeat(faded[:, :, None], 3, axis=2)
    canvas[differs] = _RED
    picture = Image.fromarray(canvas, "RGB")
    if box:
        x, y = box["x"], box["y"]
        ImageDraw.Draw(picture).rectangle(
            [x - 1, y - 1, x + box["width"], y + box["height"]], outline=_RED
        )
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    return buf.getvalue()


def _difference(image: Mapping[str, Any], before: Any, after: Any) -> str:
    mime = str(image.get("mime"))
    if image.get("fraction_changed") is None or before is None or after is None:
        return '<span class="muted">\u2014</span>'
    png = overlay_png(
        mime, before, after, image.get("size_before"), image.get("size_after"), image.get("box")
    )
    if png is None:
        return '<span class="muted">\u2014</span>'
    return _img("data:image/png;base64," + base64.b64encode(png).decode("ascii"), "difference")


def _block(title: str, image: Mapping[str, Any], before: Any, after: Any) -> str:
    mime = str(image.get("mime"))
    cells = [
        _img(data_uri(mime, before) if before is not None else None, "before"),
        _img(data_uri(mime, after) if after is not None else None, "after"),
        _difference(image, before, after),
    ]
    row = "".join(f"<td>{c}</td>" for c in cells)
    return (
        f'<div class="mlvc-image" style="margin:4px 0 10px 0"><div><b>{_esc(title)}</b></div>'
        "<table><thead><tr><th>before</th><th>after</th><th>difference</th></tr></thead>"
        f"<tbody><tr>{row}</tr></tbody></table></div>"
    )


def images_html(diff: Mapping[str, Any]) -> str:
    """The figures held in variables and the notebook's output images that changed,
    before | after | difference; ``""`` when there are none."""
    shown: list[tuple[str, Mapping[str, Any], Any, Any]] = []
    for var in (diff.get("variables") or {}).get("changed") or []:
        change = var.get("change") or {}
        if change.get("kind") == "figure":
            title = f"{var.get('name')}: {figure_lines(change)[0]}"
            shown.append((title, change.get("image") or {}, change["before"], change["after"]))
    nb = diff.get("notebook") or {}
    for line, entry in _labelled(list(nb.get("images") or [])):
        shown.append((line, entry, entry.get("before"), entry.get("after")))
    same = nb.get("images_unchanged") or 0
    if not shown and not same:
        return ""
    parts = ["<h4>Images</h4>"]
    parts += [_block(*item) for item in shown[:MAX_SHOWN]]
    notes = []
    if len(shown) > MAX_SHOWN:
        notes.append(f"{_plural(len(shown) - MAX_SHOWN, 'more image')} changed, not shown")
    if same:
        notes.append(f"{_plural(same, 'image')} unchanged")
    if notes:
        parts.append(f'<p class="muted">{_esc("; ".join(notes))}</p>')
    return "".join(parts)


__all__ = [
    "MAX_SHOWN",
    "TOLERANCE",
    "data_uri",
    "figure_lines",
    "image_line",
    "image_lines",
    "images_html",
    "overlay_png",
    "percent",
]
