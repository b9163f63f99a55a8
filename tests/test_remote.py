"""Remotes: push and pull against a real S3 endpoint (moto's server on 127.0.0.1) and a folder.

Every test gets its own bucket; the server runs once per module. Uploads are counted
at the filesystem (each PUT to the server goes through ``pipe_file``), so "no object
is uploaded twice" is checked where it matters.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import BadInput, CorruptObject, RemoteFailed, UnknownRemote, Untrusted
from jupyter_mlvc.ops.remote import Remote

from . import helpers
from .helpers import user_store as _store

s3_endpoint = helpers.s3_endpoint
bucket_url = helpers.bucket_url

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")


def _notebook(text: str) -> dict:
    return {
        "cells": [{"cell_type": "code", "source": text, "metadata": {}, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


class PutCounter:
    """Records every object PUT through a remote's filesystem; can fail after N."""

    def __init__(self, fs, monkeypatch, fail_after: int | None = None):
        self.paths: list[str] = []
        self.fail_after = fail_after
        self.lock = threading.Lock()
        original = fs.pipe_file

        def pipe_file(path, data, *args, **kwargs):
            if "/objects/" in path:
                with self.lock:
                    if self.fail_after is not None and len(self.paths) >= self.fail_after:
                        raise ConnectionResetError("connection reset by peer")
                    self.paths.append(path)
            return original(path, data, *args, **kwargs)

        monkeypatch.setattr(fs, "pipe_file", pipe_file)

    def take(self) -> list[str]:
        with self.lock:
            out, self.paths = self.paths, []
        return out


def _remote_fs(repo: Repo, name: str = "origin"):
    config = repo.remotes()[name]
    return Remote(config.name, config.url, config.options).fs


def _state(seed: int = 0, n: int = 200_000) -> dict:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    return {
        "weights": rng.normal(size=n),
        "frame": pd.DataFrame({"a": np.arange(500), "b": rng.random(500)}),
        "model": LogisticRegression().fit(X, y),
        "X": X,
        "params": {"lr": 0.1, "seed": seed},
    }


def _same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    np.testing.assert_array_equal(a["weights"], b["weights"])
    pd.testing.assert_frame_equal(a["frame"], b["frame"])
    np.testing.assert_array_equal(a["model"].predict(a["X"]), b["model"].predict(b["X"]))
    assert a["params"] == b["params"]


# -- S3 ------------------------------------------------------------------------------------


def test_push_pull_restore_in_a_fresh_store(tmp_path, bucket_url, s3_endpoint, monkeypatch):
    a = _store(tmp_path / "alice")
    state1 = _state(1)
    s1 = a.commit(state1, "baseline", notebook=_notebook("train()"), metrics={"acc": 0.8})
    state2 = {**state1, "weights": state1["weights"] * 2, "params": {"lr": 0.01, "seed": 1}}
    s2 = a.commit(state2, "tuned", notebook=_notebook("train(lr=0.01)"), metrics={"acc": 0.9})
    a.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    puts = PutCounter(_remote_fs(a), monkeypatch)
    seen = []
    report = a.push(progress=lambda done, total: seen.append((done, total)))
    assert report.snapshots == [s1.id, s2.id]
    assert report.objects_sent == len(puts.paths) == len(set(puts.paths)) > 0
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert a.push().summary_line().endswith("nothing to push.")
    assert puts.take() and not puts.paths

    log = a.remote_log()
    assert list(log["message"]) == ["tuned", "baseline"] and list(log["acc"]) == [0.9, 0.8]

    # A colleague with another key: everything readable, nothing unpickled until trusted.
    b = _store(tmp_path / "bob", key=secrets.token_bytes(32))
    b.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    pulled = b.pull()
    assert pulled.snapshots == [s1.id, s2.id] and pulled.untrusted == [s1.id, s2.id]
    assert b.fsck() == []
    snap = b.show("main")
    assert snap.id == s2.id and not snap.trusted and snap.metrics == {"acc": 0.9}
    assert snap.variables["weights"].summary["shape"] == [200_000]
    assert b.notebook("main").cells[0].source == "train(lr=0.01)"
    d = b.diff(s1.id, s2.id).to_dict()
    assert {c["name"] for c in d["variables"]["changed"]} == {"weights", "params"}
    with pytest.raises(Untrusted):
        b.checkout("main")
    b.trust("main")
    ns: dict = {}
    b.restore("main", ns)
    _same(ns, state2)
    with pytest.raises(Untrusted):
        b.restore("main~1", ns)
    b.trust()
    b.restore("main~1", ns)
    _same(ns, state1)


