"""Where a diff is computed: variables, notebook, metrics and environment of two states.

A diff is plain data (``Diff.to_dict()`` is JSON), shared by every face. Variables
are compared by their stored hashes first: only variables whose hash differs are
loaded, so diffing two large snapshots that share most chunks reads almost
nothing. Changed values say *how* they changed, by kind (arrays, frames, scalars,
containers, models). The notebook diff aligns cells with nbdime.

The shape is a schema (``ops.diff_format``: TypedDicts, constructors and a validator;
``labextension/src/diffTypes.ts`` is the same union in TypeScript). In short,
``Diff.to_dict()`` is::

    {"a": {"id", "short_id", "message", "created_at"} ,
     "b": same, or {"current": true},
     "variables": {"added": [Var], "removed": [Var], "changed": [Var], "unchanged": [name]},
     "metrics": [{"name", "before", "after", "delta"}],
     "environment": [{"name", "before", "after"}],
     "notebook": {"available": bool, "cells": [Cell], "unchanged": int} | null,
     "models": ModelsOnData}   (only when the diff was given data: see ops.model_compare)

    Var  = {"name", "before": info|null, "after": info|null, "change": {...}|null}
    info = {"type", "summary", "nbytes"}
    Cell = {"kind": "added"|"removed"|"modified"|"moved", "a_index", "b_index",
            "cell_type", "source", "source_diff": [line], "outputs_changed": bool}
"""

from __future__ import annotations

import difflib
import functools
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..errors import BadInput, MlvcError, Untrusted
from ..state import capture as capture_mod
from ..store import catalog
from . import commit as commit_op
from . import diff_format as schema
from . import image_diff, model_compare
from . import restore as restore_op

if TYPE_CHECKING:
    from ..repo import Repo

MAX_ITEMS = 20


@dataclass
class Diff:
    a: dict[str, Any]
    b: dict[str, Any]
    added: list[schema.AddedVariable] = field(default_factory=list)
    removed: list[schema.RemovedVariable] = field(default_factory=list)
    changed: list[schema.ChangedVariable] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    metrics: list[schema.MetricEntry] = field(default_factory=list)
    environment: list[schema.PackageEntry] = field(default_factory=list)
    notebook: dict[str, Any] | None = None
    merge: schema.MergeOrigin | None = None
    #: The models of both sides run on data, when ``diff`` was given some.
    models: schema.ModelsOnData | None = None

    @property
    def empty(self) -> bool:
        cells = (self.notebook or {}).get("cells") or []
        metric_changes = [m for m in self.metrics if not _same_number(m["before"], m["after"])]
        return not (
            self.added
            or self.removed
            or self.changed
            or metric_changes
            or self.environment
            or cells
        )

    def to_dict(self) -> dict[str, Any]:
        models = {} if self.models is None else {"models": self.models}
        return {
            "a": self.a,
            "b": self.b,
            "variables": {
                "added": self.added,
                "removed": self.removed,
                "changed": self.changed,
                "unchanged": self.unchanged,
            },
            "metrics": self.metrics,
            "environment": self.environment,
            "notebook": self.notebook,
            "empty": self.empty,
            "merge": self.merge,
            **models,
        }


