"""Which names of a namespace are state, and how they are cut into units to serialize.

Each variable is pickled on its own first, recording every mutable object it
reaches. Variables that reach a common object (``a = [x]; b = {"k": x}``) are then
pickled *together*, as one unit, so that after a restore ``a[0] is b["k"]`` still
holds. A variable that cannot be pickled is skipped with a reason; the rest is kept.
"""

from __future__ import annotations

import fnmatch
import importlib
import keyword
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from pickle import PickleBuffer
from typing import Any

from . import pickling
from .summary import summarize

#: Names IPython puts in the user namespace that are not the user's state.
IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})


@dataclass
class Variable:
    name: str
    type: str
    summary: dict[str, Any]
    stream: bytes
    buffers: list[PickleBuffer]
    nbytes: int
    unit: int = -1


@dataclass
class Unit:
    """Variables serialized together: one pickle stream plus its out-of-band buffers."""

    names: list[str]
    stream: bytes
    buffers: list[PickleBuffer]


@dataclass
class Captured:
    variables: dict[str, Variable] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    #: id() of every variable's value, to know next time which are the same objects.
    ids: dict[str, int] = field(default_factory=dict)
    #: Variables taken over unchanged from the parent snapshot: manifest entries whose
    #: ``unit`` indexes ``reused_units`` (manifest unit descriptions, already stored).
    reused: dict[str, dict[str, Any]] = field(default_factory=dict)
    reused_units: list[dict[str, Any]] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.variables.values()) + sum(
            v["nbytes"] for v in self.reused.values()
        )

    @property
    def names(self) -> list[str]:
        return sorted([*self.variables, *self.reused])


def is_variable_name(name: Any) -> bool:
    """Whether ``name`` can be a variable of a snapshot: a Python identifier, no keyword.

    A namespace may hold other keys (``globals()["a b"] = 1``), which no code names;
    they are not state, and a manifest that holds one is refused when read.
    """
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` is one of ``patterns`` or matches one (shell-style, ``tmp_*``)."""
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def importable_name(obj: Any) -> str | None:
    """``module:qualname`` when ``obj`` is a class or function that an import gives back."""
    if not isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    mod = sys.modules.get(module)
    if mod is None or getattr(mod, "__spec__", None) is None:
        return None
    target: Any = mod
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return f"{module}:{qualname}" if target is obj else None


def resolve_import(spec: str) -> Any:
    module, _, qualname = spec.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def select(
    namespace: dict[str, Any],
    only: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Split a namespace into ``(variables, modules, imports)``.

    Leaves out keys that are no variable names, names starting with ``_``, IPython's own names and, in
    ``exclude``, names or fnmatch patterns. Modules (``np``) and classes or
    functions imported from modules (``from sklearn.svm import SVC``) are not
    state: they are recorded as imports to redo on restore.
    """
    exclude = list(exclude or ())
    only_set = set(only) if only is not None else None
    variables: dict[str, Any] = {}
    modules: dict[str, str] = {}
    imports: dict[str, str] = {}
    for name, value in list(namespace.items()):
        if not is_variable_name(name) or name.startswith("_") or name in IPYTHON_NAMES:
            continue
        if only_set is not None and name not in only_set:
            continue
        if exclude and matches(name, exclude):
            continue
        if isinstance(value, types.ModuleType):
            if getattr(value, "__spec__", None) is not None:
                modules[name] = value.__name__
            continue
        spec = importable_name(value)
        if spec is not None:
            imports[name] = spec
            continue
        variables[name] = value
    return variables, modules, imports


def capture(
    namespace: dict[str, Any],
    only: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> Captured:
    """Pickle the state of ``namespace`` into units (nothing is written).

    Names in ``skip`` are selected but not pickled: the caller takes them over from
    the parent snapshot (see ``Repo.commit(assume_unchanged=...)``).
    """
    values, modules, imports = select(namespace, only, exclude)
    out = Captured(modules=modules, imports=imports, ids={n: id(v) for n, v in values.items()})
    for name in skip:
        values.pop(name, None)
    owners: dict[int, str] = {}
    parent: dict[str, str] = {}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    # Tracked objects are kept alive until grouping is done, so that no id is
    # reused by a temporary of a later pickle and mistaken for sharing.
    keep_alive: list[dict[int, Any]] = []
    for name, value in values.items():
        buffers: list[PickleBuffer] = []
        track: dict[int, Any] = {}
        try:
            stream = pickling.dumps(value, namespace=namespace, buffers=buffers, track=track)
        except Exception as exc:
            out.skipped[name] = pickling.reason_for(value, exc)
            continue
        keep_alive.append(track)
        type_, summary = summarize(value)
        nbytes = len(stream) + sum(b.raw().nbytes for b in buffers)
        out.variables[name] = Variable(name, type_, summary, stream, buffers, nbytes)
        parent[name] = name
        for oid in track:
            other = owners.setdefault(oid, name)
            if other != name:
                a, b = find(other), find(name)
                if a != b:
                    parent[b] = a

    groups: dict[str, list[str]] = {}
    for name in out.variables:
        groups.setdefault(find(name), []).append(name)
    for names in groups.values():
        index = len(out.units)
        if len(names) == 1:
            var = out.variables[names[0]]
            out.units.append(Unit(names, var.stream, var.buffers))
        else:
            names, stream, buffers = _pickle_together(names, values, namespace, out)
            if not names:
                continue
            out.units.append(Unit(names, stream, buffers))
        for n in names:
            out.variables[n].unit = index
    del keep_alive
    return out


def _pickle_together(
    names: list[str], values: dict[str, Any], namespace: dict[str, Any], out: Captured
) -> tuple[list[str], bytes, list[PickleBuffer]]:
    """One pickle of the variables ``names``, which share objects.

    Each of them pickled alone, but a value may still refuse a second pickle (its
    ``__reduce__`` consumed something, a resource closed meanwhile). Then the names
    are taken one at a time: each that breaks the unit is skipped with its reason
    (and dropped from ``out.variables``), and the others are committed together.
    """
    buffers: list[PickleBuffer] = []
    try:
        stream = pickling.dumps({n: values[n] for n in names}, namespace=namespace, buffers=buffers)
        return names, stream, buffers
    except Exception:
        pass
    kept: list[str] = []
    stream = b""
    for name in names:
        trial: list[PickleBuffer] = []
        try:
            data = pickling.dumps(
                {n: values[n] for n in [*kept, name]}, namespace=namespace, buffers=trial
            )
        except Exception as exc:
            out.skipped[name] = pickling.reason_for(values[name], exc)
            del out.variables[name]
            continue
        kept.append(name)
        stream, buffers = data, trial
    if len(kept) == 1:
        # A unit of one variable is that variable's own pickle, not a dict of one.
        var = out.variables[kept[0]]
        return kept, var.stream, var.buffers
    return kept, stream, buffers
