"""Where models are run on the same data: the models of two states, their predictions compared.

A diff given data (``repo.diff(a, b, data={"X": X_test, "y": y_test})``) runs every
variable that is a model on both sides on ``X``: scikit-learn estimators and
pipelines, xgboost and lightgbm through their scikit-learn API (anything with
``predict``), and torch modules (their forward over ``X`` as a float32 tensor; an
output of more than one column is a classifier's scores, whose argmax is the
prediction). For each it says how many predictions differ, the confusion between
the old predictions and the new ones (classification) or how the new ones moved
(regression, B - A), and the score of each on ``y`` when it is given.

Which variables are models is read from the snapshots' summaries (their model
cards), so only those are loaded, through the loaders the caller passes: the
store's trusted load path, which raises ``Untrusted`` for a snapshot this user has
not trusted; then no model runs and ``note`` says why. A model that fails on the
data gets ``error`` (one line), never an exception. A model whose content is the
same on both sides is loaded once (from B) and run once.

Nothing here writes to the objects it is given: a torch module's train/eval flags
are put back after its forward, ``X`` is copied before it becomes a tensor.
The result is ``diff_format.ModelsOnData``.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal

from ..errors import BadInput, Untrusted
from . import diff_format as schema

#: A confusion matrix over more labels than this is left out (``confusion`` None).
MAX_LABELS = 50
#: The quantiles of a regression's B - A.
QUANTILES = (("5%", 0.05), ("25%", 0.25), ("50%", 0.5), ("75%", 0.75), ("95%", 0.95))
#: Relative tolerance under which two regression predictions are the same.
RTOL = 1e-9

Task = Literal["classification", "regression"]
CLASSIFICATION: Task = "classification"
REGRESSION: Task = "regression"

#: ``names -> {name: value}``; may raise ``Untrusted``. Names it cannot load are left out.
Loader = Callable[[list[str]], Mapping[str, Any]]


def model_names(vars_a: Mapping[str, Any], vars_b: Mapping[str, Any]) -> list[str]:
    """The variables both sides hold as a model, read from their model cards (nothing
    loaded); scikit-learn models unfitted on both sides are left out."""
    return sorted(
        n
        for n in vars_a
        if n in vars_b
        and _is_model(vars_a[n])
        and _is_model(vars_b[n])
        and not (_unfitted(vars_a[n]) and _unfitted(vars_b[n]))
    )


def _card(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    card = (entry.get("summary") or {}).get("model")
    return card if isinstance(card, Mapping) else {}


def _is_model(entry: Mapping[str, Any]) -> bool:
    card = _card(entry)
    if card.get("library") == "torch":
        # Optimizers have a card too; modules are the ones with parameters counted.
        return "n_parameters" in card
    return bool(card)


def _unfitted(entry: Mapping[str, Any]) -> bool:
    # Only scikit-learn's own check is reliable; other libraries' cards guess from attributes.
    card = _card(entry)
    return card.get("library") == "scikit-learn" and card.get("fitted") is False


def _library(entry: Mapping[str, Any]) -> str:
    card = _card(entry)
    return str(card.get("library") or entry.get("type", "").split(".")[0] or "unknown")


def n_samples(data: Any, what: str) -> int:
    """How many samples (rows) ``data`` holds; ``BadInput`` if it holds none or is no data."""
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and len(shape) >= 1:
        n = int(shape[0])
    else:
        try:
            n = len(data)
        except TypeError:
            raise BadInput(
                f"{what} is a {type(data).__name__}, not data with samples "
                "(an array, a DataFrame, a tensor or a list)"
            )
    if n == 0:
        raise BadInput(f"{what} holds no samples")
    return n


def compare_models(
    vars_a: Mapping[str, Any],
    vars_b: Mapping[str, Any],
    load_a: Loader,
    load_b: Loader,
    X: Any,
    y: Any = None,
    *,
    x_name: str = "X",
    y_name: str | None = None,
) -> schema.ModelsOnData:
    """The models both sides hold (``vars_*``: a manifest's variables, with ``type``,
    ``summary`` and ``hash``), each run on ``X`` and scored on ``y`` (optional).

    ``BadInput`` if ``X`` holds no samples or ``y`` not as many as ``X``.
    """
    n = n_samples(X, x_name)
    if y is not None:
        y_name = y_name or "y"
        ny = n_samples(y, y_name)
        if ny != n:
            raise BadInput(f"{x_name} has {n:,} samples and {y_name} {ny:,}: they must be as many")
    else:
        y_name = None
    out: schema.ModelsOnData = {
        "x": x_name,
        "y": y_name,
        "n_samples": n,
        "models": [],
        "note": None,
    }
    names = model_names(vars_a, vars_b)
    if not names:
        return out
    same = [name for name in names if vars_a[name].get("hash") == vars_b[name].get("hash")]
    changed = [name for name in names if name not in same]
    try:
        # Both loaders are asked even with nothing to load from one side, so that an
        # untrusted snapshot runs no model at all rather than some of them.
        loaded_a = dict(load_a(changed))
        loaded_b = dict(load_b(changed + same))
    except Untrusted as exc:
        out["note"] = f"models not run: {exc}"
        return out
    np = _numpy()
    for name in names:
        library = _library(vars_b[name])
        if name in same:
            before = after = loaded_b.get(name, _MISSING)
        else:
            before, after = loaded_a.get(name, _MISSING), loaded_b.get(name, _MISSING)
        entry = _model_on_data(name, library, before, after, X, y, n, np)
        if entry is not None:
            out["models"].append(entry)
    return out


class _Missing:
    """A model a loader could not load (its pickle failed)."""


_MISSING = _Missing()


def _numpy() -> Any:
    import numpy

    return numpy


def _empty(name: str, library: str, n: int, error: str | None) -> schema.ModelOnData:
    return {
        "name": name,
        "library": library,
        "task": None,
        "n_samples": n,
        "n_differ": None,
        "confusion": None,
        "difference": None,
        "metric": None,
        "score_before": None,
        "score_after": None,
        "error": error,
    }


def _model_on_data(
    name: str, library: str, before: Any, after: Any, X: Any, y: Any, n: int, np: Any
) -> schema.ModelOnData | None:
    """One model's entry; None when neither side's value can predict (a transformer)."""
    for side, value in (("A", before), ("B", after)):
        if value is _MISSING:
            return _empty(name, library, n, f"could not be loaded from {side}")
    if not (_runnable(before) or _runnable(after)):
        return None
    out = _empty(name, library, n, None)
    try:
        pa, task_a = predict(before, X, np)
        pb, task_b = predict(after, X, np) if after is not before else (pa, task_a)
        if task_a != task_b:
            raise TypeError(f"A's model does {task_a} and B's {task_b}")
        for side, p in (("A", pa), ("B", pb)):
            if p.ndim == 0 or p.shape[0] != n:
                raise ValueError(
                    f"{side}'s model made predictions of shape {p.shape} for {n:,} samples"
                )
        if pa.shape != pb.shape:
            raise ValueError(f"A's predictions have shape {pa.shape} and B's {pb.shape}")
        out["task"] = task_a
        if task_a == CLASSIFICATION:
            differ = _rows(pa != pb, n, np)
            out["confusion"] = confusion(pa, pb, np)
        else:
            fa, fb = pa.astype(np.float64), pb.astype(np.float64)
            differ = _rows(~np.isclose(fb, fa, rtol=RTOL, atol=0.0, equal_nan=True), n, np)
            out["difference"] = spread(fb - fa, np)
        out["n_differ"] = int(np.count_nonzero(differ))
        if y is not None:
            out["metric"] = "accuracy" if task_a == CLASSIFICATION else "r2"
            out["score_before"] = score(task_a, y, pa, np)
            out["score_after"] = out["score_before"] if pb is pa else score(task_a, y, pb, np)
    except Exception as exc:
        return _empty(name, library, n, error_line(exc))
    return out


def _rows(neq: Any, n: int, np: Any) -> Any:
    """Per sample: whether any of its outputs differ."""
    return np.asarray(neq).reshape(n, -1).any(axis=1)


def error_line(exc: BaseException, limit: int = 300) -> str:
    """``ValueError: X has 3 features, but ... expecting 4`` on one line."""
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- predictions ------------------------------------------------------------------------


def _torch_module(model: Any) -> Any:
    """torch, when ``model`` is a torch module (torch is then imported already)."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(model, torch.nn.Module) else None


