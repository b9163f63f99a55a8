"""A commit killed at any moment loses no finished snapshot; concurrent writers lose nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from jupyter_mlvc import Repo
from jupyter_mlvc.errors import WriteFailed

WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from jupyter_mlvc import Repo
    repo = Repo.open(sys.argv[1])
    tag = sys.argv[2]
    n = int(sys.argv[3])
    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    state = {"big": rng.random(int(sys.argv[4])), "small": list(range(10))}
    print("ready", flush=True)
    for i in range(n):
        state["big"][: 1000] = i
        state["small"].append(i)
        state["i"] = i
        state["tag"] = tag
        snap = repo.commit(state, f"{tag} {i}", notebook_path=sys.argv[5])
        print(snap.id, flush=True)
    """
)


def _spawn(repo_root, tag, n, size, notebook):
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(repo_root), tag, str(n), str(size), notebook],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def _check_all_restorable(repo, full_every=1):
    assert repo.fsck() == []  # re-hashes every object of every snapshot
    snaps, total = repo.list(limit=None, all=True)
    for n, snap in enumerate(snaps):
        names = None if n % full_every == 0 else ["tag", "i", "small"]
        values = repo.checkout(snap.id, names)
        if names is not None:
            assert values["tag"] + " " + str(values["i"]) == snap.message
            assert values["small"][-1] == values["i"]
            continue
        assert values["tag"] + " " + str(values["i"]) == snap.message
        assert values["big"][0] == values["i"]
        assert values["small"][-1] == values["i"]
    return total


def _kill_trials(tmp_path, trials, size, commits=1000, window=1.5, full_every=1):
    repo = Repo.init(tmp_path)
    finished: set[str] = set()
    rng = random.Random(1234)
    for trial in range(trials):
        proc = _spawn(tmp_path, f"t{trial}", commits, size, "nb.ipynb")
        assert proc.stdout.readline().strip() == "ready"
        # Kill it at a random moment of its commits: mid-chunk, mid-manifest, mid-index.
        time.sleep(rng.uniform(0.0, window))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        finished.update(line for line in out.split() if line)
    # Every snapshot the writers reported finished is there and restores exactly.
    ids = {s.id for s in repo.list(limit=None, all=True)[0]}
    assert finished <= ids
    total = _check_all_restorable(repo, full_every)
    assert total >= len(finished)
    return total


def test_sigkill_during_commits_leaves_a_healthy_store(tmp_path):
    _kill_trials(tmp_path, trials=6, size=2_000_000)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_sigkill_campaign(tmp_path):
    started = time.time()
    # 200 MB of state; up to three commits a trial, killed at a random moment of them.
    # fsck re-hashes every object; each snapshot's small variables are restored, and every
    # fifth snapshot is restored whole (its 200 MB array compared too).
    total = _kill_trials(tmp_path, trials=200, size=25_000_000, commits=3, window=3.5, full_every=5)
    print(
        f"\nSIGKILL campaign: 200 kills, {total} finished snapshots present and restorable "
        "(every fifth whole), "
        f"fsck clean, {time.time() - started:.0f} s"
    )


def test_four_processes_committing_at_once(tmp_path):
    repo = Repo.init(tmp_path)
    procs = [_spawn(tmp_path, f"w{k}", 10, 200_000, "shared.ipynb") for k in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
    reported = {line for out, _ in outs for line in out.split() if line != "ready"}
    assert len(reported) == 40
    snaps, total = repo.list(limit=None, all=True)
    assert total == 40 and {s.id for s in snaps} == reported
    # One notebook, one line of history: every commit's parent is another commit.
    ids = {s.id for s in snaps}
    roots = [s for s in snaps if not s.parents]
    assert len(roots) == 1
    assert all(s.parents[0] in ids for s in snaps if s.parents)
    assert len({s.parents[0] for s in snaps if s.parents}) == 39  # a chain, no lost update
    _check_all_restorable(repo)


def test_a_failed_commit_leaves_the_store_as_it_was(repo, monkeypatch):
    repo.commit({"v": np.arange(10)}, "before")
    before = (repo.list()[1], sorted(repo.objects))
    from jupyter_mlvc.store import objects

    def broken_write(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(objects.WriteBatch, "_store", broken_write)
    with pytest.raises(WriteFailed) as err:
        repo.commit({"v": np.arange(10**6)}, "fails")
    assert "No space left on device (ENOSPC)" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.undo()
    assert (repo.list()[1], sorted(repo.objects)) == before
    assert list((repo.path / "tmp").iterdir()) == []
    assert repo.fsck() == []


FILL_DISK = textwrap.dedent(
    """
    import resource, signal, sys, numpy as np
    from jupyter_mlvc import Repo
    from jupyter_mlvc.errors import WriteFailed
    repo = Repo.open(sys.argv[1])
    state = {"small": [1, 2, 3]}
    repo.commit(state, "fits")
    # Files may not grow past 512 KB from here on: the next commit's 1 MB chunks hit it.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 << 10, 512 << 10))
    state["big"] = np.random.default_rng(0).random(2_000_000)
    try:
        repo.commit(state, "too big")
    except WriteFailed as exc:
        print("FAILED:", exc)
    assert state["small"] == [1, 2, 3] and state["big"].shape == (2_000_000,)
    print("KERNEL STATE KEPT")
    """
)


def test_file_size_limit_fails_cleanly(tmp_path):
    repo = Repo.init(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", FILL_DISK, str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "FAILED: nothing was committed: cannot write to the store" in proc.stdout
    assert "KERNEL STATE KEPT" in proc.stdout
    assert [s.message for s in repo.list()[0]] == ["fits"]
    assert repo.fsck() == []
    assert list((tmp_path / ".mlvc" / "tmp").iterdir()) == []
