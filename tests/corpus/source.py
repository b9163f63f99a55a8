"""Where the corpus comes from: scikit-learn's gallery, split into cells and filtered.

The gallery ships only in the sdist. ``pip download`` of that sdist would build the
whole package (a C++/Cython compile) just to read its metadata, so the download is
asked for with ``--no-build-isolation --no-clean``: pip fetches and unpacks the
tarball, fails fast on the missing build backend, and leaves the unpacked tree,
whose ``examples/`` folder is all the corpus needs. Nothing of it is committed.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: Marks that a script needs the network or files beyond what scikit-learn ships.
NEEDS_OUTSIDE = {
    "downloads a data set": re.compile(r"\bfetch_\w+|fetch_openml"),
    "uses the network": re.compile(r"urlopen|urllib|requests\.get|\bdownload"),
    "reads files": re.compile(
        r"\bopen\(|read_csv|pd\.read_|np\.load\(|loadtxt|genfromtxt|imread|load_files"
        r"|load_svmlight|Path\(.*\)\.read"
    ),
}
_CELL_MARK = re.compile(r"^# ?%%.*$", re.MULTILINE)


class SourceUnavailable(Exception):
    """The sdist could not be downloaded (no network, no such version)."""


@dataclass
class Example:
    name: str  # path under examples/, e.g. "linear_model/plot_ols.py"
    cells: list[str]
    skip: str = ""  # why it is left out of the campaign, "" if it is in
    imports: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "jupyter_mlvc-corpus"
    return Path(os.environ.get("MLVC_CORPUS_DIR", default))


def sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def examples_dir(version: str | None = None) -> Path:
    """The gallery's folder for ``version`` (the installed one), downloading it once."""
    version = version or sklearn_version()
    target = cache_dir() / f"scikit-learn-{version}" / "examples"
    if target.is_dir():
        return target
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            "--no-build-isolation", "--no-clean", "--disable-pip-version-check",
            f"scikit-learn=={version}", "-d", tmp,
        ]  # fmt: skip
        env = {**os.environ, "TMPDIR": tmp}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        unpacked = sorted(Path(tmp).glob("pip-download-*/scikit-learn_*/examples"))
        if not unpacked:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SourceUnavailable(f"scikit-learn {version} sdist not downloaded: {last[0]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(unpacked[0]), str(target))
    return target


def split_cells(text: str) -> list[str]:
    """Code cells of a sphinx-gallery script: the header docstring is prose, and each
    ``# %%`` line starts a new cell; cells with no code (only comments) are prose too."""
    tree = ast.parse(text)
    body = text
    if (
        tree.body
        and isinstance(tree.body[0], ast.Expr)
        and isinstance(getattr(tree.body[0], "value", None), ast.Constant)
    ):
        end = tree.body[0].end_lineno or 0
        body = "\n".join(text.splitlines()[end:])
    cells = []
    for chunk in _CELL_MARK.split(body):
        code = chunk.strip("\n")
        if any(ln.strip() and not ln.lstrip().startswith("#") for ln in code.splitlines()):
            cells.append(code + "\n")
    return cells


def top_level_imports(text: str) -> list[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return sorted(names)


def why_skip(text: str, imports: list[str]) -> str:
    for reason, pattern in NEEDS_OUTSIDE.items():
        match = pattern.search(text)
        if match:
            return f"{reason} ({match.group(0).strip()})"
    missing = [m for m in imports if importlib.util.find_spec(m) is None]
    if missing:
        return f"needs {', '.join(missing)} (not installed)"
    return ""


def load_examples(root: Path | None = None) -> list[Example]:
    """Every gallery script, in name order, each with its cells and why it is skipped."""
    root = root or examples_dir()
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(root).as_posix()
        try:
            imports = top_level_imports(text)
            cells = split_cells(text)
        except SyntaxError as exc:
            out.append(Example(name, [], f"does not parse: {exc.msg}"))
            continue
        skip = why_skip(text, imports) or ("" if cells else "has no code cell")
        out.append(Example(name, cells, skip, imports))
    return out
