"""A merge: another snapshot's state brought into the namespace, against their merge base.

Variables merge three-way by content hash, as files do in git:

- changed (added, removed) on one side only: that side's result;
- changed on both sides to the same content: that;
- changed on both sides differently: a conflict, which ``resolve`` (per variable) or
  ``strategy`` (all of them) decides, or nothing changes.

"Ours" is the namespace as it is (uncommitted changes included), "theirs" the
snapshot ``ref`` names, the base their lowest common ancestor (``refs.merge_bases``).
Variables that share objects (a unit in either snapshot, or in the namespace) merge
as one: a conflict on one is a conflict on all of them, and a side is taken whole.
The notebook merges with nbdime's three-way merge; conflicting cells carry nbdime's
inline markers.

The write order: everything is decided and theirs' values are loaded first, with
nothing changed; then the current state is saved when it differs from HEAD, the
namespace takes the merged values, and a snapshot with two parents (HEAD, theirs) is
committed. A failed commit puts the namespace back as it was.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, MergeConflict, RestoreError, UnknownRef
from ..snapshot import Snapshot, VariableInfo
from ..state import capture as capture_mod
from ..store import catalog, refs
from ..store.objects import MAX_NOTEBOOK
from .commit import commit_captured, hashes, notebook_bytes
from .restore import redo_imports, save_first, values

if TYPE_CHECKING:
    from ..repo import Repo

SIDES = ("ours", "theirs")


@dataclass
class Conflict:
    """Variables changed differently on both sides (several when they share objects)."""

    names: list[str]
    #: One line each: what the variable was at the base and is on each side (None: absent).
    base: str | None
    ours: str | None
    theirs: str | None
    #: How each side changed it since the base: "added", "changed" or "removed".
    ours_change: str
    theirs_change: str
    resolution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        names = ", ".join(self.names)
        return f"{names} ({self.ours_change} here, {self.theirs_change} in theirs)"


@dataclass
class MergeResult:
    """What a merge did (or, for a preview, would do)."""

    ours: str
    theirs: str
    base: str | None
    preview: bool = False
    #: ``theirs`` is already in the history of ours: nothing to merge.
    up_to_date: bool = False
    #: Variables that come from theirs (changed or added there only, or resolved so).
    from_theirs: list[str] = field(default_factory=list)
    #: Variables removed because theirs removed them (or a resolution said so).
    removed: list[str] = field(default_factory=list)
    #: Variables changed here only (or resolved to ours): they stay as they are.
    kept_ours: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    #: The merged notebook (nbformat JSON) and how many of nbdime's decisions conflict.
    notebook: dict[str, Any] | None = None
    notebook_conflicts: int = 0
    snapshot: Snapshot | None = None
    saved: Snapshot | None = None
    seconds: float = 0.0
    #: Imports (``np``, ``Lasso``) whose binding came from theirs.
    imports: list[str] = field(default_factory=list)
    #: The snapshots of ``ours``, ``theirs`` and ``base`` (what the faces show of them).
    sides: dict[str, Snapshot] = field(default_factory=dict)
    #: How the user named each side: the ref given, the branch merged into.
    theirs_name: str = ""
    ours_name: str = ""

    @property
    def unresolved(self) -> list[str]:
        return sorted(n for c in self.conflicts if c.resolution is None for n in c.names)

    def label(self) -> str:
        """Theirs as the user named it: ``feature (8ef2b3b8)``, or the short id."""
        name, sid = self.theirs_name, self.theirs
        return f"{name} ({sid[:8]})" if name and not sid.startswith(name) else sid[:8]

    def summary_line(self) -> str:
        theirs = self.label()
        ours = self.ours_name or self.ours[:8]
        if self.up_to_date:
            return f"Already up to date: {theirs} is in the history of {ours}"
        parts = [f"{len(self.from_theirs)} from theirs", f"{len(self.removed)} removed"]
        resolved = [c for c in self.conflicts if c.resolution]
        if resolved:
            parts.append(f"{len(resolved)} conflicts resolved")
        if self.unresolved:
            parts.append(f"{len(self.unresolved)} in conflict: {', '.join(self.unresolved)}")
        if self.notebook_conflicts:
            parts.append(f"{self.notebook_conflicts} notebook conflicts marked in cells")
        if self.preview:
            return f"Merging {theirs} into {ours} would take " + ", ".join(parts)
        made = self.snapshot.short_id if self.snapshot else "?"
        return f"Merged {theirs} into {ours} as {made}: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ours": self.ours,
            "theirs": self.theirs,
            "base": self.base,
            "preview": self.preview,
            "up_to_date": self.up_to_date,
            "from_theirs": list(self.from_theirs),
            "removed": list(self.removed),
            "kept_ours": list(self.kept_ours),
            "imports": list(self.imports),
            "conflicts": [c.to_dict() for c in self.conflicts],
            "unresolved": self.unresolved,
            "notebook": {"merged": self.notebook, "conflicts": self.notebook_conflicts},
            "snapshot": None if self.snapshot is None else self.snapshot.id,
            "saved": None if self.saved is None else self.saved.id,
            "seconds": self.seconds,
            "summary": self.summary_line(),
        }


# -- merge base ------------------------------------------------------------------------


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    """The lowest common ancestor of snapshots ``a`` and ``b`` (full ids); the newest
    when criss-cross merges left several; None when they share no history."""
    found = refs.merge_bases(repo.index.conn, a, b)
    return found[0] if found else None


# -- the plan --------------------------------------------------------------------------


@dataclass
class _Side:
    """One side of the merge: its variables' hashes, one-line descriptions and units."""

    hashes: dict[str, str]
    texts: dict[str, str]
    units: list[list[str]]
    modules: dict[str, str]
    imports: dict[str, str]


