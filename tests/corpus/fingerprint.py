"""The in-kernel fingerprint of a user namespace: what a restore must give back.

Imported inside the kernel by a silent execute (the harness puts the repository on
the kernel's ``sys.path``), never bound to a user name, so taking a fingerprint
leaves the namespace as it was. Each name gets its type and a digest of its value;
identity (names bound to one object) and numpy memory sharing are recorded as
groups. The digest is of the value, not of its id: a restored value is a new object.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import types
from typing import Any

#: The shell's own names, not the notebook's state (ipykernel adds its ``open`` guard).
SHELL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
#: Values whose identity says nothing (small ints and interned strings share ids by chance).
IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset, range)
MARKER = "@@CORPUS@@"


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.hexdigest()[:16]


def _numpy_digest(value: Any, depth: int) -> str | None:
    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.ndarray):
        return None
    head = f"{value.dtype.str}|{value.shape}|{type(value).__name__}".encode()
    if value.dtype.hasobject:
        # Item by item: an array of Axes must not pickle whole figures.
        return _sha(head, digest(list(value.ravel()), depth + 1).encode())
    mask = b""
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(value).tobytes()
    return _sha(head, np.ascontiguousarray(value).tobytes(), mask)


def _pandas_digest(value: Any, depth: int) -> str | None:
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
        return None
    meta = repr(getattr(value, "dtypes", getattr(value, "dtype", None))).encode()
    index = (
        b""
        if isinstance(value, pd.Index)
        else repr((type(value.index), value.index.names)).encode()
    )
    names = repr(list(getattr(value, "columns", [getattr(value, "name", None)]))).encode()
    try:
        hashed = pd.util.hash_pandas_object(value, index=True).values.tobytes()
    except TypeError:  # unhashable cells (lists, dicts): their pickle stands in
        hashed = pickle.dumps(value, protocol=4)
    return _sha(meta, index, names, hashed)


def _estimator_digest(value: Any, depth: int) -> str | None:
    base = sys.modules.get("sklearn.base")
    if base is None or not isinstance(value, base.BaseEstimator):
        return None
    state = vars(value)
    parts = [type(value).__qualname__.encode()]
    for key in sorted(state):
        parts.append(key.encode() + b"=" + digest(state[key], depth + 1).encode())
    return _sha(*parts)


def _matplotlib_digest(value: Any, depth: int) -> str | None:
    artist = sys.modules.get("matplotlib.artist")
    figure = sys.modules.get("matplotlib.figure")
    if figure is not None and isinstance(value, figure.Figure):
        counts = [len(ax.get_children()) for ax in value.axes]
        return _sha(f"figure axes={len(value.axes)} artists={counts}".encode())
    if artist is not None and isinstance(value, artist.Artist):
        return _sha(f"{type(value).__name__} children={len(value.get_children())}".encode())
    return None


def _callbacks_digest(value: Any, depth: int) -> str | None:
    """matplotlib's ``CallbackRegistry`` by its signals and the callbacks pickling keeps.
    Its ``__getstate__`` advances its id counter, so digesting it by its pickle would
    change it, and no two digests of one registry would agree."""
    cbook = sys.modules.get("matplotlib.cbook")
    if cbook is None or not isinstance(value, cbook.CallbackRegistry):
        return None
    kept = sorted(
        (signal, sorted(cid for cid in cids if cid in value._pickled_cids))
        for signal, cids in value.callbacks.items()
    )
    return _sha(repr(kept).encode())


def _code_digest(code: types.CodeType) -> str:
    """The code's behaviour, not its bytes: ``marshal`` output depends on refcounts."""
    consts = [_code_digest(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    names = repr([consts, code.co_names, code.co_varnames]).encode()
    return _sha(code.co_code, names)


#: Deeper than this, or longer than this, a value is digested by its pickle alone.
MAX_DEPTH, MAX_ITEMS = 40, 10_000
#: Digests of the objects already seen during one fingerprint (an object graph shares
#: parts, and walking each path to them again would be exponential), and the objects
#: on the path being walked (a cycle is digested as a back reference). Each seen object
#: is held until the fingerprint ends: a temporary (a reduce's state dict) freed
#: earlier could hand its id to another one.
_seen: dict[int, tuple[Any, str]] = {}
_path: set[int] = set()
SCALARS = (int, float, complex, str, bytes, bool, type(None))


def _items_digest(value: Any, depth: int) -> str | None:
    """Containers item by item, so their items get the digests above and below."""
    name = f"{type(value).__module__}.{type(value).__qualname__}".encode()
    if isinstance(value, (list, tuple)) and len(value) <= MAX_ITEMS:
        return _sha(name, *(digest(v, depth + 1).encode() for v in value))
    if isinstance(value, (set, frozenset)) and len(value) <= MAX_ITEMS:
        return _sha(name, *sorted(digest(v, depth + 1).encode() for v in value))
    if isinstance(value, dict) and len(value) <= MAX_ITEMS:
        items = [f"{digest(k, depth + 1)}:{digest(v, depth + 1)}" for k, v in value.items()]
        return _sha(name, *(i.encode() for i in items))
    return None


def _reduce_digest(value: Any, depth: int) -> str | None:
    """An object by what pickling it would save, compared as values.

    The pickle's bytes are no digest of a value: they depend on which parts are
    one object (pickle's memo), which a faithful restore need not keep for
    immutable parts, and some objects pickle differently after a round trip.
    """
    reduced = value.__reduce_ex__(4)
    if isinstance(reduced, str):
        return _sha(reduced.encode())
    func, args, *rest = reduced
    parts = [getattr(func, "__qualname__", repr(func)), digest(args, depth + 1)]
    state = rest[0] if rest else None
    parts.append(digest(state, depth + 1))
    for extra in rest[1:3]:
        parts.append(digest(list(extra) if extra is not None else None, depth + 1))
    return _sha(*(p.encode() for p in parts))


def digest(value: Any, depth: int = 0) -> str:
    """A digest of ``value``; ``"type-only"`` when nothing better can be computed."""
    if isinstance(value, SCALARS):
        return _sha(type(value).__name__.encode(), repr(value).encode())
    if isinstance(value, types.FunctionType):
        return _sha(_code_digest(value.__code__).encode(), repr(value.__defaults__).encode())
    if isinstance(value, (types.ModuleType, type)):
        return _sha(f"{getattr(value, '__module__', '')}.{value.__name__}".encode())
    if isinstance(value, memoryview):
        return _sha(f"memoryview {value.format} {value.shape}".encode(), value.tobytes())
    key = id(value)
    if key in _seen:
        return _seen[key][1]
    if key in _path:
        return "cycle"
    _path.add(key)
    try:
        found = _digest_object(value, depth)
        _seen[key] = (value, found)
    finally:
        _path.discard(key)
    return found


def _digest_object(value: Any, depth: int) -> str:
    specials = [
        _numpy_digest,
        _pandas_digest,
        _estimator_digest,
        _matplotlib_digest,
        _callbacks_digest,
    ]
    if depth < MAX_DEPTH:
        specials += [_items_digest, _reduce_digest]
    for special in specials:
        try:
            found = special(value, depth)
        except Exception:  # a value that refuses inspection falls through to its pickle
            found = None
        if found is not None:
            return found
    try:
        return _sha(pickle.dumps(value, protocol=4))
    except Exception:
        return "type-only"


def user_names(ns: dict[str, Any]) -> list[str]:
    return sorted(
        n for n in ns if isinstance(n, str) and not n.startswith("_") and n not in SHELL_NAMES
    )


def _aliases(ns: dict[str, Any], names: list[str]) -> list[list[str]]:
    by_id: dict[int, list[str]] = {}
    for name in names:
        value = ns[name]
        if isinstance(value, (*IMMUTABLE, types.ModuleType, types.FunctionType, type)):
            continue
        by_id.setdefault(id(value), []).append(name)
    return sorted(group for group in by_id.values() if len(group) > 1)


def _shared_memory(ns: dict[str, Any], names: list[str]) -> list[list[str]]:
    """Pairs of numpy arrays whose memory overlaps (a view and its base).

    pandas objects are left out: under copy-on-write two frames may share memory
    without a write to one ever showing in the other, so sharing is not their state.
    """
    np = sys.modules.get("numpy")
    if np is None:
        return []
    held = [(n, ns[n]) for n in names if isinstance(ns[n], np.ndarray) and ns[n].size][:100]
    pairs = []
    for i, (a_name, a) in enumerate(held):
        for b_name, b in held[i + 1 :]:
            if a is not b and np.may_share_memory(a, b):
                pairs.append([a_name, b_name])
    return pairs


def fingerprint(ns: dict[str, Any]) -> dict[str, Any]:
    names = user_names(ns)
    _seen.clear()
    values = {}
    for name in names:
        value = ns[name]
        kind = type(value)
        values[name] = {"type": f"{kind.__module__}.{kind.__qualname__}", "digest": digest(value)}
    return {
        "values": values,
        "aliases": _aliases(ns, names),
        "shares": _shared_memory(ns, names),
    }
    _seen.clear()  # ids are only meaningful while the objects are alive


def publish(ns: dict[str, Any]) -> None:
    """Print the fingerprint as one marked JSON line for the harness."""
    print(MARKER + json.dumps(fingerprint(ns)))