def _same_number(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return x is y
    return x == y or (
        isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
    )


def _ident(repo: Repo, sid: str) -> dict[str, Any]:
    return repo.record(sid).ident()


def _info(v: dict[str, Any]) -> schema.VariableInfo:
    return {"type": v["type"], "summary": v["summary"], "nbytes": v["nbytes"]}


@dataclass
class _Side:
    """One side of a comparison: a snapshot, or the current namespace (``sid`` None)."""

    sid: str | None
    manifest: dict[str, Any]
    variables: dict[str, Any]
    ident: dict[str, Any]
    namespace: dict | None = None


def diff(
    repo: Repo,
    a: str,
    b: str | dict | None = None,
    *,
    notebook_path: Any = None,
    current_notebook: Any = None,
    exclude: Any = None,
    values: bool = True,
    data: Mapping[str, Any] | None = None,
    data_names: Sequence[str] | None = None,
) -> Diff:
    """Compare snapshot ``a`` with snapshot ``b``, or with a namespace (the current state).

    ``values=False`` compares by hashes and summaries only (nothing is unpickled).
    ``data`` (``{"X": X_test, "y": y_test}``, ``y`` optional) runs the models of both
    sides on it (``ops.model_compare``); ``data_names`` names it for display
    (default ``("X", "y")``).
    """
    side_a = _snapshot_side(repo, repo.resolve(a, notebook_path))
    if isinstance(b, dict):
        side_b = _current_side(repo, b, exclude)
    else:
        side_b = _snapshot_side(repo, repo.resolve(b if b is not None else "HEAD", notebook_path))
    if exclude:
        patterns = list(exclude)
        for side in (side_a, side_b):
            side.variables = {
                n: v for n, v in side.variables.items() if not capture_mod.matches(n, patterns)
            }
    out = Diff(a=side_a.ident, b=side_b.ident)
    _compare_variables(repo, out, side_a, side_b, values)
    _compare_metrics(out, side_a.manifest, side_b.manifest)
    _compare_environment(out, side_a.manifest, side_b.manifest)
    out.notebook = _compare_notebooks(repo, side_a, side_b, current_notebook)
    if side_b.sid is not None:
        out.merge = _merge_origin(repo, out, side_b)
    if data is not None:
        out.models = _models_on_data(repo, side_a, side_b, data, data_names)
    return out


def _models_on_data(
    repo: Repo, a: _Side, b: _Side, data: Mapping[str, Any], names: Sequence[str] | None
) -> schema.ModelsOnData:
    """The models of both sides run on ``data``; a namespace's own objects are used as they are."""
    if not isinstance(data, Mapping) or "X" not in data or set(data) - {"X", "y"}:
        shown = sorted(map(str, data)) if isinstance(data, Mapping) else type(data).__name__
        raise BadInput(f'data is a dict {{"X": ..., "y": ...}} (y optional), not {shown}')
    x_name = names[0] if names else "X"
    y_name = names[1] if names and len(names) > 1 else "y"
    return model_compare.compare_models(
        a.variables,
        b.variables,
        functools.partial(_load_side, repo, a),
        functools.partial(_load_side, repo, b),
        data["X"],
        data.get("y"),
        x_name=x_name,
        y_name=y_name,
    )


def _merge_origin(repo: Repo, out: Diff, b: _Side) -> schema.MergeOrigin | None:
    """For a merge snapshot B: which side each variable that changed came from."""
    if b.sid is None:
        return None
    parents = repo.record(b.sid).parents
    if len(parents) < 2:
        return None
    first, second = (catalog.variable_hashes(repo.index.conn, p) for p in parents[:2])
    names = [e["name"] for e in [*out.added, *out.changed]]
    own = {n: b.variables[n]["hash"] for n in names if n in b.variables}
    return {
        "parents": parents[:2],
        "from_first": sorted(n for n, h in own.items() if first.get(n) == h),
        "from_second": sorted(
            n for n, h in own.items() if second.get(n) == h and first.get(n) != h
        ),
    }


def _snapshot_side(repo: Repo, sid: str) -> _Side:
    manifest = repo.manifest(sid)
    return _Side(sid, manifest, manifest["variables"], _ident(repo, sid))


def _current_side(repo: Repo, namespace: dict, exclude: Any) -> _Side:
    captured = capture_mod.capture(namespace, exclude=exclude)
    hashes = commit_op.hashes(captured)
    variables = {
        n: {"type": v.type, "summary": v.summary, "nbytes": v.nbytes, "hash": hashes[n]}
        for n, v in captured.variables.items()
    }
    manifest: dict[str, Any] = {"metrics": {}, "environment": _environment_now(), "notebook": None}
    return _Side(None, manifest, variables, {"current": True}, namespace)


def _compare_variables(repo: Repo, out: Diff, a: _Side, b: _Side, values: bool) -> None:
    """Sort the variables into added, removed, unchanged (same hash) and changed; the
    changed ones are loaded (when ``values``) to say how they changed."""
    vars_a, vars_b = a.variables, b.variables
    changed_names = []
    for name in sorted(set(vars_a) | set(vars_b)):
        va, vb = vars_a.get(name), vars_b.get(name)
        if va is None:
            out.added.append(schema.added_variable(name, _info(vars_b[name])))
        elif vb is None:
            out.removed.append(schema.removed_variable(name, _info(va)))
        elif va["hash"] == vb["hash"]:
            out.unchanged.append(name)
        else:
            changed_names.append(name)

    loaded_a: dict[str, Any] = {}
    loaded_b: dict[str, Any] = {}
    note = None
    if values and changed_names:
        try:
            loaded_a = _load_side(repo, a, changed_names)
            loaded_b = _load_side(repo, b, changed_names)
        except Untrusted as exc:
            note = str(exc)
            loaded_a, loaded_b = {}, {}
    for name in changed_names:
        va, vb = vars_a[name], vars_b[name]
        if name in loaded_a and name in loaded_b:
            # describe_change builds one of the schema's change kinds (test_diff_format).
            change = cast(schema.Change, describe_change(loaded_a[name], loaded_b[name]))
        else:
            change = schema.bytes_change("values not compared: " + note if note else None)
        out.changed.append(schema.changed_variable(name, _info(va), _info(vb), change))


def _load_side(repo: Repo, side: _Side, names: list[str]) -> dict[str, Any]:
    if side.namespace is not None:
        return {n: side.namespace[n] for n in names}
    assert side.sid is not None
    return _load(repo, side.sid, names)


def _compare_metrics(out: Diff, man_a: dict[str, Any], man_b: dict[str, Any]) -> None:
    ma, mb = man_a.get("metrics", {}), man_b.get("metrics", {})
    for name in sorted(set(ma) | set(mb)):
        out.metrics.append(schema.metric_entry(name, ma.get(name), mb.get(name)))


def _compare_environment(out: Diff, man_a: dict[str, Any], man_b: dict[str, Any]) -> None:
    pa = {
        "python": man_a.get("environment", {}).get("python"),
        **man_a.get("environment", {}).get("packages", {}),
    }
    pb = {
        "python": man_b.get("environment", {}).get("python"),
        **man_b.get("environment", {}).get("packages", {}),
    }
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            out.environment.append(schema.package_entry(name, pa.get(name), pb.get(name)))


def _compare_notebooks(repo: Repo, a: _Side, b: _Side, current_notebook: Any) -> dict[str, Any]:
    nb_a = repo.notebook(a.sid) if a.sid and a.manifest.get("notebook") else None
    if b.namespace is not None:
        nb_b = current_notebook
    else:
        nb_b = repo.notebook(b.sid) if b.sid and b.manifest.get("notebook") else None
    if nb_a is not None and nb_b is not None:
        # The editor's notebook is the user's own; a snapshot's is trusted when signed.
        trusted = all(repo.record(s.sid).trusted for s in (a, b) if s.sid is not None)
        return notebook_diff(nb_a, nb_b, trusted=trusted)
    return {"available": False, "cells": [], "unchanged": 0}


def _environment_now() -> dict[str, Any]:
    from ..state.environment import environment

    return environment()


def _load(repo: Repo, sid: str, names: list[str]) -> dict[str, Any]:
    values, _, errors, _ = restore_op.values(repo, sid, names, None, {})
    return {n: v for n, v in values.items() if n not in errors}


# -- how a value changed ------------------------------------------------------


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(f) else f


def describe_change(before: Any, after: Any) -> dict[str, Any]:
    """How ``before`` became ``after``, as JSON data. Never raises."""
    try:
        return _describe(before, after)
    except Exception as exc:
        return {
            "kind": "bytes",
            "bytes_changed": True,
            "note": f"not compared ({type(exc).__name__})",
        }


def _describe(before: Any, after: Any) -> dict[str, Any]:
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    torch = sys.modules.get("torch")
    if type(before) is not type(after):
        return {
            "kind": "type",
            "before_type": type(before).__name__,
            "after_type": type(after).__name__,
        }
    if np is not None and isinstance(before, np.ndarray):
        return _array_change(np.asarray(before), np.asarray(after), np)
    if pd is not None and isinstance(before, pd.DataFrame):
        return _frame_change(before, after, pd)
    if pd is not None and isinstance(before, pd.Series):
        return _frame_change(before.to_frame(), after.to_frame(), pd, series=True)
    if torch is not None and isinstance(before, torch.Tensor) and np is not None:
        return _array_change(before.detach().cpu().numpy(), after.detach().cpu().numpy(), np)
    figure = sys.modules.get("matplotlib.figure")
    if figure is not None and isinstance(before, figure.Figure):
        return dict(image_diff.figure_change(before, after))
    model = _model_change(before, after)
    if model is not None:
        return model
    if isinstance(before, (bool, int, float, complex)) or (
        np is not None and isinstance(before, np.generic)
    ):
        out: dict[str, Any] = {
            "kind": "scalar",
            "before": _jsonable(before),
            "after": _jsonable(after),
        }
        b, a = _num(before), _num(after)
        if b is not None and a is not None:
            out["delta"] = a - b
        return out
    if isinstance(before, (str, bytes)):
        if len(before) <= 200 and len(after) <= 200:
            return {"kind": "scalar", "before": _jsonable(before), "after": _jsonable(after)}
        return {"kind": "text", "len_before": len(before), "len_after": len(after)}
    if isinstance(before, dict):
        ka, kb = list(before), list(after)
        sa, sb = set(map(repr, ka)), set(map(repr, kb))
        changed = [repr(k) for k in ka if k in after and not _equal(before[k], after[k])]
        return {
            "kind": "mapping",
            "added": sorted(sb - sa)[:MAX_ITEMS],
            "removed": sorted(sa - sb)[:MAX_ITEMS],
            "changed": changed[:MAX_ITEMS],
            "len_before": len(before),
            "len_after": len(after),
        }
    if isinstance(before, (set, frozenset)):
        return {
            "kind": "set",
            "added": sorted(map(repr, after - before))[:MAX_ITEMS],
            "removed": sorted(map(repr, before - after))[:MAX_ITEMS],
            "len_before": len(before),
            "len_after": len(after),
        }
    if isinstance(before, (list, tuple)):
        ra, rb = [repr(x) for x in before], [repr(x) for x in after]
        added, removed = [], []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ra, b=rb, autojunk=False).get_opcodes():
            if op in ("delete", "replace"):
                removed.extend(ra[i1:i2])
            if op in ("insert", "replace"):
                added.extend(rb[j1:j2])
        return {
            "kind": "sequence",
            "added": [_clip(x) for x in added[:MAX_ITEMS]],
            "removed": [_clip(x) for x in removed[:MAX_ITEMS]],
            "len_before": len(before),
            "len_after": len(after),
        }
    return {"kind": "bytes", "bytes_changed": True}


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _jsonable(x: Any) -> Any:
    if isinstance(x, (bool, int, str)) or x is None:
        return x
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, bytes):
        return _clip(repr(x))
    f = _num(x)
    return f if f is not None else _clip(repr(x))


