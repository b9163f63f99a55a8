"""Who vouches for a snapshot: its signatures, one per key, and the keys this user accepts.

A snapshot's pickles are loaded only when one of its signatures verifies under a key
the user accepts: their own, or a teammate's public key from the trusted folder
(``keys.trusted_public_keys``; or a secret key trusted by an earlier version,
``signing.trusted_keys``). A store shared by several people holds a signature per
key, so one person's ``trust`` never replaces another's.

New signatures are Ed25519 (``keys.sign``: 128 hex digits, under the key's
fingerprint); HMACs (64 hex digits, under an HMAC key id) made before still verify.

Each signature is kept twice: as a row of the index (table ``signatures``), which
listing reads, and as a file ``signatures/<snapshot id>.<key id>`` beside the objects,
written before the row. The files let a rebuilt index (``fsck --rebuild-index``) trust
again exactly what was trusted before: a signature signs the snapshot id,
which hashes the manifest, so a file cannot vouch for anything but the snapshot it
was made for, and nobody without the key can make one.

Every check verifies the signature again with the accepted keys; a row or file from anywhere
else (a pulled entry, a copied store) is inert unless a key the user accepts made it.

Indexes made before signatures were kept per key hold one in ``snapshots.signature``
(whose signer was not recorded) and those of pulled entries in ``remote_signatures``.
Both are still read, never written: signatures that jupyter_mlvc 0.1.0 makes in a
store it shares with this version keep counting.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import keys as public_keys
from . import signing
from .index import SIGNATURES_VERSION, Index

SIGNATURES_DIR = "signatures"
#: Stands for the key id of ``snapshots.signature``, whose signer was never recorded.
LEGACY_KEY_ID = "legacy"
#: The name of a signature file: ``<snapshot id>.<key id>``.
_FILE = re.compile(r"([0-9a-f]{64})\.([0-9a-f]{16})")
_ID = re.compile(r"[0-9a-f]{64}")
#: The longest signature: Ed25519's, in hex.
_SIGNATURE_BYTES = 128
#: A snapshot's signatures: ``(key id, signature)`` pairs, unverified; a key id may
#: come twice (from two tables) with different values.
SignaturePairs = Iterable[tuple[str, Any]]


def well_formed(signature: object) -> bool:
    """Whether ``signature`` has the form of a signature: an HMAC or an Ed25519 one."""
    return signing.is_signature(signature) or public_keys.is_signature(signature)


@dataclass(frozen=True)
class Keyring:
    """The keys whose signatures this user accepts, their own first, named ``"you"``:
    secret (HMAC) keys as ``{key id: (name, key)}`` and public keys as ``{fingerprint:
    (name, raw public key)}``."""

    keys: dict[str, tuple[str, bytes]]
    own_id: str
    public: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    own_fingerprint: str = ""

    def signer(self, sid: str, signatures: SignaturePairs) -> str | None:
        """The name of an accepted key that made one of ``signatures`` of ``sid``."""
        for kid, sig in signatures:
            if kid in self.public and public_keys.is_signature(sig):
                name, raw = self.public[kid]
                if public_keys.verify(raw, sid, sig):
                    return name
                continue
            if kid == LEGACY_KEY_ID:
                # Recorded without its signer: whichever accepted key made it.
                candidates = list(self.keys.values())
            elif kid in self.keys:
                candidates = [self.keys[kid]]
            else:
                continue
            for name, key in candidates:
                if signing.verify(key, sid, sig):
                    return name
        return None


def keyring(own_key: bytes) -> Keyring:
    """The keys this user accepts now: ``own_key`` (its HMAC and its public key) and
    those of the trusted folder (read anew each time; a listing asks once for all its
    snapshots). A secret key trusted by an earlier version stands for its public key too."""
    own_id = signing.key_id(own_key)
    own_public = public_keys.public_key(own_key, "")
    keys = {own_id: (signing.OWN_NAME, own_key)}
    public = {own_public.fingerprint: (signing.OWN_NAME, own_public.raw)}
    for kid, (name, secret) in signing.trusted_keys().items():
        if kid != own_id:
            keys[kid] = (name, secret)
            derived = public_keys.public_key(secret, "")
            public.setdefault(derived.fingerprint, (name, derived.raw))
    for fp, named in public_keys.trusted_public_keys().items():
        public.setdefault(fp, named)
    return Keyring(keys, own_id, public, own_public.fingerprint)


def own_signature(index: Index, sid: str, ring: Keyring) -> bool:
    """Whether the user's own key signed ``sid`` (a commit, or their ``trust``), not
    only a teammate's key they accept."""
    own = Keyring(
        {ring.own_id: ring.keys[ring.own_id]},
        ring.own_id,
        {ring.own_fingerprint: ring.public[ring.own_fingerprint]},
        ring.own_fingerprint,
    )
    return own.signer(sid, signatures(index, sid)) is not None


# -- reading --------------------------------------------------------------------------


#: Where the index keeps signatures: the table of each key's, then the column and the
#: table of those made before it.
_PER_KEY = "select key_id, signature from signatures where snapshot = :sid"
_BEFORE = (
    "select :legacy as key_id, signature from snapshots where id = :sid and signature is not null",
    "select key_id, signature from remote_signatures where snapshot = :sid",
)


