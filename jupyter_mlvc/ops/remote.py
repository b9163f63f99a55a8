"""Remotes: share snapshots through object storage that teams already run.

A remote is an fsspec URL: ``s3://bucket/prefix`` (AWS S3, MinIO and other
S3-compatible servers, through s3fs), ``gs://``, ``az://``, or a local or network
folder. Its layout mirrors the local store::

    <url>/MLVC-REMOTE                      {"format": 1}
    <url>/objects/ab/cdef...               the very bytes of the local object files
    <url>/snapshots/<id>.<key id>.json     one entry per snapshot and signer
    <url>/tags/<name hash>.<id>.json       one file per tag and snapshot it was pushed at
    <url>/locks/                           leases of pushes, and of a gc (``remote_gc``)

Nothing on a remote is ever modified: objects are named by their content, entries
by (snapshot, signer), and listings are merged when read. Two people pushing at
once therefore cannot lose each other's snapshots. Objects go up first and the
entry last, so an entry is only visible once everything it needs is there; an
interrupted push leaves objects only, and the next push skips them.

A pulled snapshot is someone else's: its variables are unpickled only if one of its
entries is signed with this user's key or a trusted key (``trust --key``), or after
``trust``. Its summaries, notebook and diffs are readable at once.

Example::

    >>> repo.remote_add("team", "s3://ml-bucket/mlvc", endpoint_url="http://minio:9000")  # doctest: +SKIP
    >>> repo.push("team").summary_line()                                              # doctest: +SKIP
    'Pushed 3 snapshots to team: 42 objects, 12.3 MB sent (118 already there).'
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import hashlib
import inspect
import json
import os
import posixpath
import re
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import (
    AmbiguousRef,
    BadInput,
    BadManifest,
    BadName,
    CorruptObject,
    DamagedStore,
    MissingObject,
    MlvcError,
    RemoteFailed,
    UnknownRef,
    UnknownRemote,
)
from ..present.format import format_bytes
from ..store import catalog, leases, remotes, trust
from ..store import keys as public_keys
from ..store.catalog import Filter, is_empty, metrics_of, snapshot_ids, snapshot_row
from ..store.catalog import exists as snapshot_exists
from ..store.catalog import rows as snapshot_rows
from ..store.manifest import manifest_objects, object_sizes, parse_manifest, validate_entry
from ..store.objects import (
    MAX_MANIFEST,
    MAX_OBJECT,
    ObjectStore,
    check_oid,
    decode,
    open_regular,
    verify_stored,
)
from ..store.refs import (
    DEFAULT_BRANCH,
    branch_target,
    check_name,
    create_tag,
    has_head,
    head,
    is_ancestor,
    is_id_prefix,
    parent_map,
    set_branch,
    set_head,
    set_tag,
    tag_target,
)
from ..store.remotes import RemoteConfig
from .history import sort_log

if TYPE_CHECKING:
    from ..repo import Repo

REMOTE_FORMAT = 1
MARKER = "MLVC-REMOTE"
#: The signer part of the entry of a snapshot pushed by someone who does not trust it.
UNSIGNED = "unsigned"
#: Transfers in flight at once: object stores answer each request slowly, but many at a time.
WORKERS = 8

Progress = Callable[[int, int], None]

#: The largest entry file read: a real one is a few hundred bytes.
MAX_ENTRY = 1 << 20
#: The largest MLVC-REMOTE marker read.
MAX_MARKER = 4096
#: The largest tag file read: a real one is about 200 bytes.
MAX_TAG = 4096

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,49}$")
_ENTRY = re.compile(r"([0-9a-f]{64})\.([0-9a-f]{16}|unsigned)\.json")
_TAG = re.compile(r"([0-9a-f]{16})\.([0-9a-f]{64})\.json")
_LEASE = re.compile(r"(push|gc)-([0-9a-f]{16})\.json")
#: How long a lease on a remote counts when its holder never removed it (a push or a
#: gc that was killed): after that, it is taken for dead.
LEASE_SECONDS = {"push": 6 * 3600.0, "gc": 3600.0}
# Stores where a PUT appears whole or not at all; elsewhere (folders, SFTP, SMB) a
# file is written aside and renamed, so a name never holds half an object.
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory"}
# Credentials belong in the environment or a profile, not in the store's index.
_SECRET_OPTIONS = {
    "key",
    "secret",
    "token",
    "password",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "account_key",
    "sas_token",
    "client_secret",
    "connection_string",
}


# -- the object layer: one interface, a local and a remote implementation ----------------


class ObjectLayer(Protocol):
    """A place objects live. Objects move between two layers as their stored bytes
    (header + payload, never re-encoded), checked against their hash on the way."""

    def sizes(self, oids: Iterable[str]) -> dict[str, int]:
        """Which of ``oids`` are stored here, with their stored size."""
        ...

    def read_raw(self, oid: str, limit: int = MAX_OBJECT) -> bytes:
        """The stored bytes of ``oid``: at most ``limit + 2`` of them, enough for
        ``decode`` to tell an object that holds more than ``limit`` bytes."""
        ...

    def write_raw(self, oid: str, raw: bytes) -> None:
        """Store ``raw``, which the caller has verified (``verify_stored``)."""
        ...


class LocalObjects:
    """The local store's objects, written through its write path (temp file, flush, rename)."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def sizes(self, oids: Iterable[str]) -> dict[str, int]:
        # ``has`` refreshes the mtime: a concurrent gc spares what a pull is about to name.
        return {oid: self.store.size_on_disk(oid) for oid in oids if self.store.has(oid)}

    def read_raw(self, oid: str, limit: int = MAX_OBJECT) -> bytes:
        return self.store.read_raw(oid, limit=limit)

    def write_raw(self, oid: str, raw: bytes) -> None:
        # One batch per object: each becomes visible as soon as it is durable, so an
        # interrupted pull keeps what it finished.
        with self.store.batch() as batch:
            batch.put_stored(oid, raw)
            batch.flush()


@dataclass
class RemoteSnapshot:
    """What a remote's entries say of one snapshot (enough to list it without its manifest).

    ``signatures`` maps the key id of each signer to its signature. ``local`` and
    ``trusted_by`` (``"you"``, a trusted key's name, or None) describe this store's view.
    """

    id: str
    notebook: str
    created_at: float
    branch: str | None
    message: str
    parents: list[str]
    auto: bool = False
    n_variables: int = 0
    nbytes: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    pushed_by: list[str] = field(default_factory=list)
    local: bool = False
    trusted_by: str | None = None

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["short_id"] = self.short_id
        out["created_at"] = datetime.fromtimestamp(self.created_at, tz=timezone.utc).isoformat()
        return out

    @classmethod
    def from_entry(cls, sid: str, entry: Any) -> RemoteSnapshot:
        """The snapshot an entry file describes; ``BadManifest`` if it is no valid entry."""
        e = validate_entry(sid, entry)
        return cls(
            id=sid,
            notebook=e["notebook"],
            created_at=float(e["created_at"]),
            branch=e["branch"] or None,
            message=e["message"],
            parents=list(e["parents"]),
            auto=e["auto"],
            n_variables=e["n_variables"],
            nbytes=e["nbytes"],
            metrics={k: float(v) for k, v in e["metrics"].items()},
        )


