"""The REST API's handlers: parse the request, call one query in a thread, send JSON.

Every error leaves through :meth:`MlvcHandler.write_error`, the one place where
errors become HTTP: an ``MlvcError`` answers with the code :data:`HTTP_STATUS`
gives its class and its one-line message, a tornado ``HTTPError`` with its code,
anything else with a 500 whose traceback goes to the server log only.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from http.client import responses
from pathlib import Path
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import (
    BadInput,
    DamagedStore,
    MlvcError,
    NoStore,
    ReadOnlyStore,
    RemoteFailed,
    StoreExists,
    UnknownRef,
    UnknownRemote,
    UnknownVariable,
    Untrusted,
    WriteFailed,
)
from ..ops.compare import MAX_SNAPSHOTS as MAX_COMPARED
from ..present.chart import DEFAULT_SNAPSHOTS as DEFAULT_CHART_SNAPSHOTS
from ..present.format import finite
from . import queries
from .notebook_body import parse_notebook
from .paths import BadPath, OutsideRoot, confine, quote_path

T = TypeVar("T")

MAX_PAGE = 500
#: The graph lists every snapshot of a notebook at once, up to this many (newest first).
DEFAULT_GRAPH_NODES = 10_000
MAX_GRAPH_NODES = 50_000
#: The metric chart reads the newest snapshots, up to this many.
MAX_CHART_SNAPSHOTS = 10_000
#: Whether a snapshot's notebook may be rendered as trusted as its cells say.
TRUSTED_HEADER = "X-Mlvc-Trusted"
DEFAULT_PAGE = 50
# Ids, prefixes, HEAD~N, branch and tag names: no control characters (C0, DEL, C1) or
# bidi overrides, not absurdly long. Matched whole: "$" would let a final newline in.
_REF = re.compile(r"[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]{1,200}")

#: The HTTP code of each error a user can cause, most specific class first; the first
#: class the error is an instance of decides. Any other ``MlvcError`` is a 400.
HTTP_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ReadOnlyStore, 409),
    (WriteFailed, 507),
    (DamagedStore, 500),
    (OutsideRoot, 403),
    (Untrusted, 403),
    (PermissionError, 403),
    (NoStore, 404),
    (UnknownRef, 404),
    (UnknownVariable, 404),
    (UnknownRemote, 404),
    (StoreExists, 409),
    (RemoteFailed, 502),
    (MlvcError, 400),
)


def http_status(exc: BaseException | None) -> int:
    """The code the API answers ``exc`` with: :data:`HTTP_STATUS`'s, else 500 (a bug)."""
    if isinstance(exc, web.HTTPError):
        return exc.status_code
    for cls, status in HTTP_STATUS:
        if isinstance(exc, cls):
            return status
    return 500


