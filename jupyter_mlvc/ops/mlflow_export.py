"""One snapshot into MLflow: one run, found again by its snapshot id.

The run holds the snapshot's metrics as metrics; its scalar variables (numbers, booleans,
short strings) and each model's hyperparameters (``get_params()``, as
``<variable>.<param>``) as params; tags with the snapshot id, message, branch and
notebook; the notebook as an artifact; and each model variable logged with its MLflow
flavor: scikit-learn (``mlflow.sklearn``), PyTorch (``mlflow.pytorch``), anything else
that has a ``predict`` method pickled as an artifact with a note saying so. With
``register``, the first model (by variable name) is registered under that name, so
``mlflow.sklearn.load_model("models:/NAME/1")`` works in any process.

Only a trusted snapshot is exported: its variables are unpickled to be logged. A
snapshot exported before (a run in the experiment carries its id as the tag
``mlvc.snapshot_id``) is not exported again; its run is returned. MLflow is an
optional extra: ``pip install 'jupyter_mlvc[mlflow]'``.
"""

from __future__ import annotations

import contextlib
import math
import pickle
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, BadName, MlvcError, RemoteFailed

if TYPE_CHECKING:
    from ..repo import Repo

#: The tag that finds a snapshot's run again.
SNAPSHOT_TAG = "mlvc.snapshot_id"
INSTALL = "exporting to MLflow needs its client: pip install 'jupyter_mlvc[mlflow]'"
#: MLflow keeps a param's value up to 6000 characters; a longer one is cut.
MAX_PARAM = 500
_ID = re.compile(r"[0-9a-f]{64}")
_SCALARS = {"int", "float", "bool", "str", "numpy.float64", "numpy.int64", "numpy.bool"}


@dataclass
class MlflowRun:
    """What an export did: the run, what it holds, and the registered version if any."""

    run_id: str
    experiment_id: str
    snapshot: str
    created: bool
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    registered: dict[str, str] | None = None
    tracking_uri: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["text"] = self.summary_line()
        return out

    def summary_line(self) -> str:
        if not self.created:
            text = f"Snapshot {self.snapshot[:8]} was exported before: run {self.run_id}"
        else:
            text = (
                f"Exported snapshot {self.snapshot[:8]} to MLflow run {self.run_id}: "
                f"{len(self.metrics)} metrics, {len(self.params)} params, "
                f"{len(self.models)} model{'s' if len(self.models) != 1 else ''}"
                + (
                    " (" + ", ".join(f"{n}: {how}" for n, how in self.models.items()) + ")"
                    if self.models
                    else ""
                )
            )
        if self.registered:
            text += (
                f"; registered as {self.registered['name']} version {self.registered['version']}"
            )
        return text + "."


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise MlvcError(INSTALL) from None
    return mlflow


@contextlib.contextmanager
def _tracking(mlflow: Any, uri: str | None) -> Iterator[str]:
    """Point MLflow's fluent API at ``uri`` for the export, then back where it was: an
    export from a notebook must not change where the user's own runs go."""
    before = mlflow.get_tracking_uri() if uri else None
    if uri:
        mlflow.set_tracking_uri(uri)
    try:
        yield mlflow.get_tracking_uri()
    finally:
        if before is not None:
            mlflow.set_tracking_uri(before)


def to_mlflow(
    repo: Repo,
    ref: str,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    register: str | None = None,
    notebook_path: Any = None,
) -> MlflowRun:
    """Export snapshot ``ref`` as an MLflow run (see the module's docstring)."""
    mlflow = _mlflow()
    sid = repo.resolve(ref, notebook_path)
    if not _ID.fullmatch(sid):
        raise BadInput(f"{sid!r} is not a snapshot id")
    repo.require_trusted(sid)
    if register is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\- ]{0,99}", register):
        raise BadName(
            f"{register!r} is not a model name: letters, digits, '_', '.', '-', spaces "
            "(up to 100 characters)"
        )
    snap = repo.record(sid, with_variables=True)
    with _tracking(mlflow, tracking_uri) as uri, _mlflow_errors(uri):
        client = mlflow.MlflowClient()
        exp_id = _experiment(client, experiment)
        found = client.search_runs([exp_id], filter_string=f"tags.`{SNAPSHOT_TAG}` = '{sid}'")
        if found:
            run = MlflowRun(found[0].info.run_id, exp_id, sid, False, tracking_uri=uri)
            if register:
                run.registered = _registered(client, register, run.run_id)
            return run
        return _export(repo, mlflow, client, exp_id, snap, register, uri)


@contextlib.contextmanager
def _mlflow_errors(uri: str) -> Iterator[None]:
    """MLflow's errors (a server that does not answer, a refused request) as one line."""
    try:
        yield
    except MlvcError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise RemoteFailed(f"MLflow at {uri}: {type(exc).__name__}: {first}") from None


def _experiment(client: Any, name: str | None) -> str:
    if not name:
        exp = client.get_experiment_by_name("Default")
        return exp.experiment_id if exp is not None else "0"
    exp = client.get_experiment_by_name(name)
    return exp.experiment_id if exp is not None else client.create_experiment(name)


