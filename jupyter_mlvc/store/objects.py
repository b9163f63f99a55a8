"""Where blobs are written: a content-addressed, immutable object store.

An object is named by the BLAKE3 hash of its bytes and lives at
``objects/<oid[:2]>/<oid[2:]>``. On disk it is one header byte (``R`` raw, ``Z``
zstd) followed by the payload. Objects are written to a temp file, flushed to
disk, then renamed into place, so a name that exists always holds complete bytes;
they are never modified afterwards. Every read re-hashes what it returns.

A store may come from someone else (pulled, copied), so nothing read from it is
taken as is: an id must be 64 hex digits before it becomes a path (``check_oid``),
an object is read only as a regular file of this folder, and no object is read or
inflated past the size its kind allows (``decode``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from io import BufferedReader
from pathlib import Path

import blake3
import zstandard

from ..errors import BadObjectId, CorruptObject, MissingObject
from . import durability

RAW = b"R"
ZSTD = b"Z"

#: Large buffers are cut into chunks of this size, so that a change to a part of an
#: array stores about that part again, not the whole array.
CHUNK_SIZE = 1 << 20

#: Data whose zstd sample shrinks less than this is stored raw (random floats, ...).
MIN_COMPRESSION_GAIN = 0.9

#: The most bytes an object of each kind written whole may hold. Chunks are at most
#: ``CHUNK_SIZE`` by construction; these bound what a hostile store can make a reader
#: allocate for the others.
MAX_MANIFEST = 64 << 20
MAX_NOTEBOOK = 512 << 20
MAX_RNG = 64 << 20
#: The bound of a read that does not know what kind of object it reads.
MAX_OBJECT = max(CHUNK_SIZE, MAX_MANIFEST, MAX_NOTEBOOK, MAX_RNG)

_OID = re.compile(r"[0-9a-f]{64}")
# Objects are opened as regular files of the store only: a planted symlink must not
# lead a read outside it, and a planted FIFO must not block it.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_UTIME_NOFOLLOW = os.utime in os.supports_follow_symlinks

_HASH_THREADS_MIN = 8 << 20
_tls = threading.local()


def is_oid(value: object) -> bool:
    """Whether ``value`` has the form of an object id: 64 lowercase hex digits."""
    return isinstance(value, str) and _OID.fullmatch(value) is not None


def check_oid(value: object, what: str | None = None) -> str:
    """``value`` if it is an object id, else ``BadObjectId`` naming ``what`` holds it.

    Ids come from manifests, listings and URLs that someone else wrote; one like
    ``../../etc/passwd`` must never become a path.
    """
    if is_oid(value):
        return value  # type: ignore[return-value]
    raise BadObjectId(f"{what or 'an object'} has an invalid object id {shown(value)}")


def shown(value: object, width: int = 40) -> str:
    """``value`` for a one-line message: its repr (control characters escaped), cut short."""
    text = repr(value) if isinstance(value, (str, int, float, type(None))) else type(value).__name__
    return text if len(text) <= width else text[: width - 3] + "..."


def open_regular(path: str | os.PathLike[str]) -> BufferedReader | None:
    """``path`` open for reading, or None when it is no regular file (a symlink, a FIFO,
    a folder): a name in a store must not lead a read elsewhere, nor block it.
    ``FileNotFoundError`` when there is nothing."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        return None
    return f


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


def decode(oid: str, raw: bytes, what: str | None = None, limit: int = MAX_OBJECT) -> bytes:
    """The content of the stored bytes ``raw`` (header + payload), checked against ``oid``.

    ``limit`` is the most bytes the object may hold. A stored payload is never larger
    than its content (data is compressed only when that makes it smaller), and a zstd
    frame is inflated only while it stays within ``limit``: a few kilobytes that
    would inflate to gigabytes are refused, before any memory is taken when the frame
    declares its size (as every frame written here does).
    """
    label = what or "object"
    header, body = _split(oid, raw, label, limit)
    if header == RAW:
        data = body
    else:
        try:
            # python-zstandard's decompress() allocates what the frame header declares.
            size = zstandard.frame_content_size(body)
        except zstandard.ZstdError:
            raise _undecodable(oid, label)
        if 0 <= size <= limit:
            try:
                data = _decompressor().decompress(body)
            except zstandard.ZstdError:
                raise _undecodable(oid, label)
        else:
            # No size declared (this store never writes such frames): checked a piece at
            # a time first, so that a bomb is refused without ever being held.
            verify_stored(oid, raw, what, limit)
            return b"".join(_inflated(oid, body, label, limit))
    if hash_bytes(data) != oid:
        raise CorruptObject(f"{label} is corrupt: object {oid[:12]} does not match its hash")
    return data


