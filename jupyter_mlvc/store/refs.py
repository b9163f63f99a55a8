"""How users name snapshots (ids and prefixes, HEAD, HEAD~N, branches and tags), and the
refs themselves: each notebook's HEAD, its branches, and the store's tags."""

from __future__ import annotations

import re
import sqlite3

from ..errors import AmbiguousRef, BadName, UnknownRef

MIN_PREFIX = 4
DEFAULT_BRANCH = "main"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,99}$")
_SUFFIX = re.compile(r"(~\d*|\^)$")
_HEX = re.compile(r"^[0-9a-f]+$")


def split_ref(ref: str) -> tuple[str, int]:
    """``"main~2"`` -> ``("main", 2)``; ``"HEAD^"`` -> ``("HEAD", 1)``."""
    if not isinstance(ref, str) or not ref.strip():
        raise UnknownRef("a ref is needed: a snapshot id, HEAD, HEAD~N, a branch or a tag")
    base = ref.strip()
    steps = 0
    while True:
        m = _SUFFIX.search(base)
        if not m or m.start() == 0:
            break
        token = m.group(1)
        steps += 1 if token in ("~", "^") else int(token[1:])
        base = base[: m.start()]
    return base, steps


def is_id_prefix(text: str) -> bool:
    return len(text) >= MIN_PREFIX and bool(_HEX.match(text.lower()))


def check_name(name: str, kind: str) -> str:
    """A valid branch or tag name, or ``BadName`` saying why not."""
    # fullmatch: with match, "$" would let a name end in a newline.
    if (
        not isinstance(name, str)
        or not _NAME.fullmatch(name)
        or name.upper() == "HEAD"
        or ".." in name
    ):
        raise BadName(
            f"{name!r} is not a valid {kind} name: use letters, digits, '_', '-', '.', '/' "
            "(not HEAD, up to 100 characters)"
        )
    return name


# -- refs in the index: HEAD, branches and tags ------------------------------------------
#
# Each function takes a sqlite3 connection: ``Index.conn`` to read, or the connection
# of an ``Index.write()`` transaction, so that a commit, a pull or a checkout moves
# refs in the same transaction as the rows they point to. This module owns the
# ``heads`` and ``refs`` tables; nothing else writes them.


