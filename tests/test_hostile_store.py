"""Hostile stores: whatever a pulled or copied store holds was written by someone else.

Each test crafts a remote by hand, as anyone with write access to it could (a folder
and an S3 bucket on moto's server), next to one honest snapshot pushed by Alice.
Bob pulls everything. What must hold every time: each crafted snapshot is refused
with one line that names it, the honest one is pulled and restores, nothing outside
the stores is read or written (a sentinel file keeps its bytes and times), and no
planted name or pickle ever runs (its marker file never appears).
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import numpy as np
import pytest
import zstandard

from jupyter_mlvc import Repo, cli
from jupyter_mlvc.errors import BadInput, BadManifest, BadObjectId, Untrusted
from jupyter_mlvc.ops.maintenance import rebuild_index
from jupyter_mlvc.ops.remote import MAX_ENTRY, Remote, TransferReport
from jupyter_mlvc.store.manifest import MAX_VARIABLES, validate_manifest
from jupyter_mlvc.store.objects import CHUNK_SIZE, MAX_NOTEBOOK, check_oid
from jupyter_mlvc.store.signing import key_id, verify

from . import helpers
from .helpers import user_store

s3_endpoint = helpers.s3_endpoint
bucket_url = helpers.bucket_url

#: What a pull may add to the peak memory of a process, bombs or not.
PEAK_GROWTH_BOUND = 64 << 20


# -- crafting ------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _oid(content: bytes) -> str:
    return blake3.blake3(content).hexdigest()


_RLE_BLOCK = 128 << 10


def _bomb(size: int, declared: bool) -> tuple[str, bytes]:
    """``(id, stored bytes)`` of an object of ``size`` zero bytes: one zstd frame of
    run-length blocks, 4 bytes per 128 KiB (16 KB for 512 MiB). ``declared``: the frame
    header says how large it inflates (else a reader learns it by inflating). The id
    is well-formed but not the hash: a bomb must be refused before that is checked."""
    # Single segment with an 8-byte size; or no size and a 128 KiB window.
    header = b"\xe0" + size.to_bytes(8, "little") if declared else b"\x00\x38"
    blocks = []
    for start in range(0, size, _RLE_BLOCK):
        n = min(_RLE_BLOCK, size - start)
        last = int(start + n >= size)
        blocks.append((last | 1 << 1 | n << 3).to_bytes(3, "little") + b"\0")
    frame = b"\x28\xb5\x2f\xfd" + header + b"".join(blocks)
    return _oid(b"bomb %d %d" % (size, declared)), b"Z" + frame


def test_the_bombs_are_real():
    for declared in (True, False):
        _, stored = _bomb(3 * _RLE_BLOCK + 5, declared)
        assert zstandard.frame_content_size(stored[1:]) == (3 * _RLE_BLOCK + 5 if declared else -1)
        out = zstandard.ZstdDecompressor().decompressobj().decompress(stored[1:])
        assert out == bytes(3 * _RLE_BLOCK + 5)
    assert len(_bomb(512 << 20, True)[1]) < 17_000


class Mallory:
    """Writes a remote's files by hand: objects, manifests and entries."""

    def __init__(self, url: str, options: dict[str, Any]):
        self.remote = Remote("mallory", url, options)
        self.fs = self.remote.fs

    def write(self, path: str, data: bytes) -> None:
        self.fs.makedirs(os.path.dirname(path), exist_ok=True)
        self.fs.pipe_file(path, data)

    def object(self, content: bytes, stored: bytes | None = None, oid: str | None = None) -> str:
        oid = oid or _oid(content)
        self.write(self.remote.path("objects", oid[:2], oid[2:]), stored or b"R" + content)
        return oid

    def entry(self, sid: str, entry: Any, signer: str = "unsigned") -> None:
        data = entry if isinstance(entry, bytes) else _json(entry)
        self.write(self.remote.path("snapshots", f"{sid}.{signer}.json"), data)

    def snapshot(self, base: dict[str, Any], change: Callable[[dict], Any] | None = None) -> str:
        """A snapshot whose manifest is ``base`` changed by ``change`` (in place), listed
        by a valid entry: what is wrong with it is in its manifest only."""
        m = copy.deepcopy(base)
        if change is not None:
            change(m)
        sid = self.object(_json(m))
        self.entry(sid, entry_of(sid, base))
        return sid