@dataclass
class TransferReport:
    """What a push or pull did. ``bytes_sent`` counts object and entry bytes moved."""

    direction: str  # "push" or "pull"
    remote: str
    snapshots: list[str] = field(default_factory=list)
    objects_sent: int = 0
    bytes_sent: int = 0
    objects_present: int = 0
    untrusted: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    #: Snapshots refused, each with its one-line reason: a damaged or malformed
    #: manifest, entry or object, or a rejected ancestor.
    rejected: dict[str, str] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    detached: list[str] = field(default_factory=list)
    #: Tags pushed, or made here by a pull: ``{name: snapshot id}``.
    tags: dict[str, str] = field(default_factory=dict)
    #: Pull: remote tags that name another snapshot than the local tag of that name,
    #: kept under the remote's name: ``{name: "<remote>/<name>"}``.
    tags_kept: dict[str, str] = field(default_factory=dict)
    #: Push: tags the remote holds at another snapshot, left as they are: ``{name: its id}``.
    tags_refused: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["text"] = self.summary_line()
        return out

    def summary_line(self) -> str:
        n = len(self.snapshots)
        plural = "s" if n != 1 else ""
        if self.direction == "push":
            if not n and not self.objects_sent and not self.tags and not self.tags_refused:
                return f"{self.remote} is up to date: nothing to push."
            text = (
                f"Pushed {n} snapshot{plural} to {self.remote}: {self.objects_sent} objects, "
                f"{format_bytes(self.bytes_sent)} sent ({self.objects_present} already there)."
            )
        else:
            if not n:
                text = f"Up to date with {self.remote}: nothing to pull."
            else:
                text = (
                    f"Pulled {n} snapshot{plural} from {self.remote}: {self.objects_sent} objects, "
                    f"{format_bytes(self.bytes_sent)} received ({self.objects_present} already here)."
                )
            if self.branches:
                text += (
                    " Branches: "
                    + ", ".join(f"{b} -> {sid[:8]}" for b, sid in self.branches.items())
                    + "."
                )
            if self.detached:
                text += (
                    " HEAD stays where it was (detached) in "
                    + ", ".join(nb or "(no notebook)" for nb in self.detached)
                    + ": check out the branch to load what was pulled."
                )
            if self.untrusted:
                text += (
                    f" {len(self.untrusted)} not signed by a key you trust: inspect them, then "
                    "trust them, or add the pusher's key with trust --key FILE."
                )
        if self.tags:
            verb = "Tags pushed" if self.direction == "push" else "Tags"
            text += f" {verb}: " + ", ".join(f"{n} -> {s[:8]}" for n, s in self.tags.items()) + "."
        if self.tags_kept:
            text += (
                " Tags that differ from yours, kept under the remote's name: "
                + ", ".join(f"{n} as {kept}" for n, kept in self.tags_kept.items())
                + "."
            )
        if self.tags_refused:
            text += (
                f" Not pushed: {', '.join(self.tags_refused)} (the remote has "
                f"{'that tag' if len(self.tags_refused) == 1 else 'those tags'} at another snapshot)."
            )
        if self.incomplete:
            text += f" {len(self.incomplete)} skipped: their objects are missing on the remote."
        if self.rejected:
            n = len(self.rejected)
            text += (
                f" {n} rejected as damaged or malformed"
                f" ({next(iter(self.rejected.values()))}{'; ...' if n > 1 else ''})."
            )
        return text


