"""Real ipykernels driven as a notebook drives them, timed from the client.

Each :class:`Kernel` is started by jupyter_client's ``KernelManager`` from a
kernelspec written into the run's own Jupyter data dir, so the interpreter is
exactly the one asked for (the benchmark's venv, or Kishu's) and nothing the user
installed in their own Jupyter dirs takes part.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

#: Probes print one line starting with this marker, followed by JSON.
MARKER = "@@BENCH@@"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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

    def create(self) -> None:
        for path in self.env.values():
            Path(path).mkdir(parents=True, exist_ok=True)

    def kernelspec(self, name: str, python: str) -> str:
        """Write a kernelspec running ``python`` and return its name."""
        folder = self.base / "kernels" / name
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": name,
            "language": "python",
        }
        (folder / "kernel.json").write_text(json.dumps(spec))
        return name

    def spec_manager(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[str(self.base / "kernels")])


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
        inherited = dict(os.environ)
        # The benchmark's own venv must not leak into Kishu's interpreter; a system
        # that needs a path (jupyter_mlvc's source) sets it in ``env``.
        for name in ("PYTHONPATH", "VIRTUAL_ENV", "JPY_SESSION_NAME"):
            inherited.pop(name, None)
        full_env = {**inherited, **dirs.env, **(env or {})}
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
        error: CellError | None = None
        deadline = start + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except Empty:
                if not self.km.is_alive():
                    raise KernelDied("the kernel died while running a cell") from None
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"cell did not finish in {timeout:.0f} s") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (stdout if content["name"] == "stdout" else stderr).append(content["text"])
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
        return CellResult(seconds, "".join(stdout), "".join(stderr), reply)

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