class MlvcHandler(APIHandler):
    """Base of every route: authenticated JSON in, JSON out."""

    # Snapshots are the history of notebooks: reading them is reading contents.
    auth_resource = "contents"

    @property
    def root_dir(self) -> Path:
        root = self.settings.get("server_root_dir") or self.contents_manager.root_dir
        return Path(root).expanduser().resolve()

    def notebook_arg(self) -> Path:
        """The ``path`` query argument, confined to the server's root."""
        api_path = self.get_query_argument("path", None)
        notebook = confine(self.root_dir, api_path)
        if notebook.suffix != ".ipynb":
            raise BadPath(f"not a notebook (.ipynb): {quote_path(api_path or '')}")
        return notebook

    def int_arg(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadInput(f"{name} must be a whole number, not {raw!r}")
        if not low <= value <= high:
            raise BadInput(f"{name} must be between {low} and {high}, not {value}")
        return value

    def bool_arg(self, name: str, default: bool) -> bool:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise BadInput(f"{name} must be true or false, not {raw!r}")

    @staticmethod
    def ref_arg(ref: str) -> str:
        if not _REF.fullmatch(ref):
            raise BadInput("a ref is an id, a prefix of one, HEAD~N, a branch or a tag name")
        return ref

    async def notebook_body(self) -> dict[str, Any]:
        """The request's body, which must be a notebook (nbformat 4 JSON).

        Parsed and checked in a thread: the editor's content can be megabytes.
        """
        return await self.query(parse_notebook, self.request.body)

    def required_ref(self, name: str) -> str:
        """A ref given as the query argument ``name``."""
        ref = self.get_query_argument(name, None)
        if not ref:
            raise BadInput(f"{name} is required: a snapshot id, a prefix of one, a branch or a tag")
        return self.ref_arg(ref)

    async def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # The store may be locked by a kernel that is committing: wait in a thread.
        return await asyncio.to_thread(fn, *args, **kwargs)

    def update_api_activity(self) -> None:
        # jupyter_server reads ?no_track_activity= while finishing the response; a
        # value that is not UTF-8 makes that raise, and the request would never end.
        try:
            super().update_api_activity()
        except web.HTTPError:
            pass

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        try:
            body = json.dumps(data, allow_nan=False)
        except ValueError:
            # A metric of NaN, say: valid Python, invalid JSON for a browser.
            body = json.dumps(finite(data))
        self.finish(body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        status = http_status(exc)
        if isinstance(exc, MlvcError):
            kind, message = type(exc).__name__, str(exc)
        elif isinstance(exc, PermissionError):
            # A folder or store the server's user may not read: the answer is no, not a bug.
            kind = "PermissionDenied"
            message = "the server is not allowed to read or write what this needs"
        elif isinstance(exc, web.HTTPError):
            kind = "HTTPError"
            message = exc.log_message or exc.reason or responses.get(status, "error")
        else:
            status, kind = 500, "InternalError"
            message = "jupyter_mlvc failed unexpectedly; the server log has the details"
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": kind, "message": message, "status": status}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # A user's mistake is not a server bug: one line, no traceback.
        if isinstance(value, (PermissionError, MlvcError)) and http_status(value) < 500:
            self.log.info(
                "jupyter_mlvc: %s %s -> %s: %s",
                self.request.method,
                self.request.uri,
                http_status(value),
                value,
            )
            return
        super().log_exception(typ, value, tb)


class SnapshotsHandler(MlvcHandler):
    """``GET /mlvc/api/snapshots?path=&limit=&offset=&search=&branch=&include_auto=``"""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_arg()
        page = await self.query(
            queries.snapshots_page,
            notebook,
            self.root_dir,
            limit=self.int_arg("limit", DEFAULT_PAGE, 1, MAX_PAGE),
            offset=self.int_arg("offset", 0, 0, 10**9),
            search=self.get_query_argument("search", None) or None,
            branch=self.get_query_argument("branch", None) or None,
            include_auto=self.bool_arg("include_auto", True),
        )
        self.send(page)


class SnapshotHandler(MlvcHandler):
    """``GET /mlvc/api/snapshots/<ref>?path=``"""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        self.send(await self.query(queries.snapshot_detail, self.notebook_arg(), self.ref_arg(ref)))


class SnapshotNotebookHandler(MlvcHandler):
    """``GET /mlvc/api/snapshots/<ref>/notebook?path=``

    The ``X-Mlvc-Trusted`` header says whether the snapshot is signed with the
    user's key; an untrusted one's notebook comes with every cell untrusted.
    """

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        nb, trusted = await self.query(
            queries.snapshot_notebook, self.notebook_arg(), self.ref_arg(ref)
        )
        self.set_header(TRUSTED_HEADER, "true" if trusted else "false")
        self.send(nb)


class HeadHandler(MlvcHandler):
    """``GET /mlvc/api/head?path=``: polled by the sidebar to notice new commits."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.send(await self.query(queries.head_state, self.notebook_arg()))


class RefsHandler(MlvcHandler):
    """``GET /mlvc/api/refs?path=``"""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.send(await self.query(queries.refs, self.notebook_arg()))


class GraphHandler(MlvcHandler):
    """``GET /mlvc/api/graph?path=&limit=``: every snapshot, compact, for the commit graph."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_arg()
        limit = self.int_arg("limit", DEFAULT_GRAPH_NODES, 1, MAX_GRAPH_NODES)
        self.send(await self.query(queries.graph, notebook, limit=limit))


class ChartHandler(MlvcHandler):
    """``GET /mlvc/api/chart?path=&limit=&include_auto=``: the metrics over the history,
    as a Vega-Lite spec (the chart of ``%mlvc log --plot``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_arg()
        limit = self.int_arg("limit", DEFAULT_CHART_SNAPSHOTS, 1, MAX_CHART_SNAPSHOTS)
        include_auto = self.bool_arg("include_auto", True)
        self.send(await self.query(queries.chart, notebook, limit=limit, include_auto=include_auto))


class LiveNotebookHandler(MlvcHandler):
    """``PUT /mlvc/api/live?path=``: the notebook as it is in the editor, for the next commit."""

    @web.authenticated
    @authorized
    async def put(self) -> None:
        notebook = self.notebook_arg()
        content = await self.notebook_body()
        await self.query(queries.save_live_notebook, notebook, content)
        self.set_status(204)
        self.finish()


class DiffHandler(MlvcHandler):
    """``GET /mlvc/api/diff?path=&a=&b=``: two snapshots compared.

    ``POST /mlvc/api/diff?path=&a=`` with the editor's notebook as the body: the
    notebook half of comparing snapshot ``a`` with the current state (the
    variables half is computed in the kernel, which holds them).
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_arg()
        a, b = self.required_ref("a"), self.required_ref("b")
        if b == "current":
            raise BadInput(
                "the current state is not stored: POST the editor's notebook to compare with it"
            )
        self.send(await self.query(queries.snapshot_diff, notebook, a, b))

    # Comparing reads the store; the body is only the editor's content to compare with.
    @web.authenticated
    @authorized(action="read")
    async def post(self) -> None:
        notebook = self.notebook_arg()
        a = self.required_ref("a")
        if self.get_query_argument("b", "current") != "current":
            raise BadInput("POST compares with the current state: leave out b, or use GET")
        content = await self.notebook_body()
        self.send(await self.query(queries.current_notebook_diff, notebook, a, content))


class CompareHandler(MlvcHandler):
    """``GET /mlvc/api/compare?path=&ref=A&ref=B[&ref=C...]``: snapshots side by side."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_arg()
        refs = self.get_query_arguments("ref")
        if not 2 <= len(refs) <= MAX_COMPARED:
            raise BadInput(f"compare takes 2 to {MAX_COMPARED} snapshots (ref=A&ref=B...)")
        refs = [self.ref_arg(ref) for ref in refs]
        self.send(await self.query(queries.comparison, notebook, refs))


class NotFoundHandler(MlvcHandler):
    """Any other path under the API: a JSON 404 rather than an HTML page."""

    @web.authenticated
    def get(self, rest: str) -> None:
        raise web.HTTPError(404, f"no such route: /mlvc/api/{rest}")

    put = post = patch = delete = get