class Remote:
    """A remote store on any fsspec filesystem; also the remote ``ObjectLayer``."""

    def __init__(self, name: str, url: str, options: dict[str, Any] | None = None):
        self.name = name
        self.url = url
        self.options = dict(options or {})
        self.workers = WORKERS
        #: Snapshots the last ``snapshots()`` left out, with the reason (see there).
        self.rejected: dict[str, str] = {}
        #: Tag files the last ``tags()`` left out, one line each.
        self.tag_problems: list[str] = []
        self._fs: Any = None
        self._root = ""

    def __repr__(self) -> str:
        return f"<Remote {self.name} {self.url}>"

    @property
    def fs(self) -> Any:
        if self._fs is None:
            try:
                from fsspec.core import url_to_fs
            except ImportError:
                raise RemoteFailed(
                    "remotes need fsspec (and s3fs for s3://): pip install 'jupyter_mlvc[remote]'"
                )
            with self.errors("cannot open"):
                self._fs, root = url_to_fs(self.url, **self.options)
            self._root = root.rstrip("/")
        return self._fs

    def path(self, *parts: str) -> str:
        self.fs  # noqa: B018 - sets the root
        return posixpath.join(self._root, *parts)

    def object_path(self, oid: str) -> str:
        """Where ``oid`` lives; ``BadObjectId`` if it is not an object id."""
        check_oid(oid)
        return self.path("objects", oid[:2], oid[2:])

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn the many errors of network filesystems into one line naming the remote."""
        try:
            yield
        except MlvcError:
            raise
        except ImportError as exc:
            raise RemoteFailed(
                f"{doing} remote {self.name} ({self.url}): {exc}; "
                "pip install 'jupyter_mlvc[remote]' brings fsspec and s3fs"
            )
        except PermissionError as exc:
            raise RemoteFailed(
                f"{doing} remote {self.name} ({self.url}): access denied ({_one_line(exc)}); "
                "check the credentials (AWS_* variables or the profile)"
            )
        except FileNotFoundError as exc:
            raise RemoteFailed(
                f"{doing} remote {self.name} ({self.url}): not found ({_one_line(exc)}); "
                "does the bucket or folder exist?"
            )
        except Exception as exc:
            raise RemoteFailed(
                f"{doing} remote {self.name} ({self.url}): {type(exc).__name__}: {_one_line(exc)}"
            )

    def refresh(self) -> None:
        """Forget cached listings: others may have pushed since."""
        self.fs.invalidate_cache()

    def _atomic(self) -> bool:
        protocols = self.fs.protocol
        protocols = (protocols,) if isinstance(protocols, str) else protocols
        return bool(set(protocols) & _ATOMIC_PUT)

    def _write(self, path: str, data: bytes) -> None:
        fs = self.fs
        if self._atomic():
            fs.pipe_file(path, data)
            return
        tmp = self.path("tmp", f"{posixpath.basename(path)}.{secrets.token_hex(6)}")
        fs.makedirs(posixpath.dirname(tmp), exist_ok=True)
        fs.pipe_file(tmp, data)
        try:
            fs.makedirs(posixpath.dirname(path), exist_ok=True)
            fs.mv(tmp, path)
        except BaseException:
            with contextlib.suppress(Exception):
                fs.rm(tmp)
            raise

    def _ls(self, path: str, detail: bool = False) -> list[Any]:
        try:
            return self.fs.ls(path, detail=detail)
        except FileNotFoundError:
            return []

    # -- ObjectLayer -----------------------------------------------------------------

    def sizes(self, oids: Iterable[str]) -> dict[str, int]:
        """Listed a prefix folder at a time (one request per 1000 objects), not one
        request per object."""
        wanted = {check_oid(oid) for oid in oids}
        if not wanted:
            return {}
        existing = {posixpath.basename(p.rstrip("/")) for p in self._ls(self.path("objects"))}
        prefixes = sorted({oid[:2] for oid in wanted} & existing)

        def listing(prefix: str) -> dict[str, int]:
            out = {}
            for info in self._ls(self.path("objects", prefix), detail=True):
                oid = prefix + posixpath.basename(info["name"].rstrip("/"))
                if oid in wanted:
                    out[oid] = max(0, int(info.get("size") or 0))
            return out

        found: dict[str, int] = {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="mlvc-list") as pool:
            for part in pool.map(listing, prefixes):
                found.update(part)
        return found

    def read_raw(self, oid: str, limit: int = MAX_OBJECT) -> bytes:
        path = self.object_path(oid)
        if self._on_local_disk():
            data = self._read_local(path, limit + 2)
            if isinstance(data, FileNotFoundError):
                raise MissingObject(f"object {oid[:12]} is missing on remote {self.name}")
            if data is None:
                raise CorruptObject(
                    f"object {oid[:12]} on remote {self.name} is corrupt: it is not a regular file"
                )
            return data
        # A range, not the whole file: a remote file may be any size.
        try:
            return self.fs.cat_file(path, start=0, end=limit + 2)
        except FileNotFoundError:
            raise MissingObject(f"object {oid[:12]} is missing on remote {self.name}")
        except OSError as exc:
            # S3 answers a range of an empty file with 416, which s3fs raises as EINVAL:
            # the object is empty, hence damaged, not the remote unreachable.
            if exc.errno == errno.EINVAL:
                return b""
            raise

    def write_raw(self, oid: str, raw: bytes) -> None:
        self._write(self.object_path(oid), raw)

    # -- format marker and entries ----------------------------------------------------

    def check_format(self, create: bool = False) -> bool:
        """Whether the remote holds a store (creating the marker if ``create``)."""
        path = self.path(MARKER)
        try:
            marker = json.loads(self.fs.cat_file(path, start=0, end=MAX_MARKER))
        except FileNotFoundError:
            if create:
                self._write(path, json.dumps({"format": REMOTE_FORMAT}).encode())
                return True
            return False
        except (ValueError, RecursionError):
            marker = None
        except OSError as exc:
            # An empty file on S3: see ``read_raw``.
            if exc.errno != errno.EINVAL:
                raise
            marker = None
        if not isinstance(marker, dict) or type(marker.get("format", 0)) is not int:
            raise RemoteFailed(f"remote {self.name} ({self.url}) has a damaged {MARKER} file")
        if marker.get("format", 0) > REMOTE_FORMAT:
            raise RemoteFailed(
                f"remote {self.name} was written by a newer jupyter_mlvc "
                f"(format {marker.get('format')}); upgrade to use it"
            )
        return True

    def entry_sizes(self) -> dict[str, dict[str, int | None]]:
        """``{snapshot id: {signer key id or "unsigned": size of its entry}}`` from one
        listing (a size is None where the listing gives none)."""
        out: dict[str, dict[str, int | None]] = {}
        for info in self._ls(self.path("snapshots"), detail=True):
            m = _ENTRY.fullmatch(posixpath.basename(info["name"].rstrip("/")))
            if m:
                size = info.get("size")
                out.setdefault(m.group(1), {})[m.group(2)] = size if type(size) is int else None
        return out

    def entry_names(self) -> dict[str, set[str]]:
        """``{snapshot id: {signer key id or "unsigned"}}`` from one listing."""
        return {sid: set(kids) for sid, kids in self.entry_sizes().items()}

    def snapshots(self) -> dict[str, RemoteSnapshot]:
        """Every snapshot the remote lists, its entries merged.

        Entries are what anyone with write access made: one that is too large, does
        not parse or is not a valid entry is not read as a snapshot, and ``rejected``
        maps each snapshot left out that way to the one-line reason. A signature
        that is not well-formed is dropped: the snapshot stays unverified.
        """
        self.rejected = {}
        problems: dict[str, str] = {}
        wanted: list[tuple[str, str]] = []
        for sid, kids in self.entry_sizes().items():
            for kid, size in sorted(kids.items()):
                if size is not None and size > MAX_ENTRY:
                    problems.setdefault(
                        sid,
                        f"snapshot {sid[:8]}: its entry on {self.name} holds {size} bytes, "
                        f"more than the {MAX_ENTRY} an entry may hold",
                    )
                elif size == 0:
                    problems.setdefault(
                        sid, f"snapshot {sid[:8]}: its entry on {self.name} is empty"
                    )
                else:
                    wanted.append((sid, kid))
        contents = self._read_entries(wanted)
        out: dict[str, RemoteSnapshot] = {}
        for sid, kid in wanted:
            if (sid, kid) not in contents:
                continue
            data = contents[(sid, kid)]
            try:
                if data is None:
                    raise BadManifest(f"snapshot {sid[:8]}: its entry is not a regular file")
                if len(data) > MAX_ENTRY:
                    raise BadManifest(
                        f"snapshot {sid[:8]}: its entry holds more than the {MAX_ENTRY} "
                        "bytes an entry may hold"
                    )
                if not data:
                    raise BadManifest(f"snapshot {sid[:8]}: its entry is empty")
                try:
                    entry = json.loads(data)
                except (ValueError, RecursionError):
                    raise BadManifest(f"snapshot {sid[:8]}: its entry does not parse")
                snap = RemoteSnapshot.from_entry(sid, entry)
            except BadManifest as exc:
                problems.setdefault(sid, f"{exc} (on {self.name})")
                continue
            snap = out.setdefault(sid, snap)
            if kid != UNSIGNED and trust.well_formed(entry.get("signature")):
                snap.signatures[kid] = entry["signature"]
            if entry["pushed_by"] and entry["pushed_by"] not in snap.pushed_by:
                snap.pushed_by.append(entry["pushed_by"])
        self.rejected = {sid: why for sid, why in problems.items() if sid not in out}
        return out

    def _read_entries(self, names: list[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
        """The first ``MAX_ENTRY + 1`` bytes of each entry file (see ``_read_small``)."""
        paths = [self.path("snapshots", f"{sid}.{kid}.json") for sid, kid in names]
        return self._read_small(names, paths, MAX_ENTRY + 1)

    def _read_small(
        self, names: list[Any], paths: list[str], limit: int
    ) -> dict[Any, bytes | None]:
        """The first ``limit`` bytes of each of ``paths`` (in parallel where the filesystem
        can), by the matching name; None for one that is no regular file. A file that
        vanished since the listing is left out; any other error is raised."""
        if not names:
            return {}
        if self._on_local_disk():
            results: list[Any] = [self._read_local(p, limit) for p in paths]
        else:
            n = len(paths)
            results = self.fs.cat_ranges(paths, [0] * n, [limit] * n, on_error="return")
        out: dict[Any, bytes | None] = {}
        for key, data in zip(names, results):
            if isinstance(data, FileNotFoundError):
                continue
            if isinstance(data, BaseException):
                raise data
            out[key] = None if data is None else bytes(data)
        return out

    def _on_local_disk(self) -> bool:
        protocols = self.fs.protocol
        protocols = (protocols,) if isinstance(protocols, str) else protocols
        return bool(set(protocols) & {"file", "local"})

    @staticmethod
    def _read_local(path: str, size: int) -> bytes | FileNotFoundError | None:
        """At most ``size`` bytes of a file of a folder remote; None if it is no regular
        file: a symlink planted there must not make a pull read a file elsewhere."""
        try:
            f = open_regular(path)
        except FileNotFoundError as exc:
            return exc
        if f is None:
            return None
        with f:
            return f.read(size)

    def put_entry(self, entry: dict[str, Any]) -> int:
        data = json.dumps(entry, sort_keys=True, indent=1).encode()
        self._write(self.path("snapshots", f"{entry['id']}.{entry['key_id']}.json"), data)
        return len(data)

    # -- leases: a push and a gc never run at once ------------------------------------

    @contextlib.contextmanager
    def lease(self, kind: str, against: str) -> Iterator[None]:
        """Hold a lease of ``kind`` (``push`` or ``gc``) while the block runs; refused with
        one line when a live lease of ``against`` is there.

        Each side writes its own lease first and then looks for the other's. With a
        store that lists what was written before (S3, GCS, Azure and folders do), at
        least one of a push and a gc starting at once sees the other and stops, so a gc
        never removes an object that a push found on the remote and therefore did not
        send again."""
        token = secrets.token_hex(8)
        path = self.path("locks", f"{kind}-{token}.json")
        info = {
            "kind": kind,
            "user": _user(),
            "host": _host(),
            "pid": os.getpid(),
            "at": time.time(),
        }
        self._write(path, json.dumps(info).encode())
        try:
            others = [
                o for o in self.leases() if o["kind"] in (against, kind) and o["token"] != token
            ]
            if kind == "push":
                others = [o for o in others if o["kind"] == against]
            if others:
                o = others[0]
                since = datetime.fromtimestamp(o["at"]).strftime("%Y-%m-%d %H:%M")
                who = f"{o['user']}@{o['host']}" if o.get("user") else "someone"
                raise RemoteFailed(
                    f"remote {self.name}: a {o['kind']} by {who} has been running since {since}; "
                    f"{'push' if kind == 'push' else 'run remote gc'} again when it has finished "
                    f"(a lease is taken for dead after {LEASE_SECONDS[o['kind']] / 3600:g} h)"
                )
            yield
        finally:
            with contextlib.suppress(Exception):
                self.fs.rm(path)

    def leases(self, include_dead: bool = False) -> list[dict[str, Any]]:
        """The live leases on the remote (with ``include_dead``, all of them): ``kind``,
        ``token``, ``at``, ``user``, ``host``, ``path``, ``dead``. A lease whose time
        cannot be read is live: it is never taken for dead by mistake."""
        names = []
        for info in self._ls(self.path("locks"), detail=True):
            m = _LEASE.fullmatch(posixpath.basename(info["name"].rstrip("/")))
            if m:
                names.append((m.group(1), m.group(2), info))
        paths = [self.path("locks", f"{k}-{t}.json") for k, t, _ in names]
        contents = self._read_small([(k, t) for k, t, _ in names], paths, MAX_TAG + 1)
        now = time.time()
        out = []
        for (kind, token, info), path in zip(names, paths):
            data = contents.get((kind, token))
            lease: dict[str, Any] = {}
            with contextlib.suppress(ValueError, RecursionError, TypeError):
                lease = json.loads(data or b"{}")
            lease = lease if isinstance(lease, dict) else {}
            at = lease.get("at")
            if type(at) not in (int, float):
                at = listed_time(info)
            dead = at is not None and now - at > LEASE_SECONDS[kind]
            if dead and not include_dead:
                continue
            out.append(
                {
                    "kind": kind,
                    "token": token,
                    "at": at if at is not None else now,
                    "user": str(lease.get("user") or "")[:100],
                    "host": str(lease.get("host") or "")[:100],
                    "path": path,
                    "dead": dead,
                }
            )
        return out

    # -- what is there, for gc and fsck -----------------------------------------------

    def object_listing(self) -> tuple[dict[str, tuple[int, float | None]], list[str]]:
        """Every object: ``{oid: (stored size, time written or None)}``, and the names
        under ``objects/`` that are no object (left alone, reported by fsck)."""
        strays: list[str] = []
        prefixes = []
        for p in self._ls(self.path("objects")):
            name = posixpath.basename(p.rstrip("/"))
            if re.fullmatch(r"[0-9a-f]{2}", name):
                prefixes.append(name)
            else:
                strays.append(f"objects/{name}")

        def listing(prefix: str) -> tuple[dict[str, tuple[int, float | None]], list[str]]:
            found, odd = {}, []
            for info in self._ls(self.path("objects", prefix), detail=True):
                rest = posixpath.basename(info["name"].rstrip("/"))
                oid = prefix + rest
                if re.fullmatch(r"[0-9a-f]{64}", oid) and info.get("type", "file") == "file":
                    found[oid] = (max(0, int(info.get("size") or 0)), listed_time(info))
                else:
                    odd.append(f"objects/{prefix}/{rest}")
            return found, odd

        objects: dict[str, tuple[int, float | None]] = {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="mlvc-list") as pool:
            for found, odd in pool.map(listing, prefixes):
                objects.update(found)
                strays.extend(odd)
        return objects, strays

    def temporary_files(self) -> dict[str, tuple[int, float | None]]:
        """Files under ``tmp/`` (a folder remote's writes in flight or abandoned)."""
        return {
            info["name"]: (max(0, int(info.get("size") or 0)), listed_time(info))
            for info in self._ls(self.path("tmp"), detail=True)
            if info.get("type", "file") == "file"
        }

    def remove(self, paths: list[str]) -> None:
        """Remove files (in batches: an object store removes 1000 per request)."""
        for i in range(0, len(paths), 1000):
            self.fs.rm(paths[i : i + 1000])

    # -- tags ------------------------------------------------------------------------

    def tags(self) -> dict[str, str]:
        """``{tag: snapshot id}`` as the remote holds them. A tag file is never rewritten:
        a name pushed at several snapshots has several files, and the newest counts. A
        file that is too large, does not parse, or whose name, id or time is not valid is
        left out, and ``tag_problems`` says why (one line each)."""
        self.tag_problems = []
        names: list[tuple[str, str]] = []
        for info in self._ls(self.path("tags"), detail=True):
            base = posixpath.basename(info["name"].rstrip("/"))
            m = _TAG.fullmatch(base)
            size = info.get("size")
            if not m:
                continue
            if type(size) is int and size > MAX_TAG:
                self.tag_problems.append(f"tag file {base} on {self.name} is too large")
                continue
            names.append((m.group(1), m.group(2)))
        paths = [self.path("tags", f"{h}.{sid}.json") for h, sid in names]
        newest: dict[str, tuple[float, str]] = {}
        for (digest, sid), data in self._read_small(names, paths, MAX_TAG + 1).items():
            try:
                name, at = _tag_of(digest, sid, data)
            except ValueError as exc:
                self.tag_problems.append(f"tag file {digest}.{sid[:8]} on {self.name}: {exc}")
                continue
            if (at, sid) > newest.get(name, (float("-inf"), "")):
                newest[name] = (at, sid)
        return {name: sid for name, (_, sid) in sorted(newest.items())}

    def put_tag(self, name: str, sid: str) -> int:
        check_name(name, "tag")
        check_oid(sid)
        data = json.dumps(
            {
                "format": REMOTE_FORMAT,
                "name": name,
                "id": sid,
                "tagged_at": time.time(),
                "pushed_by": _user(),
            },
            sort_keys=True,
        ).encode()
        self._write(self.path("tags", f"{tag_digest(name)}.{sid}.json"), data)
        return len(data)


def tag_digest(name: str) -> str:
    """The part of a tag file's name that stands for the tag: a name may hold '/', which
    must not become a folder."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _tag_of(digest: str, sid: str, data: bytes | None) -> tuple[str, float]:
    """The name and time a tag file holds, checked against its file name."""
    if data is None:
        raise ValueError("it is not a regular file")
    if len(data) > MAX_TAG:
        raise ValueError(f"it holds more than {MAX_TAG} bytes")
    try:
        tag = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("it does not parse")
    if not isinstance(tag, dict) or tag.get("id") != sid:
        raise ValueError("it names another snapshot than its file name")
    name, at = tag.get("name"), tag.get("tagged_at")
    if not isinstance(name, str):
        raise ValueError("its tag name is not valid")
    try:
        check_name(name, "tag")
    except BadName:
        raise ValueError("its tag name is not valid")
    if tag_digest(name) != digest:
        raise ValueError("its tag name does not match its file name")
    if not isinstance(at, (int, float)) or isinstance(at, bool):
        raise ValueError("its time is not valid")
    if not 946684800 <= at <= time.time() + 86400:
        raise ValueError("its time is not valid")
    return name, float(at)


def listed_time(info: dict[str, Any]) -> float | None:
    """When a listed file was written, as a Unix time, from what its filesystem's
    listing gives (``mtime`` for folders, ``LastModified`` for S3, ...); None if none."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value.timestamp()
    return None


def _host() -> str:
    try:
        return socket.gethostname()
    except Exception:
        return ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# -- moving objects ----------------------------------------------------------------------


def with_objects(progress: Callable[..., Any] | None) -> Callable[[int, int, int, int], None]:
    """``progress`` as a callback of ``(bytes done, bytes total, objects done, objects
    total)``: one that takes only the first two (``progress(done, total)``, the form
    documented first) is called with those."""
    if progress is None:
        return lambda *_: None
    try:
        params = inspect.signature(progress).parameters.values()
    except (TypeError, ValueError):
        return lambda d, t, *_: progress(d, t)
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(list(params)) >= 4:
        return progress
    return lambda d, t, *_: progress(d, t)


def transfer(
    source: ObjectLayer,
    target: ObjectLayer,
    oids: list[str],
    sizes: dict[str, int],
    *,
    progress: Progress | None = None,
    workers: int = WORKERS,
    verb: str = "transfer",
    limits: dict[str, int] | None = None,
    damaged: dict[str, CorruptObject] | None = None,
) -> tuple[int, int]:
    """Copy ``oids`` from ``source`` to ``target`` in parallel, each checked against its
    hash first. Returns ``(objects, bytes)`` copied. On an error, the objects already
    copied stay (a rerun skips them) and ``RemoteFailed`` says how far it got.

    ``limits`` bounds the bytes each object may hold (``MAX_OBJECT`` for the others):
    one stored or inflating larger is corrupt. Given ``damaged``, a corrupt object
    does not stop the others: it is left out and ``damaged`` maps it to the error."""
    limits = limits or {}
    total = sum(sizes.get(o, 0) for o in oids)
    done = count = 0
    report = with_objects(progress)
    report(0, total, 0, len(oids))

    def one(oid: str) -> int:
        limit = limits.get(oid, MAX_OBJECT)
        # A stored object is at most its content and a header byte.
        if sizes.get(oid, 0) > limit + 1:
            raise CorruptObject(
                f"an object is corrupt: object {oid[:12]} is stored as {sizes[oid]} bytes, "
                f"more than the {limit} it may hold"
            )
        raw = source.read_raw(oid, limit)
        verify_stored(oid, raw, "an object", limit)
        target.write_raw(oid, raw)
        return len(raw)

    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="mlvc-transfer")
    try:
        futures = {pool.submit(one, oid): oid for oid in oids}
        counted = set()
        for fut in as_completed(futures):
            exc = fut.exception()
            if isinstance(exc, CorruptObject) and damaged is not None:
                damaged[futures[fut]] = exc
                continue
            if exc is not None:
                for f in futures:
                    f.cancel()
                # Let the transfers in flight finish, so the count below is what was copied.
                for f in futures:
                    if f not in counted and not f.cancelled() and f.exception() is None:
                        count += 1
                        done += f.result()
                if isinstance(exc, MlvcError) and not isinstance(exc, RemoteFailed):
                    raise exc
                raise RemoteFailed(
                    f"{verb} stopped after {count} of {len(oids)} objects ({format_bytes(done)}): "
                    f"{_one_line(exc)}; run it again to resume (what was copied is kept)"
                ) from exc
            counted.add(fut)
            count += 1
            done += fut.result()
            report(done, max(total, done), count, len(oids))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return count, done


