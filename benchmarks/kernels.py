"""Real ipykernels, started the two ways users start them, timed from the client.

A :class:`Kernel` is started by jupyter_client's ``KernelManager`` with a
connection file, as nbclient, papermill or VS Code start one: nothing tells it
which notebook it runs. A :class:`ServerKernel` is started by a real ``jupyter
server`` (:class:`JupyterServer`) for a notebook session created through its REST
API, as JupyterLab starts one: the server gives it ``JPY_SESSION_NAME`` and runs
it in the notebook's folder. Either way the benchmark then talks to the kernel
with jupyter_client over its connection file.

Kernelspecs are written into the run's own Jupyter data dir, so the interpreter
is exactly the one asked for (the benchmark's venv, Kishu's, ElasticNotebook's)
and nothing the user installed in their own Jupyter dirs takes part.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.kernelspec import KernelSpecManager

#: Probes print one line starting with this marker, followed by JSON.
MARKER = "@@BENCH@@"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Not inherited by kernels: the benchmark's own venv must not leak into another
#: interpreter, and no kernel may be told its notebook by the benchmark's shell.
_NOT_INHERITED = ("PYTHONPATH", "VIRTUAL_ENV", "JPY_SESSION_NAME")


def inherited_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in _NOT_INHERITED:
        env.pop(name, None)
    return env


class CellError(Exception):
    """A cell raised in the kernel; ``str()`` is the exception's one-line summary."""

    def __init__(self, ename: str, evalue: str, traceback: list[str]):
        self.ename, self.evalue = ename, evalue
        self.traceback = _ANSI.sub("", "\n".join(traceback))
        super().__init__(f"{ename}: {evalue}")


class KernelDied(Exception):
    """The kernel process ended while a cell ran (out of memory, a crash)."""


@dataclass
class CellResult:
    seconds: float
    stdout: str = ""
    stderr: str = ""
    #: The text/plain of displays and results (jupyter_mlvc reports some outcomes there).
    display: str = ""
    reply: dict[str, Any] = field(default_factory=dict)


@dataclass
class JupyterDirs:
    """The run's private Jupyter dirs; kernels and the client both use them."""

    base: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "IPYTHONDIR": str(self.base / "ipython"),
        }

    @property
    def server_env(self) -> dict[str, str]:
        """The Jupyter server's dirs: the same but its own runtime folder.

        The server's info file (``jpserver-*.json``) lies there, so kernels started
        by jupyter_client, whose runtime folder is the other one, see no running
        server, as on a machine where papermill or nbclient run with no Jupyter open.
        """
        return {**self.env, "JUPYTER_RUNTIME_DIR": str(self.base / "server-runtime")}

    def create(self) -> None:
        for path in {*self.env.values(), *self.server_env.values()}:
            Path(path).mkdir(parents=True, exist_ok=True)

    def kernelspec(self, name: str, python: str, env: dict[str, str] | None = None) -> str:
        """Write a kernelspec running ``python`` (with ``env`` set) and return its name.

        It lies in the data dir's ``kernels/``, where both jupyter_client and the
        server find it.
        """
        folder = self.kernels_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": name,
            "language": "python",
            "env": env or {},
        }
        (folder / "kernel.json").write_text(json.dumps(spec))
        return name

    @property
    def kernels_dir(self) -> Path:
        return Path(self.env["JUPYTER_DATA_DIR"]) / "kernels"

    def spec_manager(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[str(self.kernels_dir)])