def _snapshot_side(repo: Repo, sid: str | None) -> _Side:
    if sid is None:
        return _Side({}, {}, [], {}, {})
    manifest = repo.manifest(sid)
    variables = manifest["variables"]
    return _Side(
        {n: e["hash"] for n, e in variables.items()},
        {n: _text(e["type"], e["summary"], e["nbytes"]) for n, e in variables.items()},
        [list(u["names"]) for u in manifest["units"]],
        dict(manifest.get("modules", {})),
        dict(manifest.get("imports", {})),
    )


def _namespace_side(captured: capture_mod.Captured, current: dict[str, str]) -> _Side:
    return _Side(
        current,
        {n: _text(v.type, v.summary, v.nbytes) for n, v in captured.variables.items()},
        [list(u.names) for u in captured.units],
        dict(captured.modules),
        dict(captured.imports),
    )


def _text(type_: str, summary: dict[str, Any], nbytes: int) -> str:
    """``DataFrame 5000 rows x 4 cols``, ``ndarray float64 1000x3``, ``str 'base'``."""
    if any(key in summary for key in ("rows", "shape")) or not summary.get("repr"):
        text = VariableInfo(name="", type=type_, summary=summary, nbytes=nbytes).text
    else:
        text = str(summary["repr"])
    # A repr that names its class says the type already: LogisticRegression(C=0.5).
    if text.startswith(type_.rsplit(".", 1)[-1] + "("):
        return text
    return f"{type_} {text}".strip()


def _change(base: str | None, side: str | None) -> str:
    if base is None:
        return "added"
    return "removed" if side is None else "changed"


def _groups(names: Iterable[str], *unit_lists: list[list[str]]) -> list[list[str]]:
    """``names`` grouped so that variables sharing a unit on any side are together."""
    parent: dict[str, str] = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for units in unit_lists:
        for unit in units:
            members = [n for n in unit if n in parent]
            for other in members[1:]:
                parent[root(other)] = root(members[0])
    groups: dict[str, list[str]] = {}
    for n in sorted(parent):
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def check_choices(strategy: str | None, resolve: Mapping[str, str] | None) -> dict[str, str]:
    """``resolve`` validated: variable names to "ours" or "theirs"."""
    if strategy is not None and strategy not in SIDES:
        raise BadInput(f"strategy must be 'ours' or 'theirs', not {strategy!r}")
    if resolve is None:
        return {}
    if not isinstance(resolve, Mapping):
        raise BadInput("resolve maps variable names to 'ours' or 'theirs'")
    out: dict[str, str] = {}
    for name, side in resolve.items():
        if not capture_mod.is_variable_name(name):
            raise BadInput(f"{name!r} is not a variable name")
        if side not in SIDES:
            raise BadInput(f"resolve {name}= must be 'ours' or 'theirs', not {side!r}")
        out[name] = side
    return out


