"""The ``%mlvc`` line and cell magic: IPython's face of jupyter_mlvc.

Each subcommand parses its arguments, calls one method of the core ``Repo`` and
renders the result (``render``). Every ``MlvcError`` the core raises becomes a
one-line ``UsageError`` in :meth:`MlvcMagics.mlvc`, and argument mistakes do too,
so a user never sees a traceback for a mistake.

    %load_ext jupyter_mlvc
    %mlvc commit -m "baseline" --metric acc=0.93
    %mlvc log --sort acc
    %mlvc diff baseline
    %mlvc checkout HEAD~1
"""

from __future__ import annotations

import argparse
import fnmatch
import inspect
import json
import numbers
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.display import display

from .config import MLVC
from .errors import MlvcError, StoreExists
from .magic_line import LineError, one_line, split_line
from .notebook_locator import from_hints, from_server
from .present.render import (
    CompareView,
    DiffView,
    LogView,
    RefsView,
    RestoreView,
    SnapshotView,
    StatusView,
    commit_summary,
)
from .progress import Progress
from .repo import clear_metrics

COMMANDS = (
    "commit",
    "log",
    "show",
    "status",
    "diff",
    "compare",
    "checkout",
    "branch",
    "tag",
    "trust",
    "browse",
    "auto",
    "remote",
    "push",
    "pull",
    "help",
)

_METRIC = re.compile(r"^(?P<name>[A-Za-z_][\w.\-/]*)=(?P<value>.+)$")

#: Options whose value may start with "-" (``--sort -loss``: lowest loss first).
_SIGNED_VALUE_OPTIONS = ("--sort",)


class _HelpShown(Exception):
    """argparse printed a help text and wants to stop."""


