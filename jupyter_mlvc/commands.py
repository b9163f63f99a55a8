"""The commands of ``%mlvc`` and ``mlvc`` as data, and the parsers built from them.

One table (:data:`COMMANDS`) holds every command: its name, its help, its
arguments, and the faces that offer it (``magic``, ``cli`` or both). An argument
can belong to one face only too: the command line takes ``--store`` and
``--json`` everywhere, while ``%mlvc diff`` compares with the kernel's variables,
which a terminal does not have. :func:`build_parser` turns the table into one
face's argparse parser, so the two parsers, their ``help`` and the command
reference in docs/magics.md (checked against this table by a test) cannot drift.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAGIC = "magic"
CLI = "cli"
BOTH = frozenset({MAGIC, CLI})


@dataclass(frozen=True)
class Arg:
    """One argument: its flags (or its name, for a positional) and argparse's keywords."""

    flags: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    faces: frozenset[str] = BOTH
    #: Whether its value may start with "-" (``--sort -loss``: lowest loss first).
    signed: bool = False


def arg(*flags: str, faces: frozenset[str] = BOTH, signed: bool = False, **options: Any) -> Arg:
    return Arg(flags, options, faces, signed)


@dataclass(frozen=True)
class Command:
    """One subcommand: ``help`` is its line in the command list, ``description`` its page."""

    name: str
    help: str
    description: str = ""
    args: tuple[Arg, ...] = ()
    faces: frozenset[str] = BOTH

    def args_for(self, face: str) -> list[Arg]:
        return [a for a in self.args if face in a.faces]


def magic_only(flags: str, **options: Any) -> Arg:
    return arg(*flags.split(), faces=frozenset({MAGIC}), **options)


def cli_only(flags: str, **options: Any) -> Arg:
    return arg(*flags.split(), faces=frozenset({CLI}), **options)


# The command line's own options: which store to open, which notebook, JSON output.
STORE = cli_only("-C --store", default=".", help="folder of the store (or below it); default: .")
JSON = cli_only("--json", action="store_true", help="print JSON")
NOTEBOOK = cli_only("--notebook", help="the notebook whose history to use (default: the newest)")

EXCLUDE = magic_only(
    "--exclude",
    action="extend",
    nargs="+",
    default=[],
    metavar="NAME",
    help="leave out these names or patterns (tmp_*)",
)
REF_OR_HEAD = arg(
    "ref", nargs="?", default="HEAD", help="id, prefix, HEAD~N, branch or tag (default HEAD)"
)


def _transfer(verb: str, text: str, *extra: Arg) -> Command:
    return Command(
        verb,
        f"{text} snapshots the other side lacks (default: the current branch)",
        f"{text.capitalize()} the snapshots of REF... (default: the current branch) that the "
        "other side lacks. Incremental, parallel and resumable.",
        (
            STORE,
            JSON,
            NOTEBOOK,
            arg(
                "words", nargs="*", metavar="[REMOTE] [REF...]", help="remote, then branches or ids"
            ),
            arg("--all", action="store_true", help="every snapshot"),
            cli_only("-j --jobs", type=int, default=8, help="transfers at once (default 8)"),
            *extra,
        ),
    )


