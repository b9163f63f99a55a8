"""The systems compared, each driven in its kernel the way its users drive it.

A system says how to prepare a kernel, what cell commits, how to name the
snapshot just made, what cell restores one (and one variable of it, if it can),
and which files are its store. Nothing is configured in a kernel but what the
system's users do themselves: the kernel runs in the project folder, and the
system is loaded the way its documentation says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .kernels import MARKER, Kernel


@dataclass
class Context:
    """Where one system keeps one workload's snapshots."""

    folder: Path
    notebook: Path


def folder_bytes(path: Path, skip_suffixes: tuple[str, ...] = ()) -> int:
    """Bytes of the files under ``path`` (apparent sizes)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            if name.endswith(skip_suffixes):
                continue
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass  # a temp file renamed away while we walked
    return total


def source_dir() -> Path:
    """The folder that holds the jupyter_mlvc package being measured."""
    import jupyter_mlvc

    return Path(jupyter_mlvc.__file__).resolve().parents[1]


class System:
    name = ""
    #: The kernel's interpreter.
    python = sys.executable
    #: True if the system commits by itself after each cell (Kishu): the commit is
    #: the cell's time minus the time its body took.
    commits_with_cells = False
    #: Restores run as silent cells (as Kishu's own command line does).
    silent_restore = False

    def unavailable(self) -> str | None:
        """None if the system can run here, else why not (one line)."""
        return None

    def kernel_env(self) -> dict[str, str]:
        """Variables the system's kernels need (written into its kernelspec)."""
        return {}

    def setup_code(self, ctx: Context) -> str | None:
        """The cell that loads the system into a kernel (untimed), if it needs one."""
        return None

    def step_code(self, code: str) -> str:
        """The cell that runs one step of the workload (ElasticNotebook wraps it)."""
        return code

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        raise NotImplementedError

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        raise NotImplementedError

    def restore_code(self, ctx: Context, ref: str) -> str:
        raise NotImplementedError

    def partial_restore_code(self, ctx: Context, ref: str, name: str) -> str | None:
        """The cell that restores only the variable ``name``; None if the system cannot."""
        return None

    def store_bytes(self, ctx: Context) -> int:
        return folder_bytes(ctx.folder, skip_suffixes=(".ipynb",))


class Mlvc(System):
    """jupyter_mlvc through its magics, as a user types them, with its default settings.

    Only ``%load_ext jupyter_mlvc`` runs before the user's cells: the store is
    found (or created by the first commit) from the kernel's folder, the notebook
    found as jupyter_mlvc finds it (``JPY_SESSION_NAME`` in a server's kernel;
    none in a kernel started by jupyter_client, whose commits store the session's
    inputs instead). ``save_before_checkout`` keeps its default: in these runs
    the state before every checkout either is HEAD or has no variables, so no
    checkout should commit anything first; one that does says "Saved" and is
    marked in the table.
    """

    name = "mlvc"

    def kernel_env(self) -> dict[str, str]:
        # The kernels import the very jupyter_mlvc the client imported (a clean
        # export of a commit can be measured by putting it first on PYTHONPATH).
        return {"PYTHONPATH": str(source_dir())}

    def setup_code(self, ctx: Context) -> str:
        return "%load_ext jupyter_mlvc"

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        return f'%mlvc commit -m "{index + 1}: {label}"'

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        match = re.search(r"Committed ([0-9a-f]{8,})", output)
        if match is None:
            raise RuntimeError(f"no snapshot id in the commit's output: {output[-300:]!r}")
        return match.group(1)

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"%mlvc checkout {ref}"

    def partial_restore_code(self, ctx: Context, ref: str, name: str) -> str:
        return f"%mlvc checkout {ref} {name}"

    def store_bytes(self, ctx: Context) -> int:
        return folder_bytes(ctx.folder / ".mlvc")


class Dill(System):
    """``dill.dump_session`` / ``dill.load_session``, one file per commit."""

    name = "dill"

    def setup_code(self, ctx: Context) -> str:
        return "import dill"

    def _path(self, ctx: Context, ref: str) -> str:
        return str(ctx.folder / f"session-{ref}.pkl")

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        return f"dill.dump_session({self._path(ctx, str(index + 1))!r})"

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        return str(index + 1)

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"dill.load_session({self._path(ctx, ref)!r})"


#: The plain-pickle baseline: the user's variables in one dict, protocol 5. Restoring
#: replaces the namespace (variables not in the file are removed).
_PICKLE_HELPERS = """
def _bench_user_vars():
    import types
    hidden = {"In", "Out", "get_ipython", "exit", "quit", "open"}
    return {
        k: v for k, v in globals().items()
        if not k.startswith("_") and k not in hidden and not isinstance(v, types.ModuleType)
    }

def _bench_pickle_dump(path):
    import pickle
    with open(path, "wb") as f:
        pickle.dump(_bench_user_vars(), f, protocol=5)

def _bench_pickle_load(path):
    import pickle
    with open(path, "rb") as f:
        values = pickle.load(f)
    for name in set(_bench_user_vars()) - set(values):
        del globals()[name]
    globals().update(values)
"""


class Pickle(System):
    name = "pickle"

    def setup_code(self, ctx: Context) -> str:
        return _PICKLE_HELPERS

    def _path(self, ctx: Context, ref: str) -> str:
        return str(ctx.folder / f"namespace-{ref}.pkl")

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        return f"_bench_pickle_dump({self._path(ctx, str(index + 1))!r})"

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        return str(index + 1)

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"_bench_pickle_load({self._path(ctx, ref)!r})"


