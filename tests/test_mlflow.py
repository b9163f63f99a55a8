"""Snapshots into MLflow, against a real tracking server (``mlflow server`` on 127.0.0.1
with a SQLite backend store and a local artifact root, started here).

The server is MLflow's own command: the one beside this Python (the ``test`` extra
installs it), or the one ``MLVC_MLFLOW_SERVER`` names. The client is ``mlflow``
(``jupyter_mlvc[mlflow]``). Without them the tests are skipped, saying so."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import MlvcError, Untrusted

from .helpers import user_store as _store

mlflow = pytest.importorskip(
    "mlflow", reason="the MLflow client is not installed (jupyter_mlvc[mlflow])"
)


def _server_command() -> str | None:
    named = os.environ.get("MLVC_MLFLOW_SERVER")
    if named:
        return named
    beside = Path(sys.executable).with_name("mlflow")
    try:
        import alembic  # noqa: F401  # the server needs it; the skinny client does not
    except ImportError:
        return None
    return str(beside) if beside.exists() else shutil.which("mlflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    command = _server_command()
    if command is None:
        pytest.skip("no MLflow server command: pip install mlflow (or set MLVC_MLFLOW_SERVER)")
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    log = open(root / "server.log", "wb")  # noqa: SIM115  # open while the server runs
    proc = subprocess.Popen(
        [
            command,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--serve-artifacts",
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "mlflow server did not start: " + (root / "server.log").read_text()[-2000:]
                )
            time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _trained():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, LogisticRegression(C=0.5, max_iter=200).fit(X, y)


def _notebook() -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": "fit",
                "execution_count": None,
                "source": "fit()",
                "metadata": {},
                "outputs": [],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_a_snapshot_becomes_one_run_and_a_registered_model(tmp_path, tracking_uri, capsys):
    X, model = _trained()
    repo = _store(tmp_path / "p")
    snap = repo.commit(
        {"model": model, "X": X, "lr": 0.05, "epochs": 12, "tag": "baseline", "flag": True},
        "baseline model",
        notebook=_notebook(),
        metrics={"acc": 0.91, "loss": 0.27},
    )
    run = repo.to_mlflow(
        snap.id, tracking_uri=tracking_uri, experiment="mlvc-tests", register="mlvc-model"
    )
    assert run.created and run.models == {"model": "sklearn"}
    assert run.registered == {"name": "mlvc-model", "version": "1"}
    client = mlflow.MlflowClient(tracking_uri)
    data = client.get_run(run.run_id).data
    assert data.metrics == {"acc": 0.91, "loss": 0.27}
    assert data.params["lr"] == "0.05" and data.params["epochs"] == "12"
    assert data.params["tag"] == "baseline" and data.params["flag"] == "True"
    assert data.params["model.C"] == "0.5" and data.params["model.max_iter"] == "200"
    assert "X" not in data.params  # an array is no param
    assert data.tags["mlvc.snapshot_id"] == snap.id
    assert data.tags["mlvc.message"] == "baseline model" and data.tags["mlvc.branch"] == "main"
    assert data.tags["mlvc.notebook"] == "analysis.ipynb"
    artifacts = [a.path for a in client.list_artifacts(run.run_id, "notebook")]
    assert artifacts == ["notebook/analysis.ipynb"]
    with capsys.disabled():
        print(
            f"\nMLflow run {run.run_id}: params {dict(sorted(data.params.items()))}; "
            f"metrics {data.metrics}; artifacts {run.artifacts}; registered {run.registered}"
        )

    # Not exported twice: the run is found by the snapshot id.
    again = repo.to_mlflow(snap.id, tracking_uri=tracking_uri, experiment="mlvc-tests")
    assert not again.created and again.run_id == run.run_id
    runs = client.search_runs([run.experiment_id])
    assert len(runs) == 1

    # A plain process loads the registered model and predicts as the snapshot's model.
    code = textwrap.dedent(
        """
        import json, sys, numpy as np, mlflow.sklearn
        mlflow.set_tracking_uri(sys.argv[1])
        model = mlflow.sklearn.load_model("models:/mlvc-model/1")
        X = np.array(json.loads(sys.stdin.read()))
        print(json.dumps(model.predict_proba(X).tolist()))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, tracking_uri],
        input=json.dumps(X.tolist()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    restored = repo.load(snap.id, "model")
    np.testing.assert_allclose(np.array(json.loads(out.stdout)), restored.predict_proba(X))


def test_only_trusted_snapshots_are_exported(tmp_path, tracking_uri, other_key):
    repo = _store(tmp_path / "p")
    snap = repo.commit({"v": 1}, "someone else's")
    repo.close()
    other_key()
    theirs = Repo.open(tmp_path / "p")
    with pytest.raises(Untrusted):
        theirs.to_mlflow(snap.id, tracking_uri=tracking_uri, experiment="untrusted")
    client = mlflow.MlflowClient(tracking_uri)
    assert client.get_experiment_by_name("untrusted") is None


def test_other_models_are_pickled_with_a_note(tmp_path, tracking_uri):
    repo = _store(tmp_path / "p")
    snap = repo.commit({"model": PredictsNothing(), "n": 3}, "a custom model")
    # Only objects with a model card count as models; a plain class with predict does not.
    run = repo.to_mlflow(snap.id, tracking_uri=tracking_uri)
    assert run.created and run.models == {}
    assert mlflow.MlflowClient(tracking_uri).get_run(run.run_id).data.params == {"n": "3"}


class PredictsNothing:
    def predict(self, X):
        return X


def test_a_server_that_does_not_answer_is_one_line(tmp_path):
    repo = _store(tmp_path / "p")
    snap = repo.commit({"v": 1}, "one")
    with pytest.raises(MlvcError) as info:
        repo.to_mlflow(snap.id, tracking_uri=f"http://127.0.0.1:{_free_port()}")
    assert "\n" not in str(info.value)
