"""How the sidebar and the widget act on a kernel: JSON requests in, JSON replies out.

A snapshot's variable names, message, branch and notebook path were written by
whoever made the snapshot. A frontend that composed a ``%mlvc`` line, or any
code, from them would hand that person the kernel: IPython expands ``$name`` and
``{expression}`` in magic lines before the magic runs. So the frontend runs one
fixed line, whose only argument is the request as a string literal::

    __import__("jupyter_mlvc.kernel_protocol", fromlist=["handle"]).handle(
        get_ipython(), "{\\"op\\": \\"restore\\", \\"ref\\": \\"3f2a9c1b\\", \\"names\\": [\\"x\\"]}")

:func:`handle` parses and validates the request (:func:`validate`), calls the
same functions ``%mlvc commit`` and ``%mlvc checkout`` call
(``KernelSession.commit_state`` / ``restore_state``), and displays the reply as
:data:`MIME`, which the frontend reads from the kernel's iopub stream::

    {"ok": true, "op": "restore", "result": {"restored": ["x"], ...}}
    {"ok": false, "op": "restore", "error": "BadRequest", "message": "..."}

The ipywidgets browser runs in the kernel and calls :func:`run` directly.
docs/kernel-protocol.md is the reference. The core never imports this module.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import BadInput, MlvcError, NoStore, UnknownRef
from .kernel_session import NoStoreYet, session_for, without_names
from .state.capture import is_variable_name

#: The mime type of the display that carries a reply.
MIME = "application/vnd.jupyter-mlvc.reply+json"

OPS = ("commit", "restore", "diff", "merge", "variables")
SIDES = ("ours", "theirs")
SKIPPED = ("keep", "remove")

MAX_REQUEST_CHARS = 4_000_000
MAX_NAMES = 100_000
MAX_NAME_CHARS = 256
MAX_MESSAGE_CHARS = 10_000
MAX_REF_CHARS = 200
MAX_METRICS = 1_000
MAX_ERROR_CHARS = 2_000

# Ids, prefixes, HEAD~N, branch and tag names: printable, as the REST API takes them.
_REF = re.compile(r"^[^\x00-\x1f\x7f]+$")
_METRIC = re.compile(r"^[A-Za-z_][\w.\-/]*$")

log = logging.getLogger("jupyter_mlvc")


class BadRequest(BadInput):
    """A request the protocol refuses: not JSON, an unknown op, a field of the wrong type or size."""


@dataclass(frozen=True)
class Commit:
    """Commit the kernel's variables and the notebook."""

    message: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Restore:
    """Restore a snapshot's variables: all of them (``names`` None), or only ``names``.
    ``skipped``: keep (default) or remove the variables the snapshot skipped at commit."""

    ref: str
    names: tuple[str, ...] | None
    skipped: str = "keep"


@dataclass(frozen=True)
class Diff:
    """Compare a snapshot with the kernel's variables (the notebook half is the server's),
    or with snapshot ``b``; ``x`` (and ``y``) name the kernel's variables to run the
    models of both sides on."""

    ref: str
    b: str | None = None
    x: str | None = None
    y: str | None = None


@dataclass(frozen=True)
class Merge:
    """Merge a snapshot or branch into the kernel's state (``preview``: only say how)."""

    ref: str
    preview: bool = False
    strategy: str | None = None
    resolve: tuple[tuple[str, str], ...] = ()
    message: str | None = None


@dataclass(frozen=True)
class Variables:
    """List the kernel's variables (name, type, summary): the sidebar picks data among them."""


Request = Commit | Restore | Diff | Merge | Variables


class Target(Protocol):
    """What the ops act on: a kernel's namespace and the store of its notebook."""

    def commit(self, message: str, metrics: dict[str, float]) -> Any: ...

    def restore(self, ref: str, names: list[str] | None, skipped: str = "keep") -> Any: ...

    def diff(self, request: Diff) -> dict[str, Any]: ...

    def merge(self, request: Merge) -> Any: ...

    def variables(self) -> list[dict[str, Any]]: ...


# -- requests ------------------------------------------------------------------------------


def parse(text: str | bytes) -> Request:
    """The request that the JSON document ``text`` holds; ``BadRequest`` if it is not one."""
    if not isinstance(text, (str, bytes)):
        raise BadRequest(f"a request is a JSON string, not {type(text).__name__}")
    if len(text) > MAX_REQUEST_CHARS:
        raise BadRequest(f"a request is at most {MAX_REQUEST_CHARS:,} characters")
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the request is not JSON: {_one_line(exc, 200)}")
    return validate(data)