def _registered(client: Any, name: str, run_id: str) -> dict[str, str] | None:
    for mv in client.search_model_versions(f"name = '{name}'"):
        if mv.run_id == run_id:
            return {"name": name, "version": str(mv.version)}
    return None


def _param(value: Any) -> str | None:
    """A param's text, or None for what is no scalar."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float, str)):
        text = str(value)
        return text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 1] + "…"
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return _param(item())
    return None


def _flavor(value: Any) -> str:
    try:
        from sklearn.base import BaseEstimator

        if isinstance(value, BaseEstimator):
            return "sklearn"
    except ImportError:
        pass
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return "pytorch"
    return "pickle"


def _export(
    repo: Repo,
    mlflow: Any,
    client: Any,
    exp_id: str,
    snap: Any,
    register: str | None,
    uri: str,
) -> MlflowRun:
    from mlflow.entities import Metric, Param

    sid = snap.id
    scalars = [n for n, v in snap.variables.items() if v.type in _SCALARS]
    models = [n for n, v in snap.variables.items() if "model" in v.summary]
    values = repo.checkout(sid, [*scalars, *models]) if scalars or models else {}
    params: dict[str, str] = {}
    for name in scalars:
        text = _param(values[name])
        if text is not None:
            params[name] = text
    for name in models:
        get_params = getattr(values[name], "get_params", None)
        if callable(get_params):
            with contextlib.suppress(Exception):
                for key, value in get_params(deep=False).items():
                    text = _param(value)
                    if text is not None:
                        params[f"{name}.{key}"] = text
    metrics = {k: float(v) for k, v in snap.metrics.items() if math.isfinite(float(v))}
    tags = {
        SNAPSHOT_TAG: sid,
        "mlvc.message": snap.message[:5000],
        "mlvc.branch": snap.branch or "",
        "mlvc.notebook": snap.notebook_path or "",
        "mlflow.runName": (snap.message.splitlines() or [sid[:8]])[0][:200] or sid[:8],
    }
    run = client.create_run(exp_id, start_time=int(snap.created_at.timestamp() * 1000), tags=tags)
    run_id = run.info.run_id
    result = MlflowRun(run_id, exp_id, sid, True, params, metrics, tracking_uri=uri)
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
    )
    with tempfile.TemporaryDirectory(prefix="mlvc-mlflow-") as tmp:
        nb = _notebook_file(repo, snap, Path(tmp))
        if nb is not None:
            client.log_artifact(run_id, str(nb), "notebook")
            result.artifacts.append(f"notebook/{nb.name}")
        with mlflow.start_run(run_id=run_id):
            for i, name in enumerate(sorted(models)):
                name_to_register = register if register and i == 0 else None
                how = _log_model(
                    mlflow, client, run_id, name, values[name], name_to_register, Path(tmp)
                )
                result.models[name] = how
                result.artifacts.append(name if how != "pickle" else f"models/{name}.pkl")
                if name_to_register:
                    result.registered = _registered(client, register or "", run_id)
    client.set_terminated(run_id, end_time=now)
    return result


def _notebook_file(repo: Repo, snap: Any, folder: Path) -> Path | None:
    """The snapshot's notebook as a file; its name is the notebook's, made plain."""
    try:
        notebook = repo.notebook(snap.id)
    except MlvcError:
        return None
    if notebook is None:
        return None
    import nbformat

    base = Path(snap.notebook_path or "notebook.ipynb").name
    base = re.sub(r"[^A-Za-z0-9_.\-]", "_", base)[:100].lstrip(".") or "notebook.ipynb"
    if not base.endswith(".ipynb"):
        base += ".ipynb"
    path = folder / base
    nbformat.write(notebook, str(path))
    return path


def _log_model(
    mlflow: Any, client: Any, run_id: str, name: str, value: Any, register: str | None, tmp: Path
) -> str:
    """Log one model variable; returns how (``sklearn``, ``pytorch``, ``pickle``)."""
    how = _flavor(value)
    if how == "sklearn":
        import mlflow.sklearn

        # cloudpickle, as the snapshot itself: skops, MLflow's default, is one more package.
        mlflow.sklearn.log_model(
            value,
            name=name,
            registered_model_name=register,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )
    elif how == "pytorch":
        import mlflow.pytorch

        mlflow.pytorch.log_model(value, name=name, registered_model_name=register)
    else:
        path = tmp / f"{name}.pkl"
        with open(path, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        client.log_artifact(run_id, str(path), "models")
        client.set_tag(
            run_id,
            f"mlvc.model.{name}",
            f"pickled ({type(value).__module__}.{type(value).__qualname__}): MLflow has no "
            "flavor for it; load models/"
            + name
            + ".pkl with pickle where its library is installed",
        )
        if register:
            mlflow.register_model(f"runs:/{run_id}/models/{name}.pkl", register)
    return how


__all__ = ["INSTALL", "SNAPSHOT_TAG", "MlflowRun", "to_mlflow"]
