"""jupyter_mlvc: version control for the notebook, the kernel's variables and its models.

>>> from jupyter_mlvc import Repo
>>> repo = Repo.init(".")                                   # doctest: +SKIP
>>> snap = repo.commit(globals(), "baseline", metrics={"acc": 0.93})  # doctest: +SKIP
>>> repo.log()                                              # doctest: +SKIP

Importing this package imports neither IPython nor jupyter_server: those faces
load lazily from the hooks below.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .errors import MlvcError
from .repo import Repo, clear_metrics, load, log_metrics
from .snapshot import Snapshot, VariableInfo

__all__ = [
    "MlvcError",
    "Repo",
    "Snapshot",
    "VariableInfo",
    "__version__",
    "clear_metrics",
    "load",
    "log_metrics",
]


def load_ipython_extension(ipython: Any) -> None:
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mlvc"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_mlvc"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .server import load_jupyter_server_extension

    load_jupyter_server_extension(server_app)
