"""The ``%mlvc`` line and cell magic: IPython's face of jupyter_mlvc.

Each subcommand parses its arguments (the parser is built from the command table,
:mod:`jupyter_mlvc.commands`), calls one method of the core ``Repo`` on the store
of this kernel's notebook (:mod:`jupyter_mlvc.kernel_session`) and renders the
result (``present.render``). Every ``MlvcError`` the core raises becomes a
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
import numbers
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.display import display

from . import warmup
from .commands import MAGIC, Parser, commands_for, names_for
from .commands import build_parser as build_face_parser
from .errors import MlvcError
from .kernel_session import end_session, path_key, session_for, without_names
from .magic_line import LineError, one_line, split_line
from .present.chart import DEFAULT_SNAPSHOTS as CHART_SNAPSHOTS
from .present.chart import history_chart
from .present.merging import BisectView, MergeView, graph_view
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
from .repo import clear_metrics

COMMANDS = names_for(MAGIC)

_METRIC = re.compile(r"^(?P<name>[A-Za-z_][\w.\-/]*)=(?P<value>.+)$")


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


def build_parser() -> Parser:
    """The parser of every ``%mlvc`` subcommand, from the command table (also ``%mlvc?``)."""
    return build_face_parser(
        MAGIC,
        prog="%mlvc",
        description="Version control for this kernel's variables, models and notebook.",
        parser_class=_Parser,
        add_help=False,
    )


def full_help(parser: Parser | None = None) -> str:
    """The usage of ``%mlvc`` and every subcommand."""
    parser = parser or build_parser()
    lines = [
        "%mlvc COMMAND [options]  -  version control for this kernel's variables, models and notebook",
        "",
        "Commands:",
    ]
    lines += [f"  {c.name:<10}{c.help}" for c in commands_for(MAGIC)]
    lines += [
        "",
        "Settings: %config MLVC (store, notebook, exclude, save_before_checkout, use_editor_content,",
        "log_limit, show_auto, progress_after, server_timeout), e.g. %config MLVC.exclude = ['tmp_*']",
        "",
    ]
    for name in COMMANDS:
        lines.append(parser.command_help(name).rstrip())
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


def parse_sides(items: list[str]) -> dict[str, str]:
    """``["model=theirs", "X=ours"]`` -> ``{"model": "theirs", "X": "ours"}``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, side = item.partition("=")
        if not sep or side not in ("ours", "theirs") or not name.isidentifier():
            raise UsageError(
                f"--take takes NAME=ours or NAME=theirs, not {one_line(item)!r}. "
                "Usage: %mlvc merge BRANCH --take model=theirs"
            )
        out[name] = side
    return out


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


def data_on(namespace: Mapping[str, Any], names: list[str] | None) -> dict[str, Any]:
    """``repo.diff``'s ``data`` and ``data_names`` for ``--on X [Y]``, from the namespace."""
    if not names:
        return {}
    if len(names) > 2:
        raise UsageError(
            f"--on takes X and optionally Y, not {len(names)} names. "
            "Usage: %mlvc diff A B --on X_test y_test"
        )
    for name in names:
        if name not in namespace:
            raise UsageError(f"--on {one_line(name)}: there is no variable {one_line(name)!r}.")
    return {
        "data": dict(zip(("X", "y"), (namespace[n] for n in names))),
        "data_names": tuple(names),
    }


def _short(value: Any) -> str:
    text = repr(value)
    return " ".join((text if len(text) <= 40 else text[:37] + "...").split())


