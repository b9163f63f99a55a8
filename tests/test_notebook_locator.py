"""Finding the kernel's notebook: VS Code's and jupyter_server's hints, then the sessions API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_mlvc.notebook_locator import from_server, kernel_id, locate_notebook, running_servers

KID = "0b5e2c3a-1111-4222-8333-944445555666"


def test_vscode_hint_wins(tmp_path):
    ns = {
        "__vsc_ipynb_file__": str(tmp_path / "vs.ipynb"),
        "__session__": str(tmp_path / "js.ipynb"),
    }
    assert locate_notebook(ns, {"JPY_SESSION_NAME": "/x/env.ipynb"}) == tmp_path / "vs.ipynb"


def test_session_then_environment(tmp_path):
    assert locate_notebook({"__session__": str(tmp_path / "a.ipynb")}, {}) == tmp_path / "a.ipynb"
    assert (
        locate_notebook({}, {"JPY_SESSION_NAME": str(tmp_path / "b.ipynb")}) == tmp_path / "b.ipynb"
    )


def test_relative_hint_is_resolved_in_the_kernels_folder(tmp_path):
    (tmp_path / "nb.ipynb").write_text("{}")
    # jupyter_server may give the API path (relative to its root); the kernel runs in the notebook's folder
    assert (
        locate_notebook({"__session__": "project/sub/nb.ipynb"}, {}, cwd=tmp_path)
        == tmp_path / "nb.ipynb"
    )
    (tmp_path / "project" / "sub").mkdir(parents=True)
    (tmp_path / "project" / "sub" / "nb.ipynb").write_text("{}")
    assert (
        locate_notebook({"__session__": "project/sub/nb.ipynb"}, {}, cwd=tmp_path)
        == tmp_path / "project/sub/nb.ipynb"
    )


def test_consoles_and_missing_hints_are_no_notebook(tmp_path):
    assert locate_notebook({"__session__": "/home/u/console-1-abc"}, {}) is None
    assert locate_notebook({"__session__": None}, {}) is None
    assert locate_notebook({}, {}) is None


def test_kernel_id_from_connection_file():
    assert kernel_id(f"/run/user/1000/jupyter/runtime/kernel-{KID}.json") == KID
    assert kernel_id("/tmp/tmpabc.json") is None


class _Sessions(BaseHTTPRequestHandler):
    token = "secret"
    sessions: list = []

    def do_GET(self):
        if (
            self.path != "/api/sessions"
            or self.headers.get("Authorization") != f"token {self.token}"
        ):
            self.send_response(403)
            self.end_headers()
            return
        body = json.dumps(self.sessions).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    _Sessions.sessions = [
        {"id": "s1", "path": "other.ipynb", "type": "notebook", "kernel": {"id": "someone-else"}},
        {"id": "s2", "path": "work/model.ipynb", "type": "notebook", "kernel": {"id": KID}},
        {"id": "s3", "path": "console-1", "type": "console", "kernel": {"id": "x"}},
    ]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Sessions)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    info = {
        "url": f"http://127.0.0.1:{httpd.server_address[1]}/",
        "token": "secret",
        "root_dir": str(tmp_path),
    }
    yield info
    httpd.shutdown()
    httpd.server_close()


def test_sessions_api_finds_the_kernels_notebook(server, tmp_path):
    dead = {"url": "http://127.0.0.1:9/", "token": "t", "root_dir": "/nowhere"}
    found = from_server(f"/rt/kernel-{KID}.json", lambda: [dead, server], timeout=0.5)
    assert found == (tmp_path / "work" / "model.ipynb").resolve()
    assert (
        locate_notebook({}, {}, connection_file=f"/rt/kernel-{KID}.json", servers=lambda: [server])
        == found
    )


def test_sessions_api_failures_mean_unknown(server):
    assert from_server("/rt/kernel-ffffffff-0000.json", lambda: [server]) is None  # no such kernel
    assert from_server(f"/rt/kernel-{KID}.json", lambda: [{**server, "token": "wrong"}]) is None
    assert from_server(f"/rt/kernel-{KID}.json", lambda: [{"url": "not a url"}]) is None

    def broken():
        raise OSError("runtime dir unreadable")

    assert from_server(f"/rt/kernel-{KID}.json", broken) is None


def test_hints_are_asked_before_the_server(tmp_path):
    def servers():
        raise AssertionError("the sessions API must not be asked when a hint is there")

    nb = tmp_path / "hinted.ipynb"
    assert locate_notebook(
        {"__session__": str(nb)}, {}, connection_file=f"kernel-{KID}.json", servers=servers
    ) == Path(nb)


def test_running_servers_are_read_from_the_runtime_folder(tmp_path):
    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(jupyter_runtime_dir())
    folder.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = {
        "url": "http://127.0.0.1:1/",
        "token": "t",
        "root_dir": str(tmp_path),
        "pid": os.getpid(),
    }
    (folder / "jpserver-1.json").write_text(json.dumps(live))
    (folder / "jpserver-2.json").write_text(json.dumps({**live, "pid": dead.pid}))
    (folder / "jpserver-3.json").write_text("{not json")
    (folder / "jpserver-4.json").write_text("x" * (1 << 20))
    assert running_servers() == [live]


def test_finding_the_notebook_imports_no_server(tmp_path):
    # Importing jupyter_server.serverapp compiles jupyter_events' grammars: seconds.
    code = (
        "import sys\n"
        "from jupyter_mlvc.notebook_locator import locate_notebook\n"
        "locate_notebook({}, {}, connection_file='kernel-1234abcd-0000.json')\n"
        "print('jupyter_server.serverapp' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