def head(db: sqlite3.Connection, nb: str) -> tuple[str | None, str | None, str | None] | None:
    """``(branch, snapshot, from_branch)`` of a notebook's HEAD, or None before its
    first commit. ``branch`` is None when HEAD is detached at ``snapshot``."""
    row = db.execute(
        "select branch, snapshot, from_branch from heads where notebook = ?", [nb]
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def head_id(db: sqlite3.Connection, nb: str) -> str | None:
    """The snapshot a notebook's HEAD names, or None."""
    state = head(db, nb)
    if state is None:
        return None
    branch, snapshot, _ = state
    return branch_target(db, nb, branch) if branch else snapshot


def set_head(
    db: sqlite3.Connection,
    nb: str,
    *,
    branch: str | None = None,
    snapshot: str | None = None,
    from_branch: str | None = None,
) -> None:
    """Point HEAD at ``branch``, or detach it at ``snapshot`` (remembering ``from_branch``)."""
    db.execute(
        "insert or replace into heads (notebook, branch, snapshot, from_branch) values (?, ?, ?, ?)",
        [nb, branch, snapshot, from_branch],
    )


def retarget(db: sqlite3.Connection, sid: str, parent: str | None) -> None:
    """Branches, tags and detached HEADs at ``sid`` move to ``parent`` (a snapshot that
    is gone: ``recovery``); with no parent, branches and tags there are removed, and a
    HEAD detached there with them."""
    if parent is None:
        db.execute("delete from refs where target = ?", [sid])
        db.execute("delete from heads where snapshot = ? and branch is null", [sid])
    else:
        db.execute("update refs set target = ? where target = ?", [parent, sid])
        db.execute("update heads set snapshot = ? where snapshot = ?", [parent, sid])
    # A HEAD on a branch that is gone now has nothing to follow.
    db.execute(
        "delete from heads where branch is not null and not exists (select 1 from refs "
        "where refs.notebook = heads.notebook and refs.kind = 'branch' and refs.name = heads.branch)"
    )


def has_head(db: sqlite3.Connection, nb: str) -> bool:
    return db.execute("select 1 from heads where notebook = ?", [nb]).fetchone() is not None


def branch_target(db: sqlite3.Connection, nb: str, name: str) -> str | None:
    row = db.execute(
        "select target from refs where notebook = ? and kind = 'branch' and name = ?", [nb, name]
    ).fetchone()
    return row[0] if row else None


def tag_target(db: sqlite3.Connection, name: str) -> str | None:
    row = db.execute(
        "select target from refs where notebook = '' and kind = 'tag' and name = ?", [name]
    ).fetchone()
    return row[0] if row else None


def branches(db: sqlite3.Connection, nb: str) -> dict[str, str]:
    rows = db.execute(
        "select name, target from refs where notebook = ? and kind = 'branch' order by name", [nb]
    ).fetchall()
    return {name: target for name, target in rows}


def branches_at(db: sqlite3.Connection, nb: str, sid: str) -> list[str]:
    """The branches of ``nb`` whose tip is ``sid``, by name."""
    rows = db.execute(
        "select name from refs where notebook = ? and kind = 'branch' and target = ? order by name",
        [nb, sid],
    ).fetchall()
    return [r[0] for r in rows]


def tags(db: sqlite3.Connection) -> dict[str, str]:
    rows = db.execute(
        "select name, target from refs where notebook = '' and kind = 'tag' order by name"
    ).fetchall()
    return {name: target for name, target in rows}


def set_branch(db: sqlite3.Connection, nb: str, name: str, sid: str) -> None:
    """Create branch ``name`` at ``sid``, or move it there."""
    db.execute("insert or replace into refs values (?, 'branch', ?, ?)", [nb, name, sid])


def create_branch(db: sqlite3.Connection, nb: str, name: str, sid: str) -> None:
    check_name(name, "branch")
    if branch_target(db, nb, name) is not None:
        raise BadName(f"branch {name!r} already exists")
    db.execute("insert into refs values (?, 'branch', ?, ?)", [nb, name, sid])


def create_tag(db: sqlite3.Connection, name: str, sid: str) -> None:
    check_name(name, "tag")
    if tag_target(db, name) is not None:
        raise BadName(f"tag {name!r} already exists")
    db.execute("insert into refs values ('', 'tag', ?, ?)", [name, sid])


def set_tag(db: sqlite3.Connection, name: str, sid: str) -> None:
    """Create tag ``name`` at ``sid``, or move it there: only for the tags a pull keeps
    under a remote's name (``origin/best``), which later pulls replace."""
    check_name(name, "tag")
    db.execute("insert or replace into refs values ('', 'tag', ?, ?)", [name, sid])


def first_parent(db: sqlite3.Connection, sid: str) -> str | None:
    row = db.execute(
        "select parent from parents where snapshot = ? and position = 0", [sid]
    ).fetchone()
    return row[0] if row else None


def branch_for_commit(db: sqlite3.Connection, nb: str) -> str:
    """The branch the next commit of ``nb`` goes to: HEAD's; after a checkout of an older
    snapshot (HEAD detached), a new one named after the branch it came from (``main-2``)."""
    state = head(db, nb)
    if state is None:
        return DEFAULT_BRANCH
    branch, _, from_branch = state
    if branch:
        return branch
    base = from_branch or DEFAULT_BRANCH
    taken = set(branches(db, nb))
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def resolve(db: sqlite3.Connection, ref: str, nb: str) -> str:
    """The full id ``ref`` names for notebook ``nb``: an id or unique prefix, HEAD,
    HEAD~N, a branch of ``nb``, a tag, each optionally followed by ``~N``."""
    base, steps = split_ref(ref)
    sid: str | None
    if base.upper() == "HEAD":
        sid = head_id(db, nb)
        if sid is None:
            raise UnknownRef(f"no snapshots yet{' of ' + nb if nb else ''}: HEAD names nothing")
    else:
        sid = branch_target(db, nb, base) or tag_target(db, base)
        if sid is None and is_id_prefix(base):
            prefix = base.lower()
            rows = db.execute(
                "select id from snapshots where id >= ? and id < ? order by id limit 6",
                [prefix, prefix + "g"],
            ).fetchall()
            if len(rows) > 1:
                shown = ", ".join(r[0][:12] for r in rows[:5])
                raise AmbiguousRef(
                    f"{base!r} matches several snapshots ({shown}...): give more characters"
                )
            sid = rows[0][0] if rows else None
        if sid is None:
            raise UnknownRef(f"unknown ref {base!r}: not a snapshot id, branch or tag")
    for i in range(steps):
        parent = first_parent(db, sid)
        if parent is None:
            raise UnknownRef(f"{ref!r} goes back {steps} snapshots, but only {i} come before it")
        sid = parent
    return sid


# -- used by remote sync -------------------------------------------------------------------


def is_ancestor(db: sqlite3.Connection, ancestor: str, sid: str) -> bool:
    """Whether ``ancestor`` is ``sid`` or comes before it, along any parent."""
    seen: set[str] = set()
    stack = [sid]
    while stack:
        cur = stack.pop()
        if cur == ancestor:
            return True
        if cur in seen:
            continue
        seen.add(cur)
        stack.extend(
            r[0] for r in db.execute("select parent from parents where snapshot = ?", [cur])
        )
    return False


def parent_map(db: sqlite3.Connection) -> dict[str, list[str]]:
    """``{snapshot: [parent, ...]}`` of every snapshot with parents, first parent first."""
    out: dict[str, list[str]] = {}
    for sid, parent in db.execute(
        "select snapshot, parent from parents order by snapshot, position"
    ):
        out.setdefault(sid, []).append(parent)
    return out


# -- the DAG: merge bases and first-parent paths -----------------------------------------


def ancestors(parents: dict[str, list[str]], sid: str) -> set[str]:
    """``sid`` and every snapshot before it, along any parent (``parents``: ``parent_map``)."""
    seen: set[str] = set()
    stack = [sid]
    while stack:
        cur = stack.pop()
        if cur not in seen:
            seen.add(cur)
            stack.extend(parents.get(cur, ()))
    return seen


def merge_bases(db: sqlite3.Connection, a: str, b: str) -> list[str]:
    """The lowest common ancestors of ``a`` and ``b``: the common ancestors that come
    before no other common ancestor. One in a plain fork; several after criss-cross
    merges; none for unrelated snapshots. Newest first (then by id)."""
    parents = parent_map(db)
    common = ancestors(parents, a) & ancestors(parents, b)
    # Every snapshot before a common ancestor, in one walk from all their parents.
    below: set[str] = set()
    stack = [p for sid in common for p in parents.get(sid, ())]
    while stack:
        cur = stack.pop()
        if cur not in below:
            below.add(cur)
            stack.extend(parents.get(cur, ()))
    lowest = sorted(common - below)
    if len(lowest) <= 1:
        return lowest
    placeholders = ",".join("?" * len(lowest))
    rows = db.execute(
        f"select id from snapshots where id in ({placeholders}) order by created_at desc, id",
        lowest,
    ).fetchall()
    return [r[0] for r in rows]


def first_parent_path(db: sqlite3.Connection, start: str, end: str) -> list[str] | None:
    """``[start, ..., end]`` along first parents back from ``end``; None when ``start``
    is not on that path."""
    path = [end]
    seen = {end}
    cur = end
    while cur != start:
        parent = first_parent(db, cur)
        if parent is None or parent in seen:
            return None
        path.append(parent)
        seen.add(parent)
        cur = parent
    path.reverse()
    return path
