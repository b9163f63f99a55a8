"""What a session's first command would load while the user waits, loaded beforehand.

``%load_ext jupyter_mlvc`` returns at once; a background thread then imports what
the first commit needs that the extension itself does not:

* sqlite-utils and its dependencies (about 0.1 s), which make a new store's schema:
  only when no store is found from the kernel's folder up, so that a kernel that
  restores from an existing store does not spend that time meanwhile;
* numpy's random module, which a commit reads when the kernel uses numpy;
* the platform's description each snapshot records, which Python finds by running
  ``uname -p`` once per process (about 40 ms), and jupyter_core's paths, where the
  signing key is kept.

By the time a cell has run and the user commits, it is done. It never fails loudly:
whatever it could not import is imported by the command that needs it, as without it.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading

from .state import environment
from .store import layout

_started = threading.Event()


def start() -> None:
    """Begin loading, once per process, in a daemon thread."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_load, name="mlvc-warmup", daemon=True).start()


def _load() -> None:
    try:
        if layout.locate(os.getcwd()) is None:
            from .store.index import import_sqlite_utils

            import_sqlite_utils()
        if "numpy" in sys.modules:
            importlib.import_module("numpy.random")
        environment.environment()
        importlib.import_module("jupyter_core.paths")
    except BaseException:  # the command that needs it imports it again
        pass
