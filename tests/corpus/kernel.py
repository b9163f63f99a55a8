"""Kernels for the campaign: started, set up for jupyter_mlvc, probed, stopped.

Kernels are started with the benchmarks' helpers (private Jupyter dirs, a
kernelspec for this very interpreter), so nothing of the user's Jupyter setup
takes part. Every kernel sees the repository on its ``sys.path`` (jupyter_mlvc and
the in-kernel helpers of this package) and the same fixed hash seed, so set
ordering, and hence pickles, are alike in a warm and a fresh kernel.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from benchmarks.kernels import CellError, JupyterDirs, Kernel, KernelDied

__all__ = ["REPO_ROOT", "CellError", "KernelDied", "NotebookKernel"]

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "@@CORPUS@@"
#: One thread each: the campaign shares a small machine, and threads only add noise.
ENV = {
    # A PYTHONPATH given to the campaign comes first: an export of another commit of
    # jupyter_mlvc put there is what the kernels then measure.
    "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(REPO_ROOT)) if p),
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "Agg",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "LOKY_MAX_CPU_COUNT": "1",
}


class NotebookKernel:
    """A kernel running one notebook of the corpus against one store."""

    def __init__(self, dirs: JupyterDirs, folder: Path, notebook: Path, log: Path | None = None):
        self.folder, self.notebook = folder, notebook
        spec = dirs.kernelspec("corpus", sys.executable)
        self.kernel = Kernel(dirs, spec, cwd=folder, env=ENV, log=log)
        self.kernel.run(
            "%load_ext jupyter_mlvc\n"
            f"%config MLVC.store = {str(folder)!r}\n"
            f"%config MLVC.notebook = {str(notebook)!r}",
            silent=True,
        )

    def run_cell(self, code: str, timeout: float) -> None:
        self.kernel.run(code, timeout=timeout)

    def _probe(self, code: str, timeout: float = 600) -> Any:
        out = self.kernel.run(code, silent=True, timeout=timeout).stdout
        for line in out.splitlines():
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER) :])
        raise RuntimeError(f"probe printed no result: {out[-300:]!r}")

    def fingerprint(self) -> dict[str, Any]:
        # __import__ binds no name in the user namespace.
        return self._probe(
            "__import__('tests.corpus.fingerprint', fromlist=['_']).publish(get_ipython().user_ns)"
        )

    def commit(self, message: str) -> str:
        out = self.kernel.run(f'%mlvc commit -m "{message}"', timeout=600).stdout
        match = re.search(r"Committed ([0-9a-f]{8,})", out)
        if match is None:
            raise RuntimeError(f"no snapshot id in the commit's output: {out[-300:]!r}")
        return match.group(1)

    def restore(self, snapshot: str) -> dict[str, Any]:
        return self._probe(
            "__import__('tests.corpus.checkout', fromlist=['_']).publish("
            f"{str(self.folder)!r}, {str(self.notebook)!r}, {snapshot!r}, get_ipython().user_ns)"
        )

    def shutdown(self) -> None:
        self.kernel.shutdown()

    def __enter__(self) -> NotebookKernel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
