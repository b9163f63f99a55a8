"""Bisect: the first snapshot, between a good one and a bad one, where a test fails.

The snapshots searched are the first-parent path from ``good`` to ``bad`` (what the
branch went through, merges counted as one step). ``good`` is taken as passing; ``bad``
is tested first (a bad that passes is a mistake worth saying), then binary search:
at most ⌈log2 n⌉ + 1 snapshots are visited for a path of n steps.

A test is either

- a metric condition, ``"acc >= 0.9"``: decided from the index, nothing unpickled; or
- a Python expression, ``"model.score(X_test, y_test) >= 0.9"``, evaluated in a
  scratch namespace holding only the variables it names, loaded from the visited
  snapshot (trusted snapshots only), with the snapshot's imports for the modules it
  names. The caller's namespace is never read or written.
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, MlvcError, UnknownVariable
from ..store import catalog, refs
from .restore import checkout, redo_imports

if TYPE_CHECKING:
    from ..repo import Repo

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.\-/]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
MAX_EXPRESSION = 10_000


@dataclass
class Visit:
    """One snapshot the search looked at, and what the test said there."""

    id: str
    passed: bool
    #: The metric's value, or the expression's value as a short repr.
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, "value": self.value}


@dataclass
class BisectResult:
    """The first failing snapshot on the path, the snapshots visited in order, the path."""

    first_bad: str
    last_good: str
    test: str
    path: list[str]
    visited: list[Visit] = field(default_factory=list)
    #: What changed from the last good snapshot to the first bad one (``Repo.bisect``).
    diff: Any = None

    def summary_line(self) -> str:
        steps = len(self.path) - 1
        return (
            f"{self.first_bad[:8]} is the first snapshot where {self.test!r} fails "
            f"(after {self.last_good[:8]}; {len(self.visited)} of {steps} snapshots tested)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_bad": self.first_bad,
            "last_good": self.last_good,
            "test": self.test,
            "path": list(self.path),
            "visited": [v.to_dict() for v in self.visited],
            "diff": None if self.diff is None else self.diff.to_dict(),
            "summary": self.summary_line(),
        }


# -- tests ---------------------------------------------------------------------------


def metric_test(repo: Repo, condition: str) -> Callable[[str], tuple[bool, str]]:
    """The test ``"acc >= 0.9"``: read from the index, no pickle loaded."""
    found = _CONDITION.match(condition or "")
    if not found:
        raise BadInput(f"a metric condition reads like acc >= 0.9, not {condition!r}")
    name, op, number = found.groups()
    try:
        threshold = float(number)
    except ValueError:
        raise BadInput(f"{number!r} in the condition {condition!r} is not a number")
    compare = _COMPARE[op]

    def test(sid: str) -> tuple[bool, str]:
        metrics = {m: by_id[sid] for m, by_id in catalog.metrics_of(repo.index.conn, [sid]).items()}
        if name not in metrics:
            raise MlvcError(
                f"snapshot {sid[:8]} has no metric {name!r}, so {condition!r} cannot be "
                "decided there"
            )
        value = metrics[name]
        return (not math.isnan(value) and compare(value, threshold)), f"{value:.6g}"

    return test


def expression_test(repo: Repo, expression: str) -> Callable[[str], tuple[bool, str]]:
    """The test ``"model.score(X, y) >= 0.9"``, true or false at each snapshot."""
    if not isinstance(expression, str) or not expression.strip():
        raise BadInput("the test is a Python expression, such as model.score(X, y) >= 0.9")
    if len(expression) > MAX_EXPRESSION:
        raise BadInput(f"the test is at most {MAX_EXPRESSION:,} characters")
    try:
        tree = ast.parse(expression.strip(), "<bisect test>", "eval")
    except SyntaxError as exc:
        raise BadInput(f"the test is not a Python expression: {exc.msg}")
    code = compile(tree, "<bisect test>", "eval")
    wanted = _free_names(tree)

    def test(sid: str) -> tuple[bool, str]:
        scratch = _scratch(repo, sid, wanted)
        try:
            value = eval(code, scratch)  # the user's own expression, not snapshot data
        except Exception as exc:
            raise MlvcError(
                f"the test raised {type(exc).__name__} at snapshot {sid[:8]}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            )
        text = repr(value)
        return bool(value), text if len(text) <= 80 else text[:77] + "..."

    return test


def _free_names(tree: ast.AST) -> list[str]:
    """The names the expression reads and does not bind itself (comprehension variables
    and lambda arguments are its own)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    loaded = [
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound
    ]
    return sorted(set(loaded))


def _scratch(repo: Repo, sid: str, wanted: list[str]) -> dict[str, Any]:
    """A namespace with only the ``wanted`` names of snapshot ``sid``."""
    manifest = repo.manifest(sid)
    variables = [n for n in wanted if n in manifest["variables"]]
    modules = {a: m for a, m in manifest.get("modules", {}).items() if a in wanted}
    imports = {a: s for a, s in manifest.get("imports", {}).items() if a in wanted}
    missing = [
        n
        for n in wanted
        if n not in variables and n not in modules and n not in imports and not hasattr(builtins, n)
    ]
    if missing:
        why = manifest["skipped"].get(missing[0])
        detail = f": {why}" if why else ""
        raise UnknownVariable(
            f"the test names {missing[0]!r}, which snapshot {sid[:8]} does not hold{detail}"
        )
    scratch: dict[str, Any] = {"__builtins__": builtins}
    if variables:
        scratch.update(checkout(repo, sid, variables, None))
    redo_imports(scratch, {"modules": modules, "imports": imports})
    return scratch


# -- the search ----------------------------------------------------------------------


def bisect(
    repo: Repo, good: str, bad: str, test: Callable[[str], tuple[bool, str]], label: str
) -> BisectResult:
    """The first snapshot after ``good`` on the first-parent path to ``bad`` where
    ``test`` fails (full ids). ``BadInput`` when ``good`` is not on that path or
    ``bad`` passes."""
    if good == bad:
        raise BadInput("good and bad name the same snapshot: nothing to search")
    path = refs.first_parent_path(repo.index.conn, good, bad)
    if path is None:
        raise BadInput(
            f"{good[:8]} is not an ancestor of {bad[:8]} along first parents: bisect "
            "searches the history from a good snapshot forward to a bad one"
        )
    visited: list[Visit] = []

    def visit(i: int) -> bool:
        passed, value = test(path[i])
        visited.append(Visit(path[i], passed, value))
        return passed

    if visit(len(path) - 1):
        raise BadInput(
            f"the test passes at the bad snapshot {bad[:8]} ({visited[-1].value}): "
            "nothing went wrong between the two"
        )
    lo, hi = 0, len(path) - 1  # path[lo] passes, path[hi] fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if visit(mid):
            lo = mid
        else:
            hi = mid
    return BisectResult(path[hi], path[lo], label, path, visited)
