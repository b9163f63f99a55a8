"""Public keys: this user's Ed25519 key pair, the one line that shares its public half,
and the teammates' public keys this user accepts.

A snapshot signed with a private key can be verified by anyone who holds the public
key, and nobody who only holds the public key can sign. That is what lets a team
verify each other's snapshots: an HMAC key (``signing``) is a shared secret, so
whoever can verify with it can also forge with it.

The pair is derived from the user's secret key (``signing.load_key``: outside every
store, owner-only, created on first use): the private key's 32-byte seed is a hash of
a label and that secret. So there is one secret to keep, as before, and every user
who already has a key has a pair at once.

A public key is shared as one line, ``mlvc-ed25519 <base64 of its 32 bytes> [name]``
(what ``mlvc key show`` prints). Its fingerprint, 16 hex digits of a hash of it, is
its key id: it names the key's signatures under ``.mlvc/signatures`` and on remotes,
and is what ``trust --revoke-key`` takes. A signature is 128 hex digits: Ed25519 of
a label and the snapshot id (which hashes the manifest, which names every object).
"""

from __future__ import annotations

import base64
import binascii
import functools
import getpass
import hashlib
import os
import re
import secrets
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import signing

PREFIX = "mlvc-ed25519"
#: The most bytes a key file or line may hold: a real one is under 200.
MAX_KEY_FILE = 4096
#: The suffix of a trusted public key's file in the trusted folder.
PUBLIC_SUFFIX = ".pub"

_SEED_LABEL = b"jupyter_mlvc ed25519 seed\0"
_FINGERPRINT_LABEL = b"jupyter_mlvc public key\0"
_MESSAGE_LABEL = b"jupyter_mlvc snapshot\0"
_SIGNATURE = re.compile(r"[0-9a-f]{128}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=")
_COMMENT = re.compile(r"[A-Za-z0-9_.@+\-]{1,100}")
_SECRET_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){16,64}")
_LINE_FORM = f"'{PREFIX} <44 base64 characters> [name]', as `mlvc key show` prints it"


@dataclass(frozen=True)
class PublicKey:
    """A public key: its 32 raw bytes and the name its line carries (may be empty)."""

    raw: bytes
    comment: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    def line(self) -> str:
        """The one line to share: ``mlvc-ed25519 <base64> [name]``."""
        text = f"{PREFIX} {base64.b64encode(self.raw).decode()}"
        return f"{text} {self.comment}" if self.comment else text

    def to_dict(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "line": self.line(), "name": self.comment}


def fingerprint(raw: bytes) -> str:
    """The key id of a public key: 16 hex digits, the same form as an HMAC key's id."""
    return hashlib.sha256(_FINGERPRINT_LABEL + raw).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _private(secret: bytes) -> Ed25519PrivateKey:
    seed = hashlib.sha256(_SEED_LABEL + secret).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def default_comment() -> str:
    """``user@host``, as far as it is a plain name: the name a teammate's ``trust --key``
    gives the key by default."""
    try:
        who = f"{getpass.getuser()}@{socket.gethostname().split('.')[0]}"
    except Exception:
        return ""
    who = re.sub(r"[^A-Za-z0-9_.@+\-]", "", who)[:100]
    return who if _COMMENT.fullmatch(who) else ""


def public_key(secret: bytes, comment: str | None = None) -> PublicKey:
    """The public half of the pair derived from the secret key ``secret``."""
    raw = _private(secret).public_key().public_bytes_raw()
    return PublicKey(raw, default_comment() if comment is None else comment)


def sign(secret: bytes, sid: str) -> str:
    """The Ed25519 signature of snapshot ``sid`` with the pair of ``secret``: 128 hex digits."""
    return _private(secret).sign(_MESSAGE_LABEL + sid.encode()).hex()


def is_signature(value: object) -> bool:
    """Whether ``value`` has the form of an Ed25519 signature (128 lowercase hex digits)."""
    return isinstance(value, str) and _SIGNATURE.fullmatch(value) is not None