def _equal(x: Any, y: Any) -> bool:
    try:
        result = x == y
        return (
            bool(result)
            if isinstance(result, bool)
            else bool(getattr(result, "all", lambda: False)())
        )
    except Exception:
        return False


def _stats(arr: Any, np: Any) -> dict[str, Any]:
    if arr.size == 0 or arr.dtype.kind not in "biuf":
        return {}
    a = arr.astype(np.float64, copy=False)
    return {"mean": _jsonable(float(np.nanmean(a))), "std": _jsonable(float(np.nanstd(a)))}


def _array_change(before: Any, after: Any, np: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "array",
        "shape_before": list(before.shape),
        "shape_after": list(after.shape),
        "dtype_before": str(before.dtype),
        "dtype_after": str(after.dtype),
        "stats_before": _stats(before, np),
        "stats_after": _stats(after, np),
    }
    if before.shape == after.shape and before.dtype == after.dtype:
        if before.dtype.hasobject:
            differ = sum(
                1
                for x, y in zip(before.ravel().tolist(), after.ravel().tolist())
                if not _equal(x, y)
            )
        else:
            neq = before != after
            if before.dtype.kind in "fc":
                neq &= ~(np.isnan(before) & np.isnan(after))
            differ = int(np.count_nonzero(neq))
            if before.dtype.kind in "biuf" and before.size:
                diff = np.abs(after.astype(np.float64) - before.astype(np.float64))
                out["max_abs_diff"] = _jsonable(float(np.nanmax(diff))) if differ else 0.0
        out["n_differ"] = differ
        out["n_elements"] = int(before.size)
    return out