class _Parser(MagicArgumentParser):
    """Argument errors become one-line ``UsageError``s that end with the usage."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("add_help", True)
        # The plain formatter: IPython's adds a "%" to a prog that already has one.
        kwargs.setdefault("formatter_class", argparse.HelpFormatter)
        super().__init__(*args, **kwargs)

    def one_line_usage(self) -> str:
        usage = " ".join(self.format_usage().split())
        return usage[len("usage: ") :] if usage.startswith("usage: ") else usage

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(
            f"{one_line(message, 300)}. Usage: {self.one_line_usage()}  (%mlvc help for more)"
        )

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if status:
            raise UsageError(one_line(message or "", 300) or self.one_line_usage())
        raise _HelpShown


def build_parser() -> _Parser:
    """The parser of every ``%mlvc`` subcommand (also the source of ``%mlvc?``)."""
    parser = _Parser(
        prog="%mlvc",
        description="Version control for this kernel's variables, models and notebook.",
        add_help=False,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "commit",
        help="snapshot the variables and the notebook",
        description="Snapshot the kernel's variables and the notebook. As a cell magic "
        "(%%mlvc commit -m ...) it runs the cell first and commits only if the cell succeeds.",
    )
    p.add_argument("-m", "--message", default="", help="what this snapshot is")
    p.add_argument(
        "--metric",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="numbers to record with the snapshot, e.g. --metric acc=0.93 f1=0.9",
    )
    p.add_argument("--only", nargs="+", metavar="NAME", help="commit only these variables")
    p.add_argument(
        "--metrics-from",
        metavar="VAR",
        help="record the numbers of the dict VAR as metrics (read after the cell runs)",
    )
    p.add_argument(
        "--exclude",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="leave out these names or patterns (tmp_*)",
    )

    p = sub.add_parser(
        "log",
        help="the history of this notebook",
        description="The snapshots of this notebook, newest first, metrics as columns.",
    )
    p.add_argument("-n", type=int, default=None, metavar="N", help="show at most N snapshots")
    p.add_argument("--all", action="store_true", help="every notebook in the store")
    p.add_argument("--no-auto", action="store_true", help="hide snapshots made before a checkout")
    p.add_argument(
        "--sort",
        metavar="METRIC",
        help="order by a metric: --sort acc (highest first), --sort -loss (lowest first)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="show the snapshots side by side (metrics, variables that differ)",
    )
    p.add_argument("--remote", metavar="NAME", help="list what the remote NAME holds")

    p = sub.add_parser(
        "show",
        help="one snapshot in detail",
        description="Message, time, parents, branch and tags, variables, skipped variables, "
        "metrics and environment of a snapshot.",
    )
    p.add_argument(
        "ref", nargs="?", default="HEAD", help="id, prefix, HEAD~N, branch or tag (default HEAD)"
    )

    p = sub.add_parser(
        "status",
        help="what changed since HEAD",
        description="Variables added, changed and removed since HEAD (or REF). Writes nothing.",
    )
    p.add_argument(
        "ref", nargs="?", default="HEAD", help="compare with this snapshot (default HEAD)"
    )

    p = sub.add_parser(
        "diff",
        help="what changed between two snapshots",
        description="Variables added, removed and changed (and how), metrics, packages and "
        "notebook cells that changed from snapshot A to snapshot B. Without B, from A to the "
        "kernel's current state. Loads only the variables whose content differs.",
    )
    p.add_argument(
        "a", nargs="?", default="HEAD", metavar="A", help="the older state (default HEAD)"
    )
    p.add_argument(
        "b",
        nargs="?",
        default=None,
        metavar="B",
        help="the newer state (default: the current state of the kernel)",
    )
    p.add_argument(
        "--exclude",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="leave these names or patterns (tmp_*) out of the diff",
    )

    p = sub.add_parser(
        "compare",
        help="several snapshots side by side",
        description="One column per snapshot: metrics, then the variables whose content "
        "differs among them, with their summaries. Loads no variable.",
    )
    p.add_argument("refs", nargs="+", metavar="REF", help="two or more snapshots")

    p = sub.add_parser(
        "checkout",
        help="make the variables those of a snapshot",
        description="Restore a snapshot's variables and remove those created since. If the "
        "current state differs from HEAD it is committed first, so nothing is lost. With "
        "names, restore only those variables and leave the rest as they are.",
    )
    p.add_argument("ref", help="id, prefix, HEAD~N, branch or tag")
    p.add_argument(
        "names", nargs="*", default=[], metavar="NAME", help="restore only these variables"
    )
    p.add_argument("--no-save", action="store_true", help="do not commit the current state first")

    p = sub.add_parser(
        "branch",
        help="list branches, or start one",
        description="Without NAME, list the branches. With NAME, start a branch at REF (default HEAD).",
    )
    p.add_argument("name", nargs="?", help="name of the new branch")
    p.add_argument("ref", nargs="?", default="HEAD", help="where it starts (default HEAD)")

    p = sub.add_parser("tag", help="name a snapshot", description="Name a snapshot (default HEAD).")
    p.add_argument("name", help="the tag, e.g. best")
    p.add_argument("ref", nargs="?", default="HEAD", help="the snapshot (default HEAD)")

    p = sub.add_parser(
        "trust",
        help="accept snapshots made elsewhere",
        description="Trust a snapshot that was not made with this user's key (default: every "
        "snapshot in the store), so that it can be checked out and loaded.",
    )
    p.add_argument("ref", nargs="?", default=None, help="the snapshot (default: all)")
    p.add_argument(
        "--key",
        metavar="FILE",
        help="trust every snapshot signed with this teammate's key file, now and when pulled",
    )
    p.add_argument("--name", help="a name for the key (default: the file's name)")

    p = sub.add_parser(
        "remote",
        help="list, add or remove remotes (object storage to share snapshots)",
        description="Remotes are fsspec URLs: s3://bucket/prefix (S3, MinIO with "
        "--endpoint-url), gs://, az://, or a folder. Credentials come from the usual "
        "environment variables or profile, never from the store.",
    )
    p.add_argument("action", nargs="?", choices=["list", "add", "remove"], default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("url", nargs="?")
    p.add_argument("--endpoint-url", help="S3-compatible server, e.g. http://minio:9000")
    p.add_argument("--profile", help="AWS profile to use")

    for verb, text in (("push", "upload"), ("pull", "download")):
        p = sub.add_parser(
            verb,
            help=f"{text} snapshots the other side lacks",
            description=f"{text.capitalize()} the snapshots of REF... (default: the current "
            "branch) that the other side lacks. Incremental, parallel and resumable.",
        )
        p.add_argument("words", nargs="*", metavar="[REMOTE] [REF...]")
        p.add_argument("--all", action="store_true", help="every snapshot")

    sub.add_parser(
        "browse",
        help="an interactive browser of the snapshots",
        description="Browse this notebook's snapshots, their variables and metrics; restore "
        "all or some variables; compare a snapshot with the current state.",
    )

    p = sub.add_parser(
        "auto",
        help="commit automatically after every cell that changed the state",
        description="With on, every cell that changes a variable is followed by an automatic "
        "snapshot (its message: the cell's first line), so the history is complete without "
        "effort. Only the variables the cell's code reaches are serialized again. Without "
        "an argument, says whether it is on.",
    )
    p.add_argument("state", nargs="?", choices=["on", "off"], help="on or off")

    p = sub.add_parser(
        "help", help="this help", description="Show the usage of %mlvc or of one command."
    )
    p.add_argument(
        "topic", nargs="?", choices=[c for c in COMMANDS if c != "help"], metavar="COMMAND"
    )
    parser._subcommands = sub  # type: ignore[attr-defined]
    return parser


def full_help(parser: _Parser | None = None) -> str:
    """The usage of ``%mlvc`` and every subcommand."""
    parser = parser or build_parser()
    sub = parser._subcommands  # type: ignore[attr-defined]
    lines = [
        "%mlvc COMMAND [options]  -  version control for this kernel's variables, models and notebook",
        "",
        "Commands:",
    ]
    for action in sub._choices_actions:
        lines.append(f"  {action.dest:<10}{action.help}")
    lines += [
        "",
        "Settings: %config MLVC (store, notebook, exclude, save_before_checkout, use_editor_content,",
        "log_limit, show_auto, progress_after, server_timeout), e.g. %config MLVC.exclude = ['tmp_*']",
        "",
    ]
    for name in COMMANDS:
        lines.append(sub.choices[name].format_help().rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def parse_metrics(items: list[str]) -> dict[str, float]:
    """``["acc=0.93", "loss=1e-3"]`` -> ``{"acc": 0.93, "loss": 0.001}``; UsageError otherwise."""
    metrics: dict[str, float] = {}
    for item in items:
        match = _METRIC.match(item)
        if not match:
            raise UsageError(f"A metric is NAME=NUMBER, not {item!r}.")
        try:
            metrics[match["name"]] = float(match["value"])
        except ValueError:
            raise UsageError(f"The metric {match['name']!r} is not a number: {match['value']!r}.")
    return metrics


def metrics_from(namespace: Mapping[str, Any], name: str) -> dict[str, float]:
    """The metrics held by the dict variable ``name``; UsageError if it is not one of numbers."""
    if name not in namespace:
        raise UsageError(f"--metrics-from {name}: there is no variable {name!r}.")
    value = namespace[name]
    if not isinstance(value, Mapping):
        raise UsageError(
            f"--metrics-from {name}: {name} is a {type(value).__name__}, not a dict of metrics."
        )
    metrics: dict[str, float] = {}
    for key, number in value.items():
        if not isinstance(key, str):
            raise UsageError(f"--metrics-from {name}: the key {key!r} is not a metric name.")
        if isinstance(number, (str, bytes)) or not _is_number(number):
            raise UsageError(f"--metrics-from {name}: {key!r} is {_short(number)}, not a number.")
        metrics[key] = float(number)
    return metrics


def _is_number(value: Any) -> bool:
    if isinstance(value, numbers.Real):
        return True
    # A 0-d numpy array or a one-element tensor (``loss`` before ``.item()``).
    if getattr(value, "ndim", None) == 0 or getattr(value, "shape", None) == ():
        try:
            float(value)
            return True
        except (TypeError, ValueError):
            return False
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return " ".join((text if len(text) <= 40 else text[:37] + "...").split())


def attach_signed_values(argv: list[str]) -> list[str]:
    """``["--sort", "-loss"]`` -> ``["--sort=-loss"]``, so argparse takes it as a value."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            nxt = argv[i + 1]
            # "--sort --all" is a missing value, not a value.
            if not nxt.startswith("--") and len(nxt) > 1:
                out.append(f"{arg}={nxt}")
                i += 2
                continue
        out.append(arg)
        i += 1
    return out


