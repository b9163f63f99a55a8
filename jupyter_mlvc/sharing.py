"""``Repo``'s methods for remotes: push and pull snapshots, list what a remote holds,
trust a teammate's key. Part of ``Repo``'s public API (``Repo`` inherits them); the
work is done in ``ops.remote``. See docs/remotes.md."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .repo import Repo

Progress = Callable[[int, int], None]


def _op() -> Any:
    # Imported on first use: a kernel that never shares never pays for it.
    from .ops import remote

    return remote


class Sharing:
    """Remotes: any fsspec URL (S3 and S3-compatible servers, GCS, Azure, folders)."""

    def remotes(self) -> dict[str, Any]:
        """The remotes this store knows: ``{name: RemoteConfig(name, url, options)}``."""
        return _op().remote_configs(cast("Repo", self))

    def remote_add(
        self,
        name: str,
        url: str | os.PathLike,
        *,
        endpoint_url: str | None = None,
        profile: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        """Remember a remote: an fsspec URL (``s3://bucket/prefix``, a folder, ...).

        ``endpoint_url`` points s3 at a MinIO-style server, ``profile`` picks an AWS
        profile, ``options`` go to the filesystem (s3fs). Credentials come from the
        environment or the profile and are never stored.

        >>> repo.remote_add("team", "s3://ml/mlvc", endpoint_url="http://minio:9000")  # doctest: +SKIP
        """
        return _op().add_remote(
            cast("Repo", self),
            name,
            url,
            endpoint_url=endpoint_url,
            profile=profile,
            options=options,
        )

    def remote_remove(self, name: str) -> None:
        """Forget a remote (what it holds is left as it is)."""
        _op().remove_remote(cast("Repo", self), name)

    def push(
        self,
        remote: str | None = None,
        refs: Iterable[str] | str | None = None,
        *,
        all: bool = False,
        notebook_path: Any = None,
        progress: Progress | None = None,
        workers: int = 8,
    ):
        """Upload snapshots (default: the current branch) and their ancestors that the
        remote lacks. Incremental, parallel, resumable. Returns a ``TransferReport``."""
        return _op().push(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            refs,
            all=all,
            notebook_path=notebook_path,
            progress=progress,
            workers=workers,
        )

    def pull(
        self,
        remote: str | None = None,
        refs: Iterable[str] | str | None = None,
        *,
        all: bool = False,
        notebook_path: Any = None,
        progress: Progress | None = None,
        workers: int = 8,
    ):
        """Download snapshots from a remote (default: the current branch; everything
        into an empty store). Pulled snapshots restore only once trusted, unless signed
        with your key or a trusted key. Returns a ``TransferReport``."""
        return _op().pull(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            refs,
            all=all,
            notebook_path=notebook_path,
            progress=progress,
            workers=workers,
        )

    def remote_log(
        self,
        remote: str | None = None,
        notebook_path: Any = None,
        *,
        all: bool = False,
        limit: int | None = None,
        include_auto: bool = True,
        sort: str | None = None,
    ):
        """What a remote holds, as ``log`` shows it (a DataFrame, newest first)."""
        return _op().remote_log(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            notebook_path,
            all=all,
            limit=limit,
            include_auto=include_auto,
            sort=sort,
        )

    def remote_snapshots(self, remote: str | None = None, notebook_path: Any = None, *, all=False):
        """What a remote holds as ``RemoteSnapshot`` records (with signer, local, trusted_by)."""
        return _op().remote_snapshots(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            notebook_path,
            all=all,
        )

    def trust_key(self, path: str | os.PathLike, name: str | None = None):
        """Trust snapshots signed with a teammate's key file (``trust --key FILE``);
        accepts those already pulled. Returns a ``KeyTrust``."""
        return _op().trust_key(cast("Repo", self), path, name)
