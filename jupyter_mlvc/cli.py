"""The ``mlvc`` command line: a thin face over ``Repo``.

Each command parses its arguments (the parser is built from the command table,
:mod:`jupyter_mlvc.commands`), calls one core function and prints the result,
as text or (``--json``) as JSON; sizes and times read as in the magics
(:mod:`jupyter_mlvc.present.format`). Errors a user can cause print one line to stderr
and exit with status 1; usage errors exit with 2. Text goes out through ``_say``,
which strips terminal control sequences: messages, names and paths come from
snapshots that someone else may have made.

    mlvc log [-n N] [--all] [--notebook NB] [--sort acc|-loss] [--json]
    mlvc show [REF] [--json]
    mlvc diff A [B] [--json]
    mlvc export REF NAME -o FILE
    mlvc branches | tags | fsck | gc [--dry-run] | trust [REF] | init
    mlvc remote [list] | remote add NAME URL [--endpoint-url URL] [--profile P] | remote remove NAME
    mlvc push [REMOTE] [REF...] [--all] | pull [REMOTE] [REF...] [--all]
    mlvc log --remote NAME | trust --key FILE_OR_LINE [--name NAME] | trust --revoke-key FP
    mlvc key [show|list] | push --tags | remote gc NAME [--dry-run] | remote fsck NAME
    mlvc mlflow REF [--experiment E] [--register NAME] [--tracking-uri URI]
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .commands import CLI, Parser
from .commands import build_parser as build_face_parser
from .errors import BadInput, MlvcError
from .present.format import format_bytes
from .present.merging import BisectView, graph_view
from .present.render import CompareView, DiffView, LogView
from .repo import Repo


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
    if args.graph:
        if args.remote or args.sort or args.all:
            raise BadInput(
                "--graph draws one notebook's history: leave out --remote, --sort and --all"
            )
        view = graph_view(repo, None, args.n, not args.no_auto)
        data = [{"id": s.id, "parents": s.parents, "message": s.message} for s in view.snapshots]
        _emit(args, data, view.text())
        return
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
    import pandas as pd

    # The same columns as %mlvc log: one view for both faces. Text from the snapshots
    # is made terminal-safe before the columns are measured, so they stay aligned.
    safe = df.apply(
        lambda col: (
            col.map(lambda v: terminal_safe(v) if isinstance(v, str) else v)
            if not pd.api.types.is_numeric_dtype(col)
            and not pd.api.types.is_datetime64_any_dtype(col)
            else col
        )
    )
    _say(LogView(safe, show_notebook="notebook" in df.columns).text())


def cmd_bisect(args: argparse.Namespace) -> None:
    repo = _open(args)
    if (args.test is None) == (args.metric is None):
        raise BadInput('bisect needs one test: --test "EXPR" or --metric "acc >= 0.9"')
    result = repo.bisect(args.good, args.bad, args.test, metric=args.metric)
    _emit(args, result.to_dict(), BisectView(result).text())


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
    lines.append(f"variables ({len(snap.variables)}, {format_bytes(snap.nbytes)}):")
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


def cmd_compare(args: argparse.Namespace) -> None:
    repo = _open(args)
    comparison = repo.compare(args.refs).to_dict()
    if args.json:
        print(json.dumps(comparison, indent=2, default=str))
        return
    _say(CompareView.from_comparison(comparison).text())


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
    _emit(args, {"bytes": freed, "dry_run": args.dry_run}, f"{verb} {format_bytes(freed)}")


def cmd_trust(args: argparse.Namespace) -> None:
    repo = _open(args)
    if args.revoke_key:
        if args.ref or args.key:
            raise MlvcError("trust --revoke-key FINGERPRINT takes no REF and no --key")
        revoked = repo.revoke_key(args.revoke_key)
        _emit(args, revoked.to_dict(), revoked.summary_line())
        return
    if args.key:
        if args.ref:
            raise MlvcError("trust takes a REF or --key FILE, not both")
        result = repo.trust_key(args.key, args.name)
        _emit(args, result.to_dict(), result.summary_line())
        return
    ids = repo.trust(args.ref)
    _emit(args, ids, f"trusted {len(ids)} snapshot{'s' if len(ids) != 1 else ''}")


def cmd_key(args: argparse.Namespace) -> None:
    from .ops.trust_keys import key_info

    # The key is the user's, not the store's: no store is needed.
    info = key_info()
    _emit(args, info.to_dict(), info.listing() if args.action == "list" else info.summary_line())


def _remote_upkeep(args: argparse.Namespace, repo: Repo) -> int:
    """``remote gc NAME`` and ``remote fsck NAME``; fsck exits 1 when it finds a problem."""
    from .progress import Progress

    if args.url:
        raise MlvcError(f"usage: mlvc remote {args.action} NAME")
    label = "Cleaning" if args.action == "gc" else "Checking"
    with Progress(label, after=1.0 if sys.stderr.isatty() else 1e9) as progress:
        if args.action == "gc":
            result = repo.remote_gc(
                args.name, dry_run=args.dry_run, grace_seconds=args.grace, progress=progress.update
            )
        else:
            result = repo.remote_fsck(args.name, download=args.download, progress=progress.update)
    _emit(args, result.to_dict(), result.summary_line())
    return 1 if args.action == "fsck" and not result.ok else 0


def cmd_mlflow(args: argparse.Namespace) -> None:
    repo = _open(args)
    run = repo.to_mlflow(
        args.ref,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        register=args.register,
    )
    _emit(args, run.to_dict(), run.summary_line())


def cmd_remote(args: argparse.Namespace) -> int | None:
    repo = _open(args)
    if args.action in ("gc", "fsck"):
        return _remote_upkeep(args, repo)
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
    return None


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
            **({"tags": args.tags} if verb == "push" else {}),
        )
    _emit(args, report.to_dict(), report.summary_line())


def cmd_push(args: argparse.Namespace) -> None:
    _transfer(args, "push")


def cmd_pull(args: argparse.Namespace) -> None:
    _transfer(args, "pull")


def cmd_init(args: argparse.Namespace) -> None:
    repo = Repo.init(args.store)
    _emit(args, {"path": str(repo.path)}, f"created {repo.path}")


#: What each command of the table runs on the command line.
HANDLERS: dict[str, Callable[[argparse.Namespace], int | None]] = {
    "log": cmd_log,
    "show": cmd_show,
    "bisect": cmd_bisect,
    "diff": cmd_diff,
    "compare": cmd_compare,
    "export": cmd_export,
    "branches": cmd_branches,
    "tags": cmd_tags,
    "fsck": cmd_fsck,
    "gc": cmd_gc,
    "trust": cmd_trust,
    "key": cmd_key,
    "mlflow": cmd_mlflow,
    "remote": cmd_remote,
    "push": cmd_push,
    "pull": cmd_pull,
    "init": cmd_init,
}


def build_parser() -> Parser:
    """The parser of every ``mlvc`` command, from the command table."""
    return build_face_parser(
        CLI, prog="mlvc", description="Version control for Jupyter kernel state.", required=True
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = HANDLERS[args.command](args)
    except MlvcError as exc:
        # The one place where the core's errors meet the command line: a line, exit 1.
        _say(f"mlvc: {exc}", sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