def without_names(diff: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    """A diff's JSON without the variables ``patterns`` exclude, on both sides.

    The core leaves excluded names out of the current state only, so a name
    committed before it was excluded would otherwise show up as removed.
    """
    if not patterns:
        return diff

    def kept(name: str) -> bool:
        return not any(fnmatch.fnmatchcase(name, p) for p in patterns)

    variables = {
        kind: [e for e in entries if kept(e if isinstance(e, str) else e["name"])]
        for kind, entries in diff["variables"].items()
    }
    return {**diff, "variables": variables}


@magics_class
class MlvcMagics(Magics):
    """``%mlvc``: commit, inspect and restore the kernel's state."""

    shell: Any  # always set: the magic is registered on a shell

    def __init__(self, shell: Any):
        super().__init__(shell=shell)
        self.settings = MLVC(parent=shell)
        shell.configurables.append(self.settings)
        self.parser = build_parser()
        self._opened: list[Any] = []
        self._server_notebook: Path | None = None
        self._asked_server = False

    # -- the magic -------------------------------------------------------------------

    @line_cell_magic
    @no_var_expand
    def mlvc(self, line: str, cell: str | None = None) -> Any:
        args = self.parse_line(line)
        if args is None:
            return None
        if cell is not None and args.command != "commit":
            raise UsageError(
                f"%%mlvc runs a cell only with commit, not {args.command}. Usage: %%mlvc commit -m MESSAGE"
            )
        handler: Callable[..., Any] = getattr(self, f"_cmd_{args.command}")
        try:
            return handler(args, cell, line) if args.command == "commit" else handler(args)
        except MlvcError as e:
            # The one place where the core's errors meet IPython: a line, no traceback.
            raise UsageError(one_line(str(e), 2000)) from None
        finally:
            # A store is opened per command, so a store made or moved meanwhile is seen.
            for repo in self._opened:
                repo.close()
            self._opened.clear()

    def parse_line(self, line: str) -> argparse.Namespace | None:
        """The arguments of ``line`` (``$name`` expanded from the user's namespace, never
        ``{expressions}``: see ``magic_line``), or None when it only asked for help."""
        try:
            argv = split_line(line, self.shell.user_ns)
        except LineError as e:
            raise UsageError(
                f"{e} in %mlvc {one_line(line)} (put a message with quotes in double quotes)"
            )
        if not argv:
            print(full_help(self.parser))
            return None
        try:
            return self.parser.parse_args(attach_signed_values(argv))
        except _HelpShown:
            return None

    # -- subcommands -----------------------------------------------------------------

    def _cmd_commit(self, args: argparse.Namespace, cell: str | None, line: str = "") -> None:
        if cell is not None:
            result = self.shell.run_cell(cell)
            if not result.success:
                # Metrics the failed cell staged with log_metrics() describe no snapshot.
                clear_metrics()
                # The traceback has been shown; make the cell fail too, so "run all" stops.
                raise UsageError("The cell raised an error, so nothing was committed.")
            # `$acc` in `%%mlvc commit --metric acc=$acc` is the value the cell computed.
            args = self.parse_line(line) or args
        metrics = parse_metrics(args.metric)
        if args.metrics_from:
            # Read after the cell ran, so %%mlvc commit --metrics-from sees what it computed;
            # --metric names the same metric more precisely, so it wins.
            metrics = {**metrics_from(self.shell.user_ns, args.metrics_from), **metrics}
        start = time.monotonic()
        snap = self.commit_state(
            args.message, metrics=metrics, only=args.only, exclude=args.exclude
        )
        print(commit_summary(snap, time.monotonic() - start))

    def _cmd_log(self, args: argparse.Namespace) -> None:
        repo = self.repo()
        if repo is None:
            print(self._no_store_yet())
            return
        if args.n is not None and args.n < 1:
            raise UsageError(
                "-n takes a positive number. Usage: %mlvc log [-n N] [--all] [--no-auto]"
            )
        nb_path = self.notebook_path()
        limit = args.n or self.settings.log_limit
        if args.remote:
            if args.compare:
                raise UsageError(
                    "--compare needs the snapshots here: pull them first (%mlvc pull REMOTE)."
                )
            frame = repo.remote_log(
                args.remote,
                _str(nb_path),
                all=args.all,
                limit=limit,
                include_auto=self.settings.show_auto and not args.no_auto,
                sort=args.sort,
            )
            display(LogView(frame, show_notebook=args.all, title=f"on remote {args.remote}"))
            return
        frame = repo.log(
            _str(nb_path),
            all=args.all,
            limit=limit,
            include_auto=self.settings.show_auto and not args.no_auto,
            sort=args.sort,
        )
        if args.compare:
            if len(frame) < 2:
                print("Nothing to compare: the log shows fewer than two snapshots.")
                return
            display(CompareView.from_snapshots([repo.show(sid) for sid in frame["id"]]))
            return
        title = f"sorted by {args.sort}" if args.sort else ""
        display(LogView(frame, show_notebook=args.all, title=title))

    def _cmd_show(self, args: argparse.Namespace) -> None:
        repo = self.repo(required=True)
        display(SnapshotView(repo.show(args.ref, _str(self.notebook_path()))))

    def _cmd_status(self, args: argparse.Namespace) -> None:
        repo = self.repo()
        if repo is None:
            print(self._no_store_yet())
            return
        status = repo.status(
            self.shell.user_ns,
            args.ref,
            exclude=self.exclude(),
            notebook_path=_str(self.notebook_path()),
        )
        display(StatusView(status, base_label=args.ref))

    def _cmd_diff(self, args: argparse.Namespace) -> None:
        repo = self.repo(required=True)
        nb_path = self.notebook_path()
        with self._progress("Comparing") as progress:
            if args.b is None:
                notebook, _ = self.notebook_content(nb_path)
                diff = self._call(
                    repo.diff,
                    progress,
                    args.a,
                    self.shell.user_ns,
                    notebook_path=_str(nb_path),
                    current_notebook=notebook,
                    exclude=self.exclude(args.exclude),
                )
            else:
                diff = self._call(repo.diff, progress, args.a, args.b, notebook_path=_str(nb_path))
        display(DiffView(without_names(diff.to_dict(), self.exclude(args.exclude))))

    def _cmd_compare(self, args: argparse.Namespace) -> None:
        if len(args.refs) < 2:
            raise UsageError(
                "compare needs two or more snapshots. Usage: %mlvc compare REF REF [REF ...]"
            )
        repo = self.repo(required=True)
        nb = _str(self.notebook_path())
        display(CompareView.from_snapshots([repo.show(ref, nb) for ref in args.refs]))

    def _cmd_checkout(self, args: argparse.Namespace) -> None:
        start = time.monotonic()
        report = self.restore_state(args.ref, args.names or None, save=not args.no_save)
        display(RestoreView(report, seconds=time.monotonic() - start, partial=bool(args.names)))

    def _cmd_branch(self, args: argparse.Namespace) -> None:
        repo = self.repo(required=True)
        nb = _str(self.notebook_path())
        if args.name is None:
            head = repo.head(nb)
            display(
                RefsView(
                    repo.branches(nb),
                    current=repo.current_branch(nb),
                    head=head.id if head is not None else None,
                    kind="branches",
                )
            )
            return
        target = repo.branch(args.name, args.ref, notebook_path=nb)
        current = repo.current_branch(nb)
        if current == args.name:
            print(f"Started branch {args.name} at {target[:8]}; the next commit goes on it.")
        else:
            print(
                f"Created branch {args.name} at {target[:8]}; HEAD stays "
                f"{'on ' + current if current else 'detached'} (%mlvc checkout {args.name} switches)."
            )

    def _cmd_tag(self, args: argparse.Namespace) -> None:
        repo = self.repo(required=True)
        nb = _str(self.notebook_path())
        target = repo.tag(args.name, args.ref, notebook_path=nb)
        print(f"Tagged {target[:8]} as {args.name}.")

    def _cmd_trust(self, args: argparse.Namespace) -> None:
        repo = self.repo(required=True)
        if args.key:
            print(repo.trust_key(args.key, args.name).summary_line())
            return
        if args.ref is None:
            n = len(repo.trust(None))
            print(f"Trusted every snapshot in {repo.path} ({n}).")
            return
        trusted = repo.trust(args.ref, _str(self.notebook_path()))
        print(f"Trusted {trusted[0][:8]}.")

    def _cmd_remote(self, args: argparse.Namespace) -> None:
        repo = self.repo(create=args.action == "add", required=True)
        if args.action == "add":
            if not args.name or not args.url:
                raise UsageError(
                    "Usage: %mlvc remote add NAME URL [--endpoint-url URL] [--profile P]"
                )
            remote = repo.remote_add(
                args.name, args.url, endpoint_url=args.endpoint_url, profile=args.profile
            )
            print(f"Added remote {remote.name}: {remote.url}")
        elif args.action == "remove":
            if not args.name:
                raise UsageError("Usage: %mlvc remote remove NAME")
            repo.remote_remove(args.name)
            print(f"Removed remote {args.name}.")
        else:
            remotes = repo.remotes().values()
            print(
                "\n".join(f"{r.name:<12} {r.url}" for r in remotes)
                or "No remotes yet: %mlvc remote add NAME URL"
            )

    def _cmd_push(self, args: argparse.Namespace) -> None:
        self._transfer("push", args)

    def _cmd_pull(self, args: argparse.Namespace) -> None:
        self._transfer("pull", args)

    def _transfer(self, verb: str, args: argparse.Namespace) -> None:
        from .ops.remote import split_remote

        repo = self.repo(required=True)
        remote, refs = split_remote(repo, args.words)
        label = "Pushing" if verb == "push" else "Pulling"
        with self._progress(label) as progress:
            report = self._call(
                getattr(repo, verb),
                progress,
                remote,
                refs,
                all=args.all,
                notebook_path=_str(self.notebook_path()),
            )
        print(report.summary_line())

    def _cmd_browse(self, args: argparse.Namespace) -> None:
        display(self.browser().widget)

    def _cmd_auto(self, args: argparse.Namespace) -> None:
        if args.state is not None:
            self.settings.auto = args.state == "on"
        self._sync_auto_hook()
        if self.settings.auto:
            print(
                "Automatic snapshots are on: each cell that changes a variable is committed "
                "(%mlvc auto off to stop)."
            )
        else:
            print("Automatic snapshots are off (%mlvc auto on to start).")

    def _sync_auto_hook(self) -> None:
        events = self.shell.events
        registered = self._after_cell in events.callbacks["post_run_cell"]
        if self.settings.auto and not registered:
            events.register("post_run_cell", self._after_cell)
        elif not self.settings.auto and registered:
            events.unregister("post_run_cell", self._after_cell)

    def _after_cell(self, result: Any) -> None:
        """The automatic snapshot after a cell. Never raises: a failure is one line."""
        raw = (getattr(result.info, "raw_cell", None) or "").strip()
        if not raw or raw.lstrip("%").startswith("mlvc"):
            return
        try:
            self._auto_commit(raw)
        except MlvcError as e:
            print(f"jupyter_mlvc: automatic snapshot skipped: {e}", file=sys.stderr)
        finally:
            for repo in self._opened:
                repo.close()
            self._opened.clear()

    def _auto_commit(self, raw: str) -> None:
        from .state.cellnames import touched_names

        ns = self.shell.user_ns
        touched = touched_names(self.shell.transform_cell(raw), ns)
        repo = self.repo(create=True)
        nb_path = self.notebook_path()
        notebook, source = self.notebook_content(nb_path)
        first = raw.splitlines()[0].strip()
        repo.commit(
            ns,
            first if len(first) <= 80 else first[:77] + "...",
            notebook=notebook,
            notebook_path=_str(nb_path),
            exclude=self.exclude(),
            notebook_source=source,
            auto=True,
            if_changed=True,
            # What the cell's code cannot reach is taken over from HEAD unserialized.
            assume_unchanged=None if touched is None else [n for n in ns if n not in touched],
        )

    def _cmd_help(self, args: argparse.Namespace) -> None:
        if args.topic:
            print(self.parser._subcommands.choices[args.topic].format_help())  # type: ignore[attr-defined]
        else:
            print(full_help(self.parser))

    # -- what the subcommands share ------------------------------------------------------

    def commit_state(
        self,
        message: str,
        *,
        metrics: Mapping[str, float] | None = None,
        only: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> Any:
        """Commit the kernel's variables and its notebook; the new ``Snapshot``.

        What ``%mlvc commit`` does once its cell ran, and what the sidebar's Commit
        does through :mod:`jupyter_mlvc.kernel_protocol`: the store, the notebook
        (the editor's content when the frontend handed it over) and the excluded
        names come from the same settings. Raises ``MlvcError``.
        """
        try:
            repo = self.repo(create=True)
            nb_path = self.notebook_path()
            notebook, source = self.notebook_content(nb_path)
            with self._progress("Committing") as progress:
                return self._call(
                    repo.commit,
                    progress,
                    self.shell.user_ns,
                    message,
                    notebook=notebook,
                    notebook_path=_str(nb_path),
                    metrics=dict(metrics) if metrics else None,
                    only=only,
                    exclude=self.exclude(exclude),
                    notebook_source=source,
                )
        finally:
            self._close_opened()

    def restore_state(self, ref: str, names: list[str] | None = None, *, save: bool = True) -> Any:
        """Restore snapshot ``ref`` (only ``names`` of it, if given); the ``RestoreReport``.

        What ``%mlvc checkout`` does, and the sidebar's restores through
        :mod:`jupyter_mlvc.kernel_protocol`: the current state is committed first
        when the ``save_before_checkout`` setting and ``save`` both say so. Raises
        ``MlvcError`` (and ``UsageError`` when there is no store).
        """
        try:
            repo = self.repo(required=True)
            nb_path = self.notebook_path()
            save = self.settings.save_before_checkout and save
            notebook, source = self.notebook_content(nb_path) if save else (None, None)
            with self._progress("Checking out") as progress:
                return self._call(
                    repo.restore,
                    progress,
                    ref,
                    self.shell.user_ns,
                    names,
                    save=save,
                    notebook=notebook,
                    notebook_source=source,
                    notebook_path=_str(nb_path),
                    exclude=self.exclude(),
                    rng=self.settings.restore_random_state,
                )
        finally:
            self._close_opened()

    def _close_opened(self) -> None:
        # A store is opened per command, so a store made or moved meanwhile is seen.
        for repo in self._opened:
            repo.close()
        self._opened.clear()

    def browser(self) -> Any:
        """A :class:`~jupyter_mlvc.browser.SnapshotBrowser` on this kernel's namespace."""
        from .browser import SnapshotBrowser

        repo = self.repo(required=True, keep=True)
        nb_path = self.notebook_path()
        return SnapshotBrowser(
            repo,
            self.shell.user_ns,
            notebook_path=_str(nb_path),
            exclude=self.exclude,
            save=self.settings.save_before_checkout,
            notebook=lambda: self.notebook_content(nb_path),
            include_auto=self.settings.show_auto,
        )

    def store_folder(self) -> Path:
        """Where the store is searched from (and created): the setting, else the notebook's folder."""
        if self.settings.store:
            return Path(self.settings.store).expanduser().resolve()
        nb_path = self.notebook_path()
        return nb_path.parent if nb_path is not None else Path.cwd()

    def repo(self, *, create: bool = False, required: bool = False, keep: bool = False) -> Any:
        """The store for this notebook; created on demand by a commit.

        It is closed when the running command ends, unless ``keep`` (the browser
        holds its store for as long as it is shown).
        """
        from .repo import Repo

        folder = self.store_folder()
        repo = Repo.find(folder)
        if repo is None and create:
            try:
                repo = Repo.init(folder)
                print(f"Created a store in {repo.path}")
            except StoreExists:
                repo = Repo.find(folder)  # another kernel created it a moment ago
        if repo is None and required:
            raise UsageError(self._no_store_yet())
        if repo is not None and not keep:
            self._opened.append(repo)
        return repo

    def _no_store_yet(self) -> str:
        return (
            f"No .mlvc store in {self.store_folder()} or above yet; "
            '%mlvc commit -m "message" creates one there.'
        )

    def notebook_path(self) -> Path | None:
        """This kernel's notebook, or None in a terminal."""
        if self.settings.notebook:
            return Path(self.settings.notebook).expanduser().resolve()
        found = from_hints(self.shell.user_ns, os.environ, Path.cwd())
        if found is not None:
            return found
        if not self._asked_server:
            # Asking the servers costs a request: once per session is enough.
            self._asked_server = True
            connection_file = _connection_file(self.shell)
            self._server_notebook = (
                from_server(connection_file, timeout=self.settings.server_timeout)
                if connection_file
                else None
            )
        return self._server_notebook

    def notebook_content(self, nb_path: Path | None) -> tuple[dict[str, Any] | None, str | None]:
        """The notebook to store and where it came from: ``editor``, ``saved`` or ``history``."""
        if nb_path is not None:
            if self.settings.use_editor_content:
                from .live import read_live_notebook

                live = read_live_notebook(nb_path)
                if live is not None:
                    return self._fresh_live(nb_path, live), "editor"
            if nb_path.exists():
                saved = _read_saved_notebook(nb_path)
                if saved is not None:
                    return saved, "saved"
        return self.history_notebook(), "history"

    def _fresh_live(self, nb_path: Path, live: dict[str, Any]) -> dict[str, Any]:
        """The editor's content, once it holds the cell being run.

        The frontend hands the editor's content over when a cell is scheduled, which
        can lose the race against the kernel running it: a copy without the running
        cell's source is older than that cell, so wait a little for the newer one.
        """
        from .live import read_live_notebook

        inputs = self.shell.history_manager.input_hist_raw
        running = inputs[-1].strip() if inputs else ""
        deadline = time.monotonic() + LIVE_WAIT_SECONDS
        while running and not _has_cell(live, running) and time.monotonic() < deadline:
            time.sleep(0.05)
            live = read_live_notebook(nb_path) or live
        return live

    def history_notebook(self) -> dict[str, Any]:
        """This session's inputs as the cells of a notebook (for a terminal IPython)."""
        inputs = list(self.shell.history_manager.input_hist_raw[1:])
        cells = [
            {
                "cell_type": "code",
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "execution_count": None,
                "source": src.rstrip("\n"),
                "outputs": [],
            }
            for src in inputs
            if src.strip()
        ]
        return {
            "cells": cells,
            "metadata": {"language_info": {"name": "python", "version": sys.version.split()[0]}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }

    def exclude(self, extra: list[str] | None = None) -> list[str]:
        """Names never committed or removed: settings, ``extra`` and IPython's own hidden names."""
        ns, hidden = self.shell.user_ns, self.shell.user_ns_hidden
        # A hidden name the user has since rebound is the user's variable, as in %who.
        names = [n for n, v in hidden.items() if n in ns and ns[n] is v]
        return [*self.settings.exclude, *(extra or []), *names]

    @contextmanager
    def _progress(self, label: str) -> Iterator[Progress]:
        in_kernel = getattr(self.shell, "kernel", None) is not None
        with Progress(label, after=self.settings.progress_after, notebook=in_kernel) as progress:
            yield progress

    @staticmethod
    def _call(fn: Callable[..., Any], progress: Progress, *args: Any, **kwargs: Any) -> Any:
        """Call a core method, handing it the progress callback if it takes one."""
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        if "progress" in params:
            kwargs["progress"] = progress.update
        return fn(*args, **kwargs)


MlvcMagics.mlvc.__doc__ = full_help()


#: How long a commit waits for the editor's content to catch up with the running cell.
LIVE_WAIT_SECONDS = 0.5


def _read_saved_notebook(path: Path) -> dict[str, Any] | None:
    """The saved notebook as nbformat 4 JSON, or None if the file is not one.

    Plain JSON is enough to store it, and far cheaper than importing nbformat (whose
    validator takes seconds to import); files in the old formats 1-3 are converted."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None  # A half-written or foreign file: the history still tells the story.
    if not isinstance(data, dict) or not isinstance(
        data.get("cells", data.get("worksheets")), list
    ):
        return None
    if data.get("nbformat", 0) >= 4:
        return _rejoin_lines(data)
    try:
        import nbformat

        return nbformat.reads(json.dumps(data), as_version=4)
    except Exception:
        return None


def _rejoin_lines(nb: dict[str, Any]) -> dict[str, Any]:
    """Join the line lists of a saved notebook into strings, as nbformat's reader does,
    so a saved notebook and the editor's content store the same shape."""

    def joined(value: Any) -> Any:
        return (
            "".join(value)
            if isinstance(value, list) and all(isinstance(v, str) for v in value)
            else value
        )

    for cell in nb.get("cells", []):
        cell["source"] = joined(cell.get("source", ""))
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = joined(out["text"])
            data = out.get("data")
            if isinstance(data, dict):
                for mime, value in data.items():
                    if not mime.endswith("json"):
                        data[mime] = joined(value)
    return nb


def _has_cell(notebook: dict[str, Any], source: str) -> bool:
    for cell in notebook.get("cells", []):
        text = cell.get("source", "")
        if ("".join(text) if isinstance(text, list) else str(text)).strip() == source:
            return True
    return False


def _str(path: Path | None) -> str:
    # "" is the store's name for "no notebook" (a terminal session); None would
    # mean "the notebook of the latest snapshot" to the core.
    return os.fspath(path) if path is not None else ""


def _connection_file(shell: Any) -> str | None:
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        from ipykernel import get_connection_file

        return get_connection_file()
    except Exception:
        return None


def _views() -> dict[type, Callable[[Any], Any]]:
    """The core's result types and the view that renders each (for the Python API's results)."""
    from .ops.diff import Diff
    from .snapshot import RestoreReport, Snapshot, Status

    return {
        Snapshot: SnapshotView,
        Status: StatusView,
        RestoreReport: RestoreView,
        Diff: DiffView,
    }


def _register_formatters(ipython: Any) -> None:
    formatters = ipython.display_formatter.formatters
    for cls, view in _views().items():
        formatters["text/html"].for_type(cls, lambda obj, view=view: view(obj)._repr_html_())
        formatters["text/plain"].for_type(
            cls, lambda obj, p, cycle, view=view: p.text(view(obj).text())
        )


def _unregister_formatters(ipython: Any) -> None:
    formatters = ipython.display_formatter.formatters
    for cls in _views():
        for mime in ("text/html", "text/plain"):
            try:
                formatters[mime].pop(cls)
            except KeyError:
                pass


def load_ipython_extension(ipython: Any) -> None:
    if "MlvcMagics" in ipython.magics_manager.registry:
        return
    magics = MlvcMagics(ipython)
    ipython.register_magics(magics)
    magics._sync_auto_hook()
    _register_formatters(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.registry.pop("MlvcMagics", None)
    if magics is not None and magics._after_cell in ipython.events.callbacks["post_run_cell"]:
        ipython.events.unregister("post_run_cell", magics._after_cell)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("mlvc", None)
    if magics is not None and magics.settings in ipython.configurables:
        ipython.configurables.remove(magics.settings)
    _unregister_formatters(ipython)
