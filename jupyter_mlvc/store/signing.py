"""The user's secret key, and the HMAC signatures of earlier versions.

Unpickling runs code, so a snapshot's variables are only loaded when it carries a
valid signature made with *this* user's key or a key they accept. New signatures are
Ed25519, made with the key pair derived from this secret (``keys``); the HMACs made
before keep verifying. The key lives outside every
store (under the Jupyter data dir, owner-only), so copying a store from someone
else, or editing it, does not copy the right to run its pickles.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import warnings
from pathlib import Path

KEY_BYTES = 32
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def key_path() -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "mlvc" / "key"


class InsecureKeyWarning(UserWarning):
    pass


def load_key(path: Path | None = None) -> bytes:
    """This user's key, created on first use (mode 0600)."""
    path = path or key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".key-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(KEY_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            # link() fails if another process created the key meanwhile: theirs wins.
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    text = path.read_text().strip()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.warn(
            f"jupyter_mlvc: the key file {path} can be read by other users (mode {mode:o}); "
            f"run `chmod 600 {path}`",
            InsecureKeyWarning,
            stacklevel=3,
        )
    key = bytes.fromhex(text)
    if len(key) < 16:
        raise ValueError(f"the key file {path} is damaged")
    return key


def sign(key: bytes, snapshot_id: str) -> str:
    """The signature of a snapshot: an HMAC of its id, which hashes its manifest,
    which names the hash of every object it holds."""
    return hmac.new(key, snapshot_id.encode(), hashlib.sha256).hexdigest()


def is_signature(value: object) -> bool:
    """Whether ``value`` has the form of a signature (64 lowercase hex digits)."""
    return isinstance(value, str) and _SIGNATURE.fullmatch(value) is not None


def verify(key: bytes, snapshot_id: str, signature: object) -> bool:
    """Whether ``signature`` is ``sign(key, snapshot_id)``. Signatures come from stores
    and remotes, which anyone may have written: anything that is not a well-formed
    signature is simply unverified, never an error."""
    if not isinstance(signature, str) or not is_signature(signature):
        return False
    return hmac.compare_digest(sign(key, snapshot_id), signature)


# -- keys of other people ------------------------------------------------------------
#
# Snapshots pulled from a remote were signed with the pusher's key. Adding that key
# to the trusted folder accepts them. An HMAC key is a shared secret: whoever holds a
# copy can sign snapshots that every store trusting the key accepts.


def key_id(key: bytes) -> str:
    """A short public name of a key: a hash of it, which does not reveal the key."""
    return hashlib.sha256(b"jupyter_mlvc key id\0" + key).hexdigest()[:16]


def is_key_id(value: object) -> bool:
    """Whether ``value`` has the form of a key id (16 lowercase hex digits)."""
    return isinstance(value, str) and _KEY_ID.fullmatch(value) is not None


def trusted_keys_dir() -> Path:
    return key_path().parent / "trusted"


def trusted_keys() -> dict[str, tuple[str, bytes]]:
    """The keys this user accepts besides their own: ``{key id: (name, key)}``."""
    folder = trusted_keys_dir()
    out: dict[str, tuple[str, bytes]] = {}
    if not folder.is_dir():
        return out
    for f in sorted(folder.glob("*.key")):
        try:
            key = _read_key(f)
        except (OSError, ValueError):
            continue
        out[key_id(key)] = (f.stem, key)
    return out


#: A trusted key may not be called this: it is how the user's own key is named.
OWN_NAME = "you"


def check_key_name(name: str) -> str:
    """``name`` if it can name a trusted key (letters, digits, '-', '_', '.'); else ``ValueError``."""
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= 100
        or name.startswith(".")
        or name == OWN_NAME
        or not name.replace("-", "").replace("_", "").replace(".", "").isalnum()
        or not name.isascii()
    ):
        raise ValueError(
            f"{name!r} is not a valid key name: use letters, digits, '-', '_', '.' "
            f"(not {OWN_NAME!r})"
        )
    return name


def add_trusted_key(source: str | os.PathLike, name: str | None = None) -> tuple[str, str]:
    """Copy the key file ``source`` (as written by ``load_key``: hex) into the trusted
    folder, owner-only. Returns ``(name, key id)``; ``ValueError`` if it is no key."""
    try:
        key = bytes.fromhex(Path(source).read_text().strip())
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not a key file (expected {KEY_BYTES * 2} hex digits)")
    return add_trusted_secret(key, name, source)


def add_trusted_secret(
    key: bytes, name: str | None = None, source: object = "the key"
) -> tuple[str, str]:
    """Keep a teammate's secret key in the trusted folder, owner-only (how earlier
    versions shared keys). Returns ``(name, key id)``; ``ValueError`` if it is no key."""
    if len(key) < 16:
        raise ValueError(f"{source} is not a key file (expected {KEY_BYTES * 2} hex digits)")
    kid = key_id(key)
    name = check_key_name(name or f"key-{kid}")
    folder = trusted_keys_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{name}.key"
    tmp = folder / f".{name}-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return name, kid