# -- remotes of a store ------------------------------------------------------------------


def remote_configs(repo: Repo) -> dict[str, RemoteConfig]:
    return remotes.configs(repo.index.conn)


def add_remote(
    repo: Repo,
    name: str,
    url: str | os.PathLike,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    options: dict[str, Any] | None = None,
) -> RemoteConfig:
    """Remember a remote. ``options`` go to fsspec (for s3: s3fs's arguments)."""
    if not isinstance(name, str) or not _NAME.match(name) or name.upper() == "HEAD":
        raise BadName(
            f"{name!r} is not a valid remote name: use letters, digits, '_', '-', '.' "
            "(up to 50 characters)"
        )
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        raise BadInput("a remote needs a URL: s3://bucket/prefix, gs://..., or a folder")
    url = url.strip()
    if "://" not in url:
        url = os.path.abspath(os.path.expanduser(url))
    opts = dict(options or {})
    if endpoint_url:
        opts["endpoint_url"] = endpoint_url
    if profile:
        opts["profile"] = profile
    secret = sorted(k for k in opts if k.lower() in _SECRET_OPTIONS)
    if secret:
        raise BadInput(
            f"credentials ({', '.join(secret)}) are not stored in the store: set them in the "
            "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...) or use a profile"
        )
    try:
        json.dumps(opts, sort_keys=True)
    except TypeError:
        raise BadInput("remote options must be JSON values (strings, numbers, lists, objects)")
    config = RemoteConfig(name, url, opts)
    _check_protocol(config)
    with repo.index.write() as db:
        remotes.add(db, config)
    return config


