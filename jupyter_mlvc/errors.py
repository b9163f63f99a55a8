"""Errors a user can cause. Each carries a one-line message meant to be shown as is.

Every face maps these once, by class: the magics raise ``UsageError``, the server
answers with a JSON 4xx (its table of codes is in ``server/handlers.py``), the CLI
exits non-zero, the kernel protocol replies with a JSON error. Anything that is
*not* an ``MlvcError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

import sqlite3


class MlvcError(Exception):
    """Base class of every error a user can cause."""


class NoStore(MlvcError):
    """No ``.mlvc`` store in the folder or any parent."""


class StoreExists(MlvcError):
    """``Repo.init`` on a folder that already holds a store."""


class UnknownRef(MlvcError):
    """A ref names no snapshot, branch or tag."""


class AmbiguousRef(MlvcError):
    """A short id matches more than one snapshot."""


class UnknownVariable(MlvcError):
    """A variable name that the snapshot does not hold."""


class BadName(MlvcError):
    """A branch or tag name that is not allowed, or already taken."""


class BadInput(MlvcError):
    """A metric that is not a number, a notebook that does not parse, ..."""


class Untrusted(MlvcError):
    """The snapshot's signature does not verify with this user's key."""


class DamagedStore(MlvcError):
    """An object or the index is missing or corrupt. The message names what."""


class MissingObject(DamagedStore):
    """An object the snapshot needs is not in the store."""


class CorruptObject(DamagedStore):
    """An object's bytes no longer hash to its name."""


class DamagedIndex(DamagedStore, sqlite3.DatabaseError):
    """SQLite found the index file damaged while the store was open (a page overwritten,
    the file cut short). Also a ``sqlite3.DatabaseError``, for the code that checks the
    index itself (``Index.intact``, ``fsck``)."""


class BadObjectId(CorruptObject):
    """A name that should be an object id (64 hex digits) and is not: written by a
    damaged or hostile store, it is never turned into a path."""


class BadManifest(DamagedStore):
    """A manifest, or a remote's entry for a snapshot, that is not what jupyter_mlvc
    writes: a field of the wrong type, a name that is no identifier, a size out of
    range. The message is one line: ``snapshot 1a2b3c4d: <what is wrong>``."""


class WriteFailed(MlvcError):
    """The store could not be written (disk full, I/O error, read-only): nothing was committed."""


class ReadOnlyStore(WriteFailed):
    """The store is on a read-only filesystem or folder: it can be read, not written."""


class RestoreError(MlvcError):
    """Some variables of a checkout could not be restored.

    ``values`` holds those that were, ``errors`` maps each failed name to its reason.
    """

    def __init__(self, message: str, values: dict, errors: dict[str, str]):
        super().__init__(message)
        self.values = values
        self.errors = errors


class UnknownRemote(MlvcError):
    """A remote name this store does not know (``remote add`` it first)."""


class RemoteFailed(MlvcError):
    """A remote could not be read or written (network, credentials, missing bucket).

    What was transferred before the failure stays: running the command again resumes.
    """


class MergeConflict(MlvcError):
    """A merge left variables changed differently on both sides undecided; nothing changed.

    ``result`` is the merge's plan (a ``MergeResult``), its ``conflicts`` each named.
    """

    def __init__(self, message: str, result: object):
        super().__init__(message)
        self.result = result