def entry_of(sid: str, base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "format": 1,
        "id": sid,
        "notebook": base["notebook_path"],
        "created_at": base["created_at"],
        "branch": "crafted",
        "message": "crafted",
        "parents": [],
        "auto": False,
        "n_variables": 1,
        "nbytes": 10,
        "metrics": {},
        "key_id": "unsigned",
        "signature": None,
        "pushed_by": "mallory",
        **fields,
    }


class Sentinel:
    """A file outside every store, dated in the past: a read would move its access time
    (relatime updates it when it is not after the change time), a write anything."""

    def __init__(self, path: Path):
        self.path = path
        path.write_bytes(b"the user's secret\n")
        past = time.time() - 3 * 86400
        os.utime(path, (past, past))
        self.before = os.stat(path)

    def untouched(self) -> bool:
        st = os.stat(self.path)
        same_times = (st.st_atime_ns, st.st_mtime_ns) == (
            self.before.st_atime_ns,
            self.before.st_mtime_ns,
        )
        same_bytes = self.path.read_bytes() == b"the user's secret\n"
        # Reading it here moved its access time: back to where it was, for the next look.
        os.utime(self.path, ns=(self.before.st_atime_ns, self.before.st_mtime_ns))
        return same_times and same_bytes


class World:
    """Alice's honest snapshot on the remote, Mallory's pen, Bob's empty store."""

    def __init__(self, tmp: Path, url: str, options: dict[str, Any]):
        self.tmp = tmp
        self.folder = "://" not in url
        self.outside = Sentinel(tmp / "outside.txt")
        self.marker = tmp / "PWNED"
        alice = user_store(tmp / "alice")
        self.state = {"x": np.arange(1000), "y": 2}
        notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        self.good = alice.commit(self.state, "honest", notebook=notebook).id
        self.base = json.loads(json.dumps(alice.manifest(self.good)))
        alice.remote_add("origin", url, endpoint_url=options.get("endpoint_url"))
        alice.push()
        alice.close()
        self.mallory = Mallory(url, options)
        self.bob = user_store(tmp / "bob")
        self.bob.remote_add("origin", url, endpoint_url=options.get("endpoint_url"))

    def pull(self, *refs: str) -> TransferReport:
        return self.bob.pull("origin", list(refs), all=not refs)

    def check(self, report: TransferReport, rejected: dict[str, str]) -> None:
        """``rejected`` maps each crafted snapshot to a piece of its reason."""
        assert report.snapshots == [self.good]
        assert set(report.rejected) == set(rejected)
        for sid, piece in rejected.items():
            why = report.rejected[sid]
            assert why.startswith(f"snapshot {sid[:8]}") and "\n" not in why, why
            assert piece in why, (piece, why)
        assert "rejected" in report.summary_line()
        assert self.bob.checkout(self.good)["y"] == 2
        assert self.outside.untouched()
        assert not self.marker.exists()


@pytest.fixture(params=["folder", "s3"])
def world(request, tmp_path, monkeypatch) -> World:
    monkeypatch.chdir(tmp_path)
    if request.param == "folder":
        url, options = str(tmp_path / "shared"), {}
    else:
        url = request.getfixturevalue("bucket_url")
        options = {"endpoint_url": request.getfixturevalue("s3_endpoint")}
    w = World(tmp_path, url, options)
    yield w
    w.bob.close()


# -- ids -----------------------------------------------------------------------------------