COMMANDS: tuple[Command, ...] = (
    Command(
        "commit",
        "snapshot the variables and the notebook",
        "Snapshot the kernel's variables and the notebook. As a cell magic "
        "(%%mlvc commit -m ...) it runs the cell first and commits only if the cell succeeds.",
        (
            arg("-m", "--message", default="", help="what this snapshot is"),
            arg(
                "--metric",
                action="extend",
                nargs="+",
                default=[],
                metavar="NAME=VALUE",
                help="numbers to record with the snapshot, e.g. --metric acc=0.93 f1=0.9",
            ),
            arg("--only", nargs="+", metavar="NAME", help="commit only these variables"),
            arg(
                "--metrics-from",
                metavar="VAR",
                help="record the numbers of the dict VAR as metrics (read after the cell runs)",
            ),
            EXCLUDE,
        ),
        faces=frozenset({MAGIC}),
    ),
    Command(
        "log",
        "the history of this notebook, newest first",
        "The snapshots of this notebook, newest first, metrics as columns.",
        (
            STORE,
            JSON,
            NOTEBOOK,
            arg("-n", type=int, default=None, metavar="N", help="show at most N snapshots"),
            arg("--all", action="store_true", help="every notebook in the store"),
            arg("--no-auto", action="store_true", help="hide automatic snapshots"),
            arg(
                "--sort",
                metavar="METRIC",
                signed=True,
                help="order by a metric: --sort acc (highest first), --sort -loss (lowest first)",
            ),
            magic_only(
                "--compare",
                action="store_true",
                help="show the snapshots side by side (metrics, variables that differ)",
            ),
            arg("--remote", metavar="NAME", help="list what the remote NAME holds"),
            arg(
                "--graph",
                action="store_true",
                help="draw the history as a graph: branches, forks and merges",
            ),
            magic_only(
                "--plot",
                action="store_true",
                help="chart each metric over the history, one line per branch",
            ),
        ),
    ),
    Command(
        "show",
        "one snapshot in detail",
        "Message, time, parents, branch and tags, variables, skipped variables, "
        "metrics and environment of a snapshot.",
        (STORE, JSON, NOTEBOOK, REF_OR_HEAD),
    ),
    Command(
        "status",
        "what changed since HEAD",
        "Variables added, changed and removed since HEAD (or REF). Writes nothing.",
        (arg("ref", nargs="?", default="HEAD", help="compare with this snapshot (default HEAD)"),),
        faces=frozenset({MAGIC}),
    ),
    Command(
        "diff",
        "what changed between two snapshots",
        "Variables added, removed and changed (and how), metrics, packages and notebook cells "
        "that changed from snapshot A to snapshot B. In %mlvc, without B: from A to the "
        "kernel's current state. Loads only the variables whose content differs. In "
        "%mlvc, --on X_test [y_test] runs the models of both sides on those variables.",
        (
            STORE,
            JSON,
            NOTEBOOK,
            magic_only(
                "a", nargs="?", default="HEAD", metavar="A", help="the older state (default HEAD)"
            ),
            magic_only(
                "b",
                nargs="?",
                default=None,
                metavar="B",
                help="the newer state (default: the current state of the kernel)",
            ),
            cli_only("a", metavar="A", help="the older snapshot"),
            cli_only(
                "b", nargs="?", default="HEAD", metavar="B", help="the newer one (default HEAD)"
            ),
            magic_only(
                "--exclude",
                action="extend",
                nargs="+",
                default=[],
                metavar="NAME",
                help="leave these names or patterns (tmp_*) out of the diff",
            ),
            magic_only(
                "--on",
                nargs="+",
                metavar=("X", "Y"),
                help="run the models of both sides on the kernel's X (and score them on Y)",
            ),
        ),
    ),
    Command(
        "compare",
        "several snapshots side by side",
        "One column per snapshot: metrics, then the variables whose content "
        "differs among them, with their summaries and the model hyperparameters that "
        "differ. Loads no variable.",
        (
            STORE,
            JSON,
            NOTEBOOK,
            arg("refs", nargs="+", metavar="REF", help="two or more snapshots"),
        ),
    ),
    Command(
        "checkout",
        "make the variables those of a snapshot",
        "Restore a snapshot's variables and remove those created since. If the "
        "current state differs from HEAD it is committed first, so nothing is lost. With "
        "names, restore only those variables and leave the rest as they are.",
        (
            arg("ref", help="id, prefix, HEAD~N, branch or tag"),
            arg(
                "names", nargs="*", default=[], metavar="NAME", help="restore only these variables"
            ),
            arg("--no-save", action="store_true", help="do not commit the current state first"),
            arg(
                "--drop-skipped",
                action="store_true",
                help="remove the variables the snapshot could not save (open files, generators,"
                " ...) instead of keeping today's values",
            ),
        ),
        faces=frozenset({MAGIC}),
    ),
    Command(
        "branch",
        "list branches, or start one",
        "Without NAME, list the branches. With NAME, start a branch at REF (default HEAD).",
        (
            arg("name", nargs="?", help="name of the new branch"),
            arg("ref", nargs="?", default="HEAD", help="where it starts (default HEAD)"),
        ),
        faces=frozenset({MAGIC}),
    ),
    Command("branches", "list branches", args=(STORE, JSON, NOTEBOOK), faces=frozenset({CLI})),
    Command(
        "merge",
        "bring another branch's variables and notebook into the current state",
        "Merge BRANCH (or any snapshot) into the current state, variable by variable "
        "against the snapshot both come from: a variable changed on one side only takes "
        "that side's value; changed on both sides differently it is a conflict, and "
        "nothing changes until each conflict is given a side. The notebook is merged by "
        "nbdime, conflicting cells marked. The current state is committed first if it "
        "differs from HEAD; the merge is a snapshot with two parents.",
        (
            arg("ref", metavar="BRANCH", help="branch, tag or snapshot to merge in"),
            arg("--ours", action="store_true", help="every conflict keeps the current value"),
            arg("--theirs", action="store_true", help="every conflict takes BRANCH's value"),
            arg(
                "--take",
                action="extend",
                nargs="+",
                default=[],
                metavar="NAME=SIDE",
                help="decide one conflict: --take model=theirs X=ours",
            ),
            arg("-m", "--message", default=None, help="the merge snapshot's message"),
            arg(
                "--preview",
                action="store_true",
                help="only say what would come from where, and the conflicts",
            ),
        ),
        faces=frozenset({MAGIC}),
    ),
    Command(
        "bisect",
        "find the first snapshot where a test fails",
        "Between GOOD and BAD (along the first parents), the first snapshot where the "
        "test fails, by binary search. --metric decides from the recorded metrics, "
        "loading nothing; --test evaluates a Python expression on the variables it names, "
        "loaded from each snapshot visited into a scratch namespace (the kernel's "
        "variables are not touched).",
        (
            STORE,
            JSON,
            NOTEBOOK,
            arg("good", help="a snapshot where the result was right"),
            arg("bad", nargs="?", default="HEAD", help="one where it is wrong (default HEAD)"),
            arg("--test", metavar="EXPR", help='e.g. "model.score(X_test, y_test) >= 0.9"'),
            arg("--metric", metavar="COND", help='e.g. "acc >= 0.9"'),
        ),
    ),
    Command(
        "tag",
        "name a snapshot",
        "Name a snapshot (default HEAD).",
        (
            arg("name", help="the tag, e.g. best"),
            arg("ref", nargs="?", default="HEAD", help="the snapshot (default HEAD)"),
        ),
        faces=frozenset({MAGIC}),
    ),
    Command("tags", "list tags", args=(STORE, JSON), faces=frozenset({CLI})),
    Command(
        "trust",
        "accept snapshots made elsewhere",
        "Trust a snapshot that was not made with this user's key (default: every "
        "snapshot in the store), so that it can be checked out and loaded.",
        (
            STORE,
            JSON,
            NOTEBOOK,
            arg("ref", nargs="?", default=None, help="the snapshot (default: all)"),
            arg(
                "--key",
                metavar="FILE_OR_LINE",
                help="trust every snapshot signed with this teammate's public key (the line "
                "`key show` prints, or a file holding it), now and when pulled",
            ),
            arg("--name", help="a name for the key (default: the name its line carries)"),
            arg(
                "--revoke-key",
                metavar="FINGERPRINT",
                help="stop trusting a teammate's key (its fingerprint or name): what it signed "
                "is untrusted again, unless trusted one by one",
            ),
        ),
    ),
    Command(
        "key",
        "your public key, and the keys you trust",
        "show: your public key's fingerprint and the one line to give teammates (they run "
        "trust --key LINE). list: the teammates' keys you trust, with their fingerprints.",
        (STORE, JSON, arg("action", nargs="?", choices=["show", "list"], default="show")),
    ),
    Command(
        "browse",
        "an interactive browser of the snapshots",
        "Browse this notebook's snapshots, their variables and metrics; restore "
        "all or some variables; compare a snapshot with the current state.",
        faces=frozenset({MAGIC}),
    ),
    Command(
        "auto",
        "commit automatically after every cell that changed the state",
        "With on, every cell that changes a variable is followed by an automatic "
        "snapshot (its message: the cell's first line), so the history is complete without "
        "effort. Only the variables the cell's code reaches are serialized again. Without "
        "an argument, says whether it is on.",
        (arg("state", nargs="?", choices=["on", "off"], help="on or off"),),
        faces=frozenset({MAGIC}),
    ),
    Command(
        "remote",
        "list, add or remove remotes (object storage to share snapshots)",
        "Remotes are fsspec URLs: s3://bucket/prefix (S3, MinIO with "
        "--endpoint-url), gs://, az://, or a folder. Credentials come from the usual "
        "environment variables or profile, never from the store.",
        (
            STORE,
            JSON,
            arg(
                "action",
                nargs="?",
                choices=["list", "add", "remove", "gc", "fsck"],
                default="list",
                help="gc: remove the objects no pushed snapshot names; fsck: check the remote",
            ),
            arg("name", nargs="?"),
            arg("url", nargs="?", help="s3://bucket/prefix, gs://..., az://..., or a folder"),
            arg("--endpoint-url", help="S3-compatible server, e.g. http://minio:9000"),
            arg("--profile", help="AWS profile to use"),
            arg("--dry-run", action="store_true", help="gc: only say what would be removed"),
            arg(
                "--grace",
                type=float,
                default=3600.0,
                help="gc: spare objects younger than this (seconds; default 3600)",
            ),
            arg(
                "--download",
                action="store_true",
                help="fsck: also read every object and check its hash",
            ),
            cli_only(
                "-o --option",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="a storage option for fsspec/s3fs (JSON values allowed)",
            ),
        ),
    ),
    _transfer(
        "push",
        "upload",
        arg("--tags", action="store_true", help="also every tag, and the snapshot it names"),
    ),
    _transfer("pull", "download"),
    Command(
        "mlflow",
        "export a snapshot to MLflow as a run",
        "One snapshot becomes one MLflow run: metrics, scalar variables and model "
        "hyperparameters as params, the notebook as an artifact, each model logged with its "
        "flavor (scikit-learn, PyTorch), optionally registered. A snapshot exported before "
        "is not exported again. Needs pip install 'jupyter_mlvc[mlflow]'.",
        (
            STORE,
            JSON,
            NOTEBOOK,
            REF_OR_HEAD,
            arg("--experiment", help="the experiment (default: MLflow's default)"),
            arg("--register", metavar="NAME", help="register the model under NAME"),
            arg(
                "--tracking-uri",
                help="the tracking server (default: MLFLOW_TRACKING_URI or MLflow's default)",
            ),
        ),
    ),
    Command(
        "export",
        "write a variable (a model) to a file",
        args=(
            STORE,
            JSON,
            NOTEBOOK,
            arg("ref"),
            arg("name"),
            arg("-o", "--output", required=True, help="file: .pkl, .joblib, .pt or .safetensors"),
        ),
        faces=frozenset({CLI}),
    ),
    Command(
        "fsck",
        "verify every object; exit 1 if anything is damaged",
        args=(
            STORE,
            JSON,
            arg(
                "--rebuild-index",
                action="store_true",
                help="recover a lost or damaged index from the manifests",
            ),
        ),
        faces=frozenset({CLI}),
    ),
    Command(
        "gc",
        "remove objects no snapshot uses",
        args=(
            STORE,
            JSON,
            arg("--dry-run", action="store_true", help="only say how much would be freed"),
            arg(
                "--grace",
                type=float,
                default=3600.0,
                help="spare objects younger than this (seconds)",
            ),
        ),
        faces=frozenset({CLI}),
    ),
    Command("init", "create a store in the folder", args=(STORE, JSON), faces=frozenset({CLI})),
    Command(
        "help",
        "this help",
        "Show the usage of %mlvc or of one command.",
        faces=frozenset({MAGIC}),
    ),
)