class Kernel:
    """One running kernel: run cells in it, time them, read its memory."""

    def __init__(
        self,
        dirs: JupyterDirs,
        spec: str,
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        startup_timeout: float = 120,
    ):
        kernel_id = str(uuid.uuid4())
        # Kishu finds its kernel by this name: kernel-<id>.json.
        connection_file = Path(dirs.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"
        self.km = KernelManager(
            kernel_name=spec,
            kernel_spec_manager=dirs.spec_manager(),
            connection_file=str(connection_file),
        )
        self.kernel_id = kernel_id
        # A system that needs a variable (jupyter_mlvc's source on PYTHONPATH) has it
        # in its kernelspec; ``env`` is for the benchmark's own needs.
        full_env = {**inherited_env(), **dirs.env, **(env or {})}
        # The kernel's own output (warnings, tracebacks of crashes) goes to a log file,
        # not into the table being printed.
        self._log = open(log, "ab") if log is not None else None  # noqa: SIM115 (closed at shutdown)
        self.km.start_kernel(env=full_env, cwd=str(cwd), stdout=self._log, stderr=self._log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=startup_timeout)

    @property
    def pid(self) -> int:
        return self.km.provisioner.process.pid  # type: ignore[union-attr]

    def is_alive(self) -> bool:
        return self.km.is_alive()

    def run(self, code: str, *, silent: bool = False, timeout: float = 3600) -> CellResult:
        """Run one cell; wait for the kernel to go idle; raise CellError if it failed.

        ``silent`` cells are neither stored in the history nor seen by
        pre/post_run_cell hooks: the benchmark's own probes use them so that they
        never count as the user's work (Kishu commits after every non-silent cell).
        """
        start = time.perf_counter()
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False)
        stdout: list[str] = []
        stderr: list[str] = []
        display: list[str] = []
        error: CellError | None = None
        deadline = start + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except Empty:
                if not self.is_alive():
                    raise KernelDied("the kernel died while running a cell") from None
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"cell did not finish in {timeout:.0f} s") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (stdout if content["name"] == "stdout" else stderr).append(content["text"])
            elif kind in ("display_data", "execute_result"):
                display.append(str(content.get("data", {}).get("text/plain", "")))
            elif kind == "error":
                error = CellError(content["ename"], content["evalue"], content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
        seconds = time.perf_counter() - start
        reply = self._reply(msg_id)
        if error is None and reply.get("status") == "error":
            error = CellError(reply["ename"], reply["evalue"], reply.get("traceback", []))
        if error is not None:
            raise error
        return CellResult(seconds, "".join(stdout), "".join(stderr), "\n".join(display), reply)

    def _reply(self, msg_id: str) -> dict[str, Any]:
        while True:
            try:
                msg = self.kc.get_shell_msg(timeout=30)
            except Empty:
                return {}
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def probe(self, code: str, *, timeout: float = 3600) -> Any:
        """Run a silent cell that prints ``MARKER + json``; return the decoded value."""
        out = self.run(code, silent=True, timeout=timeout).stdout
        for line in out.splitlines():
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
        raise RuntimeError(f"probe printed no result: {out[-500:]!r}")

    def memory(self) -> dict[str, int]:
        """Resident and peak resident bytes of the kernel process."""
        values = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, kb = line.split()[:2]
                    values[key.rstrip(":")] = int(kb) * 1024
        return {"rss": values.get("VmRSS", 0), "peak": values.get("VmHWM", 0)}

    def reset_peak(self) -> bool:
        """Start a new peak-RSS measurement (Linux: clear_refs 5); False if unsupported."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
            if self._log is not None:
                self._log.close()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """A real ``jupyter server`` on 127.0.0.1 with a token, in the run's private dirs.

    It serves ``root`` and starts kernels for notebook sessions as JupyterLab asks
    it to (:meth:`start_session`). Its own output goes to ``log``.
    """

    def __init__(self, dirs: JupyterDirs, root: Path, log: Path, *, startup_timeout: float = 120):
        self.dirs, self.root = dirs, root
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime_dir = Path(dirs.server_env["JUPYTER_RUNTIME_DIR"])
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
        ]
        self._log = open(log, "ab")  # noqa: SIM115 (closed at stop)
        self.process = subprocess.Popen(
            cmd,
            env={**inherited_env(), **dirs.server_env},
            stdout=self._log,
            stderr=self._log,
            cwd=root,
        )
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                self.request("GET", "/api/status", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter server did not start (see {log})") from None
                time.sleep(0.25)

    def request(self, method: str, path: str, body: Any = None, *, timeout: float = 120) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def start_session(self, notebook: Path, kernel_name: str) -> dict[str, Any]:
        """``POST /api/sessions`` for ``notebook`` (under the root), as JupyterLab opens it."""
        return self.request(
            "POST",
            "/api/sessions",
            {
                "path": notebook.relative_to(self.root).as_posix(),
                "name": notebook.name,
                "type": "notebook",
                "kernel": {"name": kernel_name},
            },
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> JupyterServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _pid_with_arg(arg: str) -> int | None:
    """The process whose command line holds ``arg`` (the kernel's connection file)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if arg.encode() in args:
            return int(entry)
    return None


class ServerKernel(Kernel):
    """A kernel the server started for a notebook session; driven over its connection file."""

    def __init__(
        self,
        server: JupyterServer,
        spec: str,
        notebook: Path,
        *,
        startup_timeout: float = 120,
    ):
        self.server = server
        session = server.start_session(notebook, spec)
        self.session_id = session["id"]
        self.kernel_id = session["kernel"]["id"]
        self.connection_file = server.runtime_dir / f"kernel-{self.kernel_id}.json"
        self._log = None
        try:
            self.kc = BlockingKernelClient(connection_file=str(self.connection_file))
            self.kc.load_connection_file()
            self._pid = _pid_with_arg(str(self.connection_file))
            if self._pid is None:
                raise RuntimeError(f"no process runs the kernel {self.kernel_id}")
            self.kc.start_channels()
            self._wait_started(startup_timeout)
            self.kc.wait_for_ready(timeout=startup_timeout)
        except BaseException:
            self._end_session()
            raise

    def _wait_started(self, timeout: float) -> None:
        """Wait for the kernel to answer on its shell channel.

        jupyter_client's ``wait_for_ready`` alone gives up ("Kernel died before
        replying to kernel_info") when the heartbeat is slow to start, as it is for a
        kernel that a loaded machine starts slowly: here only the process's end, or
        the timeout, counts as a failure.
        """
        deadline = time.monotonic() + timeout
        while True:
            msg_id = self.kc.kernel_info()
            try:
                while True:
                    reply = self.kc.get_shell_msg(timeout=1)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        return
            except Empty:
                if not self.is_alive():
                    raise KernelDied("the kernel ended before it answered") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the kernel did not answer in {timeout:.0f} s") from None

    @property
    def pid(self) -> int:
        return self._pid  # type: ignore[return-value]

    def is_alive(self) -> bool:
        return os.path.exists(f"/proc/{self._pid}")

    def _end_session(self) -> None:
        try:
            self.server.request("DELETE", f"/api/sessions/{self.session_id}")
        except OSError:
            pass  # the server is gone: so is its kernel

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self._end_session()
