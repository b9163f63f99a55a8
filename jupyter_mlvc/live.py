"""The notebook as it is in the editor, handed from the JupyterLab frontend to the kernel.

A magic cannot ask the frontend for the editor's content while its cell runs (the
reply would only arrive after the cell ends), so the frontend pushes instead: it
posts the notebook model to the server extension whenever it changes, the server
writes it here, and a commit in the kernel reads it. Both sides run as the same
user on the same machine, so Jupyter's runtime dir is the meeting place.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import blake3

#: A live copy older than this is not trusted to be the editor's state any more.
MAX_AGE_SECONDS = 24 * 3600


def live_dir() -> Path:
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir()) / "mlvc-live"


def _live_file(notebook_path: str | os.PathLike) -> Path:
    key = blake3.blake3(os.fspath(Path(notebook_path).resolve()).encode()).hexdigest()[:32]
    return live_dir() / f"{key}.json"


def write_live_notebook(notebook_path: str | os.PathLike, notebook: dict[str, Any]) -> None:
    """Record ``notebook`` (nbformat JSON) as the editor's content of ``notebook_path``."""
    target = _live_file(notebook_path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {
        "path": os.fspath(Path(notebook_path).resolve()),
        "updated_at": time.time(),
        "notebook": notebook,
    }
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_live_notebook(notebook_path: str | os.PathLike) -> dict[str, Any] | None:
    """The editor's content of ``notebook_path`` if the frontend pushed one recently."""
    target = _live_file(notebook_path)
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if time.time() - float(record.get("updated_at", 0)) > MAX_AGE_SECONDS:
        return None
    if record.get("path") != os.fspath(Path(notebook_path).resolve()):
        return None
    nb = record.get("notebook")
    return nb if isinstance(nb, dict) else None