def test_incremental_push_sends_only_new_objects(tmp_path, bucket_url, s3_endpoint, monkeypatch):
    a = _store(tmp_path / "a")
    state = _state(2, n=1_500_000)  # 12 MB: a dozen chunks
    a.commit(state, "one")
    a.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    puts = PutCounter(_remote_fs(a), monkeypatch)
    first = a.push()
    first_paths = puts.take()
    weights = state["weights"].copy()
    weights[:1000] += 1  # one chunk of the array changes
    a.commit({**state, "weights": weights}, "two")
    second = a.push()
    second_paths = puts.take()
    assert not set(first_paths) & set(second_paths), "an object was uploaded twice"
    assert len(second_paths) == second.objects_sent
    # The changed chunk, the manifest and the random state; the notebook-less rest is shared.
    assert second.objects_sent <= 4
    assert second.bytes_sent < first.bytes_sent / 5
    assert second.objects_present > 10


def test_interrupted_push_resumes_with_what_is_missing(
    tmp_path, bucket_url, s3_endpoint, monkeypatch
):
    a = _store(tmp_path / "a")
    a.commit(_state(3, n=2_000_000), "big")  # 16 MB
    a.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    puts = PutCounter(_remote_fs(a), monkeypatch, fail_after=5)
    with pytest.raises(RemoteFailed, match="run it again to resume"):
        a.push(workers=2)
    sent_before = puts.take()
    assert len(sent_before) == 5
    # Nothing is listed while objects are missing: the entry goes up last.
    assert a.remote_log().empty
    puts.fail_after = None
    report = a.push(workers=2)
    sent_after = puts.take()
    assert not set(sent_before) & set(sent_after)
    assert report.objects_present == 5 and report.objects_sent == len(sent_after)
    fresh = _store(tmp_path / "fresh")
    fresh.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    fresh.pull()
    fresh.trust()
    np.testing.assert_array_equal(fresh.load("main", "weights"), a.load("main", "weights"))


def test_two_users_push_to_one_remote_at_once(tmp_path, bucket_url, s3_endpoint):
    alice_key, bob_key = secrets.token_bytes(32), secrets.token_bytes(32)
    shared = np.random.default_rng(7).normal(size=600_000)  # both push these chunks
    users = {}
    for name, key in (("alice", alice_key), ("bob", bob_key)):
        repo = _store(tmp_path / name, key=key)
        for i in range(3):
            repo.commit({"data": shared, "mine": f"{name}-{i}", "i": i}, f"{name} {i}")
        repo.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
        users[name] = repo
    barrier = threading.Barrier(2)
    reports, errors = {}, []

    def push(name: str) -> None:
        try:
            barrier.wait()
            reports[name] = users[name].push(workers=4)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(reports["alice"].snapshots) == len(reports["bob"].snapshots) == 3

    carol = _store(tmp_path / "carol")
    carol.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    listed = carol.remote_snapshots()
    assert len(listed) == 6 and {s.message for s in listed} == {
        f"{n} {i}" for n in users for i in range(3)
    }
    report = carol.pull()
    assert len(report.snapshots) == 6 and len(report.untrusted) == 6
    # Both histories kept: one on main, the other beside it, nothing overwritten.
    branches = carol.branches()
    assert set(branches) == {"main", "origin/main"}
    tips = {carol.show(b).message for b in branches}
    assert tips == {"alice 2", "bob 2"}

    # Accept Alice's snapshots by her key: hers restore, Bob's do not.
    key_file = tmp_path / "alice.key"
    key_file.write_text(alice_key.hex() + "\n")
    result = carol.trust_key(key_file, "alice")
    assert len(result.accepted) == 3
    alice_tip = next(b for b in branches if carol.show(b).message == "alice 2")
    bob_tip = next(b for b in branches if b != alice_tip)
    assert carol.load(alice_tip, "mine") == "alice-2"
    with pytest.raises(Untrusted):
        carol.load(bob_tip, "mine")
    np.testing.assert_array_equal(carol.load(alice_tip, "data"), shared)