def _check_protocol(config: RemoteConfig) -> None:
    """Fail now, not at the first push, when the URL's filesystem is not installed."""
    try:
        from fsspec import get_filesystem_class
        from fsspec.core import split_protocol
    except ImportError:
        raise RemoteFailed(
            "remotes need fsspec (and s3fs for s3://): pip install 'jupyter_mlvc[remote]'"
        )
    protocol = split_protocol(config.url)[0] or "file"
    try:
        get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        raise RemoteFailed(f"cannot use {config.url}: {_one_line(exc)}")


def remove_remote(repo: Repo, name: str) -> None:
    with repo.index.write() as db:
        if not remotes.remove(db, name):
            raise UnknownRemote(f"no remote {name!r}{_known(repo)}")


def _known(repo: Repo) -> str:
    names = sorted(remote_configs(repo))
    return f" (remotes: {', '.join(names)})" if names else " (none yet: remote add NAME URL)"


def open_remote(repo: Repo, name: str | None = None) -> Remote:
    """The remote ``name``; without a name, the only remote, or the one called origin."""
    configs = remote_configs(repo)
    if name is None:
        if len(configs) == 1:
            name = next(iter(configs))
        elif "origin" in configs:
            name = "origin"
        elif not configs:
            raise UnknownRemote("this store has no remote yet: remote add NAME URL")
        else:
            raise BadInput(f"name the remote: {', '.join(sorted(configs))}")
    config = configs.get(name)
    if config is None:
        raise UnknownRemote(f"no remote {name!r}{_known(repo)}")
    return Remote(config.name, config.url, config.options)


def split_remote(repo: Repo, words: list[str]) -> tuple[str | None, list[str]]:
    """``[REMOTE] [REF...]`` as the faces take it: the first word is the remote if it
    names one of this store's remotes."""
    if words and words[0] in remote_configs(repo):
        return words[0], list(words[1:])
    return None, list(words)


# -- history helpers -----------------------------------------------------------------------


def _closure(tips: Iterable[str], parents: dict[str, list[str]], known: set[str]) -> set[str]:
    """``tips`` and all their ancestors among ``known``."""
    out: set[str] = set()
    stack = [t for t in tips if t in known]
    while stack:
        sid = stack.pop()
        if sid in out:
            continue
        out.add(sid)
        stack.extend(p for p in parents.get(sid, []) if p in known and p not in out)
    return out


def _in_order(
    ids: Iterable[str], parents: dict[str, list[str]], created: dict[str, float]
) -> list[str]:
    """Parents before children (oldest first among the rest)."""
    ids = set(ids)
    order: list[str] = []
    placed: set[str] = set()
    for start in sorted(ids, key=lambda s: (created.get(s, 0.0), s)):
        stack = [(start, False)]
        while stack:
            sid, expanded = stack.pop()
            if sid in placed:
                continue
            if expanded:
                placed.add(sid)
                order.append(sid)
                continue
            stack.append((sid, True))
            stack.extend((p, False) for p in parents.get(sid, []) if p in ids and p not in placed)
    return order


# -- push --------------------------------------------------------------------------------