@functools.lru_cache(maxsize=65536)
def _verified(raw: bytes, sid: str, signature: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            bytes.fromhex(signature), _MESSAGE_LABEL + sid.encode()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(raw: bytes, sid: str, signature: object) -> bool:
    """Whether ``signature`` is a signature of ``sid`` by the public key ``raw``. Anything
    that is not a well-formed signature is simply unverified, never an error."""
    if not isinstance(signature, str) or not is_signature(signature) or not isinstance(sid, str):
        return False
    return _verified(bytes(raw), sid, signature)


# -- reading what a user hands over ------------------------------------------------------


def parse_line(text: str) -> PublicKey:
    """The public key of a line ``mlvc-ed25519 <base64> [name]``; ``ValueError`` (one line)
    for anything else."""
    if not isinstance(text, str) or len(text) > MAX_KEY_FILE:
        raise ValueError(f"not a public key: expected {_LINE_FORM}")
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    parts = lines[0].split() if len(lines) == 1 else []
    if len(parts) not in (2, 3) or parts[0] != PREFIX:
        raise ValueError(f"not a public key: expected {_LINE_FORM}")
    if not _BASE64.fullmatch(parts[1]):
        raise ValueError(f"not a public key: its key is not 44 base64 characters ({_LINE_FORM})")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise ValueError(f"not a public key: its key is not base64 ({_LINE_FORM})")
    if len(raw) != 32:
        raise ValueError(f"not a public key: its key is {len(raw)} bytes, not 32")
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValueError("not a public key: its 32 bytes are no Ed25519 key")
    comment = parts[2] if len(parts) == 3 else ""
    if comment and not _COMMENT.fullmatch(comment):
        raise ValueError(
            "not a public key: its name may only hold letters, digits and '_.@+-' "
            "(up to 100 characters)"
        )
    return PublicKey(raw, comment)


def read_key_argument(value: str | os.PathLike) -> PublicKey | bytes:
    """What ``trust --key`` was given: a public key line, or a file holding one; or (the
    form of earlier versions) a file holding a teammate's secret key in hex, returned as
    bytes. ``ValueError`` (one line) for anything else, ``FileNotFoundError`` for no file."""
    if isinstance(value, str) and value.lstrip().startswith(PREFIX + " "):
        return parse_line(value)
    path = Path(os.fspath(value))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"{path} is a folder, not a key file")
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path} is not a regular file")
        data = os.read(fd, MAX_KEY_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_FILE:
        raise ValueError(f"{path} is not a key file: it holds more than {MAX_KEY_FILE} bytes")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a key file: it is not text")
    if text.startswith(PREFIX):
        try:
            return parse_line(text)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}")
    if _SECRET_HEX.fullmatch(text):
        return bytes.fromhex(text)
    raise ValueError(f"{path} is not a key file: expected {_LINE_FORM}")


# -- the teammates' public keys this user accepts -------------------------------------------


def trusted_public_keys() -> dict[str, tuple[str, bytes]]:
    """``{fingerprint: (name, raw public key)}`` of the public keys in the trusted folder."""
    folder = signing.trusted_keys_dir()
    out: dict[str, tuple[str, bytes]] = {}
    if not folder.is_dir():
        return out
    for f in sorted(folder.glob(f"*{PUBLIC_SUFFIX}")):
        try:
            key = parse_line(f.read_text(encoding="ascii"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        out[key.fingerprint] = (f.name[: -len(PUBLIC_SUFFIX)], key.raw)
    return out


def add_trusted_public_key(key: PublicKey, name: str | None = None) -> str:
    """Keep ``key`` in the trusted folder (owner-only) as ``<name>.pub``; returns the name.
    Its default is the name the line carries, else ``key-<fingerprint>``. ``ValueError``
    if another key has that name."""
    name = name or _name_from(key)
    signing.check_key_name(name)
    folder = signing.trusted_keys_dir()
    for existing in (folder / f"{name}{PUBLIC_SUFFIX}", folder / f"{name}.key"):
        other = _fingerprints_of(existing)
        if other and key.fingerprint not in other:
            raise ValueError(
                f"another key is trusted as {name!r} ({sorted(other)[0]}): give this one "
                "another name (--name)"
            )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{name}{PUBLIC_SUFFIX}"
    tmp = folder / f".{name}-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.line() + "\n")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return name


def _name_from(key: PublicKey) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", key.comment).strip(".-")[:64]
    try:
        signing.check_key_name(name)
    except ValueError:
        return f"key-{key.fingerprint}"
    return name


def _fingerprints_of(path: Path) -> set[str]:
    """The key ids a trusted key file stands for (a secret key stands for two: its HMAC
    key id and the fingerprint of its public key)."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return set()
    if path.suffix == PUBLIC_SUFFIX:
        try:
            return {parse_line(text).fingerprint}
        except ValueError:
            return set()
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        return set()
    return {signing.key_id(secret), public_key(secret, "").fingerprint} if secret else set()


def remove_trusted(which: str) -> list[tuple[str, set[str]]]:
    """Stop trusting the key whose fingerprint (or key id, or name) is ``which``: remove
    its file from the trusted folder. Returns ``(name, key ids)`` of each removed."""
    folder = signing.trusted_keys_dir()
    if not folder.is_dir() or not isinstance(which, str) or not which:
        return []
    removed = []
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or f.suffix not in (PUBLIC_SUFFIX, ".key"):
            continue
        kids = _fingerprints_of(f)
        if which in kids or f.stem == which:
            f.unlink(missing_ok=True)
            removed.append((f.stem, kids))
    return removed


def trusted_listing() -> list[dict[str, str]]:
    """The trusted keys as ``{"name", "fingerprint", "kind"}`` (``public``, or ``secret``
    for a secret key file trusted by an earlier version)."""
    out = []
    for fp, (name, _) in trusted_public_keys().items():
        out.append({"name": name, "fingerprint": fp, "kind": "public"})
    for kid, (name, secret) in signing.trusted_keys().items():
        fp = public_key(secret, "").fingerprint
        out.append({"name": name, "fingerprint": fp, "key_id": kid, "kind": "secret"})
    return sorted(out, key=lambda k: k["name"])


__all__ = [
    "MAX_KEY_FILE",
    "PREFIX",
    "PUBLIC_SUFFIX",
    "PublicKey",
    "add_trusted_public_key",
    "default_comment",
    "fingerprint",
    "is_signature",
    "parse_line",
    "public_key",
    "read_key_argument",
    "remove_trusted",
    "sign",
    "trusted_listing",
    "trusted_public_keys",
    "verify",
]