def _frame_change(before: Any, after: Any, pd: Any, series: bool = False) -> dict[str, Any]:
    ca, cb = [str(c) for c in before.columns], [str(c) for c in after.columns]
    ta = {str(c): str(t) for c, t in before.dtypes.items()}
    tb = {str(c): str(t) for c, t in after.dtypes.items()}
    out: dict[str, Any] = {
        "kind": "series" if series else "frame",
        "columns_added": [c for c in cb if c not in ta],
        "columns_removed": [c for c in ca if c not in tb],
        "dtype_changed": {c: [ta[c], tb[c]] for c in ca if c in tb and ta[c] != tb[c]},
        "rows_before": len(before),
        "rows_after": len(after),
        "index_equal": bool(before.index.equals(after.index)),
    }
    if out["index_equal"]:
        rows_differ = {}
        for c_before, c_after in zip(before.columns, after.columns):
            if str(c_before) not in tb or str(c_before) != str(c_after):
                continue
            x, y = before[c_before], after[c_after]
            try:
                neq = ~((x == y) | (x.isna() & y.isna()))
                n = int(neq.sum())
            except Exception:
                n = int((x.astype(str) != y.astype(str)).sum())
            if n:
                rows_differ[str(c_before)] = n
        out["rows_differ"] = rows_differ
    numeric_a = before.select_dtypes("number")
    numeric_b = after.select_dtypes("number")
    out["describe_before"] = _describe_frame(numeric_a)
    out["describe_after"] = _describe_frame(numeric_b)
    return out