def verify_stored(oid: str, raw: bytes, what: str | None = None, limit: int = MAX_OBJECT) -> None:
    """Check that the stored bytes ``raw`` hold ``oid`` in at most ``limit`` bytes, as
    ``decode`` does, but without holding the content: it is inflated and hashed a
    piece at a time, so checking an object costs memory for its stored size only."""
    label = what or "object"
    header, body = _split(oid, raw, label, limit)
    if header == RAW:
        digest = hash_bytes(body)
    else:
        hasher = blake3.blake3()
        for piece in _inflated(oid, body, label, limit):
            hasher.update(piece)
        digest = hasher.hexdigest()
    if digest != oid:
        raise CorruptObject(f"{label} is corrupt: object {oid[:12]} does not match its hash")


def _split(oid: str, raw: bytes, label: str, limit: int) -> tuple[bytes, bytes]:
    header, body = raw[:1], raw[1:]
    if header not in (RAW, ZSTD):
        raise _undecodable(oid, label)
    if len(body) > limit:
        raise CorruptObject(
            f"{label} is corrupt: object {oid[:12]} is larger than the {limit} bytes it may hold"
        )
    return header, body


def _inflate_into(oid: str, body: bytes, target: memoryview, label: str) -> int:
    """Inflate the zstd frame ``body`` straight into ``target``, with no copy of the
    content made: how many bytes it holds. A frame that holds more is refused before
    anything past ``target`` is inflated."""
    too_big = _too_big(oid, label, len(target))
    try:
        if zstandard.frame_content_size(body) > len(target):
            raise too_big
        with _decompressor().stream_reader(body) as reader:
            n = 0
            while n < len(target):
                got = reader.readinto(target[n:])
                if not got:
                    return n
                n += got
            if reader.read(1):
                raise too_big
            return n
    except zstandard.ZstdError:
        raise _undecodable(oid, label)


def _inflated(oid: str, body: bytes, label: str, limit: int) -> Iterator[bytes]:
    """The content of the zstd frame ``body``, a piece at a time, refused as soon as it
    passes ``limit`` bytes (or declares that it will)."""
    too_big = _too_big(oid, label, limit)
    try:
        if zstandard.frame_content_size(body) > limit:
            raise too_big
        n = 0
        # A reader of its own: a generator may be left half-read.
        with zstandard.ZstdDecompressor().stream_reader(body) as reader:
            while piece := reader.read(CHUNK_SIZE):
                n += len(piece)
                if n > limit:
                    raise too_big
                yield piece
    except zstandard.ZstdError:
        raise _undecodable(oid, label)


def _too_big(oid: str, label: str, limit: int) -> CorruptObject:
    return CorruptObject(
        f"{label} is corrupt: object {oid[:12]} inflates past the {limit} bytes it may hold"
    )


