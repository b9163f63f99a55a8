"""What a variable looks like without loading it: type, shape, length, a short repr, a model card.

Summaries are computed at commit time from the live object and stored as JSON, so
listing and comparing snapshots never unpickles anything. Libraries are only
consulted when the object comes from them (a module already imported), so
summarizing never imports numpy, pandas or torch by itself.
"""

from __future__ import annotations

import reprlib
import sys
from typing import Any

MAX_REPR = 120
MAX_COLUMNS = 50

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6
_repr.maxlevel = 2


def type_name(obj: Any) -> str:
    t = type(obj)
    module = getattr(t, "__module__", "") or ""
    name = getattr(t, "__qualname__", t.__name__)
    if module in ("builtins", "__main__"):
        return name
    top = module.split(".")[0]
    return f"{top}.{name}" if top else name


def short_repr(obj: Any) -> str:
    try:
        text = _repr.repr(obj)
    except Exception as exc:
        return f"<{type(obj).__name__}: repr failed ({type(exc).__name__})>"
    text = " ".join(text.split())
    if len(text) > MAX_REPR:
        text = text[: MAX_REPR - 3] + "..."
    return text


def _module_of(obj: Any) -> str:
    return (getattr(type(obj), "__module__", "") or "").split(".")[0]


def summarize(obj: Any) -> tuple[str, dict[str, Any]]:
    """``(type name, summary)`` for one value. Never raises."""
    try:
        return type_name(obj), _summarize(obj)
    except Exception as exc:
        return type_name(obj), {"repr": f"<summary failed: {type(exc).__name__}>"}


def _summarize(obj: Any) -> dict[str, Any]:
    top = _module_of(obj)
    if top == "numpy":
        np = sys.modules["numpy"]
        if isinstance(obj, np.ndarray):
            return _ndarray(obj, np)
        if isinstance(obj, np.generic):
            return {"repr": short_repr(obj), "dtype": str(obj.dtype), "shape": []}
    if top == "pandas":
        pd = sys.modules["pandas"]
        if isinstance(obj, pd.DataFrame):
            return _dataframe(obj)
        if isinstance(obj, pd.Series):
            return {
                "repr": f"Series {obj.name!r} of {len(obj)} {obj.dtype}",
                "len": len(obj),
                "dtype": str(obj.dtype),
                "name": None if obj.name is None else str(obj.name),
            }
        if isinstance(obj, pd.Index):
            return {"repr": short_repr(obj), "len": len(obj), "dtype": str(obj.dtype)}
    if top == "torch":
        torch = sys.modules["torch"]
        if isinstance(obj, torch.Tensor):
            return {
                "repr": f"tensor {tuple(obj.shape)} {obj.dtype} on {obj.device}",
                "shape": list(obj.shape),
                "dtype": str(obj.dtype).replace("torch.", ""),
                "device": str(obj.device),
                "requires_grad": bool(obj.requires_grad),
            }
    if top == "scipy" and hasattr(obj, "nnz") and hasattr(obj, "shape"):
        return {
            "repr": f"sparse {obj.shape} {obj.dtype}, {obj.nnz} stored",
            "shape": list(obj.shape),
            "dtype": str(obj.dtype),
            "nnz": int(obj.nnz),
        }
    out: dict[str, Any] = {"repr": short_repr(obj)}
    card = model_card(obj)
    if card is not None:
        out["model"] = card
    elif isinstance(obj, (str, bytes, list, tuple, dict, set, frozenset)):
        out["len"] = len(obj)
    return out


def _ndarray(a: Any, np: Any) -> dict[str, Any]:
    with np.printoptions(threshold=8, edgeitems=2, precision=4, linewidth=MAX_REPR):
        text = short_repr(a) if a.dtype.hasobject else np.array2string(a, separator=", ")
    text = " ".join(text.split())
    if len(text) > MAX_REPR:
        text = text[: MAX_REPR - 3] + "..."
    return {"repr": text, "shape": list(a.shape), "dtype": str(a.dtype), "nbytes": int(a.nbytes)}


def _dataframe(df: Any) -> dict[str, Any]:
    columns = {str(c): str(t) for c, t in list(df.dtypes.items())[:MAX_COLUMNS]}
    out: dict[str, Any] = {
        "repr": f"DataFrame {df.shape[0]} rows x {df.shape[1]} columns",
        "rows": int(df.shape[0]),
        "columns": columns,
    }
    if df.shape[1] > MAX_COLUMNS:
        out["columns_total"] = int(df.shape[1])
    return out


def model_card(obj: Any) -> dict[str, Any] | None:
    """What a snapshot records of a model: library, class, hyperparameters, size, fitted."""
    top = _module_of(obj)
    if top == "sklearn" or (hasattr(obj, "get_params") and hasattr(obj, "fit")):
        return _sklearn_card(obj)
    torch = sys.modules.get("torch")
    # A module defined in the notebook (``class Net(nn.Module)`` in ``__main__``) is a model too.
    if torch is not None and isinstance(obj, torch.nn.Module):
        n_params = sum(p.numel() for p in obj.parameters())
        n_trainable = sum(p.numel() for p in obj.parameters() if p.requires_grad)
        return {
            "library": "torch",
            "version": getattr(torch, "__version__", ""),
            "class": type(obj).__name__,
            "params": {name: type(m).__name__ for name, m in list(obj.named_children())[:30]},
            "n_parameters": int(n_params),
            "n_trainable": int(n_trainable),
            "training": bool(obj.training),
        }
    if torch is not None and isinstance(obj, torch.optim.Optimizer):
        return {
            "library": "torch",
            "class": type(obj).__name__,
            "params": {k: _param_repr(v) for k, v in obj.defaults.items()},
        }
    return None


def _param_repr(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return short_repr(value)


def _sklearn_card(obj: Any) -> dict[str, Any] | None:
    try:
        params = obj.get_params(deep=False)
    except Exception:
        return None
    lib = _module_of(obj)
    mod = sys.modules.get(lib)
    card: dict[str, Any] = {
        "library": {"sklearn": "scikit-learn"}.get(lib, lib),
        "version": getattr(mod, "__version__", ""),
        "class": type(obj).__name__,
        "params": {k: _param_repr(v) for k, v in params.items()},
    }
    card["fitted"] = _is_fitted(obj)
    if hasattr(obj, "n_features_in_"):
        card["n_features_in"] = int(obj.n_features_in_)
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        card["feature_names_in"] = [str(n) for n in list(names)[:MAX_COLUMNS]]
    return card


def _is_fitted(obj: Any) -> bool:
    validation = sys.modules.get("sklearn.utils.validation")
    if validation is not None and _module_of(obj) == "sklearn":
        try:
            validation.check_is_fitted(obj)
            return True
        except Exception:
            return False
    attrs = vars(obj) if hasattr(obj, "__dict__") else {}
    return any(a.endswith("_") and not a.startswith("_") for a in attrs)
