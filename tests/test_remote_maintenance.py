"""Remotes that can be looked after: tags pushed and pulled, ``remote gc`` (with its
grace period and leases against concurrent pushes), ``remote fsck``, and progress in
bytes and objects. On a folder and on a real S3 endpoint (moto's server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import RemoteFailed
from jupyter_mlvc.ops.remote import Remote, tag_digest
from jupyter_mlvc.progress import Progress

from . import helpers
from .helpers import user_store as _store

s3_endpoint = helpers.s3_endpoint
bucket_url = helpers.bucket_url


def mlvc(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )


def _fs(repo: Repo, name: str):
    config = repo.remotes()[name]
    return Remote(config.name, config.url, config.options)


@pytest.fixture(params=["folder", "s3"])
def where(request, tmp_path):
    """A remote URL and its options: a folder, or a bucket on the local S3 server."""
    if request.param == "folder":
        return str(tmp_path / "remote"), {}
    pytest.importorskip("s3fs")
    endpoint = request.getfixturevalue("s3_endpoint")
    return request.getfixturevalue("bucket_url"), {"endpoint_url": endpoint}


def _add(repo: Repo, where, name: str = "origin") -> None:
    url, options = where
    repo.remote_add(name, url, **options)


# -- tags --------------------------------------------------------------------------------------


def test_tags_are_pushed_and_pulled_never_overwriting_a_local_one(tmp_path, where):
    a = _store(tmp_path / "a")
    _add(a, where)
    s1 = a.commit({"v": 1}, "one")
    s2 = a.commit({"v": 2}, "two")
    a.tag("best", s1.id)
    a.tag("release/1.0", s2.id)
    assert a.push().tags == {}  # tags only with --tags
    report = a.push(tags=True)
    assert report.tags == {"best": s1.id, "release/1.0": s2.id}
    assert "Tags pushed: best -> " in report.summary_line()
    assert _fs(a, "origin").tags() == {"best": s1.id, "release/1.0": s2.id}
    assert a.push(tags=True).summary_line().endswith("nothing to push.")

    b = _store(tmp_path / "b")
    _add(b, where)
    pulled = b.pull()
    assert pulled.tags == {"best": s1.id, "release/1.0": s2.id}
    assert b.tags() == {"best": s1.id, "release/1.0": s2.id}
    assert b.load("best", "v") == 1

    # Bob tags "good" his way; Alice pushes "good" at another snapshot.
    s3 = b.commit({"v": 3}, "bob's")
    b.tag("good", s3.id)
    a.tag("good", s2.id)
    a.push(tags=True)
    again = b.pull()
    assert b.tags()["good"] == s3.id  # his own tag is not moved
    assert b.tags()["origin/good"] == s2.id
    assert again.tags_kept == {"good": "origin/good"}
    assert "kept under the remote's name: good as origin/good" in again.summary_line()
    # Bob's push of his "good" is refused: the remote has it at another snapshot.
    refused = b.push(tags=True)
    assert refused.tags_refused == {"good": s2.id} and "origin/good" not in refused.tags
    assert _fs(b, "origin").tags()["good"] == s2.id


def test_a_malformed_tag_file_is_left_out_and_reported(tmp_path):
    a = _store(tmp_path / "a")
    a.remote_add("origin", tmp_path / "remote")
    s1 = a.commit({"v": 1}, "one")
    a.tag("best", s1.id)
    a.push(tags=True)
    folder = tmp_path / "remote" / "tags"
    (folder / f"{tag_digest('evil')}.{s1.id}.json").write_text('{"name": "../../x"}')
    (folder / f"{tag_digest('../x')}.{s1.id}.json").write_text(
        json.dumps({"name": "../x", "id": s1.id, "tagged_at": time.time()})
    )
    remote = _fs(a, "origin")
    assert remote.tags() == {"best": s1.id}
    assert len(remote.tag_problems) == 2
    check = a.remote_fsck()
    assert len(check.problems) == 2 and check.tags == 1


# -- gc ----------------------------------------------------------------------------------------


def _interrupted_push(repo: Repo, monkeypatch, after: int) -> None:
    """A push that dies after ``after`` objects: they stay on the remote, unnamed."""
    import jupyter_mlvc.ops.remote as remote_op

    real = remote_op.Remote.write_raw
    sent = []

    def write_raw(self, oid, raw):
        if len(sent) >= after:
            raise ConnectionResetError("connection reset by peer")
        sent.append(oid)
        return real(self, oid, raw)

    monkeypatch.setattr(remote_op.Remote, "write_raw", write_raw)
    with pytest.raises(RemoteFailed):
        repo.push(workers=1)
    monkeypatch.setattr(remote_op.Remote, "write_raw", real)


def test_remote_gc_removes_what_no_pushed_snapshot_names(tmp_path, where, monkeypatch, capsys):
    a = _store(tmp_path / "a")
    _add(a, where)
    kept = a.commit({"w": np.arange(400_000.0)}, "pushed")  # 3.2 MB: four chunks
    a.push()
    before = _fs(a, "origin").object_listing()[0]
    a.commit({"w": np.random.default_rng(0).random(600_000)}, "never pushed whole")
    _interrupted_push(a, monkeypatch, after=3)
    objects = _fs(a, "origin").object_listing()[0]
    orphans = {oid: size for oid, (size, _) in objects.items() if oid not in before}
    assert len(orphans) == 3

    # Young objects are spared by the grace period: a push may be writing them.
    spared = a.remote_gc()
    assert spared.objects_removed == 0 and spared.objects_recent == 3
    dry = a.remote_gc(dry_run=True, grace_seconds=0)
    assert (dry.objects_removed, dry.bytes_freed) == (3, sum(orphans.values()))
    assert set(_fs(a, "origin").object_listing()[0]) == set(objects)
    seen = []
    done = a.remote_gc(grace_seconds=0, progress=lambda *args: seen.append(args))
    assert (done.objects_removed, done.bytes_freed) == (3, sum(orphans.values()))
    assert done.objects_in_use == len(before)
    assert seen[-1] == (done.bytes_freed, done.bytes_freed, 3, 3)
    with capsys.disabled():
        print(f"\nremote gc ({where[0].split(':')[0]}): {done.summary_line()}")
    assert set(_fs(a, "origin").object_listing()[0]) == set(before)
    assert a.remote_gc(grace_seconds=0).objects_removed == 0
    assert a.remote_fsck(download=True).ok

    # The interrupted push resumes, and what is there pulls and restores.
    a.push()
    b = _store(tmp_path / "b")
    _add(b, where)
    b.pull()
    np.testing.assert_array_equal(b.load(kept.id, "w"), np.arange(400_000.0))
    assert b.remote_fsck().ok


def test_gc_and_push_never_run_at_once(tmp_path, monkeypatch):
    a = _store(tmp_path / "a")
    a.remote_add("origin", tmp_path / "remote")
    a.commit({"v": 1}, "one")
    a.push()
    a.commit({"w": np.arange(300_000.0)}, "two")
    _interrupted_push(a, monkeypatch, after=2)
    locks = tmp_path / "remote" / "locks"
    locks.mkdir(exist_ok=True)
    lease = locks / "push-0123456789abcdef.json"
    lease.write_text(json.dumps({"kind": "push", "user": "bob", "host": "h", "at": time.time()}))
    with pytest.raises(RemoteFailed, match="a push by bob@h has been running since") as info:
        a.remote_gc(grace_seconds=0)
    assert "\n" not in str(info.value)
    assert a.remote_gc(dry_run=True, grace_seconds=0).objects_removed == 2  # nothing removed
    # A lease older than a push can take is dead: ignored, then removed.
    lease.write_text(json.dumps({"kind": "push", "user": "bob", "host": "h", "at": 1e9}))
    assert a.remote_gc(grace_seconds=0).objects_removed == 2
    assert not lease.exists() and not list(locks.iterdir())

    gc_lease = locks / "gc-0123456789abcdef.json"
    gc_lease.write_text(json.dumps({"kind": "gc", "user": "carol", "host": "h", "at": time.time()}))
    with pytest.raises(RemoteFailed, match="a gc by carol@h"):
        a.push()
    gc_lease.unlink()
    assert len(a.push().snapshots) == 1


def test_gc_removes_nothing_when_a_manifest_cannot_be_read(tmp_path, monkeypatch):
    a = _store(tmp_path / "a")
    a.remote_add("origin", tmp_path / "remote")
    snap = a.commit({"v": 1}, "one")
    a.push()
    a.commit({"w": np.arange(300_000.0)}, "two")
    _interrupted_push(a, monkeypatch, after=2)
    manifest = tmp_path / "remote" / "objects" / snap.id[:2] / snap.id[2:]
    manifest.write_bytes(b"\x00garbage")
    before = sorted((tmp_path / "remote" / "objects").rglob("*"))
    b = _store(tmp_path / "b")  # no local copy of the manifest: it reads the remote's
    b.remote_add("origin", tmp_path / "remote")
    with pytest.raises(RemoteFailed, match="nothing was removed"):
        b.remote_gc(grace_seconds=0)
    assert sorted((tmp_path / "remote" / "objects").rglob("*")) == before
    manifest.unlink()
    check = b.remote_fsck()
    assert not check.ok and check.problems == [f"snapshot {snap.id[:8]}: its manifest is missing"]
    # Without its manifest, its own objects cannot be told from the orphans.
    assert check.unreferenced == 4


def test_fsck_finds_damage_and_the_command_line_exits_1(tmp_path):
    a = _store(tmp_path / "a")
    a.remote_add("origin", tmp_path / "remote")
    a.commit({"w": np.arange(300_000.0)}, "one")
    a.push()
    a.close()
    assert mlvc("remote", "fsck", "origin", cwd=tmp_path / "a").returncode == 0
    victim = max((tmp_path / "remote" / "objects").rglob("*"), key=lambda f: f.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    quick = mlvc("remote", "fsck", "origin", cwd=tmp_path / "a")
    assert quick.returncode == 0  # sizes and names are right: only reading tells
    full = mlvc("remote", "fsck", "origin", "--download", "--json", cwd=tmp_path / "a")
    assert full.returncode == 1
    problems = json.loads(full.stdout)["problems"]
    assert len(problems) == 1 and victim.parent.name in problems[0] and "corrupt" in problems[0]
    out = mlvc("remote", "gc", "origin", "--dry-run", cwd=tmp_path / "a")
    assert out.returncode == 0 and "would remove 0 objects" in out.stdout, out.stderr
    out = mlvc("remote", "gc", "nosuch", cwd=tmp_path / "a")
    assert out.returncode == 1 and out.stderr.count("\n") == 1


# -- progress ----------------------------------------------------------------------------------


def test_transfers_report_bytes_and_objects(tmp_path):
    a = _store(tmp_path / "a")
    a.remote_add("origin", tmp_path / "remote")
    a.commit({"w": np.arange(300_000.0)}, "one")
    four, two = [], []
    report = a.push(progress=lambda d, t, n, total: four.append((d, t, n, total)))
    assert four[0] == (0, four[0][1], 0, report.objects_sent)
    assert four[-1][2] == four[-1][3] == report.objects_sent and four[-1][0] == four[-1][1]
    b = _store(tmp_path / "b")
    b.remote_add("origin", tmp_path / "remote")
    b.pull(progress=lambda done, total: two.append((done, total)))
    assert two and two[-1][0] == two[-1][1] > 0
    progress = Progress("Pushing")
    progress.update(5_000_000, 12_000_000, 3, 10)
    assert progress._text(1.5) == "Pushing… 1.5 s 42% 5.0 MB of 12.0 MB, 3 of 10 objects"
