"""Confine a notebook path sent by a client to the server's root folder.

The REST API names notebooks the way the Contents API does: a path relative to
the server's root, with ``/`` between folders. Anything that could reach outside
the root is refused before the core sees it: absolute paths, ``..`` segments,
and symlinks (of the notebook or of any folder above it) that resolve elsewhere.
So are paths the file system would fail on further down (a symlink loop, a name
longer than it takes): a 400 here rather than an error deep in the core.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import MlvcError


class BadPath(MlvcError):
    """A notebook path that is malformed: empty, absolute, with ``..`` or a NUL."""


class OutsideRoot(MlvcError):
    """A notebook path that resolves, through a symlink, outside the server's root."""


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
        raise BadPath(
            f"the notebook path must be relative to the server's root, not {quote_path(api_path)}"
        )
    # Backslashes separate folders on Windows; treat them so everywhere, so that
    # "..\\x" is refused on every platform alike.
    parts = [p for p in PurePosixPath(api_path.replace("\\", "/")).parts if p not in ("", ".")]
    if not parts:
        raise BadPath("a notebook path is required (?path=folder/notebook.ipynb)")
    if ".." in parts:
        raise BadPath(f"the notebook path may not contain '..': {quote_path(api_path)}")
    _check_lengths(parts, api_path)
    root = Path(os.path.realpath(os.fspath(root_dir)))
    try:
        # Strict about loops only: a notebook that does not exist yet is fine.
        target = root.joinpath(*parts).resolve()
    except RuntimeError:
        raise BadPath(f"the notebook path goes round a symlink loop: {quote_path(api_path)}")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BadPath(f"the notebook path goes round a symlink loop: {quote_path(api_path)}")
        raise BadPath(f"the notebook path cannot be resolved: {quote_path(api_path)}")
    if target != root and root not in target.parents:
        raise OutsideRoot(
            f"the notebook path {quote_path(api_path)} leads outside the server's root"
        )
    _check_lengths(target.parts, api_path)
    return target


#: Longest file name and path the file system takes (Linux's NAME_MAX and PATH_MAX).
NAME_MAX = 255
PATH_MAX = 4096


def _check_lengths(parts: tuple[str, ...] | list[str], api_path: str) -> None:
    """Refuse names the file system would refuse with ENAMETOOLONG, before it is asked."""
    try:
        sizes = [len(os.fsencode(part)) for part in parts]
    except UnicodeError:
        raise BadPath(f"the notebook path is not valid text: {quote_path(api_path)}")
    if any(size > NAME_MAX for size in sizes):
        raise BadPath(f"a name in the notebook path is longer than {NAME_MAX} bytes")
    if sum(sizes) + len(sizes) > PATH_MAX:
        raise BadPath(f"the notebook path is longer than {PATH_MAX} bytes")


def quote_path(api_path: str, limit: int = 120) -> str:
    """``api_path`` quoted for a one-line message, cut if long."""
    text = repr(api_path)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