def venv_unavailable(venv: Path, label: str, package: str, imports: str) -> str | None:
    """Why a peer's own virtualenv cannot run it (None when it can)."""
    python = venv / "bin" / "python"
    if not python.exists():
        return f"no {label} virtualenv at {venv} (see benchmarks/README.md)"
    probe = subprocess.run([str(python), "-c", imports], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{package} does not import in {venv}: {probe.stderr.strip().splitlines()[-1:]}"
    return None


class Kishu(System):
    """Kishu 0.3.4 in its own virtualenv, attached with ``init_kishu`` (no server).

    Kishu commits after every cell by itself; its checkout is what its command
    line runs (``_kishu.checkout(id, skip_notebook=True)`` in a silent cell).
    ``ENV_KISHU_TEST_MODE`` turns off only its frontend calls (saving and
    reloading the notebook through the browser, which waits up to a second
    for a browser that is not there) and numbers commits instead of uuid4s.
    """

    name = "kishu"
    commits_with_cells = True
    silent_restore = True
    experimental_tracker = False

    def __init__(self, venv: Path, root: Path):
        self.venv = venv
        self.root = root / self.name
        self.python = str(venv / "bin" / "python")

    def unavailable(self) -> str | None:
        return venv_unavailable(self.venv, "Kishu", "kishu", "import kishu, ipykernel")

    def kernel_env(self) -> dict[str, str]:
        config = self.root / ".kishu" / "config.ini"
        config.parent.mkdir(parents=True, exist_ok=True)
        if self.experimental_tracker:
            config.write_text("[IDGRAPH]\nexperimental_tracker = True\n")
        return {"KISHU_PATH_ROOT": str(self.root), "ENV_KISHU_TEST_MODE": "1"}

    def setup_code(self, ctx: Context) -> str:
        return f"from kishu import init_kishu; init_kishu({str(ctx.notebook)!r})"

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        return kernel.probe(
            f"print({MARKER!r} + __import__('json').dumps(_kishu._kishu_branch.get_head().commit_id))"
        )

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"_kishu.checkout({ref!r}, skip_notebook=True)"


class KishuFast(Kishu):
    """Kishu with its experimental (faster) change tracker."""

    name = "kishu-fast"
    experimental_tracker = True


class Elastic(System):
    """ElasticNotebook (PyPI ``elastic-notebook-slim``) in its own virtualenv.

    As its README drives it: an ``ElasticNotebook(get_ipython())`` made in the
    first cell, every cell run through ``record_event`` (which runs it and updates
    its dependency graph), ``checkpoint(path)`` to save, and ``load_checkpoint(path)``
    in a kernel with a new ``ElasticNotebook`` to restore (declaring the saved
    variables and re-running the cells its optimizer chose to recompute).
    """

    name = "elastic"

    def __init__(self, venv: Path):
        self.venv = venv
        self.python = str(venv / "bin" / "python")

    def unavailable(self) -> str | None:
        return venv_unavailable(
            self.venv,
            "ElasticNotebook",
            "elastic-notebook-slim",
            "import elastic.elastic_notebook, ipykernel",
        )

    def setup_code(self, ctx: Context) -> str:
        return (
            "_elastic = __import__('elastic.elastic_notebook', fromlist=['ElasticNotebook'])"
            ".ElasticNotebook(get_ipython())"
        )

    def step_code(self, code: str) -> str:
        return f"_elastic.record_event({code!r})"

    def _path(self, ctx: Context, ref: str) -> str:
        return str(ctx.folder / f"elastic-{ref}.pickle")

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        return f"_elastic.checkpoint({self._path(ctx, str(index + 1))!r})"

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        return str(index + 1)

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"_elastic.load_checkpoint({self._path(ctx, ref)!r})"


#: Kishu's virtualenv: exactly the CPU build of torch that lies on this machine
#: (any other spec downloads gigabytes).
KISHU_PACKAGES = [
    "kishu==0.3.4",
    "numpy",
    "pandas",
    "scikit-learn",
    "torch==2.13.0",
    "ipykernel",
    "dill",
]
#: 0.0.13 cannot restore: its ``load_checkpoint`` calls ``resume`` with arguments
#: that 0.0.13's ``resume`` no longer takes (a TypeError). 0.0.12 is the last that does.
ELASTIC_PACKAGES = [
    "elastic-notebook-slim==0.0.12",
    "numpy",
    "pandas",
    "scikit-learn",
    "torch==2.13.0",
    "ipykernel",
    "dill",
]


def venv_setup(venv: Path, packages: list[str]) -> str | None:
    """Create a peer's virtualenv if it is missing; None when ready, else why not."""
    python = venv / "bin" / "python"
    if python.exists():
        return None
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", *packages],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            return f"could not set up {venv.name} ({' '.join(cmd[:4])}...): {tail}"
    return None


NAMES = ["mlvc", "dill", "pickle", "kishu", "kishu-fast", "elastic"]


def make(name: str, kishu_venv: Path, elastic_venv: Path, root: Path) -> System:
    if name == "mlvc":
        return Mlvc()
    if name == "dill":
        return Dill()
    if name == "pickle":
        return Pickle()
    if name == "kishu":
        return Kishu(kishu_venv, root)
    if name == "kishu-fast":
        return KishuFast(kishu_venv, root)
    if name == "elastic":
        return Elastic(elastic_venv)
    raise ValueError(f"unknown system {name!r}; choose from {', '.join(NAMES)}")
