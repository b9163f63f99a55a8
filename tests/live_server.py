"""A real ``jupyter server`` in a subprocess, for tests that talk HTTP to it from threads.

pytest-jupyter's ``jp_fetch`` runs the server in the test's own event loop, so a
test cannot block on it (hypothesis, threads, kernels). This one runs apart,
with its own Jupyter folders, and is reached with plain ``http.client``.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class JupyterServer:
    """``jupyter server`` with the jupyter_mlvc extension, serving ``root``."""

    root: Path
    home: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    #: Environment variables to set for the server (e.g. the kernels' JUPYTER_DATA_DIR).
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        env.pop("JPY_SESSION_NAME", None)
        return env

    def start(self, timeout: float = 90) -> JupyterServer:
        self.home.mkdir(parents=True, exist_ok=True)
        jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [
                    jupyter,
                    "server",
                    "--no-browser",
                    "--allow-root",
                    f"--port={self.port}",
                    "--port-retries=0",
                    "--ServerApp.ip=127.0.0.1",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={self.root}",
                    "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
                ],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log.read_text()}")
            try:
                if self.request("GET", "/api/status").status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jupyter server did not start:\n{self.log.read_text()}")
            time.sleep(0.25)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        *,
        token: bool = True,
        timeout: float = 20,
    ) -> Response:
        """Send ``target`` (path and query, already URL-encoded) exactly as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Authorization": f"token {self.token}"} if token else {}
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            return Response(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
