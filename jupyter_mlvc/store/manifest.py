"""The shape of a manifest, checked before any of it is used.

A manifest is the JSON document whose hash is a snapshot's id (docs/store-format.md):
the snapshot's message, time, notebook, parents and branch, and for each variable
the unit of objects that holds it. Manifests pulled from a remote, found in a
copied store or read to rebuild an index were written by someone else, so every
field the code reads is checked here first: its type and range, names that must
be Python identifiers, object ids, and counts and sizes that bound what reading
the snapshot can cost. A remote's entry for a snapshot (what listing a remote
shows) is checked the same way.

Whatever is wrong becomes one ``BadManifest`` whose message names the snapshot:
``snapshot 1a2b3c4d: variable name 'a b' is not a Python identifier``.
"""

from __future__ import annotations

import json
import keyword
import math
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from ..errors import BadManifest, BadName
from .objects import CHUNK_SIZE, MAX_NOTEBOOK, MAX_RNG, is_oid, shown
from .refs import check_name

#: The newest manifest format this version reads (and the one it writes).
FORMAT = 1
MAX_VARIABLES = 100_000
MAX_CHUNKS = 1_000_000
MAX_PARENTS = 64
MAX_METRICS = 10_000
#: Longest message, summary text or skip reason.
MAX_TEXT = 1 << 20
#: Longest name of a type, metric, module or notebook source.
MAX_NAME = 1000
MAX_PATH = 4096
#: Sizes are stored in SQLite's 64-bit integers.
MAX_INT = 2**63 - 1
#: Time stamps from 2000-01-01 to a day from now (clocks of two machines differ).
EARLIEST = 946_684_800.0
FUTURE_SLACK = 86_400.0

# Absent optional fields and their values, as the writer of older manifests meant them.
_OPTIONAL: dict[str, Callable[[], Any]] = {
    "message": str,
    "notebook_path": str,
    "notebook": lambda: None,
    "notebook_source": lambda: None,
    "parents": list,
    "branch": lambda: None,
    "auto": bool,
    "metrics": dict,
    "environment": dict,
    "modules": dict,
    "imports": dict,
    "skipped": dict,
    "rng": lambda: None,
}
# Summary fields the renderers index into, with the type they rely on.
_SUMMARY_FIELDS: dict[str, tuple[type, ...]] = {
    "repr": (str,),
    "dtype": (str,),
    "device": (str,),
    "name": (str, type(None)),
    "len": (int,),
    "rows": (int,),
    "nbytes": (int,),
    "nnz": (int,),
    "columns_total": (int,),
    "requires_grad": (bool,),
    "shape": (list,),
    "columns": (dict, list),
    "model": (dict,),
}
_MODEL_FIELDS: dict[str, tuple[type, ...]] = {
    "class": (str,),
    "library": (str,),
    "version": (str,),
    "params": (dict,),
    "feature_names_in": (list,),
    "n_features_in": (int, type(None)),
    "n_parameters": (int, type(None)),
    "n_trainable": (int, type(None)),
    "fitted": (bool,),
    "training": (bool,),
}


class _Bad(Exception):
    """What is wrong, without the snapshot (added once, by the caller)."""


def parse_manifest(sid: str, data: bytes) -> dict[str, Any]:
    """The manifest stored as ``data``, parsed and validated (see ``validate_manifest``)."""
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError):
        raise BadManifest(f"snapshot {_label(sid)}: the manifest does not parse") from None
    return validate_manifest(sid, manifest)


def validate_manifest(sid: str, data: Any) -> dict[str, Any]:
    """``data`` if it is a manifest this version can read, with absent optional fields
    set to their defaults; else ``BadManifest`` saying what is wrong, naming ``sid``."""
    try:
        return _manifest(sid, data)
    except _Bad as exc:
        raise BadManifest(f"snapshot {_label(sid)}: {exc}") from None


def validate_entry(sid: str, data: Any) -> dict[str, Any]:
    """``data`` if it is a remote's entry for snapshot ``sid`` (see ``remote.push``),
    with absent optional fields set to their defaults; else ``BadManifest``.
    Signatures are not checked here: one that is malformed only stays unverified."""
    try:
        return _entry(sid, data)
    except _Bad as exc:
        raise BadManifest(f"snapshot {_label(sid)}: its entry: {exc}") from None