def test_a_trusted_key_accepts_snapshots_at_pull(tmp_path, bucket_url, s3_endpoint):
    alice_key = secrets.token_bytes(32)
    a = _store(tmp_path / "a", key=alice_key)
    a.commit({"x": 1}, "one")
    a.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    a.push()
    b = _store(tmp_path / "b")
    (tmp_path / "k").write_text(alice_key.hex())
    b.trust_key(tmp_path / "k")
    key_files = list((Path(os.environ["JUPYTER_DATA_DIR"]) / "mlvc" / "trusted").glob("*.key"))
    assert len(key_files) == 1 and key_files[0].stat().st_mode & 0o777 == 0o600
    b.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    assert b.remote_snapshots()[0].trusted_by == key_files[0].stem
    report = b.pull()
    assert report.untrusted == []
    assert b.load("main", "x") == 1


def test_pull_is_incremental_and_fast_forwards(tmp_path, bucket_url, s3_endpoint):
    a = _store(tmp_path / "a")
    a.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    state = _state(4)
    a.commit(state, "one")
    a.push()
    b = _store(tmp_path / "b")
    b.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    first = b.pull()
    ns: dict = {}
    b.restore("main", ns)
    a.commit({**state, "params": {"lr": 1}}, "two")
    a.push()
    second = b.pull()
    assert len(second.snapshots) == 1
    assert second.objects_sent <= 3 < first.objects_sent
    # b's HEAD stays at what its kernel holds; main moved on.
    assert second.detached == [b.notebook_path]
    assert b.head().message == "one" and b.show("main").message == "two"
    b.restore("main", ns)
    assert ns["params"] == {"lr": 1} and b.current_branch() == "main"
    assert b.pull().summary_line().startswith("Up to date")


def test_errors_are_one_line(tmp_path, s3_endpoint):
    a = _store(tmp_path / "a")
    with pytest.raises(UnknownRemote, match="no remote yet"):
        a.push()
    with pytest.raises(BadInput, match="environment"):
        a.remote_add("x", "s3://b/p", options={"secret": "abc"})
    a.remote_add("gone", "s3://no-such-bucket-here/p", endpoint_url=s3_endpoint)
    a.commit({"x": 1}, "one")
    with pytest.raises(RemoteFailed, match="gone") as info:
        a.push("gone")
    assert "\n" not in str(info.value)


def test_benchmark_bytes_sent_for_64mb_state(tmp_path, bucket_url, s3_endpoint, record_property):
    """A 64 MB float64 array, then 1% of it (one contiguous region) changed."""
    a = _store(tmp_path / "a")
    a.objects.fsync = False
    a.remote_add("origin", bucket_url, endpoint_url=s3_endpoint)
    values = np.random.default_rng(0).random(8 << 20)  # 8 Mi float64 = 64 MiB
    a.commit({"values": values}, "full")
    first = a.push()
    changed = values.copy()
    n = len(values) // 100
    changed[n * 40 : n * 41] += 1.0
    a.commit({"values": changed}, "1% changed")
    second = a.push()
    record_property("first_push_bytes", first.bytes_sent)
    record_property("incremental_push_bytes", second.bytes_sent)
    print(
        f"\nfirst push: {first.bytes_sent} bytes, {first.objects_sent} objects, {first.seconds} s;"
        f" incremental: {second.bytes_sent} bytes, {second.objects_sent} objects, {second.seconds} s"
    )
    assert first.bytes_sent > 64 << 20
    assert second.bytes_sent < 3 << 20


