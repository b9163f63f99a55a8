"""A store on a read-only filesystem: listed, shown and restored from; never called
damaged; writes refused in one line that suggests nothing destructive.

The tests run as root, which file modes do not stop, so the store is put on a real
read-only mount (a tmpfs remounted read-only). Where mounting is not permitted they
are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import DamagedStore, MlvcError, ReadOnlyStore, WriteFailed
from jupyter_mlvc.server import queries
from jupyter_mlvc.store import durability

from .test_trust_keys import make_v2_index

NOTEBOOK = {
    "cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _mount(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture
def ro_mount(tmp_path):
    """An empty tmpfs, and ``freeze()`` to remount it read-only (close every store
    first: a file open for writing keeps the remount from happening)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        done = _mount(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(mnt)])
    except OSError as exc:
        pytest.skip(f"no mount command ({exc}): a read-only store needs a read-only mount")
    if done.returncode != 0:
        pytest.skip(
            f"mounting is not permitted here ({done.stderr.strip()}): a read-only store "
            "needs a read-only mount, since root ignores file modes"
        )

    def freeze() -> None:
        # The commits' background flushes write the index last: let them end first.
        assert durability.FLUSHER.wait(60)
        done = _mount(["mount", "-o", "remount,ro", str(mnt)])
        assert done.returncode == 0, done.stderr
        with pytest.raises(OSError):
            (mnt / "probe").write_text("x")

    try:
        yield mnt, freeze
    finally:
        _mount(["umount", "-l", str(mnt)])


@pytest.fixture
def frozen(ro_mount):
    """A store with two snapshots of ``nb.ipynb`` (the first with its notebook), made
    read-only."""
    root, freeze = ro_mount
    nb = root / "nb.ipynb"
    with Repo.init(root) as repo:
        s1 = repo.commit(
            {"x": np.arange(1000), "msg": "one"}, "one", notebook=NOTEBOOK, notebook_path=nb
        )
        s2 = repo.commit({"x": np.arange(2000), "msg": "two"}, "two", notebook_path=nb)
    freeze()
    return root, nb, s1, s2


def _clean_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    assert "damaged" not in text and "rebuild" not in text
    return text


def test_a_read_only_store_is_listed_shown_and_restored(frozen):
    root, nb, s1, s2 = frozen
    repo = Repo.open(root, notebook_path=nb)
    assert repo.read_only
    snaps, total = repo.list()
    assert total == 2 and [s.message for s in snaps] == ["two", "one"]
    assert all(s.trusted for s in snaps)
    assert repo.show("HEAD").variables["x"].summary["shape"] == [2000]
    assert repo.notebook(s1.id).cells[0].source == "x = 1"
    assert list(repo.log()["message"]) == ["two", "one"]
    assert repo.load(s1.id, "msg") == "one"
    assert repo.fsck() == []
    assert repo.gc(dry_run=True, grace_seconds=0) == 0
    diff = repo.diff(s1.id, s2.id).to_dict()
    assert diff["a"]["id"] == s1.id

    # The namespace holds HEAD's state: nothing to save first, so the restore goes on.
    ns = {"x": np.arange(2000), "msg": "two"}
    report = repo.restore(s1.id, ns)
    assert ns["msg"] == "one" and report.saved is None
    assert "read-only" in report.errors["(HEAD)"]
    assert repo.resolve("HEAD") == s2.id


def test_a_restore_that_cannot_save_the_state_first_changes_nothing(frozen):
    root, nb, s1, _ = frozen
    repo = Repo.open(root, notebook_path=nb)
    ns = {"x": np.arange(5), "msg": "unsaved work", "extra": 42}
    with pytest.raises(ReadOnlyStore) as err:
        repo.restore(s1.id, ns)
    text = _clean_line(err.value)
    assert "read-only" in text and "nothing was changed" in text and "--no-save" in text
    assert ns["msg"] == "unsaved work" and ns["extra"] == 42
    # Asked for explicitly, the restore goes on without the safety snapshot.
    report = repo.restore(s1.id, ns, save=False)
    assert ns["msg"] == "one" and "extra" not in ns and report.saved is None


def test_an_unchanged_state_is_nothing_to_commit_in_a_read_only_store(frozen):
    """``if_changed`` (automatic snapshots) on a read-only store: HEAD's state is None,
    as anywhere; a changed one is refused in one line."""
    root, nb, _, s2 = frozen
    repo = Repo.open(root, notebook_path=nb)
    ns = {"x": np.arange(2000), "msg": "two"}
    assert repo.commit(ns, "same", if_changed=True) is None
    ns["msg"] = "changed"
    with pytest.raises(ReadOnlyStore):
        repo.commit(ns, "changed", if_changed=True)
    assert repo.resolve("HEAD") == s2.id


