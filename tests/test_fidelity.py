"""Restore fidelity: every kind of state comes back exact, or is loudly skipped. Never wrong.

Each kind (tests/fidelity_kinds.py) is committed, perturbed, then restored in this
process ("warm") and in a fresh Python process ("cold"), and classified:

* exact: every variable restored and the kind's check passes;
* loud:  the variables were skipped at commit time with a reason (or the restore
         named them as failed), and nothing was silently put in their place;
* wrong: anything else. Any wrong fails the suite.

The table of results is written to tests/artifacts/fidelity.md.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_mlvc import Repo

from .fidelity_kinds import KINDS

ARTIFACTS = Path(__file__).parent / "artifacts"


def _available(kind) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in kind["requires"])


def classify(kind, skipped: dict, errors: dict, ns: dict, run_check: bool) -> tuple[str, str]:
    names = kind["names"]
    loud = [n for n in names if (skipped.get(n) or errors.get(n))]
    if loud:
        if len(loud) != len(names):
            return "wrong", f"only {loud} reported of {names}"
        silently_back = [n for n in names if n in errors and n in ns and n not in skipped]
        if silently_back:
            return "wrong", f"failed but present: {silently_back}"
        if run_check and kind["check"]:
            try:
                exec(kind["check"], ns)
            except Exception as exc:
                return "wrong", f"side effect check failed: {type(exc).__name__}: {exc}"
        return "loud", "; ".join(f"{n}: {skipped.get(n) or errors.get(n)}" for n in names)
    missing = [n for n in names if n not in ns]
    if missing:
        return "wrong", f"silently missing: {missing}"
    try:
        exec(kind["check"], ns)
    except Exception as exc:
        return "wrong", f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return "exact", ""


def _namespace(files: dict) -> dict:
    return {"__name__": "__main__", "__builtins__": builtins, **files}


COLD = textwrap.dedent(
    """
    import builtins, json, sys
    sys.path.insert(0, sys.argv[3])
    from jupyter_mlvc import Repo
    from tests.test_fidelity import classify
    plan = json.load(open(sys.argv[1]))
    repo = Repo.open(sys.argv[2])
    out = {}
    for item in plan:
        kind = item["kind"]
        ns = {"__name__": "__main__", "__builtins__": builtins}
        try:
            report = repo.restore(item["snapshot"], ns, save=False, notebook_path=item["notebook"])
            errors = report.errors
        except Exception as exc:
            errors = {n: f"{type(exc).__name__}: {exc}" for n in kind["names"]}
        skipped = repo.show(item["snapshot"], notebook_path=item["notebook"]).skipped
        out[kind["name"]] = classify(kind, skipped, errors, ns, run_check=False)
    json.dump(out, open(sys.argv[4], "w"))
    """
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("fidelity")
    data = root / "data.txt"
    data.write_text("line one\nline two\n")
    files = {"DATA_FILE": str(data), "OUT_FILE": str(root / "out.txt")}
    repo = Repo.init(root)
    warm: dict[str, tuple[str, str]] = {}
    plan = []
    for kind in KINDS:
        if not _available(kind):
            continue
        notebook = str(root / f"{kind['name'].replace(' ', '_')}.ipynb")
        ns = _namespace(files)
        try:
            exec(kind["setup"], ns)
            snap = repo.commit(ns, kind["name"], notebook_path=notebook)
            exec(kind["perturb"], ns)
            report = repo.restore(snap.id, ns, notebook_path=notebook)
            warm[kind["name"]] = classify(kind, snap.skipped, report.errors, ns, run_check=True)
            plan.append({"kind": kind, "snapshot": snap.id, "notebook": notebook})
        except Exception as exc:
            warm[kind["name"]] = ("wrong", f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        finally:
            for value in list(ns.values()):
                close = getattr(value, "close", None)
                if callable(close) and type(value).__module__ in ("_io", "socket", "sqlite3"):
                    close()
    plan_file, out_file = root / "plan.json", root / "cold.json"
    plan_file.write_text(json.dumps(plan))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            COLD,
            str(plan_file),
            str(root),
            str(Path(__file__).parent.parent),
            str(out_file),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cold = {k: tuple(v) for k, v in json.loads(out_file.read_text()).items()}
    _write_table(warm, cold)
    return warm, cold


def _write_table(warm, cold) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    lines = ["| kind | expected | warm | cold | note |", "|---|---|---|---|---|"]
    for kind in KINDS:
        name = kind["name"]
        if name not in warm:
            lines.append(
                f"| {name} | {kind['expect']} | skipped | skipped | needs {', '.join(kind['requires'])} |"
            )
            continue
        w, c = warm[name], cold.get(name, ("not run", ""))
        note = (w[1] or c[1]).replace("|", "/")[:120]
        lines.append(f"| {name} | {kind['expect']} | {w[0]} | {c[0]} | {note} |")
    counts = {}
    for where, res in (("warm", warm), ("cold", cold)):
        for verdict, _ in res.values():
            counts[(where, verdict)] = counts.get((where, verdict), 0) + 1
    summary = ", ".join(
        f"{where}: "
        + " / ".join(f"{counts.get((where, v), 0)} {v}" for v in ("exact", "loud", "wrong"))
        for where in ("warm", "cold")
    )
    lines.append("")
    lines.append(f"{len(warm)} kinds run of {len(KINDS)}; {summary}")
    (ARTIFACTS / "fidelity.md").write_text("\n".join(lines) + "\n")


def test_there_are_at_least_fifty_kinds():
    assert len(KINDS) >= 50
    assert len({k["name"] for k in KINDS}) == len(KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=[k["name"] for k in KINDS])
def test_kind_restores_exact_or_loud(results, kind):
    if not _available(kind):
        pytest.skip(f"needs {kind['requires']}")
    warm, cold = results
    for where, res in (("warm", warm), ("cold", cold)):
        verdict, detail = res[kind["name"]]
        assert verdict != "wrong", f"{where}: {detail}"
        assert verdict == kind["expect"], (
            f"{where}: expected {kind['expect']}, got {verdict} ({detail})"
        )
