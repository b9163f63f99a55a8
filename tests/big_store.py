"""A store with thousands of snapshots of one notebook, built through the Python API."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat

from jupyter_mlvc import Repo


def build_big_store(root: Path, n: int, notebook: str = "big.ipynb") -> float:
    """``n`` snapshots of ``root/notebook`` (a tag every 100, a branch at the middle).

    Returns how many seconds it took. Each snapshot holds a few small variables and
    two metrics; one in 50 holds the notebook too.
    """
    path = root / notebook
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("step = 0")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    began = time.perf_counter()
    with Repo.init(root) as repo:
        for i in range(n):
            snap = repo.commit(
                {"step": i, "weights": [i % 7] * 20, "name": f"run {i}"},
                f"step {i}",
                nb if i % 50 == 0 else None,
                path,
                {"acc": i / n, "loss": 1 - i / n},
            )
            if i % 100 == 99:
                repo.tag(f"t{i + 1}", snap.id, notebook_path=path)
            if i == n // 2:
                repo.branch("half", notebook_path=path)
    return time.perf_counter() - began
