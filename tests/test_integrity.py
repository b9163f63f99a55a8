"""Trust, corruption, fsck and gc."""

from __future__ import annotations

import json
import os
import stat
import tracemalloc

import numpy as np
import pytest
import zstandard

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import CorruptObject, DamagedStore, RestoreError, Untrusted
from jupyter_mlvc.store.objects import CHUNK_SIZE, ZSTD, ObjectStore, hash_bytes
from jupyter_mlvc.store.signing import key_path


def _variable_objects(repo, sid, name):
    manifest = json.loads(repo.objects.get(sid))
    unit = manifest["units"][manifest["variables"][name]["unit"]]
    return unit["stream"] + [c for b in unit["buffers"] for c in b["chunks"]]


def test_key_is_private(repo):
    repo.commit({"v": 1}, "m")
    mode = stat.S_IMODE(key_path().stat().st_mode)
    assert mode == 0o600


def test_key_readable_by_others_warns(repo):
    repo.commit({"v": 1}, "m")
    os.chmod(key_path(), 0o644)
    with pytest.warns(UserWarning, match="can be read by other users"):
        Repo.open(repo.root).key  # noqa: B018


def test_foreign_store_is_refused_until_trusted(repo, other_key, tmp_path):
    snap = repo.commit({"secret": [1, 2, 3]}, "mine")
    other_key()
    theirs = Repo.open(tmp_path)
    with pytest.raises(Untrusted) as err:
        theirs.checkout(snap.id)
    assert "\n" not in str(err.value) and snap.short_id in str(err.value)
    with pytest.raises(Untrusted):
        theirs.load(snap.id, "secret")
    with pytest.raises(Untrusted):
        theirs.restore(snap.id, {})
    # Summaries and the listing stay readable: they are data.
    shown = theirs.show(snap.id)
    assert not shown.trusted and shown.variables["secret"].summary["len"] == 3
    assert len(theirs.log()) == 1
    assert theirs.trust(snap.short_id) == [snap.id]
    assert theirs.checkout(snap.id) == {"secret": [1, 2, 3]}


def test_trust_all(repo, other_key, tmp_path):
    a = repo.commit({"v": 1}, "a")
    b = repo.commit({"v": 2}, "b")
    other_key()
    theirs = Repo.open(tmp_path)
    assert sorted(theirs.trust()) == sorted([a.id, b.id])
    assert theirs.load(a.id, "v") == 1 and theirs.load(b.id, "v") == 2


def test_tampered_signature_is_refused(repo):
    snap = repo.commit({"v": 1}, "m")
    with repo.index.write() as db:
        db.execute("update signatures set signature = ? where snapshot = ?", ["0" * 64, snap.id])
    with pytest.raises(Untrusted):
        repo.checkout(snap.id)


def test_edited_manifest_is_refused(repo):
    snap = repo.commit({"v": 1}, "m")
    path = repo.objects.path(snap.id)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    os.chmod(path, 0o600)
    path.write_bytes(bytes(raw))
    with pytest.raises(DamagedStore) as err:
        repo.checkout(snap.id)
    assert "manifest" in str(err.value)
    # trusting cannot launder an edited manifest
    with pytest.raises(DamagedStore):
        repo.trust(snap.id)


