"""Without MLflow installed, the export says how to install it, in one line."""

from __future__ import annotations

import sys

import pytest

from jupyter_mlvc.errors import MlvcError


def test_without_mlflow_the_export_says_how_to_install_it(repo, monkeypatch):
    snap = repo.commit({"v": 1}, "one")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(MlvcError) as info:
        repo.to_mlflow(snap.id)
    assert str(info.value) == (
        "exporting to MLflow needs its client: pip install 'jupyter_mlvc[mlflow]'"
    )