# -- a folder as the remote, and the command line --------------------------------------------


def test_folder_remote_round_trip(tmp_path):
    a = _store(tmp_path / "a")
    state = _state(5)
    a.commit(state, "one", notebook=_notebook("x = 1"))
    a.remote_add("shared", tmp_path / "shared")
    assert a.remotes()["shared"].url == str(tmp_path / "shared")
    a.push()
    folder = tmp_path / "shared"
    assert (folder / "MLVC-REMOTE").is_file()
    assert not list((folder / "tmp").iterdir())  # each file was renamed into place
    for f in (folder / "objects").rglob("*"):
        if f.is_file():
            oid = f.parent.name + f.name
            assert f.read_bytes() == a.objects.path(oid).read_bytes()
    b = _store(tmp_path / "b")
    b.remote_add("shared", str(folder))
    b.pull("shared")
    ns: dict = {}
    b.restore("main", ns)  # same user, same key: trusted at once
    _same(ns, state)
    b.remote_remove("shared")
    with pytest.raises(UnknownRemote):
        b.pull("shared")


def test_corrupt_remote_object_is_refused(tmp_path):
    a = _store(tmp_path / "a")
    a.commit({"w": np.arange(300_000.0)}, "one")
    a.remote_add("shared", tmp_path / "shared")
    a.push()
    victim = max((tmp_path / "shared" / "objects").rglob("*"), key=lambda f: f.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    b = _store(tmp_path / "b")
    b.remote_add("shared", tmp_path / "shared")
    with pytest.raises(CorruptObject, match="corrupt"):
        b.pull()
    assert b.log().empty


def mlvc(*args, cwd):
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mlvc.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return out


def test_command_line(tmp_path, bucket_url, s3_endpoint):
    a = _store(tmp_path / "a")
    a.commit({"x": np.arange(10)}, "first", metrics={"acc": 0.5})
    a.close()
    cwd_a, cwd_b = tmp_path / "a", tmp_path / "b"
    out = mlvc("remote", "add", "origin", bucket_url, "--endpoint-url", s3_endpoint, cwd=cwd_a)
    assert out.returncode == 0, out.stderr
    assert "origin" in mlvc("remote", cwd=cwd_a).stdout
    out = mlvc("push", "--json", cwd=cwd_a)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["snapshots"]) == 1
    cwd_b.mkdir()
    assert mlvc("init", cwd=cwd_b).returncode == 0
    mlvc("remote", "add", "origin", bucket_url, "--endpoint-url", s3_endpoint, cwd=cwd_b)
    rows = json.loads(mlvc("log", "--remote", "origin", "--json", cwd=cwd_b).stdout)
    assert [r["message"] for r in rows] == ["first"] and rows[0]["acc"] == 0.5
    out = mlvc("pull", "origin", cwd=cwd_b)
    assert out.returncode == 0 and "Pulled 1 snapshot" in out.stdout, out.stderr
    out = mlvc("pull", "origin", "nosuchbranch", cwd=cwd_b)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    key = tmp_path / "bad.key"
    key.write_text("not a key")
    assert mlvc("trust", "--key", key, cwd=cwd_b).returncode == 1
    assert mlvc("remote", "remove", "origin", cwd=cwd_b).returncode == 0
    assert "no remotes" in mlvc("remote", "list", cwd=cwd_b).stdout


def test_importing_the_core_imports_no_remote_library():
    code = (
        "import sys, jupyter_mlvc, jupyter_mlvc.ops.remote, jupyter_mlvc.cli\n"
        "print(','.join(m for m in ('fsspec', 's3fs', 'botocore', 'moto') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
