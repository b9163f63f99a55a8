"""Which notebook file a kernel is running, asked of the places that know.

In order: ``__vsc_ipynb_file__`` (VS Code puts it in the user namespace),
``__session__`` / ``JPY_SESSION_NAME`` (jupyter_server sets it when it starts the
kernel), then the sessions API of the running Jupyter servers, matched on the
kernel id in this kernel's connection file. The first two are free; the last one
is a local HTTP request, so it is bounded by a short timeout and any failure just
means "unknown".

Nothing here imports IPython: the magic hands in its namespace, environment and
connection file.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

NOTEBOOK_SUFFIX = ".ipynb"

#: A server info file is a few hundred bytes; a larger one is not read.
_MAX_SERVER_FILE = 64 << 10

_KERNEL_FILE = re.compile(r"kernel-(?P<id>[0-9a-fA-F-]{8,})\.json$")


def locate_notebook(
    user_ns: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    connection_file: str | None = None,
    servers: Callable[[], Iterable[Mapping[str, Any]]] | None = None,
    timeout: float = 1.0,
    cwd: str | os.PathLike | None = None,
) -> Path | None:
    """The absolute path of the kernel's notebook, or None when there is none (a terminal).

    ``servers`` returns the info dicts of running Jupyter servers (by default
    :func:`running_servers`, read from the runtime folder); it is only called when the
    cheaper hints are missing and a ``connection_file`` names the kernel.
    """
    env = os.environ if env is None else env
    base = Path(cwd) if cwd is not None else Path.cwd()
    found = from_hints(user_ns, env, base)
    if found is not None:
        return found
    if connection_file:
        return from_server(connection_file, servers, timeout=timeout)
    return None


def from_hints(user_ns: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> Path | None:
    """The notebook named by VS Code's or jupyter_server's hints, if any."""
    for hint in (
        user_ns.get("__vsc_ipynb_file__"),
        user_ns.get("__session__"),
        env.get("JPY_SESSION_NAME"),
    ):
        if isinstance(hint, str) and hint:
            path = _resolve(hint, cwd)
            if path is not None:
                return path
    return None


def _resolve(hint: str, cwd: Path) -> Path | None:
    if hint.startswith("file://"):
        hint = urllib.parse.unquote(urllib.parse.urlparse(hint).path)
    path = Path(hint).expanduser()
    if path.suffix != NOTEBOOK_SUFFIX:
        return None
    if path.is_absolute():
        return path
    # A relative hint is the server's API path (relative to its root), while the
    # kernel runs in the notebook's folder: prefer a candidate that exists.
    for candidate in (cwd / path, cwd / path.name):
        if candidate.exists():
            return candidate.resolve()
    return (cwd / path.name).resolve()


def kernel_id(connection_file: str) -> str | None:
    """The kernel id in a connection file's name (``kernel-<id>.json``)."""
    match = _KERNEL_FILE.search(os.path.basename(connection_file))
    return match.group("id") if match else None


def from_server(
    connection_file: str,
    servers: Callable[[], Iterable[Mapping[str, Any]]] | None = None,
    *,
    timeout: float = 1.0,
) -> Path | None:
    """Ask each running Jupyter server which notebook session holds this kernel."""
    kid = kernel_id(connection_file)
    if kid is None:
        return None
    if servers is None:
        servers = running_servers
    try:
        infos = list(servers())
    except Exception:
        return None
    if not infos:
        return None

    def ask(info: Mapping[str, Any]) -> Path | None:
        for session in _sessions(info, timeout):
            path = _session_notebook(session, kid, info)
            if path is not None:
                return path
        return None

    # Every server at once: a dead or slow one costs one timeout, not one each.
    with ThreadPoolExecutor(min(8, len(infos)), thread_name_prefix="mlvc-locate") as pool:
        for path in pool.map(ask, infos):
            if path is not None:
                return path
    return None


def running_servers() -> list[dict[str, Any]]:
    """The info files of the Jupyter servers running for this user (url, token, root_dir).

    Read straight from the runtime folder, as ``jupyter server list`` does: importing
    ``jupyter_server.serverapp`` for its ``list_running_servers`` costs seconds.
    Files of servers whose process is gone are left out.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(jupyter_runtime_dir())
    infos: list[dict[str, Any]] = []
    for pattern in ("jpserver-*.json", "nbserver-*.json"):
        for f in sorted(folder.glob(pattern)):
            try:
                if f.stat().st_size > _MAX_SERVER_FILE:
                    continue
                info = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(info, dict):
                continue
            pid = info.get("pid")
            if isinstance(pid, int) and not _alive(pid):
                continue
            infos.append(info)
    return infos


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        # Someone else's process (or a number that is no pid): not ours to judge.
        return pid > 0
    return True


def _sessions(info: Mapping[str, Any], timeout: float) -> list[Mapping[str, Any]]:
    # Imported here: http, ssl and email cost a kernel that asks no server ~50 ms.
    import urllib.request

    url = str(info.get("url", ""))
    if not url.startswith(("http://", "https://")):
        return []
    request = urllib.request.Request(urllib.parse.urljoin(url.rstrip("/") + "/", "api/sessions"))
    token = info.get("token")
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
    except Exception:
        # Best effort: a server that is gone, slow, or refuses us is just not the one.
        return []
    return [s for s in data if isinstance(s, Mapping)] if isinstance(data, list) else []


def _session_notebook(session: Mapping[str, Any], kid: str, info: Mapping[str, Any]) -> Path | None:
    kernel = session.get("kernel") or {}
    if not isinstance(kernel, Mapping) or kernel.get("id") != kid:
        return None
    api_path = session.get("path") or (session.get("notebook") or {}).get("path")
    if not isinstance(api_path, str) or not api_path.endswith(NOTEBOOK_SUFFIX):
        return None
    root = info.get("root_dir") or info.get("notebook_dir") or ""
    return (Path(str(root)).expanduser() / api_path.lstrip("/")).resolve()
