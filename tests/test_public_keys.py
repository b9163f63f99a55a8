"""Teammates verified by public keys: each user's Ed25519 key pair, the line that shares
it, ``trust --key`` and ``trust --revoke-key``, and signatures that travel with push
and pull (through a folder remote)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadInput, Untrusted
from jupyter_mlvc.store import keys, signing, trust


@pytest.fixture
def users(tmp_path_factory, monkeypatch):
    """``users("alice")`` makes the next Repo opened act as Alice (her own Jupyter data
    dir, hence her own keys); returns her public key line."""
    dirs: dict[str, Path] = {}

    def use(name: str) -> str:
        if name not in dirs:
            dirs[name] = tmp_path_factory.mktemp(f"user-{name}")
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(dirs[name]))
        return keys.public_key(signing.load_key(), name).line()

    return use


def _store(path: Path) -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    repo = Repo.find(path) or Repo.init(path)
    repo.notebook_path = repo.notebook_key(path / "nb.ipynb")
    return repo


def mlvc(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )


def test_key_show_prints_a_line_that_parses_back(tmp_path, users):
    users("alice")
    out = mlvc("key", "show", "--json", cwd=tmp_path)  # no store needed
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    parsed = keys.parse_line(shown["line"])
    assert parsed.fingerprint == shown["fingerprint"] and len(shown["fingerprint"]) == 16
    assert parsed.raw == keys.public_key(signing.load_key()).raw
    text = mlvc("key", cwd=tmp_path).stdout
    assert shown["line"] in text and shown["fingerprint"] in text
    # The key file is still the one secret, owner-only.
    assert signing.key_path().stat().st_mode & 0o777 == 0o600


def test_new_snapshots_are_signed_with_the_public_key(tmp_path, users):
    users("alice")
    repo = _store(tmp_path)
    snap = repo.commit({"v": 1}, "one")
    own = keys.public_key(repo.key, "")
    rows = repo.index.rows("select key_id, signature from signatures where snapshot = ?", [snap.id])
    assert [r["key_id"] for r in rows] == [own.fingerprint]
    assert keys.verify(own.raw, snap.id, rows[0]["signature"])
    assert not keys.verify(own.raw, "0" * 64, rows[0]["signature"])
    assert (repo.path / "signatures" / f"{snap.id}.{own.fingerprint}").read_text() == rows[0][
        "signature"
    ]


def test_an_hmac_signed_snapshot_keeps_verifying_and_goes_up_signed(tmp_path, users):
    users("alice")
    repo = _store(tmp_path / "a")
    snap = repo.commit({"v": 1}, "made by an earlier version")
    # As an earlier version left it: an HMAC under the HMAC key id, no public signature.
    with repo.index.write() as db:
        db.execute("delete from signatures")
        db.execute(
            "insert into signatures values (?, ?, ?)",
            [snap.id, signing.key_id(repo.key), signing.sign(repo.key, snap.id)],
        )
    for f in (repo.path / "signatures").iterdir():
        f.unlink()
    assert repo.show(snap.id).trusted and repo.load(snap.id, "v") == 1
    repo.remote_add("shared", tmp_path / "remote")
    repo.push()
    fp = keys.public_key(repo.key, "").fingerprint
    entry = json.loads((tmp_path / "remote" / "snapshots" / f"{snap.id}.{fp}.json").read_text())
    assert keys.verify(keys.public_key(repo.key).raw, snap.id, entry["signature"])


def test_a_teammates_public_key_is_trusted_and_revoked(tmp_path, users):
    alice = users("alice")
    a = _store(tmp_path / "a")
    a.remote_add("shared", tmp_path / "remote")
    s1 = a.commit({"v": 1}, "one")
    s2 = a.commit({"v": 2}, "two")
    a.push()
    a.close()

    users("bob")
    b = _store(tmp_path / "b")
    b.remote_add("shared", tmp_path / "remote")
    first = b.pull()
    assert first.untrusted == [s1.id, s2.id]
    with pytest.raises(Untrusted):
        b.load("main", "v")
    result = b.trust_key(alice)  # the line, as `key show` prints it
    assert result.name == "alice" and result.accepted == sorted([s1.id, s2.id])
    assert result.key_id == keys.parse_line(alice).fingerprint
    assert b.load("main", "v") == 2
    # Trusted by her key, not by Bob's: no signature of his was added.
    bob_fp = keys.public_key(b.key, "").fingerprint
    assert not any(k == bob_fp for k, _ in trust.signatures(b.index, s2.id))
    b.close()

    users("alice")
    a = _store(tmp_path / "a")
    s3 = a.commit({"v": 3}, "three")
    a.push()
    a.close()
    users("bob")
    b = _store(tmp_path / "b")
    assert b.pull().untrusted == []  # signed by a key Bob accepts: trusted as it arrives
    assert b.load(s3.id, "v") == 3
    b.trust(s1.id)  # one by one: Bob's own signature
    listing = b.public_key().trusted
    assert [(k["name"], k["kind"]) for k in listing] == [("alice", "public")]

    revoked = b.revoke_key(result.key_id)
    assert revoked.names == ["alice"] and revoked.untrusted == sorted([s2.id, s3.id])
    assert "no longer trusted" in revoked.summary_line()
    assert b.load(s1.id, "v") == 1
    for sid in (s2.id, s3.id):
        with pytest.raises(Untrusted):
            b.load(sid, "v")
    with pytest.raises(BadInput, match="no trusted key"):
        b.revoke_key(result.key_id)
    with pytest.raises(BadInput, match="your own key"):
        b.revoke_key(bob_fp)
    # Accepting it again accepts them again.
    assert b.trust_key(alice).accepted == sorted([s2.id, s3.id])


def test_signatures_travel_with_a_push_from_someone_else(tmp_path, users):
    alice = users("alice")
    a = _store(tmp_path / "a")
    a.remote_add("one", tmp_path / "remote1")
    snap = a.commit({"v": 1}, "alice's")
    a.push()
    a.close()
    bob = users("bob")
    b = _store(tmp_path / "b")
    b.remote_add("one", tmp_path / "remote1")
    b.remote_add("two", tmp_path / "remote2")
    b.trust_key(alice)
    b.pull("one")
    b.push("two")  # Bob relays Alice's signature; he signed nothing himself
    entries = sorted(p.name for p in (tmp_path / "remote2" / "snapshots").iterdir())
    assert entries == [f"{snap.id}.{keys.parse_line(alice).fingerprint}.json"]
    b.close()

    users("carol")
    c = _store(tmp_path / "c")
    c.remote_add("two", tmp_path / "remote2")
    c.trust_key(alice)
    c.trust_key(bob)
    report = c.pull("two")
    assert report.untrusted == []
    assert c.remote_snapshots("two")[0].trusted_by == "alice"
    assert c.load("main", "v") == 1


def test_a_snapshot_signed_by_anyone_else_is_not_trusted(tmp_path, users):
    alice = users("alice")
    users("mallory")
    m = _store(tmp_path / "m")
    m.remote_add("shared", tmp_path / "remote")
    forged = m.commit({"v": "evil"}, "looks like alice's")
    m.push()
    # Mallory also plants an entry under Alice's fingerprint, signed with her own key.
    fp = keys.parse_line(alice).fingerprint
    entries = tmp_path / "remote" / "snapshots"
    mine = next(entries.iterdir())
    planted = json.loads(mine.read_text())
    planted["key_id"] = fp
    (entries / f"{forged.id}.{fp}.json").write_text(json.dumps(planted))
    m.close()

    users("bob")
    b = _store(tmp_path / "b")
    b.remote_add("shared", tmp_path / "remote")
    b.trust_key(alice)
    report = b.pull()
    assert report.untrusted == [forged.id]
    assert b.remote_snapshots()[0].trusted_by is None
    with pytest.raises(Untrusted):
        b.load("main", "v")


GARBAGE = [
    "mlvc-ed25519",
    "mlvc-ed25519 AAAA",
    "mlvc-ed25519 " + "A" * 43 + "= a b",
    "mlvc-ed25519 " + "A" * 44,
    "mlvc-ed25519 " + "A" * 42 + "==",
    "mlvc-ed25519 " + "A" * 43 + "= name\x1b[31m",
    "mlvc-ed25519 " + "A" * 43 + "= " + "n" * 101,
    "ssh-ed25519 " + "A" * 43 + "= alice",
]


@pytest.mark.parametrize("line", GARBAGE)
def test_garbage_lines_are_refused_in_one_line(repo, line):
    with pytest.raises(BadInput) as info:
        repo.trust_key(line)
    assert "\n" not in str(info.value) and str(info.value)
    assert keys.trusted_public_keys() == {}


def test_garbage_files_are_refused_in_one_line(repo, tmp_path):
    line = keys.public_key(os.urandom(32), "x").line()
    cases = {
        "binary.pub": b"\xff\xfe" * 10,
        "huge.pub": b"a" * (keys.MAX_KEY_FILE + 1),
        "two.pub": (line + "\n" + line + "\n").encode(),
        "short.key": b"abcd",
        "empty.pub": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.pub")
    for name in [*cases, "fifo.pub", "no-such-file"]:
        with pytest.raises(BadInput) as info:
            repo.trust_key(tmp_path / name)
        assert "\n" not in str(info.value), name
    with pytest.raises(BadInput, match="folder"):
        repo.trust_key(tmp_path)
    with pytest.raises(BadInput, match="not a valid key name"):
        repo.trust_key(line, "../../x")
    with pytest.raises(BadInput, match="not a valid key name"):
        repo.trust_key(line, "you")
    with pytest.raises(BadInput, match="your own key"):
        repo.trust_key(keys.public_key(repo.key).line())
    # The same file, good: accepted, stored owner-only.
    (tmp_path / "good.pub").write_text(line + "\n")
    assert repo.trust_key(tmp_path / "good.pub").name == "x"
    stored = signing.trusted_keys_dir() / "x.pub"
    assert stored.stat().st_mode & 0o777 == 0o600
    other = keys.public_key(os.urandom(32), "x").line()
    with pytest.raises(BadInput, match="another key is trusted as 'x'"):
        repo.trust_key(other)


def test_the_command_line_trusts_and_revokes(tmp_path, users):
    alice = users("alice")
    users("bob")
    (tmp_path / "b").mkdir()
    assert mlvc("init", cwd=tmp_path / "b").returncode == 0
    out = mlvc("trust", "--key", alice, "--json", cwd=tmp_path / "b")
    assert out.returncode == 0, out.stderr
    fp = json.loads(out.stdout)["key_id"]
    assert "alice" in mlvc("key", "list", cwd=tmp_path / "b").stdout
    out = mlvc("trust", "--revoke-key", fp, cwd=tmp_path / "b")
    assert out.returncode == 0 and "Revoked key alice" in out.stdout, out.stderr
    out = mlvc("trust", "--key", "mlvc-ed25519 garbage", cwd=tmp_path / "b")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and not out.stdout