def commands_for(face: str) -> list[Command]:
    """The commands ``face`` offers, in the table's order."""
    return [c for c in COMMANDS if face in c.faces]


def names_for(face: str) -> tuple[str, ...]:
    return tuple(c.name for c in commands_for(face))


@dataclass
class Parser:
    """One face's parser, and the parser of each of its commands (for ``help COMMAND``)."""

    root: argparse.ArgumentParser
    commands: dict[str, argparse.ArgumentParser]
    face: str

    def parse_args(self, argv: list[str] | None = None) -> argparse.Namespace:
        words = sys.argv[1:] if argv is None else argv
        return self.root.parse_args(attach_signed_values(words, self.face))

    def command_help(self, name: str) -> str:
        return self.commands[name].format_help()


def build_parser(
    face: str,
    *,
    prog: str,
    description: str,
    parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
    add_help: bool = True,
    required: bool = False,
) -> Parser:
    """The argparse parser of ``face`` (``magic`` or ``cli``), built from :data:`COMMANDS`.

    ``parser_class`` decides what a mistake does: the magic's raises a
    ``UsageError``, the command line's prints the usage and exits with 2.
    """
    root = parser_class(prog=prog, description=description, add_help=add_help)
    sub = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    sub.required = required
    parsers: dict[str, argparse.ArgumentParser] = {}
    for command in commands_for(face):
        p = sub.add_parser(command.name, help=command.help, description=command.description or None)
        _add_arguments(p, command.args_for(face))
        if command.name == "help":
            topics = [n for n in names_for(face) if n != "help"]
            p.add_argument("topic", nargs="?", choices=topics, metavar="COMMAND")
        parsers[command.name] = p
    return Parser(root, parsers, face)


def _add_arguments(parser: argparse.ArgumentParser, args: Iterable[Arg]) -> None:
    for a in args:
        parser.add_argument(*a.flags, **a.options)


def signed_options(face: str) -> frozenset[str]:
    """The options of ``face`` whose value may start with "-"."""
    return frozenset(
        flag
        for command in commands_for(face)
        for a in command.args_for(face)
        if a.signed
        for flag in a.flags
    )


def attach_signed_values(argv: list[str], face: str = MAGIC) -> list[str]:
    """``["--sort", "-loss"]`` -> ``["--sort=-loss"]``, so argparse takes it as a value."""
    signed = signed_options(face)
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in signed and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            nxt = argv[i + 1]
            # "--sort --all" is a missing value, not a value.
            if not nxt.startswith("--") and len(nxt) > 1:
                out.append(f"{word}={nxt}")
                i += 2
                continue
        out.append(word)
        i += 1
    return out