def _undecodable(oid: str, label: str) -> CorruptObject:
    return CorruptObject(f"{label} is corrupt: object {oid[:12]} cannot be decoded")


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
        self._prefix = os.path.join(self.root, "")

    def path(self, oid: str, what: str | None = None) -> Path:
        """Where ``oid`` lives; ``BadObjectId`` if it is not an object id."""
        return Path(self.file(oid, what))

    def file(self, oid: str, what: str | None = None) -> str:
        """``path`` as a string, made without pathlib: a commit or a restore asks for
        thousands of them."""
        check_oid(oid, what)
        return f"{self._prefix}{oid[:2]}{os.sep}{oid[2:]}"

    def has(self, oid: str) -> bool:
        """Whether ``oid`` is stored. Refreshes its mtime, so that a concurrent
        ``gc`` (which spares recent objects) does not take it from a commit
        that is about to reference it."""
        try:
            os.utime(self.file(oid), follow_symlinks=not _UTIME_NOFOLLOW)
            return True
        except FileNotFoundError:
            return False

    def __contains__(self, oid: str) -> bool:
        return os.path.exists(self.file(oid))

    def __iter__(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for f in sorted(sub.iterdir()):
                # Stray files (a copied store's leftovers) are not objects.
                if is_oid(sub.name + f.name):
                    yield sub.name + f.name

    # -- writing -------------------------------------------------------------

    def batch(self, deferred: bool = False) -> WriteBatch:
        """A group of writes that become visible together once flushed to disk.
        ``deferred``: moved into place without waiting for the disk; the caller makes
        them durable later (``durability``: a commit's background flush)."""
        return WriteBatch(self, deferred=deferred)

    # -- reading -------------------------------------------------------------

    def get(self, oid: str, what: str | None = None, limit: int = MAX_OBJECT) -> bytes:
        """The bytes of ``oid``, verified; at most ``limit`` of them. ``what`` names the
        object in errors."""
        return decode(oid, self.read_raw(oid, what, limit), what, limit)

    def read_raw(self, oid: str, what: str | None = None, limit: int = MAX_OBJECT) -> bytes:
        """The stored bytes of ``oid`` (header + payload), unchecked but bounded: an
        object that holds more than ``limit`` bytes is refused before it is read."""
        with self.open(oid, what, limit) as f:
            return f.read(limit + 2)

    def read_into(self, oid: str, target: memoryview, what: str | None = None) -> None:
        """Read ``oid`` straight into ``target`` (exactly its size) and verify it."""
        label = what or "object"
        wrong_size = CorruptObject(f"{label} is corrupt: object {oid[:12]} has the wrong size")
        with self.open(oid, what, len(target)) as f:
            header = f.read(1)
            if header == RAW:
                n = f.readinto(target)
                if n != len(target) or f.read(1):
                    raise wrong_size
            else:
                if header != ZSTD:
                    raise _undecodable(oid, label)
                # The payload is read at its size, which open() checked against the
                # target's: a larger read would first take memory for the whole target.
                payload = f.read(min(len(target), os.fstat(f.fileno()).st_size - 1))
                if _inflate_into(oid, payload, target, label) != len(target):
                    raise wrong_size
        if hash_bytes(target) != oid:
            raise CorruptObject(f"{label} is corrupt: object {oid[:12]} does not match its hash")

    def open(self, oid: str, what: str | None = None, limit: int = MAX_OBJECT) -> BufferedReader:
        """The object file of ``oid``, open for reading: a regular file of at most
        ``limit`` bytes of payload, or the error that says what is wrong."""
        p = self.file(oid, what)
        label = what or "object"
        try:
            f = open_regular(p)
        except FileNotFoundError:
            raise MissingObject(f"{label} is missing from the store: object {oid[:12]}")
        if f is None:
            raise CorruptObject(f"{label} is corrupt: object {oid[:12]} is not a regular file")
        st = os.fstat(f.fileno())
        if st.st_size > limit + 1:
            f.close()
            raise CorruptObject(
                f"{label} is corrupt: object {oid[:12]} is larger than the {limit} bytes it may hold"
            )
        return f

    def size_on_disk(self, oid: str) -> int:
        try:
            return self.path(oid).lstat().st_size
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
            size = p.lstat().st_size
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

    def __init__(self, store: ObjectStore, workers: int = 8, deferred: bool = False):
        self.store = store
        self.deferred = deferred
        self.sync = store.fsync and not deferred
        #: The journals of a deferred batch, for its background flush to remove.
        self.journals: list[Path] = []
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

    def put_stored(self, oid: str, raw: bytes) -> None:
        """Store ``raw``, the stored form of ``oid`` (header + payload) as another store
        holds it, unchanged. The caller has verified it (``verify_stored``)."""
        check_oid(oid)
        if self._claim(oid):
            self._write(oid, raw[:1], raw[1:])

    def put_async(self, data: memoryview, compress: bool | None = None):
        """Hash and store ``data`` in the pool; returns a future of its oid.
        ``data`` must stay alive and unchanged until ``flush``."""
        fut = self.pool.submit(self.put, data, compress)
        self.futures.append(fut)
        return fut

    def _claim(self, oid: str) -> bool:
        """Whether ``oid`` is for this caller to write: not stored, nor being stored."""
        with self.lock:
            if oid in self.seen:
                return False
            self.seen.add(oid)
        return not self.store.has(oid)

    def _store(self, oid: str, data: bytes | memoryview, compress: bool | None) -> None:
        if not self._claim(oid):
            return
        if compress is None:
            compress = compresses_well(data)
        header, payload = RAW, data
        if compress:
            packed = _compressor().compress(data)
            if len(packed) < len(data):
                header, payload = ZSTD, packed
        self._write(oid, header, payload)

    def _write(self, oid: str, header: bytes, payload: bytes | memoryview) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.store.tmp, prefix=oid[:16] + ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(payload)
                if self.sync:
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

    def flush(self, journal: bool = True) -> None:
        """Make every pending object durable, then move it into place. A deferred batch
        first records the ids it is about to name in a journal that is on the disk
        (``durability.write_journal``): after a power loss, those objects are checked
        before any commit can take one for a whole object by its name. ``journal=False``
        is for an object no later write can share (a manifest: it holds its time)."""
        self.wait()
        if not self.pending:
            return
        if self.deferred and self.store.fsync and journal:
            self.journals.append(
                durability.write_journal(self.store.root.parent, [oid for _, oid in self.pending])
            )
        dirs = set()
        for tmp, oid in self.pending:
            target = self.store.path(oid)
            if target.parent not in dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                dirs.add(target.parent)
            os.replace(tmp, target)
        self.pending = []
        if self.sync:
            for d in dirs:
                durability.fsync_dir(d)

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
