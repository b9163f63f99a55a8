"""Which variables a cell may have changed, read from its code.

Automatic snapshots after every cell must be cheap, so they serialize only the
variables a cell could have touched and take the rest over from the previous
snapshot. A variable can only change if the cell's code reaches it:

* by name (``x = ...``, ``x.append(1)``, ``del x``, ``model.fit(X)``), or
* through code the cell calls that was defined in the notebook: a function's
  global names, and the methods of notebook classes whose instances the cell names,
  followed transitively.

Objects shared between variables are serialized together (capture units), so
changing ``a`` through an alias ``b`` is covered: ``b`` is named, its unit holds
``a``. When the code can reach the namespace in ways names do not show —
``exec``, ``eval``, ``globals()``, ``vars()``, IPython magics and shell escapes,
``sys.modules``, ``__import__`` — the answer is None: everything is serialized.

What this cannot see is state changed from outside the cell's code: a background
thread, or library code that kept a reference to a notebook object and mutates it
later. Turn automatic snapshots off around such code, or commit explicitly.
"""

from __future__ import annotations

import ast
import types
from typing import Any

#: Names through which code reaches the namespace without naming variables.
OPAQUE = frozenset(
    {
        "exec",
        "eval",
        "globals",
        "locals",
        "vars",
        "get_ipython",
        "__import__",
        "__builtins__",
        "__main__",
        "modules",
    }
)


def touched_names(source: str, namespace: dict[str, Any]) -> set[str] | None:
    """Names of variables the cell ``source`` may have changed; None if unknowable."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in OPAQUE:
            return None
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
            if node.name.split(".")[0] in OPAQUE or node.name == "*":
                return None
        elif isinstance(node, ast.ImportFrom) and node.module == "__main__":
            return None
    if names & OPAQUE:
        return None
    return _close_over_code(names, namespace)


def _close_over_code(names: set[str], namespace: dict[str, Any]) -> set[str] | None:
    """Add the globals reached by notebook functions and methods the names lead to."""
    seen_code: set[int] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        value = namespace.get(name)
        for code in _code_of(value, namespace):
            if id(code) in seen_code:
                continue
            seen_code.add(id(code))
            for global_name in _code_names(code):
                if global_name in OPAQUE:
                    return None
                if global_name not in names:
                    names.add(global_name)
                    todo.append(global_name)
    return names


def _code_of(value: Any, namespace: dict[str, Any]) -> list[types.CodeType]:
    if isinstance(value, types.FunctionType):
        return [value.__code__] if value.__globals__ is namespace else []
    if isinstance(value, types.MethodType):
        return _code_of(value.__func__, namespace)
    cls = value if isinstance(value, type) else type(value)
    if cls.__module__ != "__main__":
        return []
    out = []
    for klass in cls.__mro__:
        if klass.__module__ != "__main__":
            continue
        for attr in vars(klass).values():
            func = getattr(attr, "__func__", attr)
            if isinstance(func, types.FunctionType) and func.__globals__ is namespace:
                out.append(func.__code__)
            elif isinstance(attr, property):
                out.extend(
                    f.__code__
                    for f in (attr.fget, attr.fset, attr.fdel)
                    if isinstance(f, types.FunctionType)
                )
    return out


def _code_names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _code_names(const)
    return out
