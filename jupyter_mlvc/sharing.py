"""``Repo``'s methods for sharing: push and pull snapshots and tags, list, clean and
check what a remote holds, show this user's public key, trust and revoke a teammate's,
export a snapshot to MLflow. Part of ``Repo``'s public API (``Repo`` inherits them);
the work is done in ``ops.remote``, ``ops.remote_maintenance``, ``ops.trust_keys`` and
``ops.mlflow_export``. See docs/remotes.md and docs/teams.md."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .repo import Repo

Progress = Callable[..., None]


def _op() -> Any:
    # Imported on first use: a kernel that never shares never pays for it.
    from .ops import remote

    return remote


def _keys() -> Any:
    from .ops import trust_keys

    return trust_keys


def _upkeep() -> Any:
    from .ops import remote_maintenance

    return remote_maintenance


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
        tags: bool = False,
    ):
        """Upload snapshots (default: the current branch) and their ancestors that the
        remote lacks. Incremental, parallel, resumable. With ``tags``, also every tag
        and the snapshot it names. ``progress(bytes done, bytes total)`` is called as
        objects go up (with four parameters: also objects done and objects total).
        Returns a ``TransferReport``."""
        return _op().push(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            refs,
            all=all,
            notebook_path=notebook_path,
            progress=progress,
            workers=workers,
            tags=tags,
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
        into an empty store), and the remote's tags of the snapshots this store then
        has (one that differs from a local tag is kept as ``<remote>/<tag>``). Pulled
        snapshots restore only once trusted, unless signed with your key or a trusted
        key. Returns a ``TransferReport``."""
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

    def remote_gc(
        self,
        remote: str | None = None,
        *,
        dry_run: bool = False,
        grace_seconds: float = 3600.0,
        progress: Progress | None = None,
    ):
        """Remove the objects of a remote that no snapshot pushed there names (left by
        interrupted pushes) and are older than ``grace_seconds``. Waits for no one: it
        refuses to start while a push holds a lease. Returns a ``RemoteGc``."""
        return _upkeep().remote_gc(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            dry_run=dry_run,
            grace_seconds=grace_seconds,
            progress=progress,
        )

    def remote_fsck(
        self, remote: str | None = None, *, download: bool = False, progress: Progress | None = None
    ):
        """Check what a remote holds (entries, tags, manifests, objects present and of a
        possible size; with ``download``, every object read and hashed). Returns a
        ``RemoteFsck`` whose ``problems`` lists one line per problem."""
        return _upkeep().remote_fsck(
            cast("Repo", self),
            _op().open_remote(cast("Repo", self), remote),
            download=download,
            progress=progress,
        )

    def public_key(self):
        """This user's public key: ``KeyInfo(fingerprint, line, trusted)``; the line is what
        teammates give ``trust --key``."""
        return _keys().key_info(cast("Repo", self).key)

    def trust_key(self, key: str | os.PathLike, name: str | None = None):
        """Trust snapshots signed with a teammate's public key: the line ``key show``
        prints, or a file holding it (a secret key file, as earlier versions shared,
        is accepted too). Accepts those already here. Returns a ``KeyTrust``."""
        return _keys().trust_key(cast("Repo", self), key, name)

    def revoke_key(self, fingerprint: str):
        """Stop trusting a teammate's key (by fingerprint or name): what it signed is no
        longer trusted, unless trusted one by one. Returns a ``KeyRevocation``."""
        return _keys().revoke_key(cast("Repo", self), fingerprint)

    def to_mlflow(
        self,
        ref: str = "HEAD",
        *,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        register: str | None = None,
        notebook_path: Any = None,
    ):
        """Export snapshot ``ref`` as one MLflow run (metrics, params, tags, the notebook,
        each model with its flavor; ``register``: the model registered under that name)
        and return an ``MlflowRun`` (``run_id``, ...). A snapshot exported before is not
        exported again. Only trusted snapshots; needs ``jupyter_mlvc[mlflow]``."""
        from .ops import mlflow_export

        return mlflow_export.to_mlflow(
            cast("Repo", self),
            ref,
            tracking_uri=tracking_uri,
            experiment=experiment,
            register=register,
            notebook_path=notebook_path,
        )