@magics_class
class MlvcMagics(Magics):
    """``%mlvc``: commit, inspect and restore the kernel's state."""

    shell: Any  # always set: the magic is registered on a shell

    def __init__(self, shell: Any):
        super().__init__(shell=shell)
        self.session = session_for(shell)
        self.parser = build_parser()

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
            self.session.close_opened()

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
            return self.parser.parse_args(argv)
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
        snap = self.session.commit_state(
            args.message, metrics=metrics, only=args.only, exclude=args.exclude
        )
        print(commit_summary(snap, time.monotonic() - start))

    def _cmd_log(self, args: argparse.Namespace) -> None:
        repo = self.session.repo()
        if repo is None:
            print(self.session.no_store_yet())
            return
        if args.n is not None and args.n < 1:
            raise UsageError(
                "-n takes a positive number. Usage: %mlvc log [-n N] [--all] [--no-auto]"
            )
        nb_path = self.session.notebook_path()
        limit = args.n or self.settings.log_limit
        if args.plot:
            if args.compare or args.sort or args.all or args.graph or args.remote:
                raise UsageError(
                    "--plot charts this notebook's metrics over its history: "
                    "leave out --compare, --sort, --all, --graph and --remote."
                )
            # The chart shows the whole history (up to CHART_SNAPSHOTS), not a page of it.
            shown = args.n or CHART_SNAPSHOTS
            auto = self.settings.show_auto and not args.no_auto
            display(history_chart(repo, path_key(nb_path), limit=shown, include_auto=auto))
            return
        if args.remote:
            if args.compare:
                raise UsageError(
                    "--compare needs the snapshots here: pull them first (%mlvc pull REMOTE)."
                )
            frame = repo.remote_log(
                args.remote,
                path_key(nb_path),
                all=args.all,
                limit=limit,
                include_auto=self.settings.show_auto and not args.no_auto,
                sort=args.sort,
            )
            display(LogView(frame, show_notebook=args.all, title=f"on remote {args.remote}"))
            # Entries the remote holds that do not validate are named, never just left out.
            for why in frame.attrs.get("rejected", {}).values():
                print(f"skipped {one_line(why, 300)}", file=sys.stderr)
            return
        if args.graph:
            if args.compare or args.sort or args.all:
                raise UsageError(
                    "--graph draws this notebook's history: leave out --compare, --sort and --all."
                )
            display(
                graph_view(
                    repo, path_key(nb_path), limit, self.settings.show_auto and not args.no_auto
                )
            )
            return
        frame = repo.log(
            path_key(nb_path),
            all=args.all,
            limit=limit,
            include_auto=self.settings.show_auto and not args.no_auto,
            sort=args.sort,
        )
        if args.compare:
            if len(frame) < 2:
                print("Nothing to compare: the log shows fewer than two snapshots.")
                return
            display(CompareView.from_comparison(repo.compare(list(frame["id"])).to_dict()))
            return
        title = f"sorted by {args.sort}" if args.sort else ""
        display(LogView(frame, show_notebook=args.all, title=title))

    def _cmd_show(self, args: argparse.Namespace) -> None:
        repo = self.session.repo(required=True)
        display(SnapshotView(repo.show(args.ref, self.session.notebook_key())))

    def _cmd_status(self, args: argparse.Namespace) -> None:
        repo = self.session.repo()
        if repo is None:
            print(self.session.no_store_yet())
            return
        status = repo.status(
            self.shell.user_ns,
            args.ref,
            exclude=self.session.exclude(),
            notebook_path=self.session.notebook_key(),
        )
        display(StatusView(status, base_label=args.ref))

    def _cmd_diff(self, args: argparse.Namespace) -> None:
        on = data_on(self.shell.user_ns, args.on)
        repo = self.session.repo(required=True)
        nb_path = self.session.notebook_path()
        with self.session.progress("Comparing") as progress:
            if args.b is None:
                notebook, _ = self.session.notebook_content(nb_path)
                diff = self.session.call(
                    repo.diff,
                    progress,
                    args.a,
                    self.shell.user_ns,
                    notebook_path=path_key(nb_path),
                    current_notebook=notebook,
                    exclude=self.session.exclude(args.exclude),
                    **on,
                )
            else:
                diff = self.session.call(
                    repo.diff,
                    progress,
                    args.a,
                    args.b,
                    notebook_path=path_key(nb_path),
                    exclude=self.session.exclude(args.exclude),
                    **on,
                )
        display(DiffView(without_names(diff.to_dict(), self.session.exclude(args.exclude))))

    def _cmd_compare(self, args: argparse.Namespace) -> None:
        if len(args.refs) < 2:
            raise UsageError(
                "compare needs two or more snapshots. Usage: %mlvc compare REF REF [REF ...]"
            )
        repo = self.session.repo(required=True)
        nb = self.session.notebook_key()
        display(CompareView.from_comparison(repo.compare(args.refs, nb).to_dict()))

    def _cmd_checkout(self, args: argparse.Namespace) -> None:
        start = time.monotonic()
        report = self.session.restore_state(
            args.ref,
            args.names or None,
            save=not args.no_save,
            skipped="remove" if args.drop_skipped else "keep",
        )
        display(RestoreView(report, seconds=time.monotonic() - start, partial=bool(args.names)))

    def _cmd_merge(self, args: argparse.Namespace) -> None:
        if args.ours and args.theirs:
            raise UsageError(
                "choose one of --ours and --theirs. Usage: %mlvc merge BRANCH [--ours | --theirs]"
            )
        resolve = parse_sides(args.take)
        strategy = "ours" if args.ours else "theirs" if args.theirs else None
        result = self.session.merge_state(
            args.ref, strategy=strategy, resolve=resolve, message=args.message, preview=args.preview
        )
        display(MergeView(result))

    def _cmd_bisect(self, args: argparse.Namespace) -> None:
        if (args.test is None) == (args.metric is None):
            raise UsageError(
                'bisect needs one test. Usage: %mlvc bisect GOOD [BAD] --test "EXPR" | --metric "acc >= 0.9"'
            )
        repo = self.session.repo(required=True)
        result = repo.bisect(
            args.good,
            args.bad,
            args.test,
            metric=args.metric,
            notebook_path=self.session.notebook_key(),
        )
        display(BisectView(result))

    def _cmd_branch(self, args: argparse.Namespace) -> None:
        repo = self.session.repo(required=True)
        nb = self.session.notebook_key()
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
        repo = self.session.repo(required=True)
        nb = self.session.notebook_key()
        target = repo.tag(args.name, args.ref, notebook_path=nb)
        print(f"Tagged {target[:8]} as {args.name}.")

    def _cmd_trust(self, args: argparse.Namespace) -> None:
        repo = self.session.repo(required=True)
        if args.revoke_key:
            if args.ref or args.key:
                raise UsageError("Usage: %mlvc trust --revoke-key FINGERPRINT (no REF, no --key)")
            print(repo.revoke_key(args.revoke_key).summary_line())
            return
        if args.key:
            print(repo.trust_key(args.key, args.name).summary_line())
            return
        if args.ref is None:
            n = len(repo.trust(None))
            print(f"Trusted every snapshot in {repo.path} ({n}).")
            return
        trusted = repo.trust(args.ref, self.session.notebook_key())
        print(f"Trusted {trusted[0][:8]}.")

    def _cmd_key(self, args: argparse.Namespace) -> None:
        from .ops.trust_keys import key_info

        # The key is the user's, not the store's: no store is needed.
        info = key_info()
        print(info.listing() if args.action == "list" else info.summary_line())

    def _cmd_mlflow(self, args: argparse.Namespace) -> None:
        repo = self.session.repo(required=True)
        with self.session.progress("Exporting to MLflow"):
            run = repo.to_mlflow(
                args.ref,
                tracking_uri=args.tracking_uri,
                experiment=args.experiment,
                register=args.register,
                notebook_path=self.session.notebook_key(),
            )
        print(run.summary_line())

    def _remote_upkeep(self, args: argparse.Namespace) -> None:
        repo = self.session.repo(required=True)
        if args.url:
            raise UsageError(f"Usage: %mlvc remote {args.action} NAME")
        label = "Cleaning" if args.action == "gc" else "Checking"
        with self.session.progress(label) as progress:
            if args.action == "gc":
                result = repo.remote_gc(
                    args.name,
                    dry_run=args.dry_run,
                    grace_seconds=args.grace,
                    progress=progress.update,
                )
            else:
                result = repo.remote_fsck(
                    args.name, download=args.download, progress=progress.update
                )
        print(result.summary_line())

    def _cmd_remote(self, args: argparse.Namespace) -> None:
        if args.action in ("gc", "fsck"):
            self._remote_upkeep(args)
            return
        repo = self.session.repo(create=args.action == "add", required=True)
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

        repo = self.session.repo(required=True)
        remote, refs = split_remote(repo, args.words)
        label = "Pushing" if verb == "push" else "Pulling"
        with self.session.progress(label) as progress:
            report = self.session.call(
                getattr(repo, verb),
                progress,
                remote,
                refs,
                all=args.all,
                notebook_path=self.session.notebook_key(),
                **({"tags": args.tags} if verb == "push" else {}),
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
            self.session.auto_commit(raw)
        except MlvcError as e:
            print(f"jupyter_mlvc: automatic snapshot skipped: {e}", file=sys.stderr)
        finally:
            self.session.close_opened()

    def _cmd_help(self, args: argparse.Namespace) -> None:
        if args.topic:
            print(self.parser.command_help(args.topic))
        else:
            print(full_help(self.parser))

    # -- the kernel's session -----------------------------------------------------------

    @property
    def settings(self) -> Any:
        """The ``%config MLVC`` settings."""
        return self.session.settings

    def browser(self) -> Any:
        """A :class:`~jupyter_mlvc.browser.SnapshotBrowser` on this kernel's namespace."""
        from .browser import SnapshotBrowser

        session = self.session
        repo = session.repo(required=True, keep=True)
        nb_path = session.notebook_path()
        return SnapshotBrowser(
            repo,
            self.shell.user_ns,
            notebook_path=path_key(nb_path),
            exclude=session.exclude,
            save=self.settings.save_before_checkout,
            notebook=lambda: session.notebook_content(nb_path),
            include_auto=self.settings.show_auto,
        )


MlvcMagics.mlvc.__doc__ = full_help()


#: The core's result types, by module and name, and the view that renders each (for the
#: Python API's results). Named rather than imported: IPython looks a type up by name
#: when one is displayed, so loading the extension imports none of their modules.
VIEWS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("jupyter_mlvc.snapshot", "Snapshot", SnapshotView),
    ("jupyter_mlvc.snapshot", "Status", StatusView),
    ("jupyter_mlvc.snapshot", "RestoreReport", RestoreView),
    ("jupyter_mlvc.ops.diff", "Diff", DiffView),
    ("jupyter_mlvc.ops.merge", "MergeResult", MergeView),
    ("jupyter_mlvc.ops.bisect", "BisectResult", BisectView),
)


def _register_formatters(ipython: Any) -> None:
    formatters = ipython.display_formatter.formatters
    for module, name, view in VIEWS:
        formatters["text/html"].for_type_by_name(
            module, name, lambda obj, view=view: view(obj)._repr_html_()
        )
        formatters["text/plain"].for_type_by_name(
            module, name, lambda obj, p, cycle, view=view: p.text(view(obj).text())
        )


def _unregister_formatters(ipython: Any) -> None:
    formatters = ipython.display_formatter.formatters
    for module, name, _ in VIEWS:
        for mime in ("text/html", "text/plain"):
            try:
                formatters[mime].pop(f"{module}.{name}")
            except KeyError:
                pass


def load_ipython_extension(ipython: Any) -> None:
    if "MlvcMagics" in ipython.magics_manager.registry:
        return
    magics = MlvcMagics(ipython)
    ipython.register_magics(magics)
    magics._sync_auto_hook()
    _register_formatters(ipython)
    warmup.start()


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.registry.pop("MlvcMagics", None)
    if magics is not None and magics._after_cell in ipython.events.callbacks["post_run_cell"]:
        ipython.events.unregister("post_run_cell", magics._after_cell)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("mlvc", None)
    end_session(ipython)
    _unregister_formatters(ipython)