def test_ids_that_leave_the_store_are_refused(world):
    w = world
    escape = ".." + str(w.outside.path)  # objects/.. + an absolute path: the sentinel itself

    def set_unit(key: str, value: Any) -> Callable[[dict], None]:
        return lambda m: m["units"][0].__setitem__(key, value)

    crafted = {
        w.mallory.snapshot(w.base, lambda m: m.update(notebook=escape)): "notebook",
        w.mallory.snapshot(w.base, lambda m: m.update(rng="../dev/zero")): "rng",
        w.mallory.snapshot(w.base, set_unit("stream", ["/etc/passwd"])): "stream chunk",
        w.mallory.snapshot(w.base, lambda m: m.update(parents=["../" + "0" * 61])): "parent",
        w.mallory.snapshot(w.base, lambda m: m.update(notebook="A" * 64)): "not an object id",
    }
    # Names in the listing that are not entries, and objects that are not ids, are ignored.
    w.mallory.write(w.mallory.remote.path("snapshots", "..%2F..%2Fx.unsigned.json"), b"{}")
    w.mallory.write(w.mallory.remote.path("objects", "zz", "not-an-id"), b"R")
    if w.folder:
        # Symlinks in a folder remote, to the sentinel: an object a manifest names, a
        # manifest, and an entry.
        linked = "5" * 64
        path = Path(w.mallory.remote.path("objects", linked[:2], linked[2:]))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(w.outside.path)
        crafted[w.mallory.snapshot(w.base, _set(notebook=linked))] = "not a regular file"
        w.mallory.entry(linked, entry_of(linked, w.base))
        crafted[linked] = "not a regular file"
        entry = w.mallory.object(_json({**w.base, "message": "linked entry"}))
        Path(w.mallory.remote.path("snapshots", f"{entry}.unsigned.json")).symlink_to(
            w.outside.path
        )
        crafted[entry] = "its entry is not a regular file"
    w.check(w.pull(), crafted)
    with pytest.raises(BadObjectId, match="invalid object id"):
        w.bob.objects.get("../dev/zero")
    with pytest.raises(BadObjectId):
        w.bob.objects.path(escape)
    with pytest.raises(BadObjectId):
        Remote("r", str(w.tmp)).object_path("../" * 3 + "x" * 60)
    assert check_oid(w.good) == w.good


def test_a_copied_store_whose_index_names_a_file_outside(tmp_path):
    """The index of a copied store is someone else's too: an id it holds is checked
    where every reader turns ids into paths, before any file is opened."""
    repo = user_store(tmp_path / "copy")
    outside = Sentinel(tmp_path / "outside.txt")
    sid = repo.commit({"x": 1}, "one", notebook={"cells": [], "metadata": {}}).id
    with repo.index.write() as db:
        db.execute(
            "update snapshots set notebook_object = ? where id = ?", [".." + str(outside.path), sid]
        )
    row = repo.index.one("select notebook_object from snapshots where id = ?", [sid])
    with pytest.raises(BadObjectId) as info:
        repo.objects.get(row["notebook_object"], f"the notebook of snapshot {sid[:8]}")
    assert str(info.value).startswith(f"the notebook of snapshot {sid[:8]} has an invalid")
    assert "\n" not in str(info.value) and outside.untouched()


# -- manifests -----------------------------------------------------------------------------


def _rename(old: str, new: str) -> Callable[[dict], None]:
    def change(m: dict) -> None:
        m["variables"][new] = m["variables"].pop(old)
        for unit in m["units"]:
            unit["names"] = [new if n == old else n for n in unit["names"]]

    return change


def _var(key: str, value: Any) -> Callable[[dict], None]:
    return lambda m: m["variables"]["x"].__setitem__(key, value)


def _set(**fields: Any) -> Callable[[dict], None]:
    return lambda m: m.update(fields)