def _push_tips(repo: Repo, refs: list[str], all_: bool, notebook_path: Any) -> list[str]:
    if all_:
        return snapshot_ids(repo.index.conn)
    if refs:
        return [repo.resolve(r, notebook_path) for r in refs]
    if repo.head_id(notebook_path) is None:
        nb = repo.scope(notebook_path)
        raise UnknownRef(f"nothing to push: no snapshots yet{' of ' + nb if nb else ''}")
    branch = repo.current_branch(notebook_path)
    ref = branch if branch and branch in repo.branches(notebook_path) else "HEAD"
    return [repo.resolve(ref, notebook_path)]


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def push(
    repo: Repo,
    remote: Remote,
    refs: Iterable[str] | None = None,
    *,
    all: bool = False,
    notebook_path: Any = None,
    progress: Progress | None = None,
    workers: int = WORKERS,
    tags: bool = False,
) -> TransferReport:
    """Upload the snapshots ``refs`` name (default: the current branch), with their
    ancestors, that the remote lacks: objects first, then one entry per snapshot. With
    ``tags``, also every tag (and the snapshot it names), after the entries."""
    started = time.perf_counter()
    refs = [refs] if isinstance(refs, str) else list(refs or [])
    report = TransferReport("push", remote.name)
    tagged = _tags_to_push(repo) if tags else {}
    tips = list(dict.fromkeys([*_push_tips(repo, refs, all, notebook_path), *tagged.values()]))
    rows = {r["id"]: r for r in snapshot_rows(repo.index.conn, Filter())}
    parents = parent_map(repo.index.conn)
    ids = _in_order(
        _closure(tips, parents, set(rows)), parents, {s: r["created_at"] for s, r in rows.items()}
    )
    # Read before the remote's errors are translated: a key that cannot be read is no
    # remote failure.
    ring = trust.keyring(repo.key)
    remote.workers = workers
    with remote.errors("cannot push to"), remote_lease(remote, "push"):
        remote.refresh()
        on_remote = remote.entry_names()
        _push_objects(repo, remote, [s for s in ids if s not in on_remote], report, progress)
        _push_entries(repo, remote, ring, ids, rows, parents, on_remote, report)
        if tagged:
            _push_tags(remote, tagged, report)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _push_objects(
    repo: Repo, remote: Remote, sids: list[str], report: TransferReport, progress: Progress | None
) -> None:
    """Send the objects of ``sids`` (their manifests included) that the remote lacks."""
    needed: dict[str, None] = {}
    for sid in sids:
        needed.update(dict.fromkeys(manifest_objects(repo.manifest(sid))))
        needed[sid] = None
    present = remote.sizes(needed)
    missing = [oid for oid in needed if oid not in present]
    report.objects_present = len(present)
    sizes = {oid: repo.objects.size_on_disk(oid) for oid in missing}
    report.objects_sent, report.bytes_sent = transfer(
        LocalObjects(repo.objects),
        remote,
        missing,
        sizes,
        progress=progress,
        workers=remote.workers,
        verb=f"push to {remote.name}",
    )


def _push_entries(
    repo: Repo,
    remote: Remote,
    ring: trust.Keyring,
    ids: list[str],
    rows: dict[str, dict[str, Any]],
    parents: dict[str, list[str]],
    on_remote: dict[str, set[str]],
    report: TransferReport,
) -> None:
    """Write the entries of ``ids`` the remote lacks, last: once an entry is there,
    everything it needs is.

    What the user signed (committed, or trusted one by one) goes up signed with their
    public key: they vouch for it. The public-key signatures of teammates the user
    accepts travel too, each in its own entry, so a third person who accepts that
    teammate's key accepts the snapshot. A snapshot nobody the user accepts signed goes
    up unsigned (unless the remote lists it already)."""
    pushed_at = time.time()
    for sid in ids:
        row = rows[sid]
        have = on_remote.get(sid, set())
        signed = _signatures_to_push(repo, ring, sid)
        todo: dict[str, str | None] = {kid: sig for kid, sig in signed.items() if kid not in have}
        if not signed and not have:
            todo = {UNSIGNED: None}
        if not todo:
            continue
        metrics = metrics_of(repo.index.conn, [sid])
        entry = {
            "format": REMOTE_FORMAT,
            "id": sid,
            "notebook": row["notebook"],
            "created_at": row["created_at"],
            "branch": row["branch"],
            "message": row["message"],
            "parents": parents.get(sid, []),
            "auto": bool(row["auto"]),
            "n_variables": row["n_variables"] or 0,
            "nbytes": row["nbytes"] or 0,
            "metrics": {name: values[sid] for name, values in metrics.items()},
            "pushed_by": _user(),
            "pushed_at": pushed_at,
        }
        for kid, sig in todo.items():
            report.bytes_sent += remote.put_entry({**entry, "key_id": kid, "signature": sig})
        report.snapshots.append(sid)


@contextlib.contextmanager
def remote_lease(remote: Remote, kind: str) -> Iterator[None]:
    """A lease on ``remote`` against the other kind (a push against a gc and the other
    way), taken once the remote holds a store."""
    remote.refresh()
    remote.check_format(create=kind == "push")
    with remote.lease(kind, "gc" if kind == "push" else "push"):
        yield


def _tags_to_push(repo: Repo) -> dict[str, str]:
    """This store's tags, but those a pull kept under a remote's name (``origin/best``)."""
    prefixes = tuple(f"{name}/" for name in remote_configs(repo))
    return {n: sid for n, sid in repo.tags().items() if not (prefixes and n.startswith(prefixes))}


def _push_tags(remote: Remote, tagged: dict[str, str], report: TransferReport) -> None:
    """Write a tag file for each tag the remote lacks. One the remote holds at another
    snapshot is left alone and reported: a tag names one snapshot for everyone."""
    there = remote.tags()
    for name, sid in tagged.items():
        if there.get(name) == sid:
            continue
        if name in there:
            report.tags_refused[name] = there[name]
            continue
        report.bytes_sent += remote.put_tag(name, sid)
        report.tags[name] = sid


def _signatures_to_push(repo: Repo, ring: trust.Keyring, sid: str) -> dict[str, str]:
    """``{key id: signature}`` of ``sid`` for the remote: the user's own public-key
    signature if they signed it, and the verified public-key signatures of the keys
    they accept. HMACs never leave the store: nobody else could verify them."""
    out: dict[str, str] = {}
    if trust.own_signature(repo.index, sid, ring):
        out[ring.own_fingerprint] = public_keys.sign(repo.key, sid)
    for kid, sig in trust.signatures(repo.index, sid):
        if kid in ring.public and kid not in out and ring.signer(sid, [(kid, sig)]) is not None:
            out[kid] = sig
    return out


# -- pull --------------------------------------------------------------------------------


def _pull_tips(
    repo: Repo,
    remote: Remote,
    snaps: dict[str, RemoteSnapshot],
    refs: list[str],
    all_: bool,
    notebook_path: Any,
) -> list[str]:
    empty = is_empty(repo.index.conn)
    if all_ or (not refs and empty and notebook_path is None and repo.notebook_path is None):
        return list(snaps)
    nb = repo.scope(notebook_path)
    if not refs:
        branch = repo.current_branch(notebook_path) or _branch_of(repo, repo.head_id(notebook_path))
        return [s for s, e in snaps.items() if e.notebook == nb and e.branch == branch]
    tips: list[str] = []
    for ref in refs:
        on_branch = [
            s for s, e in snaps.items() if e.branch == ref and (e.notebook == nb or not nb)
        ]
        if on_branch:
            tips.extend(on_branch)
            continue
        if is_id_prefix(ref):
            matches = [s for s in snaps if s.startswith(ref.lower())]
            if len(matches) > 1:
                raise AmbiguousRef(
                    f"{ref!r} matches several snapshots on {remote.name}: give more characters"
                )
            if matches:
                tips.extend(matches)
                continue
        raise UnknownRef(
            f"remote {remote.name} has no branch {ref!r}{' of ' + nb if nb else ''} "
            f"and no snapshot {ref!r}"
        )
    return tips


def _branch_of(repo: Repo, sid: str | None) -> str:
    """The branch ``sid`` was committed on: where a detached HEAD pulls from."""
    if sid is None or not snapshot_exists(repo.index.conn, sid):
        return DEFAULT_BRANCH
    return snapshot_row(repo.index.conn, sid)["branch"] or DEFAULT_BRANCH


def pull(
    repo: Repo,
    remote: Remote,
    refs: Iterable[str] | None = None,
    *,
    all: bool = False,
    notebook_path: Any = None,
    progress: Progress | None = None,
    workers: int = WORKERS,
) -> TransferReport:
    """Download the snapshots ``refs`` name on the remote (default: the current branch;
    everything into a store with no snapshots yet), with their ancestors."""
    repo.index.require_writable()
    # The lease keeps a concurrent gc from taking what the pull stores (or finds stored)
    # before its index rows name it, however long the transfer takes.
    with leases.hold(repo.path):
        return _pull(
            repo,
            remote,
            refs,
            all=all,
            notebook_path=notebook_path,
            progress=progress,
            workers=workers,
        )