def plan(
    ours: _Side,
    theirs: _Side,
    base: _Side,
    strategy: str | None,
    resolve: dict[str, str],
    skipped: Iterable[str] = (),
) -> tuple[list[str], list[str], list[str], list[Conflict]]:
    """``(take from theirs, remove, kept ours, conflicts)`` for the three sides' hashes.

    Names skipped at commit on our side (open files, generators) are left alone.
    """
    skipped = set(skipped)
    names = (set(ours.hashes) | set(theirs.hashes) | set(base.hashes)) - skipped
    take: list[str] = []
    remove: list[str] = []
    kept: list[str] = []
    conflicts: list[Conflict] = []
    for group in _groups(names, ours.units, theirs.units, base.units):
        verdicts = {}
        for n in group:
            b, o, t = base.hashes.get(n), ours.hashes.get(n), theirs.hashes.get(n)
            if o == t:
                verdicts[n] = "same"
            elif b == o:
                verdicts[n] = "theirs"
            elif b == t:
                verdicts[n] = "ours"
            else:
                verdicts[n] = "conflict"
        kinds = set(verdicts.values())
        side: str | None
        in_conflict = "conflict" in kinds or {"ours", "theirs"} <= kinds
        if in_conflict:
            conflict = _conflict(group, verdicts, ours, theirs, base)
            conflict.resolution = _resolution(group, strategy, resolve)
            conflicts.append(conflict)
            side = conflict.resolution
        elif "theirs" in kinds:
            side = "theirs"
        elif "ours" in kinds:
            side = "ours"
        else:
            continue
        if side == "theirs":
            take.extend(n for n in group if n in theirs.hashes)
            remove.extend(n for n in group if n not in theirs.hashes and n in ours.hashes)
        elif side == "ours" and not in_conflict:
            kept.extend(n for n in group if verdicts[n] != "same")
    return sorted(take), sorted(remove), sorted(kept), conflicts


def _conflict(
    group: list[str], verdicts: dict[str, str], ours: _Side, theirs: _Side, base: _Side
) -> Conflict:
    # The row shows the variable that conflicts (the first one, when a unit does).
    shown = next((n for n in group if verdicts[n] == "conflict"), group[0])

    def text(side: _Side) -> str | None:
        return side.texts.get(shown) if shown in side.hashes else None

    b = base.hashes.get(shown)
    return Conflict(
        names=list(group),
        base=text(base),
        ours=text(ours),
        theirs=text(theirs),
        ours_change=_change(b, ours.hashes.get(shown)),
        theirs_change=_change(b, theirs.hashes.get(shown)),
    )


def _resolution(group: list[str], strategy: str | None, resolve: dict[str, str]) -> str | None:
    chosen = {resolve[n] for n in group if n in resolve}
    if len(chosen) > 1:
        raise BadInput(
            f"{', '.join(group)} share objects and merge as one: resolve them to the same side"
        )
    return chosen.pop() if chosen else strategy