def test_malformed_manifests_are_rejected_one_line_each(world):
    w = world
    planted = f'{{__import__("os").system("touch {w.marker}")}}'
    cases: list[tuple[Callable[[dict], Any], str]] = [
        # Names must be Python identifiers: they are assigned in a namespace.
        (_rename("x", planted), "is not a Python identifier"),
        (_rename("x", "a b"), "'a b' is not a Python identifier"),
        (_rename("x", "class"), "'class' is not a Python identifier"),
        (_set(skipped={"a-b": "too big"}), "skipped variable name 'a-b'"),
        (_set(modules={"np": "os; rm -rf ~"}), "not a dotted Python name"),
        (_set(imports={"f": "os.system"}), "must be 'module:name'"),
        (_set(metrics={"acc\x1b[2J": 1.0}), "metric name"),
        (_set(branch="../../etc"), "not a valid branch name"),
        (_set(branch="main\n"), "not a valid branch name"),
        (_set(notebook_path="a\0b.ipynb"), "NUL"),
        # Types.
        (_set(created_at="yesterday"), "created_at"),
        (_set(parents="abc"), "parents must be a list"),
        (_set(units={}), "units must be a list"),
        (_set(variables=[]), "variables must be a JSON object"),
        (_set(auto="yes"), "auto must be true or false"),
        (_set(message=5), "message must be a string"),
        (_set(metrics={"acc": "high"}), "metric 'acc' must be a number"),
        (_var("summary", "x"), "summary is a string"),
        (_var("summary", {"repr": "x", "shape": 5}), "summary shape must be a list"),
        (_var("unit", 99), "unit must be a whole number from 0"),
        (_var("hash", None), "hash None is not an object id"),
        (_set(format=2), "written by a newer jupyter_mlvc"),
        (lambda m: m.pop("variables"), "has no variables"),
        # Time stamps.
        (_set(created_at=0), "created_at must be a time"),
        (_set(created_at=1e12), "created_at must be a time"),
        (_set(created_at=float("nan")), "created_at must be a time"),
        (_set(created_at=time.time() + 3 * 86400), "created_at must be a time"),
        # Sizes and counts.
        (_var("nbytes", 2**63), "nbytes must be a whole number"),
        (_var("nbytes", -1), "nbytes must be a whole number"),
        (lambda m: m["units"][0].update(stream_size=2**40), "cannot hold"),
        (
            _set(variables={f"v{i}": {} for i in range(MAX_VARIABLES + 1)}),
            f"more than {MAX_VARIABLES}",
        ),
    ]
    crafted = {w.mallory.snapshot(w.base, change): piece for change, piece in cases}
    # Bytes that are no manifest at all.
    for content, piece in (
        (b'{"auto": nope', "does not parse"),
        (b'{"auto":' + b"[" * 100_000, "does not parse"),
        (b'["a", "list"]', "not a JSON object"),
    ):
        sid = w.mallory.object(content)
        w.mallory.entry(sid, entry_of(sid, w.base))
        crafted[sid] = piece
    forged = "f" * 64  # stored where its hash says it is not
    w.mallory.object(_json(w.base), oid=forged)
    w.mallory.entry(forged, entry_of(forged, w.base))
    crafted[forged] = "does not match its hash"
    # A valid child of a rejected snapshot goes with it.
    parent = next(iter(crafted))
    child = w.mallory.snapshot(w.base, _set(parents=[parent], message="child"))
    crafted[child] = f"its parent {parent[:8]} was rejected"
    w.check(w.pull(), crafted)
    assert w.bob.log(all=True)["id"].tolist() == [w.good]


def test_a_pull_of_nothing_but_a_bad_snapshot_is_an_error(world):
    w = world
    sid = w.mallory.snapshot(w.base, _rename("x", "a b"))
    with pytest.raises(BadManifest) as info:
        w.pull(sid[:12])
    text = str(info.value)
    assert text.startswith(f"snapshot {sid[:8]}:") and "nothing was pulled" in text
    assert "\n" not in text and w.bob.log(all=True).empty