def test_writes_are_refused_in_one_line(frozen, tmp_path):
    root, nb, s1, _ = frozen
    repo = Repo.open(root, notebook_path=nb)
    attempts = {
        "commit": lambda: repo.commit({"y": 1}, "new"),
        "trust": lambda: repo.trust(s1.id),
        "tag": lambda: repo.tag("best", s1.id),
        "branch": lambda: repo.branch("other", s1.id),
        "gc": lambda: repo.gc(grace_seconds=0),
        "remote add": lambda: repo.remote_add("shared", str(tmp_path / "remote")),
        "rebuild": lambda: Repo(repo.path).rebuild_index(),
    }
    for what, attempt in attempts.items():
        with pytest.raises(WriteFailed) as err:
            attempt()
        text = str(err.value) if what == "rebuild" else _clean_line(err.value)
        assert "\n" not in text and "read-only" in text.lower(), (what, text)
    assert (root / ".mlvc" / "index.sqlite").is_file()
    assert Repo.open(root, notebook_path=nb).list()[1] == 2


def test_the_command_line_reads_a_read_only_store(frozen):
    root, _, s1, _ = frozen

    def mlvc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_mlvc.cli", *args, "-C", str(root)],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )

    for args in (("log",), ("show", s1.id[:8]), ("fsck",)):
        out = mlvc(*args)
        assert out.returncode == 0, (args, out.stderr)
        assert "damaged" not in out.stdout + out.stderr
    assert "store is healthy" in mlvc("fsck").stdout
    out = mlvc("gc")
    assert out.returncode != 0 and "read-only" in out.stderr
    assert "rebuild" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_the_server_reads_a_read_only_store(frozen):
    root, nb, s1, s2 = frozen
    page = queries.snapshots_page(
        nb, root, limit=50, offset=0, search=None, branch=None, include_auto=True
    )
    assert [s["id"] for s in page["snapshots"]] == [s2.id, s1.id]
    assert all(s["trusted"] for s in page["snapshots"])
    assert queries.snapshot_detail(nb, s1.id)["variables"]["msg"]["type"] == "str"


def test_the_magics_refuse_a_checkout_that_would_lose_state(frozen, shell, monkeypatch):
    from IPython.core.error import UsageError

    root, nb, s1, _ = frozen
    monkeypatch.chdir(root)
    shell.run_line_magic("config", f"MLVC.notebook = {str(nb)!r}")
    shell.user_ns.update({"x": np.arange(3), "msg": "unsaved"})
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("mlvc", f"checkout {s1.id[:8]}")
    text = _clean_line(err.value)
    assert "read-only" in text and "--no-save" in text
    assert shell.user_ns["msg"] == "unsaved"
    shell.run_line_magic("mlvc", f"checkout --no-save {s1.id[:8]}")
    assert shell.user_ns["msg"] == "one"


# -- what SQLite finds beside the index ------------------------------------------------------


def _store_with_open_log(root: Path) -> tuple[Path, str]:
    """A store whose last commit is still in the write-ahead log, as a writer that was
    running when the filesystem became read-only leaves it. Returns the saved copies
    of the index files and the commit's id."""
    repo = Repo.init(root)
    repo.commit({"v": 1}, "checkpointed")
    repo.close()
    repo = Repo.open(root)
    snap = repo.commit({"v": 2}, "in the log only")
    assert durability.FLUSHER.wait(60)  # its flush writes the index too
    aside = root.parent / f"{root.name}-aside"
    aside.mkdir()
    for f in (root / ".mlvc").glob("index.sqlite*"):
        shutil.copy(f, aside / f.name)
    repo.close()
    for f in aside.iterdir():
        shutil.copy(f, root / ".mlvc" / f.name)
    return aside, snap.id


def test_a_read_only_store_with_changes_in_its_log_is_read_whole(ro_mount):
    root, freeze = ro_mount
    _, sid = _store_with_open_log(root)
    assert (root / ".mlvc" / "index.sqlite-wal").stat().st_size > 0
    freeze()
    repo = Repo.open(root)
    assert repo.read_only and repo.resolve("HEAD") == sid and repo.load(sid, "v") == 2


def test_a_log_that_cannot_be_read_read_only_is_explained(ro_mount):
    root, freeze = ro_mount
    _store_with_open_log(root)
    (root / ".mlvc" / "index.sqlite-shm").unlink()
    freeze()
    with pytest.raises(MlvcError) as err:
        Repo.open(root).list()
    text = _clean_line(err.value)
    assert not isinstance(err.value, DamagedStore)
    assert "read-only" in text and "copy the store to a writable folder" in text


def test_an_index_of_an_older_version_is_read_without_migrating(ro_mount):
    root, freeze = ro_mount
    repo = Repo.init(root)
    snap = repo.commit({"v": 1}, "signed in the old column")
    make_v2_index(repo, legacy={snap.id: json.loads(json.dumps(_sign(repo, snap.id)))}, pulled={})
    freeze()
    repo = Repo.open(root)
    assert repo.read_only and repo.index.version == 2
    assert repo.show(snap.id).trusted and repo.load(snap.id, "v") == 1


def _sign(repo: Repo, sid: str) -> str:
    from jupyter_mlvc.store import signing

    return signing.sign(repo.key, sid)
