"""The route table of the REST API under ``<base_url>/mlvc/api/``, and its registration.

The routes are documented in docs/rest-api.md. The handlers are thin: they
confine the notebook path, run one function of :mod:`.queries` in a thread and
send its JSON.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .handlers import (
    ChartHandler,
    CompareHandler,
    DiffHandler,
    GraphHandler,
    HeadHandler,
    LiveNotebookHandler,
    NotFoundHandler,
    RefsHandler,
    SnapshotHandler,
    SnapshotNotebookHandler,
    SnapshotsHandler,
)

API = "/mlvc/api"

#: The route table, most specific first; the last entry answers every other path with a JSON 404.
ROUTES: list[tuple[str, type]] = [
    (rf"{API}/snapshots", SnapshotsHandler),
    (rf"{API}/snapshots/(?P<ref>[^/]+)", SnapshotHandler),
    (rf"{API}/snapshots/(?P<ref>[^/]+)/notebook", SnapshotNotebookHandler),
    (rf"{API}/head", HeadHandler),
    (rf"{API}/refs", RefsHandler),
    (rf"{API}/graph", GraphHandler),
    (rf"{API}/chart", ChartHandler),
    (rf"{API}/live", LiveNotebookHandler),
    (rf"{API}/diff", DiffHandler),
    (rf"{API}/compare", CompareHandler),
    (rf"{API}/(?P<rest>.*)", NotFoundHandler),
]


def load_jupyter_server_extension(server_app: Any) -> None:
    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$", [(url_path_join(base_url, pattern), handler) for pattern, handler in ROUTES]
    )
    server_app.log.info("jupyter_mlvc: REST API at %s", url_path_join(base_url, API))