def _runnable(model: Any) -> bool:
    return _torch_module(model) is not None or callable(getattr(model, "predict", None))


def predict(model: Any, X: Any, np: Any) -> tuple[Any, Task]:
    """``(predictions as a numpy array, task)`` of ``model`` on ``X``."""
    torch = _torch_module(model)
    if torch is not None:
        return _torch_predict(model, X, np, torch)
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"a {type(model).__name__} has no predict")
    with warnings.catch_warnings():
        # Feature-name and convergence warnings are about the user's fit, not this run.
        warnings.simplefilter("ignore")
        predictions = np.asarray(model.predict(X))
    return predictions, CLASSIFICATION if is_classifier(model) else REGRESSION


def is_classifier(model: Any) -> bool:
    base = sys.modules.get("sklearn.base")
    if base is not None:
        try:
            if base.is_classifier(model):
                return True
        except Exception:
            pass
    return hasattr(model, "predict_proba") or hasattr(model, "classes_")


def _torch_predict(model: Any, X: Any, np: Any, torch: Any) -> tuple[Any, Task]:
    if isinstance(X, torch.Tensor):
        x = X.detach().clone().to(torch.float32)
    else:
        x = torch.from_numpy(np.array(X, dtype=np.float32, copy=True))
    param = next(iter(model.parameters()), None)
    if param is not None:
        x = x.to(param.device)
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            out = model(x)
    finally:
        for module, training in flags:
            module.training = training
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the forward returned a {type(out).__name__}, not a tensor")
    out = out.detach().float().cpu()
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(dim=1).numpy(), CLASSIFICATION
    if out.ndim == 2:
        out = out[:, 0]
    return out.numpy(), REGRESSION


