"""Confine a notebook path sent by a client to the server's root folder.

The REST API names notebooks the way the Contents API does: a path relative to
the server's root, with ``/`` between folders. Anything that could reach outside
the root is refused before the core sees it: absolute paths, ``..`` segments,
and symlinks (of the notebook or of any folder above it) that resolve elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import MlvcError


class BadPath(MlvcError):
    """A notebook path that is malformed: empty, absolute, with ``..`` or a NUL."""

    status = 400


class OutsideRoot(MlvcError):
    """A notebook path that resolves, through a symlink, outside the server's root."""

    status = 403


def confine(root_dir: str | os.PathLike, api_path: str | None) -> Path:
    """The absolute, resolved path of ``api_path`` under ``root_dir``.

    >>> confine("/srv/notebooks", "team/a.ipynb")          # doctest: +SKIP
    PosixPath('/srv/notebooks/team/a.ipynb')
    >>> confine("/srv/notebooks", "../etc/passwd")         # doctest: +SKIP
    Traceback (most recent call last):
    BadPath: ...
    """
    if api_path is None or not api_path.strip():
        raise BadPath("a notebook path is required (?path=folder/notebook.ipynb)")
    if "\x00" in api_path:
        raise BadPath("the notebook path contains a NUL character")
    if api_path.startswith(("/", "\\", "~")) or PureWindowsPath(api_path).drive:
        raise BadPath(f"the notebook path must be relative to the server's root, not {api_path!r}")
    # Backslashes separate folders on Windows; treat them so everywhere, so that
    # "..\\x" is refused on every platform alike.
    parts = [p for p in PurePosixPath(api_path.replace("\\", "/")).parts if p not in ("", ".")]
    if not parts:
        raise BadPath("a notebook path is required (?path=folder/notebook.ipynb)")
    if ".." in parts:
        raise BadPath(f"the notebook path may not contain '..': {api_path!r}")
    root = Path(os.path.realpath(os.fspath(root_dir)))
    target = Path(os.path.realpath(root.joinpath(*parts)))
    if target != root and root not in target.parents:
        raise OutsideRoot(f"the notebook path {api_path!r} leads outside the server's root")
    return target