def object_sizes(manifest: dict[str, Any]) -> dict[str, int]:
    """The most bytes each object a validated manifest names may hold: a chunk exactly
    its share of its stream or buffer, the notebook and the random state their caps."""
    out: dict[str, int] = {}

    def note(oid: str, size: int) -> None:
        out[oid] = max(out.get(oid, 0), size)

    for unit in manifest["units"]:
        parts = [(unit["stream"], unit["stream_size"])]
        parts += [(b["chunks"], b["nbytes"]) for b in unit["buffers"]]
        for chunks, total in parts:
            for i, oid in enumerate(chunks):
                note(oid, min(CHUNK_SIZE, total - i * CHUNK_SIZE))
    if manifest.get("notebook"):
        note(manifest["notebook"], MAX_NOTEBOOK)
    if manifest.get("rng"):
        note(manifest["rng"], MAX_RNG)
    return out


# -- the manifest ----------------------------------------------------------------------------


def _manifest(sid: str, m: Any) -> dict[str, Any]:
    if not isinstance(m, dict):
        raise _Bad(f"the manifest is {_kind(m)}, not a JSON object")
    for key in ("format", "created_at", "units", "variables"):
        if key not in m:
            raise _Bad(f"the manifest has no {key}")
    for key, default in _OPTIONAL.items():
        if key not in m:
            m[key] = default()
    fmt = m["format"]
    if type(fmt) is not int or fmt < 1:
        raise _Bad(f"format must be a positive whole number, not {shown(fmt)}")
    if fmt > FORMAT:
        raise _Bad(
            f"the manifest has format {fmt}: written by a newer jupyter_mlvc, upgrade to read it"
        )
    _text(m["message"], "message", MAX_TEXT)
    _time(m["created_at"], "created_at")
    _path(m["notebook_path"], "notebook_path")
    _optional_oid(m["notebook"], "notebook")
    if m["notebook_source"] is not None:
        _text(m["notebook_source"], "notebook_source", MAX_NAME)
    _parents(sid, m["parents"])
    _branch(m["branch"])
    _bool(m["auto"], "auto")
    _metrics(m["metrics"])
    _environment(m["environment"])
    for alias, module in _mapping(m["modules"], "modules", MAX_VARIABLES).items():
        _identifier(alias, "module alias")
        _dotted(module, f"module {alias}")
    for alias, spec in _mapping(m["imports"], "imports", MAX_VARIABLES).items():
        _identifier(alias, "import alias")
        module, sep, qualname = spec.partition(":") if isinstance(spec, str) else ("", "", "")
        if not sep:
            raise _Bad(f"import {alias} must be 'module:name', not {shown(spec)}")
        _dotted(module, f"import {alias}")
        _dotted(qualname, f"import {alias}")
    for name, reason in _mapping(m["skipped"], "skipped", MAX_VARIABLES).items():
        _identifier(name, "skipped variable name")
        _text(reason, f"the reason {name} was skipped", MAX_TEXT)
    _optional_oid(m["rng"], "rng")
    names = _units(m["units"])
    _variables(m["variables"], names)
    return m


