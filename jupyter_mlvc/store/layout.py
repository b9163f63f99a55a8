"""The ``.mlvc/`` folder: where a store is, how one is made, and whether it is whole."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import BadInput, DamagedStore, NoStore, StoreExists, WriteFailed
from .index import Index

STORE_DIR = ".mlvc"
#: The store layout version written to ``.mlvc/FORMAT``.
FORMAT = 1


def create(root: Path) -> Path:
    """Make a store in the folder ``root``; ``StoreExists`` if there is one already.

    It is built aside, then renamed into place: a reader (another kernel, the server)
    sees no store or a whole one, and of two processes creating it one wins.
    """
    store = root / STORE_DIR
    if not root.is_dir():
        raise NoStore(f"cannot create a store in {root}: not a folder")
    if store.exists():
        raise StoreExists(f"there is already a store in {root}")
    try:
        staging = Path(tempfile.mkdtemp(prefix=".mlvc-new-", dir=root))
    except OSError as exc:
        raise WriteFailed(f"cannot create a store in {root}: {exc.strerror or exc}") from None
    try:
        os.chmod(staging, 0o700)
        for sub in ("objects", "tmp"):
            (staging / sub).mkdir(mode=0o700)
        (staging / "FORMAT").write_text(f"{FORMAT}\n")
        Index(staging / "index.sqlite").ensure()
        try:
            os.rename(staging, store)
        except OSError as exc:
            if store.exists():
                raise StoreExists(f"there is already a store in {root}") from exc
            raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return store


def locate(path: str | os.PathLike) -> Path | None:
    """The ``.mlvc`` folder in ``path`` or its nearest parent, without opening it."""
    start = Path(path).resolve()
    if start.is_file():
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / STORE_DIR).is_dir():
            return folder / STORE_DIR
    return None


def check(store: Path) -> None:
    """``DamagedStore`` when a part every store has is missing."""
    if not (store / "index.sqlite").is_file():
        raise DamagedStore(
            f"the store {store} has no index (index.sqlite is missing); "
            "`mlvc fsck --rebuild-index` recovers it"
        )
    if not (store / "objects").is_dir():
        raise DamagedStore(f"the store {store} has no objects/ folder")


def notebook_key(root: Path, notebook_path: str | os.PathLike | None) -> str:
    """How the index names a notebook: its path relative to the store's folder ``root``
    (POSIX form), or absolute when it lies elsewhere; ``""`` for none."""
    if notebook_path is None or str(notebook_path) == "":
        return ""
    try:
        text = os.fsdecode(notebook_path)
        # A name the file system allows but UTF-8 cannot hold (the index's text) is
        # decoded with surrogates by Python: refuse it before it reaches SQLite.
        text.encode("utf-8")
    except (TypeError, UnicodeError):
        raise BadInput(
            f"the notebook path {os.fsencode(notebook_path)!r} is not valid UTF-8: "
            "rename the notebook"
        )
    p = Path(os.path.realpath(os.path.abspath(text)))
    base = Path(os.path.realpath(root))
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return p.as_posix()
