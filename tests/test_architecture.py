"""The layout's contract, read from the source (docs/architecture.md explains it).

Rooms, from the bottom: ``store`` (objects, index, refs, manifests, trust) and ``state``
(what a kernel's state is, pickling) know nothing above them; ``ops`` (commit, restore,
diff, merge, maintenance, remote sync) build on both; ``repo`` (with ``sharing``,
``maintaining``, ``branching`` and ``comparing``) is the public facade; ``present`` shows results; the faces (magics,
CLI, kernel protocol, widget, server) sit on top and nothing below imports them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_mlvc"

#: What each room may import from this package (besides itself and the shared
#: ``errors``, ``snapshot``, ``_version``).
ALLOWED = {
    "store": {"store"},
    "state": {"state"},
    "ops": {"store", "state", "ops", "present.format"},
    "facade": {"store", "state", "ops", "facade"},
    "present": {"present", "store.refs", "state.summary"},
}
SHARED = {"errors", "snapshot", "_version"}
FACADE = {"repo", "sharing", "maintaining", "branching", "comparing"}
#: Frameworks of the faces: the core never imports them, not even lazily.
FACE_FRAMEWORKS = ("IPython", "ipykernel", "ipywidgets", "jupyter_server", "tornado")


def modules() -> dict[str, ast.Module]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "labextension" in path.parts:
            continue
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def room(module: str) -> str | None:
    head = module.split(".")[0]
    if head in ("store", "state", "ops", "present"):
        return head
    if module in FACADE:
        return "facade"
    return None  # a face, or the package itself


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:`` (they never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    lines.add(sub.lineno)
    return lines


def imports(module: str, tree: ast.Module) -> list[tuple[str, list[str], int, bool]]:
    """``(imported module, names, line, runs)`` for every import of this package."""
    package = module.split(".") if _is_package(module) else module.split(".")[:-1]
    skip = _type_checking_only(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
            names = [a.name for a in node.names]
            if not node.module:  # from . import a, b: each is a module
                for n in names:
                    out.append(
                        (f"{target}.{n}".strip("."), [], node.lineno, node.lineno not in skip)
                    )
            else:
                out.append((target, names, node.lineno, node.lineno not in skip))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jupyter_mlvc"):
            target = node.module.removeprefix("jupyter_mlvc").strip(".")
            out.append((target, [a.name for a in node.names], node.lineno, node.lineno not in skip))
    return out


def _is_package(module: str) -> bool:
    return (PACKAGE / module.replace(".", "/") / "__init__.py").exists() or module == ""


def _allowed(src_room: str, target: str) -> bool:
    if target.split(".")[0] in SHARED or target == "":
        return True
    allowed = ALLOWED[src_room]
    target_room = room(target)
    return target_room == src_room or target in allowed or (target_room or target) in allowed


def test_each_room_imports_only_the_rooms_below_it():
    found = []
    for module, tree in modules().items():
        src = room(module)
        if src is None:
            continue
        for target, _, line, runs in imports(module, tree):
            if runs and not _allowed(src, target):
                found.append(f"{module}:{line} imports {target}")
    assert found == [], "\n".join(found)


def test_the_core_never_imports_a_face_framework():
    found = []
    for module, tree in modules().items():
        if room(module) is None:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            found += [f"{module}:{node.lineno} {n}" for n in names if n.startswith(FACE_FRAMEWORKS)]
    assert found == [], "\n".join(found)


def test_no_import_circle():
    graph: dict[str, set[str]] = defaultdict(set)
    trees = modules()
    for module, tree in trees.items():
        for target, names, _, runs in imports(module, tree):
            if not runs:
                continue
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in trees and candidate != module and candidate != "":
                    graph[module].add(candidate)
                    break
    cycles = _cycles(graph)
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_uses_another_modules_private_names():
    trees = modules()
    private_defs: dict[str, set[str]] = defaultdict(set)
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name.startswith("_")
                and not node.name.startswith("__")
            ):
                private_defs[node.name].add(module)
    found = []
    for module, tree in trees.items():
        for target, names, line, _ in imports(module, tree):
            found += [
                f"{module}:{line} imports {target}.{n}"
                for n in names
                if n.startswith("_") and not n.startswith("__") and target != module
            ]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private_defs:
                owners = private_defs[node.attr]
                if module not in owners and not node.attr.startswith(("_repr_", "_ipython_")):
                    found.append(f"{module}:{node.lineno} uses .{node.attr} of {sorted(owners)[0]}")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("limit", [400])
def test_the_facade_stays_small(limit):
    tree = modules()["repo"]
    repo = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Repo")
    assert repo.end_lineno - repo.lineno + 1 <= limit


def test_no_long_functions_in_the_core():
    long = []
    for module, tree in modules().items():
        if room(module) is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 80:
                    long.append(f"{module}.{node.name}: {n} lines")
    assert long == [], "\n".join(long)


def test_the_contract_can_fail():
    # A core module that imported a face would be caught: the check is not vacuous.
    tree = ast.parse("from ..magics import MlvcMagics\n")
    assert [t for t, *_ in imports("ops.example", tree)] == ["magics"]
    assert not _allowed("ops", "magics") and not _allowed("store", "ops.commit")
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]