def _describe_frame(df: Any) -> dict[str, dict[str, Any]]:
    if df.shape[1] == 0 or df.shape[0] == 0:
        return {}
    desc = df.iloc[:, :20].describe()
    return {str(c): {str(k): _jsonable(v) for k, v in desc[c].items()} for c in desc.columns}


def _model_change(before: Any, after: Any) -> dict[str, Any] | None:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(before, torch.nn.Module):
        sa, sb = before.state_dict(), after.state_dict()
        largest, changed_layers = 0.0, []
        for k in sa:
            if k in sb and sa[k].shape == sb[k].shape and sa[k].dtype.is_floating_point:
                d = (
                    float((sa[k].detach().float() - sb[k].detach().float()).abs().max())
                    if sa[k].numel()
                    else 0.0
                )
                if d > 0:
                    changed_layers.append(k)
                largest = max(largest, d)
        return {
            "kind": "model",
            "library": "torch",
            "params_changed": {},
            "n_parameters_before": int(sum(p.numel() for p in before.parameters())),
            "n_parameters_after": int(sum(p.numel() for p in after.parameters())),
            "max_weight_change": largest,
            "layers_changed": changed_layers[:MAX_ITEMS],
            "keys_added": sorted(set(sb) - set(sa))[:MAX_ITEMS],
            "keys_removed": sorted(set(sa) - set(sb))[:MAX_ITEMS],
        }
    if hasattr(before, "get_params") and hasattr(before, "fit"):
        try:
            pa, pb = before.get_params(deep=True), after.get_params(deep=True)
        except Exception:
            return None
        # Nested estimators (pipeline steps, ensemble members) show up through their
        # own deep parameters (``logisticregression__C``); compare plain values only.
        changed = {
            k: [_clip(repr(pa.get(k))), _clip(repr(pb.get(k)))]
            for k in sorted(set(pa) | set(pb))
            if not _holds_estimators(pa.get(k))
            and not _holds_estimators(pb.get(k))
            and repr(pa.get(k)) != repr(pb.get(k))
        }
        out: dict[str, Any] = {
            "kind": "model",
            "library": "scikit-learn",
            "params_changed": changed,
        }
        np = sys.modules.get("numpy")
        if np is not None:
            wa, wb = _sk_weights(before, np), _sk_weights(after, np)
            out["n_parameters_before"] = int(sum(w.size for w in wa.values()))
            out["n_parameters_after"] = int(sum(w.size for w in wb.values()))
            deltas = [
                float(np.max(np.abs(wa[k] - wb[k])))
                for k in wa
                if k in wb and wa[k].shape == wb[k].shape and wa[k].size
            ]
            out["max_weight_change"] = max(deltas) if deltas else None
        return out
    return None