#: A fetched manifest: its stored bytes, its decoded bytes, and what it says.
Fetched = tuple[bytes, bytes, dict[str, Any]]


@dataclass
class _PullPlan:
    """What a pull is after: the remote's snapshots, those wanted (the tips and their
    ancestors), those wanted that this store lacks, and those refused so far."""

    snaps: dict[str, RemoteSnapshot]
    wanted: set[str]
    have_local: set[str]
    todo: list[str]
    rejected: dict[str, DamagedStore]


def _pull(
    repo: Repo,
    remote: Remote,
    refs: Iterable[str] | None,
    *,
    all: bool,
    notebook_path: Any,
    progress: Progress | None,
    workers: int,
) -> TransferReport:
    started = time.perf_counter()
    refs = [refs] if isinstance(refs, str) else list(refs or [])
    report = TransferReport("pull", remote.name)
    remote.workers = workers
    local = LocalObjects(repo.objects)
    with remote.errors("cannot pull from"):
        plan = _plan_pull(repo, remote, refs, all, notebook_path)
        remote_tags = remote.tags()
        manifests = _fetch_manifests(remote, plan, report)
        _reject_descendants(manifests, plan.rejected)
        _fetch_objects(remote, local, manifests, plan, report, progress)
    report.rejected = {sid: _reason(sid, exc) for sid, exc in plan.rejected.items()}
    # Objects are in; now the manifests, then the index rows in one transaction.
    for sid, (raw, _, _) in manifests.items():
        local.write_raw(sid, raw)
        report.objects_sent += 1
        report.bytes_sent += len(raw)
    _insert_pulled(repo, remote, plan, manifests, report, remote_tags)
    report.seconds = round(time.perf_counter() - started, 3)
    refused = [s for s in plan.todo if s in plan.rejected]
    if (
        refused
        and not report.snapshots
        and set(plan.todo) <= set(plan.rejected) | set(report.incomplete)
    ):
        # Nothing came of the pull but refusals: that is an error, not a report.
        raise type(plan.rejected[refused[0]])(
            f"{report.rejected[refused[0]]}; nothing was pulled from {remote.name}"
        )
    return report


def _plan_pull(
    repo: Repo, remote: Remote, refs: list[str], all_: bool, notebook_path: Any
) -> _PullPlan:
    remote.refresh()
    if not remote.check_format():
        raise RemoteFailed(f"remote {remote.name} ({remote.url}) holds no snapshots yet")
    snaps = remote.snapshots()
    tips = _pull_tips(repo, remote, snaps, refs, all_, notebook_path)
    parents = {s: e.parents for s, e in snaps.items()}
    wanted = _closure(tips, parents, set(snaps))
    have_local = set(snapshot_ids(repo.index.conn))
    rejected: dict[str, DamagedStore] = {
        sid: BadManifest(why) for sid, why in remote.rejected.items() if sid not in have_local
    }
    todo = [s for s in wanted if s not in have_local]
    return _PullPlan(snaps, wanted, have_local, todo, rejected)


def _fetch_manifests(remote: Remote, plan: _PullPlan, report: TransferReport) -> dict[str, Fetched]:
    """The manifests of ``plan.todo``, read and validated in parallel. One missing makes
    its snapshot incomplete; one damaged or malformed, rejected."""

    def fetch(sid: str) -> tuple[str, bytes | CorruptObject | None]:
        try:
            return sid, remote.read_raw(sid, MAX_MANIFEST)
        except MissingObject:
            return sid, None
        except CorruptObject as exc:
            return sid, exc

    manifests: dict[str, Fetched] = {}
    with ThreadPoolExecutor(remote.workers, thread_name_prefix="mlvc-manifest") as pool:
        for sid, raw in pool.map(fetch, plan.todo):
            if raw is None:
                report.incomplete.append(sid)
                continue
            if isinstance(raw, CorruptObject):
                plan.rejected[sid] = raw
                continue
            try:
                data = decode(sid, raw, f"snapshot {sid[:8]}: its manifest", MAX_MANIFEST)
                manifests[sid] = (raw, data, parse_manifest(sid, data))
            except DamagedStore as exc:
                plan.rejected[sid] = exc
    return manifests


def _fetch_objects(
    remote: Remote,
    local: LocalObjects,
    manifests: dict[str, Fetched],
    plan: _PullPlan,
    report: TransferReport,
    progress: Progress | None,
) -> None:
    """Copy the objects ``manifests`` name that this store lacks. A snapshot whose
    objects the remote lacks is dropped as incomplete; one with a damaged object, and
    its descendants, as rejected."""
    needs = {sid: manifest_objects(m) for sid, (_, _, m) in manifests.items()}
    needed = list(dict.fromkeys(oid for oids in needs.values() for oid in oids))
    here = local.sizes(needed)
    report.objects_present = len(here)
    there = remote.sizes(oid for oid in needed if oid not in here)
    for sid, oids in needs.items():
        if any(o not in here and o not in there for o in oids):
            report.incomplete.append(sid)
            del manifests[sid]
    limits: dict[str, int] = {}
    for _, _, m in manifests.values():
        for oid, size in object_sizes(m).items():
            limits[oid] = max(limits.get(oid, 0), size)
    fetch = list(dict.fromkeys(o for sid in manifests for o in needs[sid] if o not in here))
    damaged: dict[str, CorruptObject] = {}
    report.objects_sent, report.bytes_sent = transfer(
        remote,
        local,
        fetch,
        there,
        progress=progress,
        workers=remote.workers,
        verb=f"pull from {remote.name}",
        limits=limits,
        damaged=damaged,
    )
    for sid in list(manifests):
        bad = next((o for o in needs[sid] if o in damaged), None)
        if bad is not None:
            plan.rejected[sid] = CorruptObject(f"snapshot {sid[:8]}: {damaged[bad]}")
            del manifests[sid]
    _reject_descendants(manifests, plan.rejected)


def _insert_pulled(
    repo: Repo,
    remote: Remote,
    plan: _PullPlan,
    manifests: dict[str, Fetched],
    report: TransferReport,
    remote_tags: dict[str, str] | None = None,
) -> None:
    """In one transaction: the index rows of each pulled snapshot (parents first), the
    signatures of every wanted one, the branches moved to what was pulled, and the
    remote's tags of snapshots this store has."""
    ring = trust.keyring(repo.key)
    # Ordered by the manifests' parents (verified), not the entries' (only listed).
    order = _in_order(
        manifests,
        {s: m.get("parents") or [] for s, (_, _, m) in manifests.items()},
        {s: m.get("created_at") or 0.0 for s, (_, _, m) in manifests.items()},
    )
    with repo.index.write() as db:
        for sid in order:
            _insert_one(repo, remote, db, sid, manifests[sid][2])
            report.snapshots.append(sid)
            if ring.signer(sid, plan.snaps[sid].signatures.items()) is None:
                report.untrusted.append(sid)
        for sid in plan.wanted:
            if sid not in plan.have_local and sid not in manifests:
                continue
            snap = plan.snaps[sid]
            # Every signature of the entries is kept, whoever's key made it: a key
            # trusted later (``trust --key``) accepts what it signed. None is added with
            # this user's key: what a teammate's key vouches for stays trusted only as
            # long as that key is (``trust --revoke-key``), unless trusted one by one.
            trust.record_signatures(db, repo.path, sid, snap.signatures)
        _move_refs(db, remote.name, {s: manifests[s][2] for s in order}, report)
        _take_tags(db, remote.name, remote_tags or {}, report)