def test_the_local_reader_validates_too(tmp_path):
    repo = user_store(tmp_path)
    good = repo.commit({"x": 1}, "one")
    base = json.loads(json.dumps(repo.manifest(good.id)))
    assert validate_manifest(good.id, copy.deepcopy(base)) == base
    bad = copy.deepcopy(base)
    _rename("x", "import")(bad)
    with repo.objects.batch() as batch:
        sid = batch.put(_json(bad))
        batch.flush()
    with pytest.raises(BadManifest, match=f"snapshot {sid[:8]}: .*'import'"):
        repo.manifest(sid)


# -- objects -------------------------------------------------------------------------------

_MEMORY_PROBE = textwrap.dedent(
    """
    import json, re, sys
    from jupyter_mlvc import Repo
    from jupyter_mlvc.errors import MlvcError

    def peak():
        # The resident high-water mark, which clear_refs resets: what was held since.
        status = open("/proc/self/status").read()
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) << 10

    def reset():
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    repo = Repo.open(sys.argv[1])
    repo.remote_log("origin", all=True)  # the remote's libraries are loaded before measuring
    reset()
    before = peak()
    report = repo.pull("origin", all=True)
    errors = []
    for oid, size in json.loads(sys.argv[2]):
        try:
            if size is None:
                repo.objects.get(oid)
            else:
                repo.objects.read_into(oid, memoryview(bytearray(size)))
        except MlvcError as exc:
            errors.append(str(exc))
    growth = peak() - before
    # The control: 96 MiB really held shows as growth, so the figure above means something.
    reset()
    before = peak()
    held = b"\\x01" * (96 << 20)
    control = peak() - before
    print(json.dumps({"report": report.to_dict(), "errors": errors, "growth": growth,
                      "control": control}))
    """
)


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="measures memory with Linux's /proc"
)
def test_zstd_bombs_are_refused_without_inflating(world):
    """Bombs of 16 and 32 kilobytes (512 MiB and 1 GiB of zeros), with and without the
    size in their frame header, as a variable's chunk and as the notebook, pulled and
    read from the store: the process grows by less than ``PEAK_GROWTH_BOUND``."""
    w = world
    crafted = {}
    # Two sizes each, so that the two frames of a size are two objects.
    for declared, shrink in ((True, 0), (False, CHUNK_SIZE)):
        oid, stored = _bomb((512 << 20) - shrink, declared)
        w.mallory.object(b"", stored, oid)
        chunk = w.mallory.snapshot(
            w.base,
            lambda m, oid=oid: m["units"][0].update(stream=[oid], stream_size=CHUNK_SIZE),
        )
        crafted[chunk] = "inflates past the 1048576 bytes it may hold"
        big, stored = _bomb((1 << 30) - shrink, declared)
        w.mallory.object(b"", stored, big)
        notebook = w.mallory.snapshot(w.base, _set(notebook=big))
        crafted[notebook] = f"inflates past the {MAX_NOTEBOOK} bytes it may hold"
    # Other bombs planted in Bob's store, as in a copied one, and read from it.
    reads = []
    for declared, shrink in ((True, 2 * CHUNK_SIZE), (False, 3 * CHUNK_SIZE)):
        for size, read_size in (((512 << 20) - shrink, CHUNK_SIZE), ((1 << 30) - shrink, None)):
            oid, stored = _bomb(size, declared)
            path = w.bob.objects.path(oid)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(stored)
            reads.append((oid, read_size))
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(w.bob.root), json.dumps(reads)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        cwd=w.tmp,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["growth"] < PEAK_GROWTH_BOUND < result["control"], result
    report = result["report"]
    assert report["snapshots"] == [w.good]
    assert set(report["rejected"]) == set(crafted)
    for sid, piece in crafted.items():
        assert piece in report["rejected"][sid] and "\n" not in report["rejected"][sid]
    assert len(result["errors"]) == len(reads)
    assert all("inflates past" in e for e in result["errors"]), result["errors"]
    assert w.outside.untouched()