def _holds_estimators(value: Any) -> bool:
    if hasattr(value, "get_params"):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_estimators(v) for v in value)
    return False


def _sk_weights(model: Any, np: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Fitted float arrays of an estimator and of the estimators it holds (pipeline
    steps, ensemble members), by dotted name."""
    out: dict[str, Any] = {}
    if depth > 3 or not hasattr(model, "__dict__"):
        return out
    for k, v in vars(model).items():
        if k.startswith("_"):
            continue
        if hasattr(v, "get_params") and hasattr(v, "fit"):
            out.update(_sk_weights(v, np, f"{prefix}{k}.", depth + 1))
        elif isinstance(v, (list, tuple)) and k in ("steps", "estimators_", "transformers_"):
            for i, item in enumerate(v[:50]):
                est = item[1] if isinstance(item, tuple) and len(item) >= 2 else item
                if hasattr(est, "get_params"):
                    out.update(_sk_weights(est, np, f"{prefix}{k}[{i}].", depth + 1))
    for k, v in vars(model).items():
        if (
            k.endswith("_")
            and not k.startswith("_")
            and isinstance(v, np.ndarray)
            and v.dtype.kind == "f"
        ):
            out[prefix + k] = v
    return out


# -- notebooks ----------------------------------------------------------------


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def notebook_diff(nb_a: Any, nb_b: Any, *, trusted: bool = False) -> dict[str, Any]:
    """A cell-level diff: cells added, removed, moved and modified, aligned by nbdime.

    With the output images that differ (``images``, matched per cell by output index
    and MIME type) and how many are the same (``images_unchanged``), when either
    notebook has any. ``trusted`` says whether both notebooks may be rendered as they
    are; it is copied into each image entry (SVG is active content).
    """
    import nbdime

    cells_a, cells_b = list(nb_a.get("cells", [])), list(nb_b.get("cells", []))
    ops = []
    for op in nbdime.diff_notebooks(nb_a, nb_b):
        if op.get("key") == "cells" and op.get("op") == "patch":
            ops = op.get("diff", [])
    inserted: dict[int, int] = {}
    removed_a: set[int] = set()
    patched: dict[int, list] = {}
    for op in ops:
        kind, key = op["op"], op["key"]
        if kind == "addrange":
            inserted[key] = inserted.get(key, 0) + len(op["valuelist"])
        elif kind == "removerange":
            removed_a.update(range(key, key + op["length"]))
        elif kind == "patch":
            patched[key] = op["diff"]
    a_to_b: dict[int, int] = {}
    added_b: list[int] = []
    j = 0
    for i in range(len(cells_a) + 1):
        for _ in range(inserted.get(i, 0)):
            added_b.append(j)
            j += 1
        if i < len(cells_a) and i not in removed_a:
            a_to_b[i] = j
            j += 1
    entries: list[dict[str, Any]] = []
    unchanged = 0
    pairs: list[tuple[Any, Any, int | None, int | None]] = []
    # A removed cell whose source reappears among the added cells has moved.
    added_by_source: dict[str, list[int]] = {}
    for jb in added_b:
        added_by_source.setdefault(_source(cells_b[jb]), []).append(jb)
    moved_b: set[int] = set()
    for i in sorted(removed_a):
        src = _source(cells_a[i])
        candidates = [jb for jb in added_by_source.get(src, []) if jb not in moved_b]
        if candidates and src.strip():
            jb = candidates[0]
            moved_b.add(jb)
            entries.append(_cell_entry("moved", cells_a[i], cells_b[jb], i, jb))
            pairs.append((cells_a[i], cells_b[jb], i, jb))
        else:
            entries.append(_cell_entry("removed", cells_a[i], None, i, None))
            pairs.append((cells_a[i], None, i, None))
    for jb in added_b:
        if jb not in moved_b:
            entries.append(_cell_entry("added", None, cells_b[jb], None, jb))
            pairs.append((None, cells_b[jb], None, jb))
    for i, jb in a_to_b.items():
        ca, cb = cells_a[i], cells_b[jb]
        pairs.append((ca, cb, i, jb))
        if (
            _source(ca) != _source(cb)
            or _outputs(ca) != _outputs(cb)
            or ca.get("cell_type") != cb.get("cell_type")
        ):
            entries.append(_cell_entry("modified", ca, cb, i, jb))
        else:
            unchanged += 1
    entries.sort(key=lambda e: e["b_index"] if e["b_index"] is not None else e["a_index"] - 0.5)
    out: dict[str, Any] = {"available": True, "cells": entries, "unchanged": unchanged}
    images, same = image_diff.notebook_images(pairs, trusted=trusted)
    if images or same:
        out["images"], out["images_unchanged"] = images, same
    return out


def _outputs(cell: Any) -> Any:
    outs = cell.get("outputs", []) if cell.get("cell_type") == "code" else []
    return [{k: v for k, v in dict(o).items() if k != "execution_count"} for o in outs]


def _cell_entry(kind: str, ca: Any, cb: Any, ia: int | None, ib: int | None) -> dict[str, Any]:
    src_a = _source(ca) if ca is not None else ""
    src_b = _source(cb) if cb is not None else ""
    lines = []
    if kind in ("modified", "moved") and src_a != src_b:
        lines = list(
            difflib.unified_diff(
                src_a.splitlines(), src_b.splitlines(), "before", "after", lineterm="", n=2
            )
        )[2:]
    elif kind == "added":
        lines = ["+" + line for line in src_b.splitlines()]
    elif kind == "removed":
        lines = ["-" + line for line in src_a.splitlines()]
    cell = cb if cb is not None else ca
    return {
        "kind": kind,
        "a_index": ia,
        "b_index": ib,
        "cell_type": cell.get("cell_type", "code"),
        "source": src_b if cb is not None else src_a,
        "source_diff": lines,
        "outputs_changed": bool(ca is not None and cb is not None and _outputs(ca) != _outputs(cb)),
    }


__all__ = ["Diff", "MlvcError", "describe_change", "diff", "notebook_diff"]