def _imports(
    ours: _Side, theirs: _Side, base: _Side
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The modules and imported names theirs changed and ours did not, and the aliases
    theirs removed: ``(modules, imports, removed aliases)``."""
    modules: dict[str, str] = {}
    imports: dict[str, str] = {}
    gone: list[str] = []
    for kind, out in (("modules", modules), ("imports", imports)):
        b, o, t = getattr(base, kind), getattr(ours, kind), getattr(theirs, kind)
        for alias in set(b) | set(o) | set(t):
            if o.get(alias) == b.get(alias) and t.get(alias) != b.get(alias):
                if alias in t:
                    out[alias] = t[alias]
                elif alias in o:
                    gone.append(alias)
    return modules, imports, sorted(gone)


# -- the notebook ----------------------------------------------------------------------


def merge_notebooks(
    base: dict[str, Any] | None, ours: dict[str, Any] | None, theirs: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, int]:
    """nbdime's three-way merge: ``(merged notebook, conflicting decisions)``. A side
    without a notebook takes the other's; no base merges against an empty notebook."""
    import nbformat
    from nbdime.merging import merge_notebooks as nbdime_merge

    if ours is None or theirs is None:
        return (ours if ours is not None else theirs), 0
    if base is None:
        base = nbformat.v4.new_notebook()
    # Read as nbformat reads a file: sources split in lines (as saved) are joined.
    sides = [nbformat.reads(json.dumps(nb), as_version=4) for nb in (base, ours, theirs)]
    quiet = logging.getLogger("nbdime")
    level = quiet.level
    # nbdime logs each cell-id difference it leaves to its strategies; the count says it.
    quiet.setLevel(logging.ERROR)
    try:
        merged, _ = nbdime_merge(*sides)
    finally:
        quiet.setLevel(level)
    merged = json.loads(json.dumps(merged))
    return merged, marked_cells(merged)


def marked_cells(notebook: dict[str, Any]) -> int:
    """How many cells of a merged notebook carry nbdime's conflict marks: inline
    ``<<<<<<< local`` sources, or conflicts recorded in their metadata."""
    count = 0
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if "<<<<<<< local" in source or "nbdime-conflicts" in cell.get("metadata", {}):
            count += 1
    return count + ("nbdime-conflicts" in notebook.get("metadata", {}))


def _stored_notebook(repo: Repo, sid: str | None) -> dict[str, Any] | None:
    if sid is None:
        return None
    oid = catalog.snapshot_row(repo.index.conn, sid)["notebook_object"]
    if not oid:
        return None
    return json.loads(repo.objects.get(oid, f"the notebook of snapshot {sid[:8]}", MAX_NOTEBOOK))


def _as_dict(notebook: Any) -> dict[str, Any] | None:
    data = notebook_bytes(notebook)
    return None if data is None else json.loads(data)


# -- the merge -------------------------------------------------------------------------


def merge(
    repo: Repo,
    theirs: str,
    namespace: dict[str, Any],
    *,
    nb: str,
    strategy: str | None = None,
    resolve: Mapping[str, str] | None = None,
    message: str | None = None,
    notebook: Any = None,
    notebook_source: str | None = None,
    exclude: Iterable[str] = (),
    preview: bool = False,
    ref: str | None = None,
) -> MergeResult:
    """``Repo.merge``: merge snapshot ``theirs`` (a full id) into notebook ``nb``'s HEAD
    state held in ``namespace``. See the module docstring."""
    started = time.perf_counter()
    if not isinstance(namespace, dict):
        raise BadInput("the namespace must be a dict (for example globals())")
    choices = check_choices(strategy, resolve)
    exclude = list(exclude)
    head = refs.head_id(repo.index.conn, nb)
    if head is None:
        raise UnknownRef("no snapshot of this notebook yet: commit before merging")
    names = {"theirs_name": ref or "", "ours_name": _branch(repo, nb)}
    if refs.is_ancestor(repo.index.conn, theirs, head):
        result = MergeResult(
            head,
            theirs,
            theirs,
            preview=preview,
            up_to_date=True,
            theirs_name=names["theirs_name"],
            ours_name=names["ours_name"],
        )
        result.sides = {"ours": repo.show(head), "theirs": repo.show(theirs)}
        return result
    result, changes = decide(repo, head, theirs, namespace, strategy, choices, exclude, notebook)
    result.preview = preview
    result.theirs_name, result.ours_name = names["theirs_name"], names["ours_name"]
    if not preview:
        if result.unresolved:
            lines = "; ".join(c.describe() for c in result.conflicts if c.resolution is None)
            into = result.ours_name or head[:8]
            raise MergeConflict(
                f"merging {result.label()} into {into} conflicts on {lines}. Nothing was "
                "changed: choose a side with --take NAME=ours|theirs, or --ours / --theirs "
                "for all",
                result,
            )
        text = message or _message(repo, ref or theirs[:8], theirs, nb)
        carry_out(repo, result, changes, namespace, nb, exclude, notebook, notebook_source, text)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@dataclass
class _Imports:
    """The modules and imported names to bind from theirs, and the aliases to drop."""

    modules: dict[str, str]
    imports: dict[str, str]
    gone: list[str]


def decide(
    repo: Repo,
    head: str,
    theirs: str,
    namespace: dict[str, Any],
    strategy: str | None,
    choices: dict[str, str],
    exclude: list[str],
    notebook: Any,
) -> tuple[MergeResult, _Imports]:
    """The merge's plan, the notebook merged, nothing written."""
    base_id = merge_base(repo, head, theirs)
    captured = capture_mod.capture(namespace, exclude=exclude)
    ours_side = _namespace_side(captured, hashes(captured))
    theirs_side = _snapshot_side(repo, theirs)
    base_side = _snapshot_side(repo, base_id)
    take, remove, kept, conflicts = plan(
        ours_side, theirs_side, base_side, strategy, choices, captured.skipped
    )
    changes = _Imports(*_imports(ours_side, theirs_side, base_side))
    ours_nb = _as_dict(notebook) if notebook is not None else _stored_notebook(repo, head)
    merged_nb, nb_conflicts = merge_notebooks(
        _stored_notebook(repo, base_id), ours_nb, _stored_notebook(repo, theirs)
    )
    result = MergeResult(
        head,
        theirs,
        base_id,
        from_theirs=take,
        removed=remove,
        kept_ours=kept,
        conflicts=conflicts,
        notebook=merged_nb,
        notebook_conflicts=nb_conflicts,
        imports=sorted([*changes.modules, *changes.imports, *changes.gone]),
    )
    result.sides = {"ours": repo.show(head), "theirs": repo.show(theirs)}
    if base_id is not None:
        result.sides["base"] = repo.show(base_id)
    return result, changes


def carry_out(
    repo: Repo,
    result: MergeResult,
    changes: _Imports,
    namespace: dict[str, Any],
    nb: str,
    exclude: list[str],
    notebook: Any,
    notebook_source: str | None,
    message: str,
) -> None:
    """Load theirs' values, save the current state, apply, commit the merge snapshot.
    A failure before the commit leaves the namespace as it was."""
    theirs = result.theirs
    # Theirs' values are loaded before anything changes (only a trusted snapshot is).
    repo.require_trusted(theirs)
    loaded: dict[str, Any] = {}
    if result.from_theirs:
        loaded, _, errors, _ = values(repo, theirs, result.from_theirs, None, namespace)
        if errors:
            raise _load_failed(theirs, errors)
    result.saved, _ = save_first(
        repo, f"merge of {theirs[:8]}", namespace, nb, exclude, notebook, notebook_source
    )
    touched = [*loaded, *result.removed, *changes.modules, *changes.imports, *changes.gone]
    before = {n: namespace[n] for n in touched if n in namespace}
    try:
        for n in [*result.removed, *changes.gone]:
            namespace.pop(n, None)
        redo_imports(namespace, {"modules": changes.modules, "imports": changes.imports})
        namespace.update(loaded)
        result.snapshot = commit_captured(
            repo,
            capture_mod.capture(namespace, exclude=exclude),
            message,
            nb,
            notebook_bytes(result.notebook),
            {},
            notebook_source="merge" if result.notebook is not None else None,
            merged=theirs,
        )
    except BaseException:
        for n in touched:
            namespace.pop(n, None)
        namespace.update(before)
        raise
    result.ours = result.snapshot.parents[0]


def _branch(repo: Repo, nb: str) -> str:
    """The branch HEAD is on ("" when detached)."""
    state = refs.head(repo.index.conn, nb)
    return (state[0] if state and state[0] else None) or ""


def _message(repo: Repo, ref: str, theirs: str, nb: str) -> str:
    name = ref if ref != theirs else theirs[:8]
    return f"Merge {name} ({theirs[:8]}) into {_branch(repo, nb) or 'HEAD'}"


def _load_failed(sid: str, errors: dict[str, str]) -> Exception:
    first = next(iter(errors.values()))
    names = ", ".join(repr(n) for n in errors)
    return RestoreError(
        f"nothing was merged: snapshot {sid[:8]} could not give {names}: {first}", {}, errors
    )
