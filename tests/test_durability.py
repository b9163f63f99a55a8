"""Durability: deferred flushes, and what a crash before the flush leaves."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.ops.recovery import LostInCrash
from jupyter_mlvc.store import durability


def unflushed(repo: Repo) -> list[str]:
    return durability.pending(repo.index.conn)


def as_if_power_was_lost(repo: Repo, sid: str) -> None:
    """Leave ``sid`` as a power loss before its flush would: unflushed, by a writer of
    an earlier boot of this machine."""
    with repo.index.write() as db:
        db.execute(
            "insert or replace into unflushed values (?, ?, ?)",
            [sid, f"{socket.gethostname()} an-earlier-boot 1", 0.0],
        )


def test_a_deferred_commit_is_flushed_in_the_background(repo):
    assert repo.durability == "deferred"
    snap = repo.commit({"x": np.arange(10)}, "first")
    assert unflushed(repo) in ([snap.id], [])
    assert durability.FLUSHER.wait(60)
    assert unflushed(repo) == []


def test_the_commit_leaves_the_checkpoint_and_its_fsync_to_the_background_flush(repo, monkeypatch):
    """The command's own close is not the index's last while its flush is pending, so
    it does not checkpoint the write-ahead log (an fsync that waits behind the whole
    filesystem's writeback); the flush's holder does, once the flush is done."""
    import threading

    release = threading.Event()
    flush = durability.flush_filesystem
    monkeypatch.setattr(
        durability, "flush_filesystem", lambda path: (release.wait(60), flush(path))
    )
    snap = repo.commit({"x": np.arange(10)}, "first")
    repo.close()
    wal = repo.path / "index.sqlite-wal"
    assert wal.exists() and wal.stat().st_size > 0, "the command's close checkpointed"

    release.set()
    assert durability.FLUSHER.wait(60)
    assert not wal.exists() or wal.stat().st_size == 0, "nothing checkpointed the log"
    reopened = Repo.open(repo.path.parent)
    assert reopened.head_id() == snap.id and unflushed(reopened) == []


def test_sync_mode_flushes_before_returning(tmp_path, monkeypatch):
    monkeypatch.setenv("MLVC_DURABILITY", "sync")
    repo = Repo.init(tmp_path)
    assert repo.durability == "sync" and repo.objects.fsync
    repo.commit({"x": 1}, "first")
    assert unflushed(repo) == []
    monkeypatch.setenv("MLVC_FSYNC", "0")
    assert Repo.open(tmp_path).durability == "off"


def test_an_intact_snapshot_survives_the_check_after_a_crash(repo):
    snap = repo.commit({"x": np.arange(1000)}, "first")
    durability.FLUSHER.wait(60)
    as_if_power_was_lost(repo, snap.id)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repo.commit({"x": np.arange(1000), "y": 2}, "second")

    assert unflushed(repo) in ([], [repo.head_id()])
    assert repo.show(snap.id).id == snap.id
    assert repo.fsck() == []


def test_a_damaged_snapshot_is_removed_and_its_branch_moves_back(repo):
    first = repo.commit({"x": np.zeros(100_000)}, "first")
    second = repo.commit({"x": np.ones(100_000)}, "second")
    durability.FLUSHER.wait(60)
    as_if_power_was_lost(repo, second.id)
    # The power loss left one of its objects with zeros where its bytes were.
    chunk = repo.manifest(second.id)["units"][0]["buffers"][0]["chunks"][0]
    path = repo.objects.path(chunk)
    path.write_bytes(b"\0" * path.stat().st_size)

    with pytest.warns(LostInCrash, match=f"snapshot {second.id[:8]} was lost in a crash"):
        third = repo.commit({"x": np.ones(100_000)}, "again")

    ids = [s.id for s in repo.list(limit=None)[0]]
    assert second.id not in ids and first.id in ids
    # The branch went back to the first snapshot, so the new one follows it.
    assert third.parents == [first.id] and repo.head_id() == third.id
    # The damaged object was not reused: it was written again, whole.
    assert repo.objects.verify(chunk) is None and repo.fsck() == []
    np.testing.assert_array_equal(repo.checkout(third.id)["x"], np.ones(100_000))


def test_a_lost_manifest_loses_its_snapshot_and_a_lost_root_its_branch(repo):
    only = repo.commit({"x": 1}, "only")
    durability.FLUSHER.wait(60)
    as_if_power_was_lost(repo, only.id)
    repo.objects.path(only.id).unlink()

    with pytest.warns(LostInCrash):
        again = repo.commit({"x": 1}, "again")

    assert again.parents == [] and [s.id for s in repo.list(limit=None)[0]] == [again.id]
    assert repo.current_branch() == "main"


def test_a_killed_writer_loses_nothing(tmp_path):
    """The kernel dies right after the commit returned, before its flush ran."""
    code = textwrap.dedent(
        f"""
        import os, numpy as np
        from jupyter_mlvc import Repo
        repo = Repo.init({str(tmp_path)!r})
        snap = repo.commit({{"x": np.arange(300_000)}}, "then killed")
        print(snap.id, flush=True)
        os._exit(0)  # no atexit: the background flush may not have run
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    sid = out.stdout.split()[0]

    repo = Repo.open(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repo.commit({"x": 2}, "next")
    assert unflushed(repo) in ([], [repo.head_id()])
    np.testing.assert_array_equal(repo.checkout(sid)["x"], np.arange(300_000))
    assert repo.fsck() == []


def test_a_flush_of_a_live_writer_is_left_alone(repo):
    snap = repo.commit({"x": 1}, "first")
    durability.FLUSHER.wait(60)
    with repo.index.write() as db:
        durability.mark(db, snap.id)  # this very process: its flush is under way
    repo.commit({"x": 2}, "second")
    assert snap.id in unflushed(repo)


def test_an_object_named_before_a_power_loss_is_checked_before_it_is_reused(repo):
    """A power loss after the objects got their names and before the index named them:
    the journal lists them, and a damaged one is not taken for whole by a later commit."""
    value = np.full(200_000, 7.0)
    snap = repo.commit({"x": value}, "first")
    assert durability.FLUSHER.wait(60)
    assert list((repo.path / durability.JOURNAL_DIR).iterdir()) == []  # flushed: removed
    chunk = repo.manifest(snap.id)["units"][0]["buffers"][0]["chunks"][0]
    # As the power loss left it: the snapshot's rows gone, its objects' names kept, one
    # of them with zeros, and a journal of a writer of an earlier boot listing it.
    with repo.index.write() as db:
        db.execute("delete from snapshots where id = ?", [snap.id])
        db.execute("delete from refs")
        db.execute("delete from heads")
    path = repo.objects.path(chunk)
    path.write_bytes(b"\0" * path.stat().st_size)
    journal = repo.path / durability.JOURNAL_DIR / "1-lost"
    journal.write_text(f"{socket.gethostname()} an-earlier-boot 1\n{chunk}\n")

    again = repo.commit({"x": value}, "again")

    assert not journal.exists() and repo.objects.verify(chunk) is None
    np.testing.assert_array_equal(repo.checkout(again.id)["x"], value)
    assert repo.fsck() == []


def test_a_journal_of_a_live_writer_is_left_alone(repo):
    journal = durability.write_journal(repo.path, ["0" * 64])
    repo.commit({"x": 1}, "first")
    assert journal.exists()
    journal.unlink()