def test_a_planted_pickle_never_runs(world):
    """A well-formed snapshot whose variable unpickles into code: pulled, listed, shown,
    compared, but never loaded, since no key Bob accepts signed it."""
    w = world

    class Payload:
        def __reduce__(self):
            return (open, (str(w.marker), "w"))

    stream = pickle.dumps(Payload())
    oid = w.mallory.object(stream)
    sid = w.mallory.snapshot(
        w.base,
        lambda m: m["units"][0].update(stream=[oid], stream_size=len(stream), buffers=[]),
    )
    report = w.pull()
    assert set(report.snapshots) == {w.good, sid} and report.untrusted == [sid]
    assert w.bob.show(sid).variables["x"].type
    w.bob.diff(w.good, sid)
    for load in (lambda: w.bob.checkout(sid), lambda: w.bob.restore(sid, {})):
        with pytest.raises(Untrusted):
            load()
    assert not w.marker.exists() and w.outside.untouched()


# -- entries -------------------------------------------------------------------------------


def test_malformed_entries_are_reported_not_listed(world, capsys):
    w = world
    cases: list[tuple[Any, str]] = [
        ({"id": "../../x"}, "names snapshot '../../x'"),
        ({"parents": ["../dev/zero"]}, "parent '../dev/zero'"),
        ({"branch": "x y"}, "not a valid branch name"),
        ({"notebook": "a\0b"}, "NUL"),
        ({"created_at": -5}, "created_at must be a time"),
        ({"n_variables": 10**12}, "n_variables must be a whole number"),
        ({"metrics": {"acc": [1]}}, "metric 'acc' must be a number"),
        (b"{not json", "does not parse"),
        (b"[" * 100_000, "does not parse"),
        (b"", "is empty"),
        (_json({"message": "x" * (MAX_ENTRY + 1)}), f"more than the {MAX_ENTRY}"),
    ]
    crafted = {}
    for i, (fields, piece) in enumerate(cases):
        sid = w.mallory.object(_json({**w.base, "message": f"entry {i}"}))
        if isinstance(fields, bytes):
            w.mallory.entry(sid, fields)
        else:
            w.mallory.entry(sid, entry_of(sid, w.base, **fields))
        crafted[sid] = piece
    oversized = next(sid for sid, piece in crafted.items() if "more than" in piece)

    remote = Remote("origin", w.mallory.remote.url, w.mallory.remote.options)
    asked: list[str] = []
    cat_ranges = remote.fs.cat_ranges

    def spy(paths, *args, **kwargs):
        asked.extend(paths)
        return cat_ranges(paths, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(remote.fs, "cat_ranges", spy)
        listed = remote.snapshots()
    assert set(listed) == {w.good}
    assert set(remote.rejected) == set(crafted)
    assert not [p for p in asked if oversized in p], "an oversized entry was read"

    frame = w.bob.remote_log("origin", all=True)
    assert frame["id"].tolist() == [w.good] and set(frame.attrs["rejected"]) == set(crafted)
    assert cli.main(["log", "--remote", "origin", "--all", "-C", str(w.bob.root)]) == 0
    err = capsys.readouterr().err
    assert err.count("mlvc: skipped snapshot ") == len(crafted)
    # Listed as refused, they are no "snapshots yet" nor a reason to fail the pull.
    w.check(w.pull(), crafted)


def test_malformed_signatures_leave_a_snapshot_unverified(world):
    w = world
    sid = w.mallory.object(_json({**w.base, "message": "signed?"}))
    mine = key_id(w.bob.key)
    for signer, signature in (
        (mine, "é" * 64),
        (mine[::-1], 5),
        ("0123456789abcdef", "zz"),
        ("fedcba9876543210", "A" * 64),
        ("00000000000000ff", ["a"]),
    ):
        w.mallory.entry(sid, entry_of(sid, w.base, key_id=signer, signature=signature), signer)
    report = w.pull()
    assert set(report.snapshots) == {w.good, sid} and report.untrusted == [sid]
    with pytest.raises(Untrusted):
        w.bob.checkout(sid)
    for bad in ("é" * 64, 5, None, ["a"], "A" * 64, "0" * 63):
        assert verify(w.bob.key, sid, bad) is False


# -- a rebuilt index -----------------------------------------------------------------------


def test_rebuilding_the_index_leaves_out_bad_manifests(tmp_path, capsys):
    repo = user_store(tmp_path / "store")
    good = repo.commit({"x": 1}, "good").id
    base = json.loads(json.dumps(repo.manifest(good)))
    outside = Sentinel(tmp_path / "outside.txt")
    bad = copy.deepcopy(base)
    _rename("x", "a b")(bad)
    bad["message"] = "bad"
    escape = copy.deepcopy(base)
    escape.update(notebook=".." + str(outside.path), message="escape")
    planted = []
    with repo.objects.batch() as batch:
        planted = [batch.put(_json(m)) for m in (bad, escape)]
        batch.flush()
    objects = repo.objects.root
    (objects / "zz").mkdir()
    (objects / "zz" / "not-an-id").write_bytes(b"R{}")
    link = "ab" + "c" * 62
    (objects / "ab").mkdir(exist_ok=True)
    (objects / "ab" / link[2:]).symlink_to(outside.path)
    fifo = "cd" + "e" * 62
    (objects / "cd").mkdir(exist_ok=True)
    os.mkfifo(objects / "cd" / fifo[2:])
    repo.close()

    rejected: dict[str, str] = {}
    rebuilt = rebuild_index(Repo.open(tmp_path / "store"), rejected)
    assert rebuilt.recovered == [good]
    assert set(rejected) == set(planted)
    assert "'a b' is not a Python identifier" in rejected[planted[0]]
    assert "notebook" in rejected[planted[1]]
    assert all(r.startswith("snapshot ") and "\n" not in r for r in rejected.values())
    assert outside.untouched()

    assert cli.main(["fsck", "--rebuild-index", "-C", str(tmp_path / "store")]) == 0
    err = capsys.readouterr().err
    assert err.count("mlvc: left out snapshot ") == 2
    again = Repo.open(tmp_path / "store")
    problems = {p.object: p.kind for p in again.fsck()}
    assert problems == {link: "corrupt", fifo: "corrupt"}
    assert outside.untouched()


# -- faces ---------------------------------------------------------------------------------


def test_the_command_line_prints_no_terminal_control(world, capsys):
    w = world
    sid = w.mallory.snapshot(
        w.base,
        _set(
            message="\x1b]0;owned\x07\x1b[2J\rhello \u202eevil\x9b31m",
            notebook_path="nb\x1b[31m.ipynb",
            metrics={"acc": 1.0},
        ),
    )
    w.pull()
    store = str(w.bob.root)
    for args in (["log", "--all"], ["show", sid], ["diff", w.good, sid]):
        assert cli.main([*args, "-C", store]) == 0
        out = capsys.readouterr().out
        assert not set(out) & set("\x1b\x07\r\u202e\x9b"), repr(out)
    assert cli.main(["show", sid, "-C", store]) == 0
    assert "hello evil" in capsys.readouterr().out
    assert cli.terminal_safe("a\tb\nc\x1b[1mD\x1b]8;;u\x1b\\e") == "a\tb\ncDe"


def test_rest_refs_are_checked_whole():
    handlers = pytest.importorskip("jupyter_mlvc.server.handlers")
    assert handlers.MlvcHandler.ref_arg("main~2") == "main~2"
    for ref in ("main\n", "\u202emain", "a\x9bb", "", "x" * 201, "a\0b"):
        with pytest.raises(BadInput):
            handlers.MlvcHandler.ref_arg(ref)


def test_a_corrupt_object_of_one_snapshot_spares_the_others(world):
    w = world
    content = b"\x80\x05K\x01."  # pickle of 1
    oid = w.mallory.object(content, b"R" + content[::-1])
    sid = w.mallory.snapshot(
        w.base,
        lambda m: m["units"][0].update(stream=[oid], stream_size=len(content), buffers=[]),
    )
    w.check(w.pull(), {sid: "does not match its hash"})
