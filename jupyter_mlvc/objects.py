"""Where blobs are written: a content-addressed, immutable object store.

An object is named by the BLAKE3 hash of its bytes and lives at
``objects/<oid[:2]>/<oid[2:]>``. On disk it is one header byte (``R`` raw, ``Z``
zstd) followed by the payload. Objects are written to a temp file, flushed to
disk, then renamed into place, so a name that exists always holds complete bytes;
they are never modified afterwards. Every read re-hashes what it returns.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blake3
import zstandard

from .errors import CorruptObject, MissingObject

RAW = b"R"
ZSTD = b"Z"

#: Large buffers are cut into chunks of this size, so that a change to a part of an
#: array stores about that part again, not the whole array.
CHUNK_SIZE = 1 << 20

#: Data whose zstd sample shrinks less than this is stored raw (random floats, ...).
MIN_COMPRESSION_GAIN = 0.9

_HASH_THREADS_MIN = 8 << 20
_tls = threading.local()


def hash_bytes(data: bytes | memoryview) -> str:
    if len(data) >= _HASH_THREADS_MIN:
        return blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()
    return blake3.blake3(data).hexdigest()


def _compressor() -> zstandard.ZstdCompressor:
    c = getattr(_tls, "cctx", None)
    if c is None:
        c = _tls.cctx = zstandard.ZstdCompressor(level=3)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_tls, "dctx", None)
    if d is None:
        d = _tls.dctx = zstandard.ZstdDecompressor()
    return d


def compresses_well(data: memoryview | bytes, sample: int = 64 << 10) -> bool:
    """Whether zstd pays for ``data``, judged on a sample from its start and middle."""
    n = len(data)
    if n < 64:
        return False
    mid = n // 2
    probe = bytes(data[: sample // 2]) + bytes(data[mid : mid + sample // 2])
    return len(_compressor().compress(probe)) < MIN_COMPRESSION_GAIN * len(probe)


class ObjectStore:
    """The ``objects/`` folder of a store."""

    def __init__(self, root: Path, fsync: bool = True):
        self.root = Path(root)
        self.tmp = self.root.parent / "tmp"
        self.fsync = fsync

    def path(self, oid: str) -> Path:
        return self.root / oid[:2] / oid[2:]

    def has(self, oid: str) -> bool:
        """Whether ``oid`` is stored. Refreshes its mtime, so that a concurrent
        ``gc`` (which spares recent objects) does not take it from a commit
        that is about to reference it."""
        p = self.path(oid)
        try:
            os.utime(p)
            return True
        except FileNotFoundError:
            return False

    def __contains__(self, oid: str) -> bool:
        return self.path(oid).exists()

    def __iter__(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for f in sorted(sub.iterdir()):
                yield sub.name + f.name

    # -- writing -------------------------------------------------------------

    def batch(self) -> WriteBatch:
        """A group of writes that become visible together once flushed to disk."""
        return WriteBatch(self)

    # -- reading -------------------------------------------------------------

    def get(self, oid: str, what: str | None = None) -> bytes:
        """The bytes of ``oid``, verified. ``what`` names the object in errors."""
        raw = self._read(oid, what)
        data = self._decode(oid, raw, what)
        if hash_bytes(data) != oid:
            raise CorruptObject(
                f"{what or 'object'} is corrupt: object {oid[:12]} does not match its hash"
            )
        return data

    def read_into(self, oid: str, target: memoryview, what: str | None = None) -> None:
        """Read ``oid`` straight into ``target`` (exactly its size) and verify it."""
        p = self.path(oid)
        try:
            with open(p, "rb") as f:
                header = f.read(1)
                if header == RAW:
                    n = f.readinto(target)
                    extra = f.read(1)
                    if n != len(target) or extra:
                        raise CorruptObject(
                            f"{what or 'object'} is corrupt: object {oid[:12]} has the wrong size"
                        )
                else:
                    data = self._decode(oid, header + f.read(), what)
                    if len(data) != len(target):
                        raise CorruptObject(
                            f"{what or 'object'} is corrupt: object {oid[:12]} has the wrong size"
                        )
                    target[:] = data
        except FileNotFoundError:
            raise MissingObject(f"{what or 'object'} is missing from the store: object {oid[:12]}")
        if hash_bytes(target) != oid:
            raise CorruptObject(
                f"{what or 'object'} is corrupt: object {oid[:12]} does not match its hash"
            )

    def _read(self, oid: str, what: str | None) -> bytes:
        try:
            return self.path(oid).read_bytes()
        except FileNotFoundError:
            raise MissingObject(f"{what or 'object'} is missing from the store: object {oid[:12]}")

    @staticmethod
    def _decode(oid: str, raw: bytes, what: str | None) -> bytes:
        header, body = raw[:1], raw[1:]
        if header == RAW:
            return body
        if header == ZSTD:
            try:
                return _decompressor().decompress(body)
            except zstandard.ZstdError:
                pass
        raise CorruptObject(f"{what or 'object'} is corrupt: object {oid[:12]} cannot be decoded")

    def size_on_disk(self, oid: str) -> int:
        try:
            return self.path(oid).stat().st_size
        except FileNotFoundError:
            return 0

    def verify(self, oid: str) -> str | None:
        """None when ``oid`` is intact, else what is wrong with it."""
        try:
            self.get(oid)
        except MissingObject:
            return "missing"
        except CorruptObject:
            return "corrupt"
        return None

    def delete(self, oid: str) -> int:
        p = self.path(oid)
        try:
            size = p.stat().st_size
            p.unlink()
            return size
        except FileNotFoundError:
            return 0

    def clean_tmp(self, older_than: float = 3600.0, dry_run: bool = False) -> int:
        """Remove temp files left by writers that died; returns bytes freed."""
        freed = 0
        if not self.tmp.is_dir():
            return 0
        now = time.time()
        for f in self.tmp.iterdir():
            try:
                st = f.stat()
            except FileNotFoundError:
                continue
            if now - st.st_mtime > older_than:
                freed += st.st_size
                if not dry_run:
                    f.unlink(missing_ok=True)
        return freed


class WriteBatch:
    """Writes objects to temp files; ``flush`` makes them durable, then visible.

    Renaming only after the data reached the disk means that a crash (even a power
    loss) never leaves a complete-looking object with missing bytes, which a later
    commit would trust because the name exists.
    """

    def __init__(self, store: ObjectStore, workers: int = 8):
        self.store = store
        self.pending: list[tuple[str, str]] = []  # (tmp path, oid)
        self.seen: set[str] = set()
        self.bytes_written = 0
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlvc-write")
        self.futures: list = []
        store.tmp.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes | memoryview, compress: bool | None = None) -> str:
        """Store ``data`` now (in this thread); returns its oid."""
        oid = hash_bytes(data)
        self._store(oid, data, compress)
        return oid

    def put_async(self, data: memoryview, compress: bool | None = None):
        """Hash and store ``data`` in the pool; returns a future of its oid.
        ``data`` must stay alive and unchanged until ``flush``."""
        fut = self.pool.submit(self.put, data, compress)
        self.futures.append(fut)
        return fut

    def _store(self, oid: str, data: bytes | memoryview, compress: bool | None) -> None:
        with self.lock:
            if oid in self.seen:
                return
            self.seen.add(oid)
        if self.store.has(oid):
            return
        if compress is None:
            compress = compresses_well(data)
        header, payload = RAW, data
        if compress:
            packed = _compressor().compress(data)
            if len(packed) < len(data):
                header, payload = ZSTD, packed
        fd, tmp = tempfile.mkstemp(dir=self.store.tmp, prefix=oid[:16] + ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(payload)
                if self.store.fsync:
                    # Each writer thread flushes its own file: the disk works on the
                    # first chunks while later ones are still being hashed and written.
                    f.flush()
                    os.fdatasync(f.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self.lock:
            self.pending.append((tmp, oid))
            self.bytes_written += 1 + len(payload)

    def wait(self) -> None:
        """Wait for every async write; then the first error, if any, is raised."""
        futures, self.futures = self.futures, []
        first: BaseException | None = None
        for fut in futures:
            exc = fut.exception()
            if exc is not None and first is None:
                first = exc
        if first is not None:
            raise first

    def flush(self) -> None:
        """Make every pending object durable, then move it into place."""
        self.wait()
        if not self.pending:
            return
        dirs = set()
        for tmp, oid in self.pending:
            target = self.store.path(oid)
            if target.parent not in dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                dirs.add(target.parent)
            os.replace(tmp, target)
        self.pending = []
        if self.store.fsync:
            for d in dirs:
                _fsync_dir(d)

    def abort(self) -> None:
        """Drop the pending temp files; nothing becomes visible."""
        with contextlib.suppress(Exception):
            self.wait()
        for tmp, _ in self.pending:
            Path(tmp).unlink(missing_ok=True)
        self.pending = []

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.abort()
        finally:
            self.close()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