def signatures(index: Index, sid: str) -> list[tuple[str, str]]:
    """Every signature the index holds for ``sid``, as ``(key id, signature)`` pairs."""
    # A read-only store is never migrated: its index may predate the table.
    per_key = index.version >= SIGNATURES_VERSION
    sql = " union all ".join([_PER_KEY, *_BEFORE] if per_key else _BEFORE)
    rows = index.rows(sql, {"sid": sid, "legacy": LEGACY_KEY_ID})
    return [(r["key_id"], r["signature"]) for r in rows]


def signed_with(index: Index, kid: str) -> list[tuple[str, str]]:
    """The snapshots of the index that carry a signature under key id ``kid``, as
    ``(snapshot id, signature)`` pairs (unverified)."""
    tables = ["remote_signatures"]
    if index.version >= SIGNATURES_VERSION:
        tables.insert(0, "signatures")
    union = " union all ".join(
        f"select snapshot, signature from {t} where key_id = :kid" for t in tables
    )
    rows = index.rows(
        f"select g.snapshot, g.signature from ({union}) g join snapshots s on s.id = g.snapshot",
        {"kid": kid},
    )
    return [(r["snapshot"], r["signature"]) for r in rows]


def trusted_by(index: Index, sid: str, ring: Keyring) -> str | None:
    """The name of the accepted key that vouches for ``sid`` (``"you"`` for the user's
    own), or None when none does."""
    return ring.signer(sid, signatures(index, sid))


def is_trusted(index: Index, sid: str, ring: Keyring) -> bool:
    return trusted_by(index, sid, ring) is not None


# -- writing --------------------------------------------------------------------------


def add_signature(db: sqlite3.Connection, store: Path, sid: str, key: bytes) -> str:
    """Sign ``sid`` with the key pair of the secret ``key`` (Ed25519, under its public
    key's fingerprint): the file first, then the row (``db`` is inside a write
    transaction). Returns the signature."""
    sig = public_keys.sign(key, sid)
    record_signatures(db, store, sid, {public_keys.public_key(key, "").fingerprint: sig})
    return sig


def record_signatures(
    db: sqlite3.Connection, store: Path, sid: str, sigs: Mapping[str, Any]
) -> None:
    """Keep signatures of ``sid`` as they came (a pulled entry's: any key, unverified),
    the files first, then the rows. Anything not shaped like a key id and a signature
    is left out: it could not verify, and a key id becomes part of a file name."""
    wanted = {kid: sig for kid, sig in sigs.items() if signing.is_key_id(kid) and well_formed(sig)}
    if not wanted or not _ID.fullmatch(sid):
        return
    folder = store / SIGNATURES_DIR
    for kid, sig in wanted.items():
        _write_file(folder, f"{sid}.{kid}", sig)
    db.executemany(
        "insert or replace into signatures values (?, ?, ?)",
        [(sid, kid, sig) for kid, sig in wanted.items()],
    )


def _write_file(folder: Path, name: str, sig: str) -> None:
    target = folder / name
    if _read_signature(target) == sig:
        return
    folder.mkdir(mode=0o700, exist_ok=True)
    # Written aside and renamed, so a file that exists holds a whole signature. Not
    # flushed to disk: a file lost with a power cut only means trusting that snapshot
    # again after a rebuilt index, never trusting something else.
    tmp = folder / f".{name}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(sig)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# -- the files, for maintenance ---------------------------------------------------------


def saved_signatures(store: Path) -> Iterator[tuple[str, str, str, Path]]:
    """Every well-formed signature file: ``(snapshot id, key id, signature, path)``."""
    folder = store / SIGNATURES_DIR
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        m = _FILE.fullmatch(path.name)
        sig = _read_signature(path) if m else None
        if m and sig is not None:
            yield m.group(1), m.group(2), sig, path


def _read_signature(path: Path) -> str | None:
    """The signature a file holds, or None. Anyone may have put anything there: only a
    regular file is read (no symlink out of the store, no FIFO that blocks), and only
    as much of it as a signature takes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = f.read(_SIGNATURE_BYTES + 1)
    sig = data.decode("ascii", "replace")
    return sig if well_formed(sig) else None


def restore_signatures(db: sqlite3.Connection, store: Path, sids: Iterable[str]) -> int:
    """Put the rows of the signature files of ``sids`` back (a rebuilt index); returns
    how many. Whose they are does not matter: each read verifies them again."""
    wanted = set(sids)
    rows = [(sid, kid, sig) for sid, kid, sig, _ in saved_signatures(store) if sid in wanted]
    db.executemany("insert or replace into signatures values (?, ?, ?)", rows)
    return len(rows)


def sweep_signatures(store: Path, live: set[str], older_than: float, dry_run: bool = False) -> int:
    """Remove the signature files of snapshots no index row names (left by a commit that
    died before its rows), written before the time ``older_than``; returns bytes freed."""
    freed = 0
    for sid, _, _, path in list(saved_signatures(store)):
        if sid in live:
            continue
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if st.st_mtime >= older_than:
            continue
        freed += st.st_size
        if not dry_run:
            path.unlink(missing_ok=True)
    return freed


__all__ = [
    "LEGACY_KEY_ID",
    "SIGNATURES_DIR",
    "Keyring",
    "add_signature",
    "is_trusted",
    "keyring",
    "own_signature",
    "record_signatures",
    "restore_signatures",
    "saved_signatures",
    "signatures",
    "signed_with",
    "sweep_signatures",
    "trusted_by",
    "well_formed",
]
