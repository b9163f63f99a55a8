"""Code the benchmark runs inside the kernels: fingerprints of the user's variables.

This file is sent as text and executed into a module of its own
(``_bench_probe``), never into the user's namespace, so no system under test
ever sees (or saves) it. It imports only the standard library at the top: it
must work in the benchmark's venv and in Kishu's alike.

A fingerprint maps each user variable to a digest of its *value* (arrays by
their bytes, frames by pandas' row hashes, torch modules and optimizers by their
state dicts, fitted scikit-learn estimators by their predictions on fixed
inputs). Shared references between variables are not in the digests: each
workload states them as expressions (``holder[0] is base``) checked separately.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import types
from typing import Any

MARKER = "@@BENCH@@"
#: Names a kernel or a tool puts in the namespace: never the user's state.
NOT_STATE = {"In", "Out", "get_ipython", "exit", "quit", "open", "kishu", "init_kishu"}


def user_vars(ns: dict) -> dict[str, Any]:
    """The variables a user made: no modules, classes, imported functions or hidden names."""
    out = {}
    for name in list(ns.keys()):
        if name.startswith("_") or name in NOT_STATE:
            continue
        value = ns[name]
        if isinstance(value, (types.ModuleType, type)):
            continue
        imported = getattr(value, "__module__", None) != "__main__"
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) and imported:
            continue
        out[name] = value
    return out


def digest(obj: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    _feed(h, obj, {})
    return h.hexdigest()


def _feed(h: Any, obj: Any, seen: dict[int, tuple[int, Any]]) -> None:
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    torch = sys.modules.get("torch")
    t = type(obj)
    h.update(f"<{t.__module__}.{t.__qualname__}>".encode())
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(repr(obj).encode())
        return
    if id(obj) in seen:
        # The same object twice inside one value: the digest records the sharing.
        h.update(f"<ref {seen[id(obj)][0]}>".encode())
        return
    # Keep the object alive so that its id is not reused by a temporary.
    seen[id(obj)] = (len(seen), obj)
    if np is not None and isinstance(obj, np.ndarray):
        h.update(f"{obj.dtype.str}{obj.shape}".encode())
        if obj.dtype.hasobject:
            _feed(h, obj.ravel().tolist(), seen)
        else:
            h.update(memoryview(np.ascontiguousarray(obj)).cast("B"))
    elif np is not None and isinstance(obj, np.generic):
        h.update(f"{obj.dtype.str}{obj!r}".encode())
    elif pd is not None and isinstance(obj, pd.DataFrame):
        h.update(repr(list(obj.columns)).encode())
        h.update(repr([str(d) for d in obj.dtypes]).encode())
        h.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
    elif pd is not None and isinstance(obj, (pd.Series, pd.Index)):
        h.update(f"{obj.name!r}{obj.dtype}".encode())
        h.update(pd.util.hash_pandas_object(obj).to_numpy().tobytes())
    elif torch is not None and isinstance(obj, torch.Tensor):
        h.update(f"{obj.dtype}{tuple(obj.shape)}{obj.requires_grad}".encode())
        h.update(obj.detach().cpu().contiguous().numpy().tobytes())
    elif torch is not None and isinstance(obj, torch.nn.Module):
        h.update(f"training={obj.training}".encode())
        _feed(h, dict(obj.state_dict()), seen)
    elif torch is not None and isinstance(obj, torch.optim.Optimizer):
        _feed(h, obj.state_dict(), seen)
    elif hasattr(obj, "get_params") and hasattr(obj, "predict"):
        _feed_estimator(h, obj, seen)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _feed(h, key, seen)
            _feed(h, value, seen)
    elif isinstance(obj, (list, tuple)):
        h.update(f"len={len(obj)}".encode())
        for value in obj:
            _feed(h, value, seen)
    elif isinstance(obj, (set, frozenset)):
        h.update(repr(sorted(map(repr, obj))).encode())
    else:
        try:
            h.update(pickle.dumps(obj, protocol=5))
        except Exception as e:  # an unpicklable value still gets a stable, typed digest
            h.update(f"<unpicklable {type(e).__name__}>".encode())


def _feed_estimator(h: Any, est: Any, seen: dict) -> None:
    """A scikit-learn estimator: its parameters and its fitted attributes.

    Trees are read through their state (node arrays and values); other fitted
    attributes (names ending in ``_``) are fed like any value.
    """
    params = est.get_params(deep=False)
    h.update(repr(sorted((k, repr(v)) for k, v in params.items())).encode())
    for name in sorted(vars(est)):
        if not name.endswith("_") or name.startswith("_"):
            continue
        value = getattr(est, name)
        h.update(name.encode())
        if name == "estimators_" and isinstance(value, list):
            for sub in value:
                _feed_estimator(h, sub, seen)
        elif name == "tree_":
            _feed(h, value.__getstate__(), seen)
        else:
            _feed(h, value, seen)


def state_bytes(values: dict[str, Any]) -> int:
    """About how much memory the variables hold (shared buffers counted once)."""
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    torch = sys.modules.get("torch")
    counted: set[int] = set()
    total = 0
    for value in values.values():
        if np is not None and isinstance(value, np.ndarray):
            root = value
            while isinstance(root.base, np.ndarray):
                root = root.base
            if id(root) not in counted:
                counted.add(id(root))
                total += root.nbytes
        elif id(value) in counted:
            continue
        elif pd is not None and isinstance(value, pd.DataFrame):
            counted.add(id(value))
            total += int(value.memory_usage(deep=True).sum())
        elif torch is not None and isinstance(value, torch.nn.Module):
            counted.add(id(value))
            total += sum(t.nbytes for t in value.state_dict().values())
        else:
            counted.add(id(value))
            try:
                total += len(pickle.dumps(value, protocol=5))
            except Exception:
                total += sys.getsizeof(value)
    return total


def report(ns: dict, checks: list[str]) -> None:
    """Print the fingerprint, the state's size and the checks that failed, as one JSON line."""
    values = user_vars(ns)
    failed = []
    for expr in checks:
        try:
            ok = bool(eval(expr, ns))
        except Exception as e:
            ok = False
            expr = f"{expr} ({type(e).__name__}: {e})"
        if not ok:
            failed.append(expr)
    result = {
        "digests": {name: digest(value) for name, value in values.items()},
        "types": {name: type(value).__name__ for name, value in values.items()},
        "nbytes": state_bytes(values),
        "failed": failed,
    }
    print(MARKER + json.dumps(result))


def install_code() -> str:
    """A cell that loads this file into the ``_bench_probe`` module without touching user names."""
    with open(__file__) as f:
        source = f.read()
    return (
        f"exec(compile({source!r}, '<bench_probe>', 'exec'), "
        "__import__('sys').modules.setdefault('_bench_probe', "
        "__import__('types').ModuleType('_bench_probe')).__dict__)"
    )


def report_code(checks: list[str]) -> str:
    return f"__import__('_bench_probe').report(get_ipython().user_ns, {checks!r})"