def validate(data: Any) -> Request:
    """The request ``data`` (parsed JSON) describes, every field checked."""
    if not isinstance(data, dict):
        raise BadRequest(f"a request is a JSON object, not {_json_type(data)}")
    op = data.get("op")
    if op not in OPS:
        raise BadRequest(f"op must be one of {', '.join(OPS)}, not {_shown(op)}")
    if op == "commit":
        _fields(data, required=("op", "message"), optional=("metrics",))
        return Commit(
            message=_text(data["message"], "message", MAX_MESSAGE_CHARS, empty=True),
            metrics=_metrics(data.get("metrics")),
        )
    if op == "restore":
        _fields(data, required=("op", "ref"), optional=("names", "skipped"))
        names = data.get("names")
        return Restore(
            ref=_ref(data["ref"]),
            names=None if names is None else tuple(_names(names)),
            skipped=_choice(data.get("skipped", "keep"), "skipped", SKIPPED),
        )
    if op == "merge":
        _fields(
            data, required=("op", "ref"), optional=("preview", "strategy", "resolve", "message")
        )
        preview = data.get("preview", False)
        if not isinstance(preview, bool):
            raise BadRequest(f"preview must be true or false, not {_json_type(preview)}")
        strategy = data.get("strategy")
        message = data.get("message")
        return Merge(
            ref=_ref(data["ref"]),
            preview=preview,
            strategy=None if strategy is None else _choice(strategy, "strategy", SIDES),
            resolve=_resolve(data.get("resolve")),
            message=None if message is None else _text(message, "message", MAX_MESSAGE_CHARS),
        )
    if op == "variables":
        _fields(data, required=("op",))
        return Variables()
    _fields(data, required=("op", "ref"), optional=("b", "x", "y"))
    if "y" in data and "x" not in data:
        raise BadRequest("diff takes y only with x (the data the models are run on)")
    return Diff(
        ref=_ref(data["ref"]),
        b=None if data.get("b") is None else _ref(data["b"]),
        x=None if data.get("x") is None else _variable(data["x"], "x"),
        y=None if data.get("y") is None else _variable(data["y"], "y"),
    )


def _variable(value: Any, what: str) -> str:
    """The name of a variable of the kernel: a Python identifier."""
    name = _text(value, what, MAX_NAME_CHARS)
    if not is_variable_name(name):
        raise BadRequest(f"{what}: {_shown(name)} is not a variable name (a Python identifier)")
    return name


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one field would leave the choice to the parser.
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise BadRequest(f"the field {_shown(key)} is given twice")
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a number JSON allows")


def _fields(data: dict[str, Any], required: Iterable[str], optional: Iterable[str] = ()) -> None:
    required = tuple(required)
    missing = [k for k in required if k not in data]
    if missing:
        raise BadRequest(f"{data['op']} needs the field {missing[0]}")
    extra = sorted(k for k in data if k not in required and k not in tuple(optional))
    if extra:
        raise BadRequest(f"{data['op']} takes no field {_shown(extra[0])}")


