"""The systems compared, each driven in its kernel the way its users drive it.

A system says how to prepare a kernel, what cell commits, how to name the
snapshot just made, what cell restores one, and which files are its store.
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

    def kernel_env(self, ctx: Context) -> dict[str, str]:
        return {}

    def setup(self, kernel: Kernel, ctx: Context) -> None:
        """Prepare a kernel (the one that commits, or a fresh one about to restore)."""

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        raise NotImplementedError

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        raise NotImplementedError

    def restore_code(self, ctx: Context, ref: str) -> str:
        raise NotImplementedError

    def store_bytes(self, ctx: Context) -> int:
        return folder_bytes(ctx.folder, skip_suffixes=(".ipynb",))


class Mlvc(System):
    """jupyter_mlvc through its magics, as a user types them."""

    name = "mlvc"

    def kernel_env(self, ctx: Context) -> dict[str, str]:
        # The kernels import the very jupyter_mlvc the client imported (a clean
        # export of a commit can be measured by putting it first on PYTHONPATH).
        return {"PYTHONPATH": str(source_dir())}

    def setup(self, kernel: Kernel, ctx: Context) -> None:
        kernel.run(
            "%load_ext jupyter_mlvc\n"
            f"%config MLVC.store = {str(ctx.folder)!r}\n"
            f"%config MLVC.notebook = {str(ctx.notebook)!r}\n"
            # Restores are timed on their own: no commit of the current state first.
            "%config MLVC.save_before_checkout = False",
            silent=True,
        )

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        return f'%mlvc commit -m "{index + 1}: {label}"'

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        match = re.search(r"Committed ([0-9a-f]{8,})", output)
        if match:
            return match.group(1)
        from jupyter_mlvc import Repo

        head = Repo.open(ctx.folder).head(str(ctx.notebook))
        if head is None:
            raise RuntimeError(f"no snapshot after the commit: {output[-300:]!r}")
        return head.id

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"%mlvc checkout {ref}"

    def store_bytes(self, ctx: Context) -> int:
        return folder_bytes(ctx.folder / ".mlvc")


class Dill(System):
    """``dill.dump_session`` / ``dill.load_session``, one file per commit."""

    name = "dill"

    def setup(self, kernel: Kernel, ctx: Context) -> None:
        kernel.run("import dill", silent=True)

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

    def setup(self, kernel: Kernel, ctx: Context) -> None:
        kernel.run(_PICKLE_HELPERS, silent=True)

    def _path(self, ctx: Context, ref: str) -> str:
        return str(ctx.folder / f"namespace-{ref}.pkl")

    def commit_code(self, ctx: Context, index: int, label: str) -> str:
        return f"_bench_pickle_dump({self._path(ctx, str(index + 1))!r})"

    def snapshot_ref(self, kernel: Kernel, ctx: Context, index: int, output: str) -> str:
        return str(index + 1)

    def restore_code(self, ctx: Context, ref: str) -> str:
        return f"_bench_pickle_load({self._path(ctx, ref)!r})"


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
        if not Path(self.python).exists():
            return f"no Kishu virtualenv at {self.venv} (see benchmarks/README.md)"
        probe = subprocess.run(
            [self.python, "-c", "import kishu, ipykernel; print(kishu.__version__)"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            return f"kishu does not import in {self.venv}: {probe.stderr.strip().splitlines()[-1:]}"
        return None

    def kernel_env(self, ctx: Context) -> dict[str, str]:
        config = self.root / ".kishu" / "config.ini"
        config.parent.mkdir(parents=True, exist_ok=True)
        if self.experimental_tracker:
            config.write_text("[IDGRAPH]\nexperimental_tracker = True\n")
        return {"KISHU_PATH_ROOT": str(self.root), "ENV_KISHU_TEST_MODE": "1"}

    def setup(self, kernel: Kernel, ctx: Context) -> None:
        kernel.run(f"from kishu import init_kishu; init_kishu({str(ctx.notebook)!r})", silent=True)

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


def kishu_setup(venv: Path) -> str | None:
    """Create Kishu's virtualenv if it is missing; None when ready, else why not."""
    python = venv / "bin" / "python"
    if python.exists():
        return None
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "kishu==0.3.4",
            "numpy",
            "pandas",
            "scikit-learn",
            # Exactly the CPU build that lies on this machine: any other spec downloads gigabytes.
            "torch==2.13.0",
            "ipykernel",
            "dill",
        ],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            return f"could not set up Kishu ({' '.join(cmd[:4])}...): {tail}"
    return None


NAMES = ["mlvc", "dill", "pickle", "kishu", "kishu-fast"]


def make(name: str, kishu_venv: Path, root: Path) -> System:
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
    raise ValueError(f"unknown system {name!r}; choose from {', '.join(NAMES)}")
