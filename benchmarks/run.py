"""Run the benchmark suite and print its tables.

    python -m benchmarks.run                  # everything, 512 MB of numeric state, 3 repetitions
    python -m benchmarks.run --quick          # small sizes, once: a smoke run of a few minutes
    python -m benchmarks.run --systems mlvc dill --workloads numeric pandas

Every system runs in real ipykernels started as users start them (by
jupyter_client with a connection file, and by a real Jupyter server for a
notebook session), and every time is taken from the client. The tables go to
stdout; everything measured goes to a JSON file (``--out``, default
``benchmarks/results/<timestamp>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "benchmarks"

from benchmarks import autosnap, listing, report, systems, workloads
from benchmarks.kernels import JupyterDirs, JupyterServer
from benchmarks.measure import run_pair

HERE = Path(__file__).resolve().parent
DEFAULT_KISHU_VENV = Path(tempfile.gettempdir()) / "mlvc-bench-kishu-venv"
DEFAULT_ELASTIC_VENV = Path(tempfile.gettempdir()) / "mlvc-bench-elastic-venv"
#: The two sides of every ratio target: measured ``--repeat`` times; the other peers
#: ``--peer-repeat`` times.
TARGET_SYSTEMS = ("mlvc", "dill")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Compare jupyter_mlvc with dill, pickle, Kishu and ElasticNotebook in real kernels.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument(
        "--size-mb",
        type=int,
        default=None,
        help="numeric state in MB (default 512; 16 with --quick)",
    )
    p.add_argument(
        "--systems",
        nargs="+",
        default=None,
        choices=systems.NAMES,
        metavar="SYSTEM",
        help=f"any of {', '.join(systems.NAMES)} (default: all; with --quick: all but kishu-fast)",
    )
    p.add_argument(
        "--workloads",
        nargs="+",
        default=list(workloads.ALL),
        choices=list(workloads.ALL),
        metavar="WORKLOAD",
        help=f"any of {', '.join(workloads.ALL)} (default: all)",
    )
    p.add_argument(
        "--snapshots",
        type=int,
        default=None,
        help="snapshots in the browsing store (default 2000; 200 with --quick; 0 skips it)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions of mlvc and dill, each in new stores; medians are reported "
        "(default 3; 1 with --quick)",
    )
    p.add_argument(
        "--peer-repeat",
        type=int,
        default=1,
        help="repetitions of the other systems (default 1)",
    )
    p.add_argument(
        "--auto-cells",
        type=int,
        default=15,
        help="cells of each kind timed with automatic snapshots off and on (default 15; 0 skips)",
    )
    p.add_argument("--out", type=Path, default=None, help="JSON results file")
    p.add_argument(
        "--kishu-venv",
        type=Path,
        default=Path(os.environ.get("MLVC_BENCH_KISHU_VENV", DEFAULT_KISHU_VENV)),
        help=f"Kishu's own virtualenv, created there if missing (default {DEFAULT_KISHU_VENV})",
    )
    p.add_argument(
        "--elastic-venv",
        type=Path,
        default=Path(os.environ.get("MLVC_BENCH_ELASTIC_VENV", DEFAULT_ELASTIC_VENV)),
        help=f"ElasticNotebook's own virtualenv, created there if missing (default {DEFAULT_ELASTIC_VENV})",
    )
    p.add_argument(
        "--no-kishu-setup",
        "--no-peer-setup",
        dest="no_peer_setup",
        action="store_true",
        help="do not create the peers' virtualenvs (Kishu, ElasticNotebook)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where stores and kernels' files go (default: a temporary folder, removed after)",
    )
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument(
        "--label",
        default=None,
        help="what was measured, for the header (default: the git commit of jupyter_mlvc's folder)",
    )
    args = p.parse_args(argv)
    if args.size_mb is None:
        args.size_mb = 16 if args.quick else 512
    if args.systems is None:
        args.systems = [n for n in systems.NAMES if not (args.quick and n == "kishu-fast")]
    if args.snapshots is None:
        args.snapshots = 200 if args.quick else 2000
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        args.out = HERE / "results" / f"{stamp}.json"
    return args


def git_commit(folder: Path) -> str | None:
    """The commit checked out in ``folder`` (+dirty if its jupyter_mlvc/ differs from it)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(folder),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "jupyter_mlvc",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return done.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def save_partial(out: Path, results: list[dict[str, Any]]) -> None:
    """What was measured so far, overwritten by the full results at the end."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"partial": True, "results": results}, indent=1, default=str))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    # The machine may be shared: the load tells how noisy the absolute times are.
    load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mlvc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    dirs = JupyterDirs(work / "jupyter")
    dirs.create()
    # The client (and the server of the browsing phase) use the same private dirs as the
    # kernels: the signing key made by the first commit is the one later restores check.
    os.environ.update(dirs.env)

    chosen: list[systems.System] = []
    skipped: dict[str, str] = {}
    for name in args.systems:
        system = systems.make(name, args.kishu_venv, args.elastic_venv, work / "kishu-config")
        why = None
        if not args.no_peer_setup and isinstance(system, (systems.Kishu, systems.Elastic)):
            venv, packages = (
                (args.kishu_venv, systems.KISHU_PACKAGES)
                if isinstance(system, systems.Kishu)
                else (args.elastic_venv, systems.ELASTIC_PACKAGES)
            )
            say(f"[setup] {system.name} virtualenv: {venv}")
            why = systems.venv_setup(venv, packages)
        why = why or system.unavailable()
        if why:
            skipped[name] = why
            say(f"[skip] {name}: {why}")
        else:
            chosen.append(system)

    specs = {s.name: dirs.kernelspec(f"bench-{s.name}", s.python, s.kernel_env()) for s in chosen}
    made = {name: workloads.ALL[name](args.size_mb) for name in args.workloads}
    results: list[dict[str, Any]] = []
    auto = None
    say("[setup] starting a jupyter server on 127.0.0.1 ...")
    with JupyterServer(dirs, work, work / "server.log") as server:
        # The two sides of the targets first, on every workload: a run cut short still
        # has them (everything measured so far is in --out after every pair).
        groups = [
            [s for s in chosen if (s.name in TARGET_SYSTEMS) == first] for first in (True, False)
        ]
        for first, group in zip((True, False), groups):
            for wname, workload in made.items():
                for system in group:
                    repeat = args.repeat if system.name in TARGET_SYSTEMS else args.peer_repeat
                    say(f"[run] {wname} x {system.name} ({repeat}x) ...")
                    result = run_pair(
                        workload,
                        system,
                        dirs,
                        work / wname / system.name,
                        specs[system.name],
                        server=server,
                        repeat=repeat,
                        keep=args.keep,
                    )
                    say(
                        f"[run] {wname} x {system.name}: {result['wall_seconds']:.0f} s, "
                        f"correct={'yes' if result['correct']['ok'] else 'no'}"
                    )
                    results.append(result)
                    save_partial(args.out, results)
            if first and args.auto_cells > 0 and "mlvc" in specs:
                say(f"[run] automatic snapshots: {args.auto_cells} cells of each kind ...")
                auto = autosnap.run_auto(
                    server, specs["mlvc"], work / "auto", args.size_mb, args.auto_cells
                )

    browsing = None
    if args.snapshots > 0:
        say(f"[run] browsing: building {args.snapshots} snapshots ...")
        browsing = listing.run_listing(work, args.snapshots, dirs.env)

    facts = {name: w.facts for name, w in made.items()}
    target_list = report.targets_issue16(results, auto)
    kept_targets = report.targets(results, facts, browsing)
    source = systems.source_dir()
    header = {
        "commit": args.label or git_commit(source) or "unknown",
        "jupyter_mlvc_source": str(source),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else argv,
        "size_mb": args.size_mb,
        "quick": args.quick,
        "repeat": args.repeat,
        "peer_repeat": args.peer_repeat,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "skipped": skipped,
        "load_average": load_at_start,
        "load_average_end": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "seconds": time.perf_counter() - started,
    }
    text = render(header, made, results, skipped, browsing, auto, target_list, kept_targets)
    print(text)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = {
        **header,
        "workloads": {name: {"title": w.title, "facts": w.facts} for name, w in made.items()},
        "results": results,
        "browsing": browsing,
        "auto": auto,
        "targets": [t.to_dict() for t in target_list],
        "targets_issue7": [t.to_dict() for t in kept_targets],
        "table": text,
    }
    args.out.write_text(json.dumps(data, indent=1, default=str))
    say(f"[done] {header['seconds']:.0f} s; results in {args.out}")
    if not args.keep and args.workdir is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    elif args.keep:
        say(f"[done] work folder kept: {work}")
    return 0


def render(
    header: dict[str, Any],
    made: dict[str, workloads.Workload],
    results: list[dict[str, Any]],
    skipped: dict[str, str],
    browsing: dict[str, Any] | None,
    auto: dict[str, Any] | None,
    target_list: list[report.Target],
    kept_targets: list[report.Target],
) -> str:
    parts = [
        f"## jupyter_mlvc benchmarks — {header['commit']}, {header['date']}, "
        f"size {header['size_mb']} MB{' (quick)' if header['quick'] else ''}",
        "",
        f"jupyter_mlvc from {header['jupyter_mlvc_source']}; "
        f"{header['machine']['cpus']} CPUs, Python {header['machine']['python']}; "
        f"load average {header['load_average']} at the start, {header['load_average_end']} at the end.",
        "",
        f"Kernels as users start them: by jupyter_client with a connection file (nbclient, "
        f"papermill), and by a jupyter server for a notebook session (JupyterLab); nothing "
        f"configured but loading each system. Times in seconds from the client, the median of "
        f"n repetitions ({header['repeat']} for mlvc and dill, {header['peer_repeat']} for the "
        f'others), each in new stores; MB = MiB. "added" is what each commit added to the '
        f"system's folder. Peak RSS is the kernel's during the commit that peaked highest; "
        f'"x state" is 1 + (that peak - the RSS just before the commit) / the state\'s size. '
        f"Partial restores bring back `params` alone.",
        "",
        "### results",
        "",
        report.results_table({n: w.title for n, w in made.items()}, results, skipped),
    ]
    if auto is not None:
        parts += [
            "",
            f"### automatic snapshots (%mlvc auto on), {auto.get('state_bytes', 0) / 1e9:.2f} GB "
            f"of state, server kernel, median of {auto.get('repeat')}",
            "",
            report.auto_table(auto),
        ]
    if browsing:
        parts += ["", listing.listing_table(browsing)]
    parts += ["", "### targets (issue 16)", "", report.targets_table(target_list)]
    parts += ["", "### targets kept from issue 7", "", report.targets_table(kept_targets)]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
