"""The server extension: jupyter_mlvc's REST API under ``<base_url>/mlvc/api/``.

The route table is in :mod:`.routes`, the handlers in :mod:`.handlers`, what
they ask of the core in :mod:`.queries`, which the kernel protocol
(:mod:`jupyter_mlvc.kernel_protocol`) also uses inside kernels. A kernel should
not have to import jupyter_server: so this package imports nothing at import
time and hands out the route table on demand.
"""

from __future__ import annotations

from typing import Any


def load_jupyter_server_extension(server_app: Any) -> None:
    from .routes import load_jupyter_server_extension as load

    load(server_app)


def __getattr__(name: str) -> Any:
    if name in ("ROUTES", "API"):
        from . import routes

        return getattr(routes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