def _take_tags(
    db: sqlite3.Connection, remote_name: str, remote_tags: dict[str, str], report: TransferReport
) -> None:
    """Make the remote's tags here, for the snapshots this store has. A local tag is
    never moved: when the remote's names another snapshot, the remote's is kept as
    ``<remote>/<name>`` (replaced by later pulls) and reported."""
    for name, sid in remote_tags.items():
        if not snapshot_exists(db, sid):
            continue
        local = tag_target(db, name)
        if local == sid:
            continue
        if local is None:
            create_tag(db, name, sid)
            report.tags[name] = sid
            continue
        kept = f"{remote_name}/{name}"
        try:
            check_name(kept, "tag")
        except BadName:
            continue
        if tag_target(db, kept) != sid:
            set_tag(db, kept, sid)
        report.tags_kept[name] = kept


def _insert_one(
    repo: Repo, remote: Remote, db: sqlite3.Connection, sid: str, manifest: dict[str, Any]
) -> None:
    """The index rows of one pulled snapshot, once its objects are known to be stored."""
    gone = leases.missing(repo.objects, [sid, *manifest_objects(manifest)])
    if gone:
        raise RemoteFailed(
            f"pull from {remote.name}: {len(gone)} objects of snapshot {sid[:8]} (first "
            f"{gone[0][:12]}) were removed from the store after they were copied; nothing "
            "was pulled; run it again"
        )
    try:
        catalog.insert_snapshot(db, sid, manifest)
    except (KeyError, TypeError, AttributeError, ValueError):
        raise CorruptObject(
            f"snapshot {sid[:8]} on {remote.name} is damaged: its manifest lacks what "
            "a snapshot needs; nothing was pulled"
        )


def _reason(sid: str, exc: BaseException) -> str:
    """One line that names the snapshot."""
    text = str(exc)
    return text if text.startswith(f"snapshot {sid[:8]}") else f"snapshot {sid[:8]}: {text}"


def _reject_descendants(manifests: dict[str, Fetched], rejected: dict[str, DamagedStore]) -> None:
    """Move every snapshot with a rejected ancestor from ``manifests`` to ``rejected``:
    its history could not be pulled whole."""
    changed = True
    while changed:
        changed = False
        for sid in list(manifests):
            parent = next((p for p in manifests[sid][2]["parents"] if p in rejected), None)
            if parent is not None:
                rejected[sid] = BadManifest(
                    f"snapshot {sid[:8]}: its parent {parent[:8]} was rejected"
                )
                del manifests[sid]
                changed = True


def _move_refs(
    db: sqlite3.Connection,
    remote_name: str,
    pulled: dict[str, dict[str, Any]],
    report: TransferReport,
) -> None:
    """Point branches at what was pulled, never losing a local snapshot.

    A branch that does not exist here is created; one whose tip is an ancestor of the
    pulled tip moves forward (if this notebook's HEAD is on it, HEAD stays at its
    snapshot, detached, so the next commit does not claim the pulled state as its
    parent); a branch that went another way here is left alone and the pulled tip
    becomes ``<remote>/<branch>``. A notebook without HEAD gets the newest pulled branch.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for sid, m in pulled.items():
        if m.get("branch"):
            groups.setdefault((m.get("notebook_path") or "", m["branch"]), []).append(sid)
    newest: dict[str, tuple[float, str]] = {}
    for (nb, branch), sids in groups.items():
        followed = {pulled[s]["parents"][0] for s in sids if pulled[s].get("parents")}
        tips = sorted(
            (s for s in sids if s not in followed), key=lambda s: pulled[s].get("created_at", 0)
        )
        for tip in tips:
            name = _move_branch(db, nb, branch, tip, remote_name, report)
            if name is None:
                continue
            report.branches[name if not nb else f"{name} ({nb})"] = tip
            created = pulled[tip].get("created_at", 0.0)
            if name == branch and (nb not in newest or created > newest[nb][0]):
                newest[nb] = (created, name)
    for nb, (_, name) in newest.items():
        if not has_head(db, nb):
            set_head(db, nb, branch=name)


def _move_branch(
    db: sqlite3.Connection, nb: str, branch: str, tip: str, remote_name: str, report: TransferReport
) -> str | None:
    """Point ``branch`` of ``nb`` (or ``<remote>/<branch>`` when it went another way
    here) at the pulled ``tip``; the name moved, or None when nothing moved."""
    target = branch_target(db, nb, branch)
    if target is None:
        set_branch(db, nb, branch, tip)
        return branch
    if target == tip or is_ancestor(db, tip, target):
        return None
    if is_ancestor(db, target, tip):
        state = head(db, nb)
        if state is not None and state[0] == branch:
            set_head(db, nb, snapshot=target, from_branch=branch)
            report.detached.append(nb)
        set_branch(db, nb, branch, tip)
        return branch
    name = f"{remote_name}/{branch}"
    try:
        check_name(name, "branch")
    except BadName:
        return None
    set_branch(db, nb, name, tip)
    return name


# -- what a remote holds -----------------------------------------------------------


def remote_snapshots(
    repo: Repo,
    remote: Remote,
    notebook_path: Any = None,
    *,
    all: bool = False,
    rejected: dict[str, str] | None = None,
) -> list[RemoteSnapshot]:
    """The snapshots on the remote, newest first: of this notebook (when one is known
    and not ``all``) or all of them. Reads the entries only, no manifest. ``rejected``
    (when given) receives the snapshots whose entries are damaged or malformed, each
    with its one-line reason."""
    with remote.errors("cannot list"):
        remote.refresh()
        snaps = remote.snapshots() if remote.check_format() else {}
    if rejected is not None:
        rejected.update(remote.rejected)
    if not all and (notebook_path is not None or repo.notebook_path is not None):
        nb = repo.scope(notebook_path)
        snaps = {s: e for s, e in snaps.items() if e.notebook == nb}
    local = set(snapshot_ids(repo.index.conn))
    ring = trust.keyring(repo.key)
    out = sorted(snaps.values(), key=lambda e: (e.created_at, e.id), reverse=True)
    for e in out:
        e.local = e.id in local
        e.trusted_by = ring.signer(e.id, e.signatures.items())
    return out


def remote_log(
    repo: Repo,
    remote: Remote,
    notebook_path: Any = None,
    *,
    all: bool = False,
    limit: int | None = None,
    include_auto: bool = True,
    sort: str | None = None,
):
    """``remote_snapshots`` as the DataFrame ``Repo.log`` returns (same columns).
    ``sort`` orders by a column or metric: ``acc`` highest first, ``-loss`` lowest first.
    ``frame.attrs["rejected"]`` maps the snapshots left out as damaged to the reason."""
    import pandas as pd

    rejected: dict[str, str] = {}
    snaps = [
        s
        for s in remote_snapshots(repo, remote, notebook_path, all=all, rejected=rejected)
        if include_auto or not s.auto
    ]
    if limit is not None and not sort:
        snaps = snaps[: int(limit)]
    df = pd.DataFrame(
        {
            "id": [s.id for s in snaps],
            "short_id": [s.short_id for s in snaps],
            "message": [s.message for s in snaps],
            "created_at": pd.to_datetime([s.created_at for s in snaps], unit="s", utc=True),
            "notebook": [s.notebook for s in snaps],
            "branch": [s.branch for s in snaps],
            "tags": ["" for _ in snaps],
            "n_variables": pd.array([s.n_variables for s in snaps], dtype="int64"),
            "nbytes": pd.array([s.nbytes for s in snaps], dtype="int64"),
            "auto": pd.array([s.auto for s in snaps], dtype="bool"),
        }
    )
    for name in sorted({m for s in snaps for m in s.metrics}):
        df[name] = [s.metrics.get(name, float("nan")) for s in snaps]
    df.attrs["rejected"] = rejected
    if sort:
        return sort_log(df, sort, limit)
    return df


__all__ = [
    "LocalObjects",
    "ObjectLayer",
    "Remote",
    "RemoteConfig",
    "RemoteSnapshot",
    "TransferReport",
    "add_remote",
    "listed_time",
    "open_remote",
    "pull",
    "push",
    "remote_configs",
    "remote_lease",
    "remote_log",
    "remote_snapshots",
    "remove_remote",
    "split_remote",
    "tag_digest",
    "transfer",
    "with_objects",
]