# -- how predictions differ -------------------------------------------------------------


def _scalar(value: Any) -> schema.Scalar:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except Exception:
            pass
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def confusion(pa: Any, pb: Any, np: Any) -> schema.Confusion | None:
    """A's predictions (rows) against B's (columns) over the labels of either, sorted;
    None for predictions that are not one label per sample, or more than ``MAX_LABELS``."""
    if pa.ndim != 1 or pb.ndim != 1:
        return None
    both = np.concatenate([pa, pb])
    try:
        labels, index = np.unique(both, return_inverse=True)
    except TypeError:
        # Labels of several types (str and int): ordered by type, then value.
        keys = sorted({(type(v).__name__, v) for v in both.tolist()}, key=lambda k: (k[0], k[1]))
        position = {k: i for i, k in enumerate(keys)}
        labels = [v for _, v in keys]
        index = np.array([position[(type(v).__name__, v)] for v in both.tolist()])
    if len(labels) > MAX_LABELS:
        return None
    k, n = len(labels), pa.shape[0]
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (index[:n], index[n:]), 1)
    return {"labels": [_scalar(v) for v in labels], "matrix": matrix.tolist()}


def _float(value: Any) -> float | None:
    f = float(value)
    return f if math.isfinite(f) else None


def spread(delta: Any, np: Any) -> schema.Spread:
    """Mean, std, min, max and quantiles of the finite values of ``delta`` (B - A)."""
    values = np.asarray(delta, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {
            "mean": None,
            "std": None,
            "min": None,
            "max": None,
            "quantiles": {label: None for label, _ in QUANTILES},
        }
    qs = np.quantile(values, [q for _, q in QUANTILES])
    return {
        "mean": _float(values.mean()),
        "std": _float(values.std()),
        "min": _float(values.min()),
        "max": _float(values.max()),
        "quantiles": {label: _float(v) for (label, _), v in zip(QUANTILES, qs)},
    }


def _sklearn_metrics() -> Any:
    # Imported only when scikit-learn already is: a torch user's diff does not load it.
    if "sklearn" not in sys.modules:
        return None
    import sklearn.metrics

    return sklearn.metrics


def score(task: str, y: Any, predictions: Any, np: Any) -> float | None:
    """Accuracy (classification) or r2 (regression) of ``predictions`` on ``y``.

    scikit-learn's metrics when scikit-learn is loaded (a model of it was), else numpy's.
    """
    metrics = _sklearn_metrics()
    truth = y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)
    if task == CLASSIFICATION:
        if metrics is not None:
            return _float(metrics.accuracy_score(truth, predictions))
        t = truth.reshape(len(truth), -1)
        p = np.asarray(predictions).reshape(len(truth), -1)
        if t.shape != p.shape:
            raise ValueError(f"y has {t.shape[1]} columns and the predictions {p.shape[1]}")
        return _float(np.mean((t == p).all(axis=1)))
    if metrics is not None:
        return _float(metrics.r2_score(truth, predictions))
    t = truth.astype(np.float64).reshape(len(truth), -1)
    p = np.asarray(predictions, dtype=np.float64).reshape(len(truth), -1)
    total = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    if not np.all(total > 0):
        return None
    return _float(np.mean(1.0 - ((t - p) ** 2).sum(axis=0) / total))


__all__ = [
    "MAX_LABELS",
    "QUANTILES",
    "Loader",
    "compare_models",
    "confusion",
    "error_line",
    "is_classifier",
    "model_names",
    "n_samples",
    "predict",
    "score",
    "spread",
]
