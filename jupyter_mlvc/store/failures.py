"""What a failed write to a store becomes: one line, the store as it was."""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import WriteFailed


@contextlib.contextmanager
def write_errors(store: Path, outcome: str = "nothing was committed") -> Iterator[None]:
    """A failed write (disk full, I/O error, read-only store) becomes one clear line.
    The write batch and the index transaction have already undone their part."""
    try:
        yield
    except OSError as exc:
        what = exc.strerror or str(exc)
        code = f" ({errno.errorcode.get(exc.errno, exc.errno)})" if exc.errno else ""
        raise WriteFailed(f"{outcome}: cannot write to the store {store}: {what}{code}") from exc
    except sqlite3.OperationalError as exc:
        raise WriteFailed(f"{outcome}: cannot write the index of {store}: {exc}") from exc