def _text(value: Any, what: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a string, not {_json_type(value)}")
    if len(value) > limit:
        raise BadRequest(f"{what} is at most {limit:,} characters, not {len(value):,}")
    if not value and not empty:
        raise BadRequest(f"{what} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{what} is not valid Unicode (a lone surrogate)")
    return value


def _ref(value: Any) -> str:
    ref = _text(value, "ref", MAX_REF_CHARS)
    if not _REF.match(ref):
        raise BadRequest("a ref is an id, a prefix of one, HEAD~N, a branch or a tag name")
    return ref


def _names(value: Any) -> list[str]:
    """Variable names: each a Python identifier, as every name a namespace can be restored to."""
    if not isinstance(value, list):
        raise BadRequest(f"names must be a list of variable names, not {_json_type(value)}")
    if not value:
        raise BadRequest("names lists at least one variable (leave it out to restore them all)")
    if len(value) > MAX_NAMES:
        raise BadRequest(f"names lists at most {MAX_NAMES:,} variables, not {len(value):,}")
    for name in value:
        _text(name, "a variable name", MAX_NAME_CHARS)
        if not is_variable_name(name):
            raise BadRequest(f"{_shown(name)} is not a variable name (a Python identifier)")
    return list(value)


def _choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BadRequest(f"{what} must be one of {', '.join(choices)}, not {_shown(value)}")
    return value


def _resolve(value: Any) -> tuple[tuple[str, str], ...]:
    """A merge's choices: variable names to "ours" or "theirs"."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise BadRequest(f"resolve must be an object of variable names, not {_json_type(value)}")
    if len(value) > MAX_NAMES:
        raise BadRequest(f"resolve names at most {MAX_NAMES:,} variables")
    for name, side in value.items():
        _text(name, "a variable name", MAX_NAME_CHARS)
        if not is_variable_name(name):
            raise BadRequest(f"{_shown(name)} is not a variable name (a Python identifier)")
        _choice(side, f"resolve of {name}", SIDES)
    return tuple(sorted(value.items()))


def _metrics(value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"metrics must be an object of numbers, not {_json_type(value)}")
    if len(value) > MAX_METRICS:
        raise BadRequest(f"metrics holds at most {MAX_METRICS:,} numbers")
    metrics: dict[str, float] = {}
    for name, number in value.items():
        if len(name) > MAX_NAME_CHARS or not _METRIC.match(name):
            raise BadRequest(f"{_shown(name)} is not a metric name")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise BadRequest(f"the metric {name} must be a number, not {_json_type(number)}")
        if not math.isfinite(float(number)):
            raise BadRequest(f"the metric {name} must be a finite number")
        metrics[name] = float(number)
    return metrics


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """``value`` quoted for a message, cut short: it may be anything a request held."""
    text = json.dumps(value, ensure_ascii=True) if isinstance(value, str) else _json_type(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- running a request ---------------------------------------------------------------------


def run(target: Target, request: Request | Mapping[str, Any]) -> Any:
    """Carry out ``request`` (a ``Request`` or its JSON data) on ``target``: the core's result.

    ``Commit`` gives the new ``Snapshot``, ``Restore`` a ``RestoreReport``, ``Diff``
    the diff as JSON data. Raises ``MlvcError`` (``BadRequest`` for a bad request).
    """
    if not isinstance(request, (Commit, Restore, Diff, Merge, Variables)):
        request = validate(dict(request))
    if isinstance(request, Commit):
        return target.commit(request.message, request.metrics)
    if isinstance(request, Restore):
        names = None if request.names is None else list(request.names)
        return target.restore(request.ref, names, request.skipped)
    if isinstance(request, Merge):
        return target.merge(request)
    if isinstance(request, Variables):
        return target.variables()
    return target.diff(request)


def result_data(request: Request, result: Any, seconds: float = 0.0) -> dict[str, Any]:
    """The JSON data of ``run``'s result, as a reply carries it."""
    from .present.render import commit_summary

    if isinstance(request, Commit):
        return {"snapshot": snapshot_record(result), "summary": commit_summary(result, seconds)}
    if isinstance(request, Restore):
        partial = request.names is not None
        return {
            "snapshot": snapshot_record(result.snapshot),
            "saved": None if result.saved is None else snapshot_record(result.saved),
            "partial": partial,
            "restored": list(result.restored),
            "removed": list(result.removed),
            "unchanged": list(result.unchanged),
            # A partial restore of a name the snapshot could not save fails instead.
            "skipped": {} if partial else dict(result.snapshot.skipped),
            "errors": dict(result.errors),
            "kept": dict(result.kept),
            "rng": list(result.rng),
            "seconds": result.seconds,
            "summary": result.summary_line(),
        }
    if isinstance(request, Merge):
        data = result.to_dict()
        for side in ("ours", "theirs", "base"):
            snap = result.sides.get(side)
            data[side] = None if snap is None else snapshot_record(snap)
        for field_ in ("snapshot", "saved"):
            snap = getattr(result, field_)
            data[field_] = None if snap is None else snapshot_record(snap)
        return data
    if isinstance(request, Variables):
        return {"variables": result}
    return dict(result)


def snapshot_record(snap: Any) -> dict[str, Any]:
    """A snapshot as the REST API lists it: without its variables and environment."""
    data = snap.to_dict()
    data.pop("variables", None)
    data.pop("environment", None)
    return data


def reply(make_target: Callable[[], Target], text: str | bytes) -> dict[str, Any]:
    """The reply to the request ``text``; never raises for what a request or a store holds.

    The target is made only for a valid request, and a failure to make it is a
    reply too.
    """
    from .present.format import finite

    op = None
    try:
        request = parse(text)
        op = _op(request)
        started = time.monotonic()
        result = run(make_target(), request)
        data = result_data(request, result, time.monotonic() - started)
        return {"ok": True, "op": op, "result": finite(data)}
    except Exception as exc:
        kind = error_kind(exc)
        if kind is None:
            # Not a user's mistake: the kernel's log keeps the traceback for a report.
            log.exception("jupyter_mlvc: the kernel protocol failed on a %s request", op)
            return _error(op, "InternalError", f"{type(exc).__name__}: {exc}")
        return _error(op, kind, exc)


#: The ``error`` of a reply, by exception class, most specific first (None: the class's
#: own name). What ``%mlvc`` refuses before the core is asked keeps the name the magics
#: give it, as docs/kernel-protocol.md lists it.
ERRORS: tuple[tuple[type[Exception], str | None], ...] = (
    (NoStoreYet, "UsageError"),
    (MlvcError, None),
)


def error_kind(exc: BaseException) -> str | None:
    """The ``error`` a reply names for ``exc``; None for a bug (not a user's mistake)."""
    for cls, kind in ERRORS:
        if isinstance(exc, cls):
            return kind or type(exc).__name__
    return None


def handle(shell: Any, request_json: str) -> None:
    """Answer the request ``request_json`` in ``shell``'s kernel: display the reply as :data:`MIME`."""
    from IPython.display import publish_display_data

    publish_display_data({MIME: reply(lambda: ShellTarget(shell), request_json)})


def _op(request: Request) -> str:
    return {
        Commit: "commit",
        Restore: "restore",
        Diff: "diff",
        Merge: "merge",
        Variables: "variables",
    }[type(request)]


def _error(op: str | None, kind: str, exc: Any) -> dict[str, Any]:
    return {"ok": False, "op": op, "error": kind, "message": _one_line(exc, MAX_ERROR_CHARS)}


def _one_line(text: Any, limit: int) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- targets -------------------------------------------------------------------------------


class ShellTarget:
    """An IPython shell's namespace, with the store, notebook and settings ``%mlvc`` uses."""

    def __init__(self, shell: Any):
        # Loaded as %load_ext would: %config MLVC and the reprs work as after a %mlvc line.
        shell.extension_manager.load_extension("jupyter_mlvc")
        self.shell = shell
        self.session = session_for(shell)

    def commit(self, message: str, metrics: dict[str, float]) -> Any:
        return self.session.commit_state(message, metrics=metrics)

    def variables(self) -> list[dict[str, Any]]:
        return namespace_variables(self.shell.user_ns, exclude=self.session.exclude())

    def restore(self, ref: str, names: list[str] | None, skipped: str = "keep") -> Any:
        return self.session.restore_state(ref, names, skipped=skipped)

    def merge(self, request: Merge) -> Any:
        return self.session.merge_state(
            request.ref,
            strategy=request.strategy,
            resolve=dict(request.resolve),
            message=request.message,
            preview=request.preview,
        )

    def diff(self, request: Diff) -> dict[str, Any]:
        notebook = self.session.notebook_path()
        if notebook is None:
            raise BadInput(
                "this kernel does not know its notebook: set %config MLVC.notebook = 'path.ipynb'"
            )
        return namespace_diff(
            notebook,
            request.ref,
            self.shell.user_ns,
            exclude=self.session.exclude(),
            b=request.b,
            **data_of(self.shell.user_ns, request),
        )


class RepoTarget:
    """An open store and a namespace, as the ipywidgets browser holds them.

    ``exclude`` and ``notebook`` are called at each request, so settings changed
    meanwhile apply; ``notebook`` gives the notebook to store with a commit and
    where it came from (``editor``, ``saved`` or ``history``).
    """

    def __init__(
        self,
        repo: Any,
        namespace: MutableMapping[str, Any],
        *,
        notebook_path: str | None = None,
        exclude: Callable[[], list[str]] | None = None,
        notebook: Callable[[], tuple[dict[str, Any] | None, str | None]] | None = None,
        save: bool = True,
    ):
        self.repo = repo
        self.namespace = namespace
        self.notebook_path = notebook_path
        self.exclude = exclude or list
        self.notebook = notebook or (lambda: (None, None))
        self.save = save

    def commit(self, message: str, metrics: dict[str, float]) -> Any:
        notebook, source = self.notebook()
        return self.repo.commit(
            self.namespace,
            message,
            notebook=notebook,
            notebook_path=self.notebook_path,
            metrics=metrics or None,
            exclude=self.exclude(),
            notebook_source=source,
        )

    def variables(self) -> list[dict[str, Any]]:
        return namespace_variables(self.namespace, exclude=self.exclude())

    def merge(self, request: Merge) -> Any:
        notebook, source = self.notebook()
        return self.repo.merge(
            request.ref,
            self.namespace,
            strategy=request.strategy,
            resolve=dict(request.resolve),
            message=request.message,
            notebook=notebook,
            notebook_source=source,
            notebook_path=self.notebook_path,
            exclude=self.exclude(),
            preview=request.preview,
        )

    def restore(self, ref: str, names: list[str] | None, skipped: str = "keep") -> Any:
        notebook, source = self.notebook() if self.save else (None, None)
        return self.repo.restore(
            ref,
            self.namespace,
            names,
            save=self.save,
            notebook=notebook,
            notebook_source=source,
            notebook_path=self.notebook_path,
            exclude=self.exclude(),
            skipped=skipped,
        )

    def diff(self, request: Diff) -> dict[str, Any]:
        patterns = self.exclude()
        data = self.repo.diff(
            request.ref,
            request.b or dict(self.namespace),
            notebook_path=self.notebook_path,
            exclude=patterns,
            **data_of(self.namespace, request),
        ).to_dict()
        return without_names(data, patterns)


def data_of(namespace: Mapping[str, Any], request: Diff) -> dict[str, Any]:
    """``repo.diff``'s ``data`` and ``data_names`` for the request's ``x`` and ``y``."""
    names = [n for n in (request.x, request.y) if n is not None]
    for name in names:
        if name not in namespace:
            raise BadRequest(f"the kernel has no variable {_shown(name)} to run the models on")
    if not names:
        return {}
    return {
        "data": dict(zip(("X", "y"), (namespace[n] for n in names))),
        "data_names": tuple(names),
    }


def namespace_variables(
    namespace: Mapping[str, Any], *, exclude: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The variables of ``namespace`` a commit would take, by name: each with its type and
    summary (shape, length, columns; nothing is pickled). Names matching ``exclude`` are
    left out, as are modules and imported classes and functions."""
    from .state.capture import select
    from .state.summary import summarize

    variables, _, _ = select(dict(namespace), exclude=exclude)
    listed = []
    for name in sorted(variables):
        type_, summary = summarize(variables[name])
        listed.append({"name": name, "type": type_, "summary": summary})
    return listed


def namespace_diff(
    notebook: str | os.PathLike,
    ref: str,
    namespace: Mapping[str, Any],
    *,
    exclude: Iterable[str] = (),
    b: str | None = None,
    data: dict[str, Any] | None = None,
    data_names: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Snapshot ``ref`` of ``notebook`` compared with ``namespace`` (or with snapshot
    ``b``), as JSON data; with ``data``, the models of both sides run on it.

    ``ref`` (and ``b``) must name a snapshot of ``notebook``. Names matching ``exclude`` are
    left out on both sides. The notebook part is left to the caller (``notebook``
    is ``None``): the sidebar compares the editor's content on the server.

    >>> namespace_diff("project/analysis.ipynb", "HEAD", {"x": 2})  # doctest: +SKIP
    {'a': {'id': ..., 'short_id': ...}, 'b': {'current': True}, 'variables': {...}, ...}
    """
    from .present.format import finite
    from .repo import Repo

    path = Path(notebook).expanduser().resolve()
    patterns = list(exclude)
    repo = Repo.find(path.parent, notebook_path=path)
    if repo is None:
        raise NoStore(f"no .mlvc store in the folder of {path.name} or above it")
    with repo:
        snaps = [repo.show(r, path) for r in (ref, b) if r is not None]
        for snap in snaps:
            if (snap.notebook_path or "") != (repo.notebook_path or ""):
                raise UnknownRef(f"{snap.short_id} is not a snapshot of this notebook")
        result = repo.diff(
            snaps[0].id,
            snaps[1].id if b is not None else dict(namespace),
            notebook_path=path,
            exclude=patterns,
            data=data,
            data_names=data_names,
        ).to_dict()
    result = without_names(result, patterns)
    result["notebook"] = None
    return finite(result)