def test_planted_pickle_never_runs(repo, other_key, tmp_path):
    """A store from elsewhere whose pickle would create a file on load."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    snap = repo.commit({"evil": Evil(), "fine": 1}, "planted")
    assert not marker.exists()
    other_key()
    theirs = Repo.open(tmp_path)
    for attempt in (
        lambda: theirs.checkout(snap.id),
        lambda: theirs.load(snap.id, "evil"),
        lambda: theirs.restore(snap.id, {}),
        lambda: theirs.checkout(snap.id, ["evil"], current={}),
    ):
        with pytest.raises(Untrusted):
            attempt()
    assert not marker.exists()


def test_corrupt_object_is_named_and_others_restore(repo):
    ns = {"good": np.arange(100_000), "bad": np.arange(200_000) * 2.5, "small": [1, 2]}
    snap = repo.commit(ns, "m")
    victim = _variable_objects(repo, snap.id, "bad")[-1]
    path = repo.objects.path(victim)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    os.chmod(path, 0o600)
    path.write_bytes(bytes(raw))

    problems = repo.fsck()
    assert len(problems) == 1
    assert problems[0].kind == "corrupt" and problems[0].snapshot == snap.id
    assert "'bad'" in str(problems[0])

    with pytest.raises(RestoreError) as err:
        repo.checkout(snap.id)
    assert "'bad'" in str(err.value) and "corrupt" in str(err.value)
    assert set(err.value.values) == {"good", "small"}
    assert np.array_equal(err.value.values["good"], ns["good"])

    target = {"bad": 0}
    report = repo.restore(snap.id, target, save=False)
    assert "bad" in report.errors and target["good"] is not None and target["small"] == [1, 2]


def test_missing_object_is_named(repo):
    snap = repo.commit({"x": np.arange(50_000), "y": 1}, "m")
    repo.objects.path(_variable_objects(repo, snap.id, "x")[0]).unlink()
    problems = repo.fsck()
    assert [p.kind for p in problems] == ["missing"] and "'x'" in str(problems[0])
    with pytest.raises(RestoreError) as err:
        repo.checkout(snap.id)
    assert "missing" in str(err.value) and err.value.values == {"y": 1}


def test_fsck_healthy_and_gc(repo):
    ns = {"x": np.random.default_rng(0).random(300_000)}
    s1 = repo.commit(ns, "one")
    ns["x"] = ns["x"] + 1
    s2 = repo.commit(ns, "two")
    assert repo.fsck() == []
    with repo.objects.batch() as batch:
        orphan = batch.put(b"nobody uses me" * 1000)
        batch.flush()
    assert orphan in repo.objects
    assert repo.gc(dry_run=True, grace_seconds=3600) == 0  # too young
    would = repo.gc(dry_run=True, grace_seconds=0)
    assert would > 0 and orphan in repo.objects
    assert repo.gc(grace_seconds=0) == would
    assert orphan not in repo.objects
    assert repo.fsck() == []
    assert repo.load(s1.id, "x")[0] + 1 == repo.load(s2.id, "x")[0]


def test_damaged_index_is_reported(tmp_path):
    repo = Repo.init(tmp_path)
    repo.commit({"v": 1}, "m")
    repo.close()
    (tmp_path / ".mlvc" / "index.sqlite").write_bytes(b"this is not a database" * 100)
    for extra in ("-wal", "-shm"):
        (tmp_path / ".mlvc" / f"index.sqlite{extra}").unlink(missing_ok=True)
    with pytest.raises(DamagedStore) as err:
        Repo.open(tmp_path).log()
    assert "index" in str(err.value) and "\n" not in str(err.value)


def _damage_pages(index_file) -> None:
    """Overwrite every page of the index file but the first (its header), as a failing
    disk or another program might while the store is open."""
    size = index_file.stat().st_size
    with open(index_file, "r+b") as f:
        f.seek(4096)
        f.write(bytes(range(256)) * ((size - 4096) // 256))


@pytest.fixture
def damaged_after_open(tmp_path):
    """An open store whose index was damaged after it was opened. Its connection is
    closed first, so that the next statement reads the file, not SQLite's page cache
    (as the next command of a kernel that holds the store would)."""
    repo = Repo.init(tmp_path)
    for i in range(40):
        repo.commit({"x": i, "s": "a" * 2000}, f"commit {i}")
    repo.index.conn.execute("pragma wal_checkpoint(truncate)")
    repo.index.close()
    _damage_pages(tmp_path / ".mlvc" / "index.sqlite")
    return repo


def test_index_damaged_after_open_is_one_line_everywhere(damaged_after_open, tmp_path):
    """SQLite's "database disk image is malformed" met while reading becomes a
    DamagedStore naming the file and the repair: in the API, the CLI and the magics."""
    import subprocess
    import sys

    with pytest.raises(DamagedStore) as err:
        damaged_after_open.log()
    message = str(err.value)
    assert "index.sqlite is damaged" in message and "fsck --rebuild-index" in message
    assert "\n" not in message
    damaged_after_open.close()

    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", "log", "-C", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"mlvc: the index {tmp_path / '.mlvc' / 'index.sqlite'} is damaged "
        "(database disk image is malformed); `mlvc fsck --rebuild-index` recovers it"
    ]


def test_index_damage_is_still_a_sqlite_error_for_the_checks(damaged_after_open):
    """Code that asks SQLite whether the index is sound still gets its answer."""
    import sqlite3

    assert not damaged_after_open.index.intact()
    with pytest.raises(sqlite3.DatabaseError):
        damaged_after_open.index.conn.execute("select * from snapshots").fetchall()


def test_missing_objects_folder_is_reported(tmp_path):
    import shutil

    repo = Repo.init(tmp_path)
    repo.commit({"v": 1}, "m")
    shutil.rmtree(tmp_path / ".mlvc" / "objects")
    with pytest.raises(DamagedStore, match="objects"):
        Repo.open(tmp_path)


def test_rebuild_index_recovers_snapshots(tmp_path):
    import subprocess
    import sys

    repo = Repo.init(tmp_path)
    repo.notebook_path = repo.notebook_key(tmp_path / "nb.ipynb")
    s1 = repo.commit({"x": np.arange(100_000), "v": 1}, "one", metrics={"acc": 0.5})
    s2 = repo.commit({"x": np.arange(100_000), "v": 2}, "two")
    repo.close()
    (tmp_path / ".mlvc" / "index.sqlite").write_bytes(b"garbage" * 1000)
    for extra in ("-wal", "-shm"):
        (tmp_path / ".mlvc" / f"index.sqlite{extra}").unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", "fsck", "--rebuild-index", "-C", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "recovered 2 snapshots" in out.stdout
    assert list((tmp_path / ".mlvc").glob("index.sqlite.damaged-*"))
    again = Repo.open(tmp_path, notebook_path=tmp_path / "nb.ipynb")
    df = again.log()
    assert list(df["message"]) == ["two", "one"] and df["acc"].iloc[1] == 0.5
    assert again.resolve("HEAD") == s2.id and again.show(s2.id).parents == [s1.id]
    # Signed with this user's key before the loss: trusted again, without `trust`.
    assert "all signed by you" in out.stdout and "mlvc trust" not in out.stdout
    assert again.load(s1.id, "v") == 1 and again.show(s2.id).trusted
    assert again.fsck() == []


def test_a_compressed_chunk_is_inflated_in_place_and_checked(tmp_path):
    """A restore reads each chunk of a buffer into the buffer itself: a compressed one
    is inflated there, with no copy of its content held on the way, and whatever
    inflates to other bytes, or to more or fewer of them, is refused by name."""
    store = ObjectStore(tmp_path / "objects", fsync=False)
    content = bytes(np.arange(CHUNK_SIZE // 8, dtype=np.int64) % 97)
    oid = hash_bytes(content)
    path = store.path(oid)
    path.parent.mkdir(parents=True)
    zstd = zstandard.ZstdCompressor(level=3)

    def read(payload: bytes) -> bytes:
        path.write_bytes(payload)
        target = memoryview(bytearray(len(content)))
        store.read_into(oid, target, "the buffer of x")
        return bytes(target)

    assert len(zstd.compress(content)) < len(content) // 20
    path.write_bytes(ZSTD + zstd.compress(content))
    target = memoryview(bytearray(len(content)))
    tracemalloc.start()
    store.read_into(oid, target)
    held = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert bytes(target) == content
    assert held < len(content) // 8, held
    refused = {
        ZSTD + zstd.compress(content + b"x"): f"inflates past the {CHUNK_SIZE} bytes it may hold",
        ZSTD + zstandard.ZstdCompressor(write_content_size=False).compress(content * 2): (
            f"inflates past the {CHUNK_SIZE} bytes it may hold"
        ),
        ZSTD + zstd.compress(content[:-1]): "has the wrong size",
        ZSTD + zstd.compress(content[:-1] + b"?"): "does not match its hash",
        ZSTD + b"\x00" * 64: "cannot be decoded",
        b"\x07" + zstd.compress(content): "cannot be decoded",
    }
    for payload, error in refused.items():
        with pytest.raises(CorruptObject) as info:
            read(payload)
        assert str(info.value) == f"the buffer of x is corrupt: object {oid[:12]} {error}"
