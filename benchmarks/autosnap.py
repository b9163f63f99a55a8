"""Automatic snapshots (``%mlvc auto on``): what each cell costs on top of its own work.

In a kernel started by the run's Jupyter server for a notebook (as JupyterLab
starts it), eight float64 arrays of 128 MiB each (at 512 MB; 1.07 GB in all) and
a counter are made and committed. Then three kinds of cell run, round-robin,
``repeat`` times each with automatic snapshots off, then (after one warm-up
round) ``repeat`` times each with them on:

- *unchanged*: reads the counter, changes nothing;
- *small variable*: ``counter += 1``;
- *in place*: 10 elements spread over one 128 MiB array changed in place.

The overhead of a kind is the median of its cell times with snapshots on minus
the median with them off. Afterwards the store's HEAD must hold the array and
the counter as the kernel has them (no change missed), and there must be one
automatic snapshot per changing cell.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import nbformat

from . import probe
from .kernels import JupyterServer, ServerKernel

MB = 2**20
ARRAYS = 8
KINDS = {
    "unchanged": "unchanged cell (reads a small variable)",
    "small": "a small variable changed",
    "inplace": "10 elements of one 128 MiB array changed in place",
}


def cells(size_mb: int) -> tuple[str, dict[str, str], int]:
    """(the cell making the state, the cell of each kind, the state's bytes)."""
    array_mb = max(1, 128 * size_mb // 512)
    cols = 1024
    rows = max(10, array_mb * MB // 8 // cols)
    state = "\n".join(
        ["import numpy as np", "rng = np.random.default_rng(6)"]
        + [f"a{i} = rng.standard_normal(({rows}, {cols}))" for i in range(ARRAYS)]
        + ["del rng", "counter = 0"]
    )
    spread = [i * (rows // 10) for i in range(10)]
    kinds = {
        "unchanged": "print(counter)",
        "small": "counter += 1",
        "inplace": f"a3[{spread}, 0] += 1.0",
    }
    return state, kinds, ARRAYS * rows * cols * 8


def run_auto(
    server: JupyterServer, spec: str, folder: Path, size_mb: int, repeat: int
) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "auto.ipynb"
    state, kinds, nbytes = cells(size_mb)
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(c) for c in [state, *kinds.values()]]
        ),
        str(notebook),
    )
    result: dict[str, Any] = {"state_bytes": nbytes, "repeat": repeat, "kinds": {}}
    off: dict[str, list[float]] = {k: [] for k in kinds}
    on: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        with ServerKernel(server, spec, notebook) as k:
            k.run("%load_ext jupyter_mlvc", silent=True)
            k.run(probe.install_code(), silent=True)
            k.run(state)
            result["base_commit_seconds"] = k.run('%mlvc commit -m "state"').seconds
            for _ in range(repeat):
                for kind, code in kinds.items():
                    off[kind].append(k.run(code).seconds)
            k.run("%mlvc auto on")
            for code in kinds.values():  # the first automatic snapshots: untimed
                warm = k.run(code)
                if "skipped" in warm.stderr:
                    raise RuntimeError(warm.stderr.strip()[-300:])
            for _ in range(repeat):
                for kind, code in kinds.items():
                    on[kind].append(k.run(code).seconds)
            k.run("%mlvc auto off")
            result["kernel_digests"] = k.probe(
                f"print({probe.MARKER!r} + __import__('json').dumps("
                "{n: __import__('_bench_probe').digest(globals()[n]) for n in ('a3', 'counter')}))"
            )
    except Exception as e:  # recorded: the rest of the suite goes on
        result["error"] = (
            f"{type(e).__name__}: {str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}"
        )
        return result
    for kind in kinds:
        result["kinds"][kind] = {
            "off": statistics.median(off[kind]),
            "on": statistics.median(on[kind]),
            "added": statistics.median(on[kind]) - statistics.median(off[kind]),
            "samples_off": off[kind],
            "samples_on": on[kind],
        }
    result["missed"] = _missed(folder, notebook, result["kernel_digests"], 2 + 2 * repeat)
    return result


def _missed(
    folder: Path, notebook: Path, kernel_digests: dict[str, str], changing: int
) -> list[str]:
    """What the automatic snapshots missed: variables whose HEAD value is not the kernel's."""
    from jupyter_mlvc import Repo

    missed = []
    with Repo.open(folder) as repo:
        for name, want in kernel_digests.items():
            got = probe.digest(repo.load("HEAD", name, notebook_path=str(notebook)))
            if got != want:
                missed.append(f"{name} at HEAD differs from the kernel's")
        autos = len(repo.log(str(notebook))) - 1  # less the first, manual commit
    if autos < changing:
        missed.append(f"{autos} automatic snapshots for {changing} cells that changed a variable")
    return missed