def _units(units: Any) -> list[set[str]]:
    """Checks every unit; returns the names each holds."""
    _sequence(units, "units", MAX_VARIABLES)
    chunks = 0
    names_of: list[set[str]] = []
    for i, unit in enumerate(units):
        where = f"unit {i}"
        if not isinstance(unit, dict):
            raise _Bad(f"{where} is {_kind(unit)}, not a JSON object")
        names = _sequence(unit.get("names"), f"{where} names", MAX_VARIABLES)
        if not names:
            raise _Bad(f"{where} holds no variable")
        for name in names:
            _identifier(name, "variable name")
        if len(set(names)) != len(names):
            raise _Bad(f"{where} names a variable twice")
        names_of.append(set(names))
        parts = [(unit.get("stream"), unit.get("stream_size"), f"{where} stream")]
        buffers = _sequence(unit.get("buffers"), f"{where} buffers", MAX_CHUNKS)
        for j, b in enumerate(buffers):
            if not isinstance(b, dict):
                raise _Bad(f"{where} buffer {j} is {_kind(b)}, not a JSON object")
            parts.append((b.get("chunks"), b.get("nbytes"), f"{where} buffer {j}"))
        for ids, size, part in parts:
            ids = _sequence(ids, f"{part} chunks", MAX_CHUNKS)
            size = _int(size, f"{part} size", 0, MAX_INT)
            if len(ids) != -(-size // CHUNK_SIZE):
                raise _Bad(
                    f"{part}: {len(ids)} chunks of at most {CHUNK_SIZE} bytes cannot hold {size} bytes"
                )
            chunks += len(ids)
            if chunks > MAX_CHUNKS:
                raise _Bad(f"more than {MAX_CHUNKS} chunks")
            for oid in ids:
                _oid(oid, f"{part} chunk")
    return names_of


def _variables(variables: Any, names_of: list[set[str]]) -> None:
    _mapping(variables, "variables", MAX_VARIABLES)
    total = 0
    for name, v in variables.items():
        _identifier(name, "variable name")
        if not isinstance(v, dict):
            raise _Bad(f"variable {name} is {_kind(v)}, not a JSON object")
        unit = _int(v.get("unit"), f"variable {name} unit", 0, len(names_of) - 1)
        if name not in names_of[unit]:
            raise _Bad(f"variable {name} is not in its unit {unit}")
        _oid(v.get("hash"), f"variable {name} hash")
        _text(v.get("type"), f"variable {name} type", MAX_NAME)
        _summary(v.get("summary"), f"variable {name} summary")
        total += _int(v.get("nbytes"), f"variable {name} nbytes", 0, MAX_INT)
        if total > MAX_INT:
            raise _Bad(f"the variables' sizes add up to more than {MAX_INT} bytes")


def _summary(s: Any, field: str) -> None:
    if not isinstance(s, dict):
        raise _Bad(f"{field} is {_kind(s)}, not a JSON object")
    _fields(s, _SUMMARY_FIELDS, field)
    _text(s.get("repr", ""), f"{field} repr", MAX_TEXT)
    if any(type(d) is not int for d in s.get("shape", [])):
        raise _Bad(f"{field} shape must hold whole numbers")
    if isinstance(s.get("model"), dict):
        _fields(s["model"], _MODEL_FIELDS, f"{field} model")


def _fields(data: dict[str, Any], types: dict[str, tuple[type, ...]], field: str) -> None:
    for key, allowed in types.items():
        # bool is an int to isinstance, but a count must not be True.
        if key in data and type(data[key]) not in allowed:
            raise _Bad(f"{field} {key} must be {_names(allowed)}, not {shown(data[key])}")


def _environment(env: Any) -> None:
    _mapping(env, "environment", 1000)
    if "python" in env:
        _text(env["python"], "environment python", MAX_NAME)
    for name, version in _mapping(env.get("packages", {}), "environment packages", 1000).items():
        _text(version, f"the version of {shown(name)}", MAX_NAME)


def _metrics(metrics: Any) -> None:
    for name, value in _mapping(metrics, "metrics", MAX_METRICS).items():
        _metric_name(name)
        # NaN and infinities are allowed: a commit takes them (a diverged loss is news).
        if type(value) not in (int, float):
            raise _Bad(f"metric {shown(name)} must be a number, not {shown(value)}")


def _parents(sid: str, parents: Any) -> None:
    _sequence(parents, "parents", MAX_PARENTS)
    for p in parents:
        _oid(p, "parent")
    if sid in parents:
        raise _Bad("the snapshot is its own parent")
    if len(set(parents)) != len(parents):
        raise _Bad("a parent is named twice")


# -- the remote entry ------------------------------------------------------------------------


def _entry(sid: str, e: Any) -> dict[str, Any]:
    if not isinstance(e, dict):
        raise _Bad(f"it is {_kind(e)}, not a JSON object")
    if e.get("id") != sid:
        raise _Bad(f"it names snapshot {shown(e.get('id'))}")
    if "created_at" not in e:
        raise _Bad("it has no created_at")
    for key, default in (
        ("notebook", str),
        ("branch", lambda: None),
        ("message", str),
        ("parents", list),
        ("auto", bool),
        ("n_variables", int),
        ("nbytes", int),
        ("metrics", dict),
    ):
        if e.get(key) is None:
            e[key] = default()
    _path(e["notebook"], "notebook")
    _time(e["created_at"], "created_at")
    _branch(e["branch"])
    _text(e["message"], "message", MAX_TEXT)
    _parents(sid, e["parents"])
    _bool(e["auto"], "auto")
    _int(e["n_variables"], "n_variables", 0, MAX_VARIABLES)
    _int(e["nbytes"], "nbytes", 0, MAX_INT)
    _metrics(e["metrics"])
    pushed_by = e.get("pushed_by")
    # Who pushed is shown only: a value that is no short plain name is dropped.
    if not (isinstance(pushed_by, str) and len(pushed_by) <= 100 and _plain(pushed_by)):
        e["pushed_by"] = None
    return e


# -- fields ----------------------------------------------------------------------------------


def _label(sid: Any) -> str:
    return sid[:8] if is_oid(sid) else shown(sid, 20)


_TYPE_NAMES = {
    dict: "a JSON object",
    list: "a list",
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(_TYPE_NAMES[t] for t in types)


def _plain(text: str) -> bool:
    """No control or format characters (C0, C1, bidi overrides)."""
    return not any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{field} must be a string, not {shown(value)}")
    if len(value) > limit:
        raise _Bad(f"{field} is longer than {limit} characters")
    return value


def _path(value: Any, field: str) -> None:
    _text(value, field, MAX_PATH)
    if "\0" in value:
        raise _Bad(f"{field} holds a NUL character")


def _bool(value: Any, field: str) -> None:
    if type(value) is not bool:
        raise _Bad(f"{field} must be true or false, not {shown(value)}")


def _int(value: Any, field: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _Bad(f"{field} must be a whole number from {low} to {high}, not {shown(value)}")
    return value


def _time(value: Any, field: str) -> None:
    latest = time.time() + FUTURE_SLACK
    if type(value) not in (int, float) or not (
        math.isfinite(value) and EARLIEST <= value <= latest
    ):
        raise _Bad(f"{field} must be a time between 2000-01-01 and tomorrow, not {shown(value)}")


def _oid(value: Any, field: str) -> None:
    if not is_oid(value):
        raise _Bad(f"{field} {shown(value)} is not an object id (64 hex digits)")


def _optional_oid(value: Any, field: str) -> None:
    if value is not None:
        _oid(value, field)


def _sequence(value: Any, field: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(f"{field} must be a list, not {shown(value)}")
    if len(value) > limit:
        raise _Bad(f"{field} holds {len(value)} items, more than {limit}")
    return value


def _mapping(value: Any, field: str, limit: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{field} must be a JSON object, not {shown(value)}")
    if len(value) > limit:
        raise _Bad(f"{field} holds {len(value)} items, more than {limit}")
    return value


def _identifier(name: Any, field: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise _Bad(f"{field} {shown(name)} is not a Python identifier")


def _dotted(name: Any, field: str) -> None:
    if not isinstance(name, str) or not all(p.isidentifier() for p in name.split(".")):
        raise _Bad(f"{field} {shown(name)} is not a dotted Python name")


def _metric_name(name: str) -> None:
    if not name.strip() or name != name.strip() or len(name) > MAX_NAME or not _plain(name):
        raise _Bad(f"metric name {shown(name)} is not a name")


def _branch(value: Any) -> None:
    if value is None:
        return
    try:
        check_name(value, "branch")
    except BadName:
        raise _Bad(f"branch {shown(value)} is not a valid branch name") from None
    # check_name's pattern lets a final newline through.
    if not value.isprintable():
        raise _Bad(f"branch {shown(value)} is not a valid branch name")


def named_objects(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Every object a manifest names, with what it holds."""
    out: list[tuple[str, str]] = []
    for unit in manifest.get("units", []):
        names = unit.get("names", [])
        what = (
            f"variable {names[0]!r}"
            if len(names) == 1
            else "variables " + ", ".join(repr(n) for n in names)
        )
        out.extend((oid, what) for oid in unit.get("stream", []))
        for b in unit.get("buffers", []):
            out.extend((oid, what) for oid in b.get("chunks", []))
    if manifest.get("notebook"):
        out.append((manifest["notebook"], "the notebook"))
    if manifest.get("rng"):
        out.append((manifest["rng"], "the random state"))
    return out


def manifest_objects(manifest: dict[str, Any]) -> list[str]:
    """The ids of every object a snapshot needs besides its manifest, each once."""
    return list(dict.fromkeys(oid for oid, _ in named_objects(manifest)))
