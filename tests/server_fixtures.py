"""Fixtures for tests of the REST API in a real Jupyter server (pytest-jupyter's
``jp_fetch``): import them into a test module that sets
``pytest_plugins = ["pytest_jupyter.jupyter_server"]``."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

#: Where ``notebook`` is, relative to the server's root.
NB = "project/analysis.ipynb"


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            # Without terminals: their websocket route would warn about authentication.
            "jpserver_extensions": {"jupyter_mlvc": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def notebook(jp_root_dir: Path) -> Path:
    """An empty notebook at :data:`NB` under the server's root."""
    folder = jp_root_dir / "project"
    folder.mkdir()
    path = folder / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    return path
