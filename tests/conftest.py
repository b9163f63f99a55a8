"""Shared fixtures. Every test runs with its own Jupyter data and runtime dirs, so
signing keys and live notebooks never touch the user's real ones."""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import pytest

from jupyter_mlvc import Repo


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run the long campaigns (marked slow)")


def pytest_configure(config):
    # The default run is reproducible: hypothesis draws the same examples on every machine
    # and every run. `--run-slow` is the random campaign, a new seed each time.
    from hypothesis import settings

    settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
    settings.register_profile("campaign", print_blob=True)
    settings.load_profile("campaign" if config.getoption("--run-slow") else "deterministic")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long campaign: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_jupyter_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("jupyter")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(base / "runtime"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(base / "config"))
    yield


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A fresh store in a temporary project folder, with a default notebook."""
    r = Repo.init(tmp_path)
    r.notebook_path = r.notebook_key(tmp_path / "analysis.ipynb")
    yield r
    r.close()


@pytest.fixture
def other_key(monkeypatch, tmp_path_factory):
    """Switch to another user's key (another JUPYTER_DATA_DIR)."""

    def switch():
        d = tmp_path_factory.mktemp("other-user")
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(d))

    return switch


def pytest_report_header(config):
    return f"jupyter_mlvc tests (cwd {os.getcwd()})"


@pytest.fixture
def shell(tmp_path: Path, monkeypatch):
    """A real IPython ``InteractiveShell`` with ``%load_ext jupyter_mlvc`` done, in an empty
    project folder (``tmp_path`` is the cwd) and with no notebook, as in a terminal."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    for name in ("JPY_SESSION_NAME", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.autocall = 0
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "jupyter_mlvc")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_mlvc")
    ip.history_manager.end_session()
    # Each shell registers exit work with atexit (closing its history, a full gc.collect):
    # hundreds of shells made pytest spend minutes exiting. This one's history is closed.
    atexit.unregister(ip.atexit_operations)
    ip.user_ns.clear()
    InteractiveShell.clear_instance()


@pytest.fixture
def replies(monkeypatch):
    """What the kernel protocol's ``handle`` displays, decoded: one reply per request."""
    from jupyter_mlvc.kernel_protocol import MIME

    published: list[dict] = []
    monkeypatch.setattr(
        "IPython.display.publish_display_data", lambda data, **kw: published.append(data[MIME])
    )
    return published
