"""``gc`` against writers that run while it sweeps: leases, the sweep's compare-and-move,
and the writers' last check under the index lock. Each race is staged: the writer is
paused at a chosen point by a patched function, gc runs with no grace, the writer goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import RemoteFailed, WriteFailed
from jupyter_mlvc.ops import maintenance
from jupyter_mlvc.ops.remote import LocalObjects
from jupyter_mlvc.store import leases, trust
from jupyter_mlvc.store.objects import CHUNK_SIZE, WriteBatch, hash_bytes

HOUR = 3600


def _age(path: Path, seconds: float = 2 * HOUR) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _orphan(repo: Repo, data: bytes, age: float = 2 * HOUR) -> str:
    with repo.objects.batch() as batch:
        oid = batch.put(data)
        batch.flush()
    _age(repo.objects.path(oid), age)
    return oid


def _gc_now(root: Path) -> int:
    """A gc from another Repo, as another process would run it: no grace at all."""
    with Repo.open(root) as other:
        return other.gc(grace_seconds=0)


# -- pull ------------------------------------------------------------------------------------


@pytest.fixture
def pushed(tmp_path):
    """A store whose two snapshots are on a folder remote; the store to pull into."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Repo.init(tmp_path / "a")
    a.notebook_path = a.notebook_key(tmp_path / "a" / "nb.ipynb")
    rng = np.random.default_rng(0)
    state = {"big": rng.random(3 * CHUNK_SIZE // 8), "small": [1, 2, 3]}
    s1 = a.commit(state, "one")
    state["big"] = state["big"] + 1
    s2 = a.commit(state, "two")
    a.remote_add("shared", str(tmp_path / "remote"))
    a.push("shared", all=True)
    b = Repo.init(tmp_path / "b")
    b.remote_add("shared", str(tmp_path / "remote"))
    yield a, b, (s1, s2), state
    a.close()
    b.close()


def test_gc_during_a_slow_pull_takes_nothing_it_will_name(pushed, monkeypatch):
    a, b, (s1, s2), state = pushed
    # An object the pull will find already here, left long ago by an interrupted pull.
    first_chunk = a.objects.path(a.manifest(s1.id)["units"][0]["stream"][0]).read_bytes()
    b.objects.path(a.manifest(s1.id)["units"][0]["stream"][0]).parent.mkdir(
        parents=True, exist_ok=True
    )
    old = b.objects.path(a.manifest(s1.id)["units"][0]["stream"][0])
    old.write_bytes(first_chunk)
    _age(old)
    swept = []
    original = LocalObjects.write_raw

    def slow_write(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not swept:
            # The pull has copied its first object and waits on the network: a gc
            # with no grace runs now, as if the pull had been going for hours.
            swept.append(_gc_now(b.root))

    monkeypatch.setattr(LocalObjects, "write_raw", slow_write)
    report = b.pull("shared", all=True, workers=1)
    assert swept == [0]
    assert sorted(report.snapshots) == sorted([s1.id, s2.id])
    assert b.fsck() == []
    np.testing.assert_array_equal(b.load(s2.id, "big"), state["big"])
    assert b.load(s1.id, "small") == [1, 2, 3]
    assert not list((b.path / leases.LEASES_DIR).iterdir())


def test_a_pull_that_loses_an_object_fails_loudly(pushed, monkeypatch):
    """Had an object gone anyway (a gc that ignored the lease), the pull would say so
    and insert nothing, rather than report success with a hole."""
    _, b, _, _ = pushed
    original = LocalObjects.write_raw
    written: list[str] = []

    def write_then_lose(self, oid, *args, **kwargs):
        original(self, oid, *args, **kwargs)
        written.append(oid)
        if len(written) == 1:
            self.store.delete(oid)

    monkeypatch.setattr(LocalObjects, "write_raw", write_then_lose)
    with pytest.raises(RemoteFailed) as err:
        b.pull("shared", all=True, workers=1)
    assert "removed from the store" in str(err.value) and "\n" not in str(err.value)
    assert b.index.rows("select id from snapshots") == []
    monkeypatch.setattr(LocalObjects, "write_raw", original)
    report = b.pull("shared", all=True)
    assert len(report.snapshots) == 2 and b.fsck() == []


# -- commit ----------------------------------------------------------------------------------


def test_gc_during_a_commit_takes_nothing_it_will_name(repo, monkeypatch):
    arr = np.random.default_rng(1).random(2 * CHUNK_SIZE // 8)
    # The array's first chunk is already stored, unused and old: the commit finds it.
    found = _orphan(repo, arr.tobytes()[:CHUNK_SIZE])
    assert found == hash_bytes(memoryview(arr).cast("B")[:CHUNK_SIZE])
    stray = _orphan(repo, b"nobody names me" * 100)
    swept = []
    original = WriteBatch.flush

    def paused_flush(self, journal=True):
        original(self, journal)
        if not swept:
            swept.append(_gc_now(repo.root))

    monkeypatch.setattr(WriteBatch, "flush", paused_flush)
    snap = repo.commit({"arr": arr, "n": 7}, "during a gc")
    assert swept and swept[0] > 0
    assert stray not in repo.objects and found in repo.objects
    assert repo.fsck() == []
    np.testing.assert_array_equal(repo.load(snap.id, "arr"), arr)


def test_a_commit_that_loses_an_object_fails_loudly(repo, monkeypatch):
    """A gc that ignores leases (or one from an old version) cannot make a commit name
    what is gone: the commit checks under the index lock and refuses."""
    monkeypatch.setattr(leases, "horizon", lambda store, reap=False: None)
    original = WriteBatch.flush
    swept = []

    def paused_flush(self, journal=True):
        original(self, journal)
        if not swept:
            swept.append(_gc_now(repo.root))

    monkeypatch.setattr(WriteBatch, "flush", paused_flush)
    with pytest.raises(WriteFailed) as err:
        repo.commit({"arr": np.arange(300_000)}, "loses its chunks")
    assert "nothing was committed" in str(err.value) and "\n" not in str(err.value)
    assert swept[0] > 0
    assert repo.index.rows("select id from snapshots") == []
    assert repo.fsck() == []


# -- the sweep itself --------------------------------------------------------------------------


def test_an_object_found_while_gc_sweeps_is_put_back(repo, monkeypatch):
    """The writer finds the object (refreshing its time) after gc chose it, before gc
    moved it: gc sees the new time once the object is aside, and puts it back."""
    oid = _orphan(repo, b"about to be reused" * 100)
    original = maintenance._move_aside
    with leases.hold(repo.path):

        def found_first(r, oids):
            assert oid in oids
            assert repo.objects.has(oid)
            return original(r, oids)

        monkeypatch.setattr(maintenance, "_move_aside", found_first)
        assert repo.gc(grace_seconds=0) == 0
    assert oid in repo.objects and repo.objects.get(oid) == b"about to be reused" * 100
    assert not [p for p in repo.objects.tmp.iterdir() if p.name.startswith("gc-")]


def test_an_object_looked_for_while_aside_is_stored_again(repo, monkeypatch):
    """The writer looks after gc moved the object: it does not find it, so it stores
    it again, and gc's removal of the old copy takes nothing from it."""
    data = b"stored again" * 100
    oid = _orphan(repo, data)
    original = maintenance._move_aside
    with leases.hold(repo.path):

        def then_found(r, oids):
            moved = original(r, oids)
            with repo.objects.batch() as batch:
                assert batch.put(data) == oid
                batch.flush()
            return moved

        monkeypatch.setattr(maintenance, "_move_aside", then_found)
        repo.gc(grace_seconds=0)
    assert repo.objects.get(oid) == data


def test_a_lease_of_a_dead_process_is_ignored_and_removed(repo):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(done.stdout)
    folder = repo.path / leases.LEASES_DIR
    folder.mkdir(exist_ok=True)
    lease = folder / f"{dead}-deadbeef"
    import socket

    lease.write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": 0}))
    _age(lease)
    stray = _orphan(repo, b"stray" * 100, age=60)
    assert repo.gc(grace_seconds=0) > 0
    assert stray not in repo.objects and not lease.exists()


def test_a_live_lease_of_another_process_spares_what_is_newer(repo):
    import socket

    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        older = _orphan(repo, b"older than the writer" * 100, age=2 * HOUR)
        folder = repo.path / leases.LEASES_DIR
        folder.mkdir(exist_ok=True)
        lease = folder / f"{writer.pid}-cafe"
        lease.write_text(json.dumps({"pid": writer.pid, "host": socket.gethostname()}))
        _age(lease, HOUR)
        newer = _orphan(repo, b"written by the writer" * 100, age=60)
        assert repo.gc(dry_run=True, grace_seconds=0) == repo.objects.size_on_disk(older)
        repo.gc(grace_seconds=0)
        assert older not in repo.objects and newer in repo.objects and lease.exists()
    finally:
        writer.kill()
        writer.wait()
    repo.gc(grace_seconds=0)
    assert newer not in repo.objects and not lease.exists()


def test_a_lease_from_another_host_counts_as_live(repo):
    folder = repo.path / leases.LEASES_DIR
    folder.mkdir(exist_ok=True)
    lease = folder / "1-elsewhere"
    lease.write_text(json.dumps({"pid": 1, "host": "another-machine", "started": 0}))
    _age(lease, HOUR)
    newer = _orphan(repo, b"maybe theirs" * 100, age=60)
    repo.gc(grace_seconds=0)
    assert newer in repo.objects and lease.exists()


def test_gc_sweeps_signature_files_of_snapshots_never_indexed(repo):
    snap = repo.commit({"v": 1}, "kept")
    folder = repo.path / trust.SIGNATURES_DIR
    leftover = folder / f"{'ab' * 32}.{'0' * 16}"
    leftover.write_text("c" * 64)
    _age(leftover)
    repo.gc(grace_seconds=0)
    assert not leftover.exists()
    assert [p.name.split(".")[0] for p in folder.iterdir()] == [snap.id]
    assert repo.show(snap.id).trusted


def test_planted_files_in_the_leases_folder_never_block_gc(repo):
    folder = repo.path / leases.LEASES_DIR
    folder.mkdir(exist_ok=True)
    os.mkfifo(folder / "123-fifo")
    (folder / "not json").write_bytes(b"\xff" * 10_000)
    stray = _orphan(repo, b"stray" * 100)
    # Neither can be told dead: both count as live, so gc only spares more.
    repo.gc(grace_seconds=0)
    assert stray not in repo.objects
