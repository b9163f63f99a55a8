"""Trust with more than one key: signatures per key, kept as rows and as files, migrated
from the single column, and recovered by ``fsck --rebuild-index``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import Untrusted
from jupyter_mlvc.store import keys, signing, trust
from jupyter_mlvc.store.index import MIGRATIONS


@pytest.fixture
def users(tmp_path_factory, monkeypatch):
    """``users("alice")`` makes the next Repo opened act as Alice: her own Jupyter data
    dir, hence her own key. Returns her key."""
    dirs: dict[str, Path] = {}

    def use(name: str) -> bytes:
        if name not in dirs:
            dirs[name] = tmp_path_factory.mktemp(f"user-{name}")
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(dirs[name]))
        return signing.load_key()

    return use


def fingerprint(secret: bytes) -> str:
    """The key id of the public key of the user whose secret is ``secret``."""
    return keys.public_key(secret, "").fingerprint


def _open(root: Path) -> Repo:
    return Repo.open(root, notebook_path=root / "nb.ipynb")


def _lose_index(root: Path) -> None:
    store = root / ".mlvc"
    (store / "index.sqlite").write_bytes(b"garbage" * 1000)
    for extra in ("-wal", "-shm"):
        (store / f"index.sqlite{extra}").unlink(missing_ok=True)


def _rebuild(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", "fsck", "--rebuild-index", "-C", str(root)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )


# -- one key's trust never breaks another's ------------------------------------------------


def test_a_second_users_trust_keeps_the_first_users(tmp_path, users):
    alice = users("alice")
    a = _open(Repo.init(tmp_path).root)
    s1 = a.commit({"x": np.arange(10)}, "one")
    s2 = a.commit({"x": np.arange(20)}, "two")
    a.close()

    bob = users("bob")
    b = _open(tmp_path)
    assert not b.show(s1.id).trusted
    with pytest.raises(Untrusted):
        b.load(s1.id, "x")
    assert sorted(b.trust()) == sorted([s1.id, s2.id])
    assert b.load(s1.id, "x").tolist() == list(range(10))
    b.close()

    users("alice")
    a = _open(tmp_path)
    # Bob's trust added his signature beside Alice's: hers still verifies.
    assert a.show(s1.id).trusted and a.show(s2.id).trusted
    assert a.load(s2.id, "x").tolist() == list(range(20))
    rows = a.index.rows("select key_id from signatures where snapshot = ? order by key_id", [s1.id])
    assert [r["key_id"] for r in rows] == sorted([fingerprint(alice), fingerprint(bob)])
    files = sorted(p.name for p in (tmp_path / ".mlvc" / "signatures").iterdir())
    assert files == sorted(f"{s}.{fingerprint(k)}" for s in (s1.id, s2.id) for k in (alice, bob))


def test_trust_is_listed_per_user(tmp_path, users):
    users("alice")
    a = _open(Repo.init(tmp_path).root)
    mine = a.commit({"v": 1}, "alice's")
    a.close()
    users("bob")
    b = _open(tmp_path)
    theirs = b.commit({"v": 2}, "bob's")
    snaps, _ = b.list()
    assert {s.id: s.trusted for s in snaps} == {mine.id: False, theirs.id: True}
    b.close()
    users("alice")
    a = _open(tmp_path)
    snaps, _ = a.list()
    assert {s.id: s.trusted for s in snaps} == {mine.id: True, theirs.id: False}


def test_a_signature_that_is_not_well_formed_is_only_unverified(repo):
    snap = repo.commit({"v": 1}, "m")
    with repo.index.write() as db:
        db.execute("delete from signatures")
        db.executemany(
            "insert into signatures values (?, ?, ?)",
            [
                (snap.id, signing.key_id(repo.key), "\u00e9" * 64),
                (snap.id, "not a key id", signing.sign(repo.key, snap.id)),
                (snap.id, signing.key_id(os.urandom(32)), 12345),
            ],
        )
        db.execute("update snapshots set signature = ? where id = ?", [b"\xff" * 32, snap.id])
    assert not repo.show(snap.id).trusted
    with pytest.raises(Untrusted):
        repo.load(snap.id, "v")


def test_signatures_from_outside_never_name_files_outside(repo, tmp_path):
    snap = repo.commit({"v": 1}, "m")
    with repo.index.write() as db:
        trust.record_signatures(
            db,
            repo.path,
            snap.id,
            {"../../escape": "0" * 64, "0" * 16: "not hex", "1" * 16: "a" * 64},
        )
    names = sorted(p.name for p in (repo.path / "signatures").iterdir())
    assert f"{snap.id}.{'1' * 16}" in names
    assert not any("escape" in n for n in names) and not (tmp_path / "escape").exists()
    # A signature by an unknown key is kept, and vouches for nothing.
    assert repo.show(snap.id).trusted  # by the user's own signature, still there


# -- the migration from one signature per snapshot -------------------------------------------


def make_v2_index(repo: Repo, legacy: dict[str, str], pulled: dict[str, dict[str, str]]) -> None:
    """Replace ``repo``'s index by one as migration 2 left it: the same rows, with
    ``legacy`` as the single ``snapshots.signature`` column and ``pulled`` as
    ``remote_signatures``."""
    import sqlite_utils

    repo.close()
    path = repo.index.path
    old = sqlite3.connect(path)
    new_path = path.with_name("v2.sqlite")
    new = sqlite3.connect(new_path)
    db = sqlite_utils.Database(new)
    for step in MIGRATIONS[:2]:
        step(db)
    new.execute("PRAGMA user_version = 2")
    new.execute("PRAGMA journal_mode = WAL")
    for table in ("parents", "variables", "skipped", "metrics", "refs", "heads", "remotes"):
        for row in old.execute(f"select * from {table}"):
            marks = ",".join("?" * len(row))
            new.execute(f"insert into {table} values ({marks})", row)
    columns = [r[1] for r in old.execute("pragma table_info(snapshots)")]
    for row in old.execute(f"select {', '.join(columns)} from snapshots"):
        values = dict(zip(columns, row))
        values["signature"] = legacy.get(values["id"])
        names = ", ".join(values)
        new.execute(
            f"insert into snapshots ({names}) values ({','.join('?' * len(values))})",
            list(values.values()),
        )
    for sid, sigs in pulled.items():
        for kid, sig in sigs.items():
            new.execute("insert into remote_signatures values (?, ?, ?)", [sid, kid, sig])
    new.commit()
    new.close()
    old.close()
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    os.replace(new_path, path)
    for extra in ("-wal", "-shm"):
        new_path.with_name(new_path.name + extra).unlink(missing_ok=True)


def test_migration_keeps_the_old_signatures_of_every_key(tmp_path, users):
    alice = users("alice")
    a = _open(Repo.init(tmp_path).root)
    s1 = a.commit({"v": 1}, "signed by alice in the old column")
    s2 = a.commit({"v": 2}, "pulled, signed by carol")
    s3 = a.commit({"v": 3}, "unsigned")
    a.close()
    (tmp_path / ".mlvc" / "signatures").rename(tmp_path / "no-files")
    carol = os.urandom(32)
    a = _open(tmp_path)
    make_v2_index(
        a,
        legacy={s1.id: signing.sign(alice, s1.id)},
        pulled={s2.id: {signing.key_id(carol): signing.sign(carol, s2.id)}},
    )

    a = _open(tmp_path)
    assert a.index.version == len(MIGRATIONS)
    # The old places stay as they were, for jupyter_mlvc 0.1.0 sharing the store.
    row = a.index.one("select signature from snapshots where id = ?", [s1.id])
    assert row == {"signature": signing.sign(alice, s1.id)}
    assert len(a.index.rows("select * from remote_signatures")) == 1
    assert a.index.rows("select * from signatures") == []
    assert [s.trusted for s in (a.show(s1.id), a.show(s2.id), a.show(s3.id))] == [
        True,
        False,
        False,
    ]
    assert a.load(s1.id, "v") == 1
    # Carol's signature came along: trusting her key accepts s2.
    key_file = tmp_path / "carol.key"
    key_file.write_text(carol.hex())
    assert a.trust_key(key_file, "carol").accepted == [s2.id]
    assert a.load(s2.id, "v") == 2
    a.close()

    # Another user's view of the old column: not their signature. Their trust adds a
    # row, and the column keeps Alice's.
    users("bob")
    b = _open(tmp_path)
    assert not b.show(s1.id).trusted
    b.trust(s1.id)
    b.close()
    users("alice")
    assert _open(tmp_path).show(s1.id).trusted


# -- the index lost: signatures come back from their files -----------------------------------


def test_rebuild_trusts_again_exactly_what_each_key_signed(tmp_path, users):
    alice = users("alice")
    a = _open(Repo.init(tmp_path).root)
    s1 = a.commit({"x": np.arange(100_000), "v": 1}, "alice's")
    a.close()
    bob = users("bob")
    b = _open(tmp_path)
    s2 = b.commit({"v": 2}, "bob's, never trusted by alice")
    s3 = b.commit({"v": 3}, "bob's, trusted by alice")
    b.close()
    users("alice")
    a = _open(tmp_path)
    a.trust(s3.id)
    a.close()
    # A planted file for s2 under Alice's key id: anyone can write a file, not the HMAC.
    (tmp_path / ".mlvc" / "signatures" / f"{s2.id}.{fingerprint(alice)}").write_text("a" * 128)

    _lose_index(tmp_path)
    out = _rebuild(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "recovered 3 snapshots" in out.stdout
    assert "2 signed by you or a key you trust restore as before" in out.stdout
    assert "1 is not signed by a key you trust" in out.stdout
    assert "restore them again" not in out.stdout

    a = _open(tmp_path)
    assert {s: a.show(s).trusted for s in (s1.id, s2.id, s3.id)} == {
        s1.id: True,
        s2.id: False,
        s3.id: True,
    }
    assert a.load(s1.id, "v") == 1 and a.load(s3.id, "v") == 3
    with pytest.raises(Untrusted):
        a.load(s2.id, "v")
    a.close()
    users("bob")
    b = _open(tmp_path)
    assert {s: b.show(s).trusted for s in (s1.id, s2.id, s3.id)} == {
        s1.id: False,
        s2.id: True,
        s3.id: True,
    }
    assert bob != alice


def test_rebuild_result_as_data(repo):
    snap = repo.commit({"v": 1}, "m")
    repo.close()
    _lose_index(repo.root)
    rebuilt = Repo(repo.path).rebuild_index()
    assert rebuilt.recovered == [snap.id] and rebuilt.untrusted == []
    assert rebuilt.to_dict() == {
        "recovered": 1,
        "untrusted": [],
        "text": "recovered 1 snapshot from their manifests, all signed by you or a key you "
        "trust; tags are not recoverable",
    }


def test_a_pulled_snapshot_stays_untrusted_after_a_rebuild(tmp_path, users):
    users("alice")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _open(Repo.init(tmp_path / "a").root)
    pushed = a.commit({"v": 1}, "alice's")
    a.remote_add("shared", str(tmp_path / "remote"))
    a.push("shared")
    a.close()
    users("bob")
    b = Repo.init(tmp_path / "b")
    b.remote_add("shared", str(tmp_path / "remote"))
    report = b.pull("shared")
    assert report.untrusted == [pushed.id]
    b.close()
    _lose_index(tmp_path / "b")
    rebuilt = Repo(tmp_path / "b" / ".mlvc").rebuild_index()
    assert rebuilt.untrusted == [pushed.id]
    assert "1 is not signed by a key you trust" in rebuilt.summary_line()


def test_push_signs_what_the_user_trusts_with_their_key(tmp_path, users):
    users("alice")
    a = _open(Repo.init(tmp_path).root)
    snap = a.commit({"v": 1}, "alice's")
    a.close()
    bob = users("bob")
    b = _open(tmp_path)
    b.remote_add("shared", str(tmp_path / "remote"))
    b.push("shared")
    entries = sorted(p.name for p in (tmp_path / "remote" / "snapshots").iterdir())
    assert entries == [f"{snap.id}.unsigned.json"]
    b.trust(snap.id)
    b.push("shared")
    entries = sorted(p.name for p in (tmp_path / "remote" / "snapshots").iterdir())
    assert f"{snap.id}.{fingerprint(bob)}.json" in entries


def test_planted_signature_files_are_never_followed_or_waited_on(repo, tmp_path):
    snap = repo.commit({"v": 1}, "m")
    kid = fingerprint(repo.key)
    folder = repo.path / trust.SIGNATURES_DIR
    (folder / f"{snap.id}.{kid}").unlink()
    outside = tmp_path / "outside-signature"
    outside.write_text(keys.sign(repo.key, snap.id))
    (folder / f"{snap.id}.{kid}").symlink_to(outside)
    os.mkfifo(folder / f"{'ab' * 32}.{kid}")
    repo.close()
    _lose_index(repo.root)
    rebuilt = Repo(repo.path).rebuild_index()
    assert rebuilt.untrusted == [snap.id]
