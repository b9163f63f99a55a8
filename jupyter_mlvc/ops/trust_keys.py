"""Teammates' keys: show this user's public key, accept a teammate's, revoke one.

A snapshot is trusted when a key the user accepts signed it (``store.trust``). Accepting
a teammate's public key (``trust --key``) trusts what it signed, pulled already or
pulled later; revoking it (``trust --revoke-key``) makes those snapshots untrusted
again, except the ones the user trusted one by one (``trust REF`` signs with their own
key). See docs/teams.md.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from ..store import keys as public_keys
from ..store import signing, trust

if TYPE_CHECKING:
    from ..repo import Repo


@dataclass
class KeyInfo:
    """This user's public key: its fingerprint and the line to give teammates, and the
    keys they accept (``name``, ``fingerprint``, ``kind``)."""

    fingerprint: str
    line: str
    trusted: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_line(self) -> str:
        return f"{self.line}\nfingerprint {self.fingerprint} (give the line above to teammates)"

    def listing(self) -> str:
        rows = [f"{'you':<24} {self.fingerprint}  (your key)"]
        rows += [
            f"{k['name']:<24} {k['fingerprint']}"
            + ("  (a secret key, trusted by an earlier version)" if k["kind"] == "secret" else "")
            for k in self.trusted
        ]
        return "\n".join(rows)


def key_info(secret: bytes | None = None) -> KeyInfo:
    """The public key of the user whose secret key is ``secret`` (default: this user's,
    created on first use). Needs no store."""
    key = public_keys.public_key(secret if secret is not None else signing.load_key())
    return KeyInfo(key.fingerprint, key.line(), public_keys.trusted_listing())


@dataclass
class KeyTrust:
    """What ``trust --key`` did: the key's name and id, and the pulled snapshots it accepted."""

    name: str
    key_id: str
    accepted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_line(self) -> str:
        n = len(self.accepted)
        return (
            f"Trusting key {self.name} ({self.key_id}): snapshots signed with it are accepted"
            + (f"; {n} snapshot{'s' if n != 1 else ''} here accepted now." if n else ".")
        )


def trust_key(repo: Repo, source: str | os.PathLike, name: str | None = None) -> KeyTrust:
    """Accept a teammate's public key (a line as ``key show`` prints it, or a file holding
    one; or, as earlier versions did, a file holding their secret key)."""
    try:
        found = public_keys.read_key_argument(source)
        if isinstance(found, public_keys.PublicKey):
            if found.fingerprint == public_keys.public_key(repo.key, "").fingerprint:
                raise BadInput("this is your own key: what it signs is trusted already")
            key_name = public_keys.add_trusted_public_key(found, name)
            kid = found.fingerprint
            kids = {kid}
        else:
            key_name, kid = signing.add_trusted_secret(found, name, os.fspath(source))
            kids = {kid, public_keys.public_key(found, "").fingerprint}
    except FileNotFoundError:
        raise BadInput(f"no key file {os.fspath(source)}")
    except (ValueError, PermissionError) as exc:
        raise BadInput(str(exc))
    ring = trust.keyring(repo.key)
    accepted: set[str] = set()
    for k in kids:
        for sid, sig in trust.signed_with(repo.index, k):
            others = [(o, v) for o, v in trust.signatures(repo.index, sid) if o not in kids]
            if ring.signer(sid, [(k, sig)]) is not None and ring.signer(sid, others) is None:
                accepted.add(sid)
    return KeyTrust(key_name, kid, sorted(accepted))


@dataclass
class KeyRevocation:
    """What ``trust --revoke-key`` did: the keys removed, and the snapshots here that are
    no longer trusted because of it."""

    names: list[str]
    key_ids: list[str]
    untrusted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_line(self) -> str:
        n = len(self.untrusted)
        return f"Revoked key {', '.join(self.names)} ({', '.join(self.key_ids)}): " + (
            f"{n} snapshot{'s' if n != 1 else ''} here signed with it "
            f"{'are' if n != 1 else 'is'} no longer trusted (trust REF accepts one by one)."
            if n
            else "no snapshot here depended on it."
        )


def revoke_key(repo: Repo, which: str) -> KeyRevocation:
    """Stop accepting the key whose fingerprint (or name) is ``which``. Snapshots it
    signed are untrusted again unless another accepted key, or the user's own (``trust
    REF``), signed them."""
    which = which.strip() if isinstance(which, str) else ""
    own = public_keys.public_key(repo.key, "").fingerprint
    if which in (own, signing.key_id(repo.key), signing.OWN_NAME):
        raise BadInput("that is your own key: it cannot be revoked")
    removed = public_keys.remove_trusted(which)
    if not removed:
        known = ", ".join(
            f"{k['name']} ({k['fingerprint']})" for k in public_keys.trusted_listing()
        )
        raise BadInput(
            f"no trusted key {which!r}"
            + (f"; trusted keys: {known}" if known else ": none is trusted")
        )
    kids = sorted({k for _, ks in removed for k in ks})
    ring = trust.keyring(repo.key)
    candidates = {sid for k in kids for sid, _ in trust.signed_with(repo.index, k)}
    untrusted = sorted(sid for sid in candidates if not trust.is_trusted(repo.index, sid, ring))
    return KeyRevocation(sorted(name for name, _ in removed), kids, untrusted)


__all__ = ["KeyInfo", "KeyRevocation", "KeyTrust", "key_info", "revoke_key", "trust_key"]
