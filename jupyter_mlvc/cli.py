"""The ``mlvc`` command line: a thin face over ``Repo``.

Each command parses its arguments, calls one core function and prints the result,
as text or (``--json``) as JSON. Errors a user can cause print one line to stderr
and exit with status 1; usage errors exit with 2. Text goes out through ``_say``,
which strips terminal control sequences: messages, names and paths come from
snapshots that someone else may have made.

    mlvc log [-n N] [--all] [--notebook NB] [--sort acc|-loss] [--json]
    mlvc show REF [--json]
    mlvc diff A [B] [--json]
    mlvc export REF NAME -o FILE
    mlvc branches | tags | fsck | gc [--dry-run] | trust [REF] | init
    mlvc remote [list] | remote add NAME URL [--endpoint-url URL] [--profile P] | remote remove NAME
    mlvc push [REMOTE] [REF...] [--all] | pull [REMOTE] [REF...] [--all]
    mlvc log --remote NAME | trust --key FILE [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import re
import sys
from pathlib import Path
from typing import Any

from .errors import MlvcError
from .present.render import DiffView
from .repo import Repo


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _open(args: argparse.Namespace) -> Repo:
    repo = Repo.open(args.store)
    if getattr(args, "notebook", None):
        repo.notebook_path = repo.notebook_key(args.notebook)
    return repo


# What a terminal acts on instead of showing: ESC sequences (CSI, OSC and the other
# string sequences up to their terminator, two-character ones), the other C0 controls
# but tab and newline, DEL, the C1 controls, and the bidi controls that reorder a line.
_TERMINAL_CONTROL = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[ -/]*[0-~]?)"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def terminal_safe(text: str) -> str:
    """``text`` without terminal control sequences: a snapshot's message or a variable
    name must not move the cursor, retitle the window or hide what follows."""
    return _TERMINAL_CONTROL.sub("", text)


def _say(text: str, file: Any = None) -> None:
    """Print text for a person: the one way text output leaves the command line."""
    print(terminal_safe(text), file=file or sys.stdout)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        # JSON escapes every control character itself.
        print(json.dumps(data, indent=2, default=str))
    else:
        _say(text)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def cmd_log(args: argparse.Namespace) -> None:
    repo = _open(args)
    if args.remote:
        df = repo.remote_log(
            args.remote,
            args.notebook,
            all=args.all or not args.notebook,
            limit=args.n,
            include_auto=not args.no_auto,
            sort=args.sort,
        )
    else:
        df = repo.log(all=args.all, limit=args.n, include_auto=not args.no_auto, sort=args.sort)
    for why in df.attrs.get("rejected", {}).values():
        _say(f"mlvc: skipped {why}", sys.stderr)
    records = [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    for r in records:
        r["created_at"] = str(r["created_at"])
    if args.json:
        print(json.dumps(records, indent=2, default=str))
        return
    if df.empty:
        _say("no snapshots yet")
        return
    view = df.drop(columns=["id", "auto"]).copy()
    view["created_at"] = view["created_at"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    view["nbytes"] = [_human(n) for n in view["nbytes"]]
    _say(view.to_string(index=False))


def cmd_show(args: argparse.Namespace) -> None:
    repo = _open(args)
    snap = repo.show(args.ref)
    if args.json:
        print(json.dumps(snap.to_dict(), indent=2, default=str))
        return
    lines = [
        f"snapshot {snap.id}",
        f"message   {snap.message}",
        f"created   {snap.created_at:%Y-%m-%d %H:%M:%S %Z}",
        f"notebook  {snap.notebook_path or '-'}",
        f"branch    {snap.branch or '-'}"
        + (f"   tags: {', '.join(snap.tags)}" if snap.tags else ""),
        f"parents   {', '.join(p[:8] for p in snap.parents) or '-'}",
        f"trusted   {'yes' if snap.trusted else 'no (run: mlvc trust ' + snap.short_id + ')'}",
    ]
    if snap.metrics:
        lines.append("metrics   " + ", ".join(f"{k}={v:g}" for k, v in snap.metrics.items()))
    lines.append(f"variables ({len(snap.variables)}, {_human(snap.nbytes)}):")
    for name, v in snap.variables.items():
        mark = "*" if v.changed else " "
        lines.append(f"  {mark} {name:<20} {v.type:<24} {v.text[:60]}")
    for name, reason in snap.skipped.items():
        lines.append(f"  skipped {name}: {reason}")
    env = snap.environment
    if env:
        pkgs = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
        lines.append(f"python {env.get('python', '?')}" + (f"; {pkgs}" if pkgs else ""))
    _say("\n".join(lines))


def cmd_diff(args: argparse.Namespace) -> None:
    repo = _open(args)
    d = repo.diff(args.a, args.b)
    data = d.to_dict()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return
    _say(DiffView(d).text())


def cmd_export(args: argparse.Namespace) -> None:
    repo = _open(args)
    value = repo.load(args.ref, args.name)
    out = Path(args.output)
    how = export_value(value, out)
    _emit(
        args,
        {"path": str(out), "format": how},
        f"wrote {args.name} from {args.ref} to {out} ({how})",
    )


def export_value(value: Any, out: Path) -> str:
    """Write a model (or any value) to ``out`` in the format its library reads."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        state = value.state_dict()
        if out.suffix == ".safetensors":
            try:
                from safetensors.torch import save_file
            except ImportError:
                raise MlvcError(
                    "writing .safetensors needs the safetensors package: pip install safetensors"
                )
            save_file({k: v.contiguous() for k, v in state.items()}, str(out))
            return "safetensors state_dict"
        torch.save(state, out)
        return "torch state_dict"
    if out.suffix == ".joblib":
        try:
            import joblib
        except ImportError:
            raise MlvcError("writing .joblib needs the joblib package: pip install joblib")
        joblib.dump(value, out)
        return "joblib"
    with open(out, "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    return "pickle"


def cmd_branches(args: argparse.Namespace) -> None:
    repo = _open(args)
    branches = repo.branches()
    current = repo.current_branch()
    _emit(
        args,
        {"current": current, "branches": branches},
        "\n".join(
            f"{'*' if n == current else ' '} {n:<20} {sid[:8]}" for n, sid in branches.items()
        )
        or "no branches yet",
    )


def cmd_tags(args: argparse.Namespace) -> None:
    repo = _open(args)
    tags = repo.tags()
    _emit(args, tags, "\n".join(f"{n:<20} {sid[:8]}" for n, sid in tags.items()) or "no tags")


def cmd_fsck(args: argparse.Namespace) -> int:
    if args.rebuild_index:
        store = Repo.locate(args.store)
        if store is None:
            raise MlvcError(f"no jupyter_mlvc store in {Path(args.store).resolve()} or its parents")
        rejected: dict[str, str] = {}
        rebuilt = Repo(store).rebuild_index(rejected)
        for why in rejected.values():
            _say(f"mlvc: left out {why}", sys.stderr)
        _emit(args, rebuilt.to_dict(), rebuilt.summary_line())
        return 0
    repo = _open(args)
    problems = repo.fsck()
    _emit(
        args, [p.to_dict() for p in problems], "\n".join(map(str, problems)) or "store is healthy"
    )
    return 1 if problems else 0


def cmd_gc(args: argparse.Namespace) -> None:
    repo = _open(args)
    freed = repo.gc(dry_run=args.dry_run, grace_seconds=args.grace)
    verb = "would free" if args.dry_run else "freed"
    _emit(args, {"bytes": freed, "dry_run": args.dry_run}, f"{verb} {_human(freed)}")


def cmd_trust(args: argparse.Namespace) -> None:
    repo = _open(args)
    if args.key:
        if args.ref:
            raise MlvcError("trust takes a REF or --key FILE, not both")
        result = repo.trust_key(args.key, args.name)
        _emit(args, result.to_dict(), result.summary_line())
        return
    ids = repo.trust(args.ref)
    _emit(args, ids, f"trusted {len(ids)} snapshot{'s' if len(ids) != 1 else ''}")


def cmd_remote(args: argparse.Namespace) -> None:
    repo = _open(args)
    if args.action == "add":
        if not args.name or not args.url:
            raise MlvcError("usage: mlvc remote add NAME URL [--endpoint-url URL] [--profile P]")
        config = repo.remote_add(
            args.name,
            args.url,
            endpoint_url=args.endpoint_url,
            profile=args.profile,
            options=_options(args.option),
        )
        _emit(args, config.to_dict(), f"added remote {config.name}: {config.url}")
    elif args.action == "remove":
        if not args.name or args.url:
            raise MlvcError("usage: mlvc remote remove NAME")
        repo.remote_remove(args.name)
        _emit(args, {"removed": args.name}, f"removed remote {args.name}")
    else:
        remotes = repo.remotes()
        _emit(
            args,
            [c.to_dict() for c in remotes.values()],
            "\n".join(
                f"{c.name:<12} {c.url}"
                + (f"  {json.dumps(c.options, sort_keys=True)}" if c.options else "")
                for c in remotes.values()
            )
            or "no remotes (mlvc remote add NAME URL)",
        )


def _options(items: list[str]) -> dict[str, Any]:
    """``-o KEY=VALUE`` storage options; a VALUE that is JSON is taken as such."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MlvcError(f"an option is KEY=VALUE, not {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _transfer(args: argparse.Namespace, verb: str) -> None:
    from .ops.remote import split_remote
    from .progress import Progress

    repo = _open(args)
    remote, refs = split_remote(repo, args.words)
    label = "Pushing" if verb == "push" else "Pulling"
    # The progress line is for a person at a terminal; piped output stays clean.
    with Progress(label, after=1.0 if sys.stderr.isatty() else 1e9) as progress:
        report = getattr(repo, verb)(
            remote,
            refs,
            all=args.all,
            notebook_path=args.notebook,
            progress=progress.update,
            workers=args.jobs,
        )
    _emit(args, report.to_dict(), report.summary_line())


def cmd_push(args: argparse.Namespace) -> None:
    _transfer(args, "push")


def cmd_pull(args: argparse.Namespace) -> None:
    _transfer(args, "pull")


def cmd_init(args: argparse.Namespace) -> None:
    repo = Repo.init(args.store)
    _emit(args, {"path": str(repo.path)}, f"created {repo.path}")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-C", "--store", default=".", help="folder of the store (or below it); default: ."
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    nb = argparse.ArgumentParser(add_help=False)
    nb.add_argument("--notebook", help="the notebook whose history to use (default: the newest)")

    parser = argparse.ArgumentParser(
        prog="mlvc", description="Version control for Jupyter kernel state."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("log", parents=[common, nb], help="list snapshots, newest first")
    p.add_argument("-n", type=int, default=None, help="at most N snapshots")
    p.add_argument("--all", action="store_true", help="every notebook in the store")
    p.add_argument(
        "--sort", help="order by a metric: --sort acc (highest first), --sort=-loss (lowest first)"
    )
    p.add_argument("--no-auto", action="store_true", help="hide automatic snapshots")
    p.add_argument("--remote", metavar="NAME", help="list what the remote NAME holds instead")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser(
        "show", parents=[common, nb], help="one snapshot: variables, metrics, environment"
    )
    p.add_argument("ref")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("diff", parents=[common, nb], help="what changed between two snapshots")
    p.add_argument("a")
    p.add_argument("b", nargs="?", default="HEAD")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("export", parents=[common, nb], help="write a variable (a model) to a file")
    p.add_argument("ref")
    p.add_argument("name")
    p.add_argument("-o", "--output", required=True, help="file: .pkl, .joblib, .pt or .safetensors")
    p.set_defaults(func=cmd_export)

    for name, func, text in (
        ("branches", cmd_branches, "list branches"),
        ("tags", cmd_tags, "list tags"),
        ("init", cmd_init, "create a store in the folder"),
    ):
        p = sub.add_parser(
            name, parents=[common, nb] if name == "branches" else [common], help=text
        )
        p.set_defaults(func=func)

    p = sub.add_parser(
        "fsck", parents=[common], help="verify every object; exit 1 if anything is damaged"
    )
    p.add_argument(
        "--rebuild-index",
        action="store_true",
        help="recover a lost or damaged index from the manifests",
    )
    p.set_defaults(func=cmd_fsck)

    p = sub.add_parser("gc", parents=[common], help="remove objects no snapshot uses")
    p.add_argument("--dry-run", action="store_true", help="only say how much would be freed")
    p.add_argument(
        "--grace", type=float, default=3600.0, help="spare objects younger than this (seconds)"
    )
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser(
        "trust", parents=[common, nb], help="sign snapshots with your key (all if no REF)"
    )
    p.add_argument("ref", nargs="?")
    p.add_argument(
        "--key",
        metavar="FILE",
        help="trust snapshots signed with this key file (a teammate's), including pulled ones",
    )
    p.add_argument("--name", help="what to call the key (default: its id)")
    p.set_defaults(func=cmd_trust)

    p = sub.add_parser("remote", parents=[common], help="list, add or remove remotes")
    p.add_argument("action", nargs="?", choices=["list", "add", "remove"], default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("url", nargs="?", help="s3://bucket/prefix, gs://..., az://..., or a folder")
    p.add_argument("--endpoint-url", help="S3-compatible server (MinIO, ...)")
    p.add_argument("--profile", help="AWS profile for the credentials")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a storage option for fsspec/s3fs (JSON values allowed)",
    )
    p.set_defaults(func=cmd_remote)

    for name, func, text in (
        ("push", cmd_push, "upload snapshots the remote lacks (default: the current branch)"),
        ("pull", cmd_pull, "download snapshots from a remote (default: the current branch)"),
    ):
        p = sub.add_parser(name, parents=[common, nb], help=text)
        p.add_argument(
            "words", nargs="*", metavar="[REMOTE] [REF...]", help="remote, then branches or ids"
        )
        p.add_argument("--all", action="store_true", help="every snapshot")
        p.add_argument("-j", "--jobs", type=int, default=8, help="transfers at once (default 8)")
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except MlvcError as exc:
        _say(f"mlvc: {exc}", sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
