"""A notebook sent by a client (the editor's content), checked before anything uses it.

``PUT /live`` keeps the body for the next commit made in the kernel, and
``POST /diff`` hands it to nbformat and nbdime. Both trust its shape, so it is
checked here first: what JupyterLab sends (``NotebookModel.toJSON()``, nbformat
4) passes; anything else is a ``BadInput`` saying what is wrong, never a crash
further down. The check is cheap (one pass, no JSON schema) because the editor
sends its content shortly after every edit.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import BadInput

#: Deeper than any real notebook (outputs of nested JSON included); deep enough
#: inputs make json, nbformat and nbdime recurse past Python's limit.
MAX_DEPTH = 100

CELL_TYPES = ("code", "markdown", "raw")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error", "update_display_data")


def parse_notebook(body: bytes | None) -> dict[str, Any]:
    """The notebook (nbformat 4 JSON) in a request's ``body``, or ``BadInput``.

    >>> parse_notebook(b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}')
    {'nbformat': 4, 'nbformat_minor': 5, 'metadata': {}, 'cells': []}
    >>> parse_notebook(b'{"cells": "x"}')
    Traceback (most recent call last):
    jupyter_mlvc.errors.BadInput: the body is not a notebook: cells must be a list
    """
    try:
        content = json.loads(body or b"null")
    except RecursionError:
        raise BadInput(f"the body is nested deeper than {MAX_DEPTH} levels")
    except ValueError:
        # UnicodeDecodeError is a ValueError too.
        raise BadInput("the body is not JSON")
    check_notebook(content)
    return content


def check_notebook(content: Any) -> None:
    """``BadInput`` unless ``content`` has the shape of an nbformat 4 notebook."""
    if not isinstance(content, dict):
        raise _bad("it is not a JSON object")
    if not isinstance(content.get("cells"), list):
        raise _bad("cells must be a list")
    _mapping(content, "metadata", "the notebook")
    if "metadata" not in content:
        raise _bad("it has no metadata")
    major = content.get("nbformat")
    if type(major) is not int:
        raise _bad("nbformat must be a whole number")
    if major != 4:
        raise _bad(f"only nbformat 4 is accepted, not {major}")
    minor = content.get("nbformat_minor", 0)
    if type(minor) is not int or minor < 0:
        raise _bad("nbformat_minor must be a whole number")
    for index, cell in enumerate(content["cells"]):
        _check_cell(cell, index)
    _check_values(content)


def comparable_notebook(content: dict[str, Any]) -> Any:
    """``content`` (checked by :func:`check_notebook`) as an nbformat node nbdime can diff.

    nbdime expects the keys nbformat's schema requires; a notebook the editor
    holds may lack some (a cell without ``metadata``, an output without
    ``data``). They are filled in with empty values rather than refused: a
    comparison should not fail over metadata. Sources given as lists of lines are
    joined, as nbformat does when it reads a file. ``content`` is left as it was.
    """
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    # from_dict copies every dict and list.
    nb = nbformat.from_dict(content)
    nb.setdefault("nbformat_minor", 0)
    for cell in nb.cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.setdefault("source", "")
        if cell.cell_type == "code":
            cell.setdefault("execution_count", None)
            cell.setdefault("outputs", [])
            for output in cell.outputs:
                for key, empty in _OUTPUT_KEYS.get(output.output_type, ()):
                    output.setdefault(key, nbformat.from_dict(empty))
    return rejoin_lines(nb)


#: The keys nbformat requires of each kind of output, with empty values.
_OUTPUT_KEYS: dict[str, tuple[tuple[str, Any], ...]] = {
    "stream": (("name", "stdout"), ("text", "")),
    "display_data": (("data", {}), ("metadata", {})),
    "update_display_data": (("data", {}), ("metadata", {})),
    "execute_result": (("data", {}), ("metadata", {}), ("execution_count", None)),
    "error": (("ename", ""), ("evalue", ""), ("traceback", [])),
}


def _check_cell(cell: Any, index: int) -> None:
    where = f"cell {index}"
    if not isinstance(cell, dict):
        raise _bad(f"{where} is not a JSON object")
    if cell.get("cell_type") not in CELL_TYPES:
        raise _bad(f"{where} has no cell_type among {', '.join(CELL_TYPES)}")
    _text(cell, "source", where)
    _mapping(cell, "metadata", where)
    _mapping(cell, "attachments", where)
    for bundle in (cell.get("attachments") or {}).values():
        _mimebundle(bundle, f"an attachment of {where}")
    if "id" in cell and not isinstance(cell["id"], str):
        raise _bad(f"the id of {where} must be a string")
    if cell["cell_type"] != "code":
        return
    count = cell.get("execution_count")
    if count is not None and type(count) is not int:
        raise _bad(f"the execution_count of {where} must be a whole number or null")
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        raise _bad(f"the outputs of {where} must be a list")
    for output in outputs:
        if not isinstance(output, dict) or output.get("output_type") not in OUTPUT_TYPES:
            raise _bad(f"{where} has an output without a known output_type")
        _mimebundle(output.get("data", {}), f"an output of {where}")
        _mapping(output, "metadata", where)
        if "text" in output:
            _text(output, "text", where)


def _text(holder: dict[str, Any], key: str, where: str) -> None:
    """``holder[key]``, if there, is multiline text: a string or a list of strings."""
    value = holder.get(key, "")
    if isinstance(value, str):
        return
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return
    raise _bad(f"the {key} of {where} must be a string or a list of strings")


def _mimebundle(bundle: Any, where: str) -> None:
    """Mime type -> content: text (a string or lines) unless the type is JSON."""
    if not isinstance(bundle, dict):
        raise _bad(f"the data of {where} must be a JSON object")
    for mime, value in bundle.items():
        if mime == "application/json" or mime.endswith("+json"):
            continue
        if not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(line, str) for line in value))
        ):
            raise _bad(f"the {mime} data of {where} must be a string or a list of strings")


def _mapping(holder: dict[str, Any], key: str, where: str) -> None:
    if key in holder and not isinstance(holder[key], dict):
        raise _bad(f"the {key} of {where} must be a JSON object")


def _check_values(value: Any) -> None:
    """No nesting deeper than :data:`MAX_DEPTH`, no text that is not valid Unicode.

    A lone surrogate (``"\\ud800"``) is valid JSON but cannot be written as
    UTF-8, which is how the kernel stores the notebook. One pass, no recursion.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _unicode(item)
            continue
        if isinstance(item, dict):
            for key in item:
                _unicode(key)
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise BadInput(f"the body is nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def _unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("the body holds text that is not valid Unicode (a lone surrogate)")


def _bad(why: str) -> BadInput:
    return BadInput(f"the body is not a notebook: {why}")
