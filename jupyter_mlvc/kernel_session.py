"""This kernel's notebook, its store and the ``%config MLVC`` settings that apply to both.

The ``%mlvc`` magics, the kernel protocol (the sidebar's commits and restores)
and the ipywidgets browser act on the same kernel in the same way: the store is
found from the same folder, the notebook read from the same place (the editor's
content, the saved file or the session's history), the same names excluded.
:class:`KernelSession` is that shared knowledge, one per shell
(:func:`session_for`). It imports none of the faces, and raises only
``MlvcError``s: each face maps those in its own place.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
import os
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import MLVC
from .errors import NoStore, StoreExists
from .notebook_locator import from_hints, from_server
from .ops.commit import rejoin_lines
from .progress import Progress

#: How long a commit waits for the editor's content to catch up with the running cell.
LIVE_WAIT_SECONDS = 0.5


class NoStoreYet(NoStore):
    """This kernel's notebook has no store yet; a commit creates one."""


class KernelSession:
    """A shell's namespace, the store of its notebook and the settings for both."""

    def __init__(self, shell: Any):
        self.shell = shell
        self.settings = MLVC(parent=shell)
        shell.configurables.append(self.settings)
        self._opened: list[Any] = []
        self._server_notebook: Path | None = None
        self._asked_server = False

    # -- the store ----------------------------------------------------------------------

    def store_folder(self) -> Path:
        """Where the store is searched from (and created): the setting, else the notebook's folder."""
        if self.settings.store:
            return Path(self.settings.store).expanduser().resolve()
        nb_path = self.notebook_path()
        return nb_path.parent if nb_path is not None else Path.cwd()

    def repo(self, *, create: bool = False, required: bool = False, keep: bool = False) -> Any:
        """The store for this notebook; created on demand by a commit.

        It is closed by :meth:`close_opened` (when the running command ends),
        unless ``keep`` (the browser holds its store for as long as it is shown).
        Raises :class:`NoStoreYet` when ``required`` and there is none.
        """
        from .repo import Repo

        folder = self.store_folder()
        repo = Repo.find(folder)
        if repo is None and create:
            try:
                repo = Repo.init(folder)
                print(f"Created a store in {repo.path}")
            except StoreExists:
                repo = Repo.find(folder)  # another kernel created it a moment ago
        if repo is None and required:
            raise NoStoreYet(self.no_store_yet())
        if repo is not None and not keep:
            self._opened.append(repo)
        return repo

    def no_store_yet(self) -> str:
        return (
            f"No .mlvc store in {self.store_folder()} or above yet; "
            '%mlvc commit -m "message" creates one there.'
        )

    def close_opened(self) -> None:
        # A store is opened per command, so a store made or moved meanwhile is seen.
        for repo in self._opened:
            repo.close()
        self._opened.clear()

    # -- the notebook -------------------------------------------------------------------

    def notebook_path(self) -> Path | None:
        """This kernel's notebook, or None in a terminal."""
        if self.settings.notebook:
            return Path(self.settings.notebook).expanduser().resolve()
        found = from_hints(self.shell.user_ns, os.environ, Path.cwd())
        if found is not None:
            return found
        if not self._asked_server:
            # Asking the servers costs a request: once per session is enough.
            self._asked_server = True
            connection_file = _connection_file(self.shell)
            self._server_notebook = (
                from_server(connection_file, timeout=self.settings.server_timeout)
                if connection_file
                else None
            )
        return self._server_notebook

    def notebook_key(self) -> str:
        """The notebook as the store names it: "" means no notebook (a terminal session)."""
        return path_key(self.notebook_path())

    def notebook_content(self, nb_path: Path | None) -> tuple[dict[str, Any] | None, str | None]:
        """The notebook to store and where it came from: ``editor``, ``saved`` or ``history``."""
        if nb_path is not None:
            if self.settings.use_editor_content:
                from .live import read_live_notebook

                live = read_live_notebook(nb_path)
                if live is not None:
                    return self._fresh_live(nb_path, live), "editor"
            if nb_path.exists():
                saved = read_saved_notebook(nb_path)
                if saved is not None:
                    return saved, "saved"
        return self.history_notebook(), "history"

    def _fresh_live(self, nb_path: Path, live: dict[str, Any]) -> dict[str, Any]:
        """The editor's content, once it holds the cell being run.

        The frontend hands the editor's content over when a cell is scheduled, which
        can lose the race against the kernel running it: a copy without the running
        cell's source is older than that cell, so wait a little for the newer one.
        """
        from .live import read_live_notebook

        inputs = self.shell.history_manager.input_hist_raw
        running = inputs[-1].strip() if inputs else ""
        deadline = time.monotonic() + LIVE_WAIT_SECONDS
        while running and not _has_cell(live, running) and time.monotonic() < deadline:
            time.sleep(0.05)
            live = read_live_notebook(nb_path) or live
        return live

    def history_notebook(self) -> dict[str, Any]:
        """This session's inputs as the cells of a notebook (for a terminal IPython)."""
        inputs = list(self.shell.history_manager.input_hist_raw[1:])
        cells = [
            {
                "cell_type": "code",
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "execution_count": None,
                "source": src.rstrip("\n"),
                "outputs": [],
            }
            for src in inputs
            if src.strip()
        ]
        return {
            "cells": cells,
            "metadata": {"language_info": {"name": "python", "version": sys.version.split()[0]}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }

    def exclude(self, extra: list[str] | None = None) -> list[str]:
        """Names never committed or removed: settings, ``extra`` and IPython's own hidden names."""
        ns, hidden = self.shell.user_ns, self.shell.user_ns_hidden
        # A hidden name the user has since rebound is the user's variable, as in %who.
        names = [n for n, v in hidden.items() if n in ns and ns[n] is v]
        return [*self.settings.exclude, *(extra or []), *names]

    # -- what the faces share -----------------------------------------------------------

    def commit_state(
        self,
        message: str,
        *,
        metrics: Mapping[str, float] | None = None,
        only: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> Any:
        """Commit the kernel's variables and its notebook; the new ``Snapshot``.

        What ``%mlvc commit`` does once its cell ran, and what the sidebar's Commit
        does through :mod:`jupyter_mlvc.kernel_protocol`. Raises ``MlvcError``.
        """
        try:
            repo = self.repo(create=True)
            nb_path = self.notebook_path()
            notebook, source = self.notebook_content(nb_path)
            with self.progress("Committing") as progress:
                return self.call(
                    repo.commit,
                    progress,
                    self.shell.user_ns,
                    message,
                    notebook=notebook,
                    notebook_path=path_key(nb_path),
                    metrics=dict(metrics) if metrics else None,
                    only=only,
                    exclude=self.exclude(exclude),
                    notebook_source=source,
                )
        finally:
            self.close_opened()

    def restore_state(
        self, ref: str, names: list[str] | None = None, *, save: bool = True, skipped: str = "keep"
    ) -> Any:
        """Restore snapshot ``ref`` (only ``names`` of it, if given); the ``RestoreReport``.

        What ``%mlvc checkout`` does, and the sidebar's restores: the current state
        is committed first when the ``save_before_checkout`` setting and ``save``
        both say so. Raises ``MlvcError`` (:class:`NoStoreYet` when there is no store).
        """
        try:
            repo = self.repo(required=True)
            nb_path = self.notebook_path()
            save = self.settings.save_before_checkout and save
            notebook, source = self.notebook_content(nb_path) if save else (None, None)
            with self.progress("Checking out") as progress:
                return self.call(
                    repo.restore,
                    progress,
                    ref,
                    self.shell.user_ns,
                    names,
                    save=save,
                    notebook=notebook,
                    notebook_source=source,
                    notebook_path=path_key(nb_path),
                    exclude=self.exclude(),
                    rng=self.settings.restore_random_state,
                    skipped=skipped,
                )
        finally:
            self.close_opened()

    def merge_state(
        self,
        ref: str,
        *,
        strategy: str | None = None,
        resolve: dict[str, str] | None = None,
        message: str | None = None,
        preview: bool = False,
    ) -> Any:
        """Merge ``ref`` into the kernel's state (``%mlvc merge``, the sidebar's merge):
        the ``MergeResult``. The editor's notebook is "ours" for the notebook merge."""
        try:
            repo = self.repo(required=True)
            nb_path = self.notebook_path()
            notebook, source = self.notebook_content(nb_path)
            return repo.merge(
                ref,
                self.shell.user_ns,
                strategy=strategy,
                resolve=resolve,
                message=message,
                notebook=notebook,
                notebook_source=source,
                notebook_path=path_key(nb_path),
                exclude=self.exclude(),
                preview=preview,
            )
        finally:
            self.close_opened()

    def auto_commit(self, raw: str) -> None:
        """The automatic snapshot after the cell ``raw``, if it changed anything."""
        from .state.cellnames import touched_names

        ns = self.shell.user_ns
        touched = touched_names(self.shell.transform_cell(raw), ns)
        repo = self.repo(create=True)
        nb_path = self.notebook_path()
        notebook, source = self.notebook_content(nb_path)
        first = raw.splitlines()[0].strip()
        repo.commit(
            ns,
            first if len(first) <= 80 else first[:77] + "...",
            notebook=notebook,
            notebook_path=path_key(nb_path),
            exclude=self.exclude(),
            notebook_source=source,
            auto=True,
            if_changed=True,
            # What the cell's code cannot reach is taken over from HEAD unserialized.
            assume_unchanged=None if touched is None else [n for n in ns if n not in touched],
        )

    @contextmanager
    def progress(self, label: str) -> Iterator[Progress]:
        in_kernel = getattr(self.shell, "kernel", None) is not None
        with Progress(label, after=self.settings.progress_after, notebook=in_kernel) as progress:
            yield progress

    @staticmethod
    def call(fn: Callable[..., Any], progress: Progress, *args: Any, **kwargs: Any) -> Any:
        """Call a core method, handing it the progress callback if it takes one."""
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        if "progress" in params:
            kwargs["progress"] = progress.update
        return fn(*args, **kwargs)


_sessions: weakref.WeakKeyDictionary[Any, KernelSession] = weakref.WeakKeyDictionary()


def session_for(shell: Any) -> KernelSession:
    """The session of ``shell``, made (and its settings registered) on first use."""
    session = _sessions.get(shell)
    if session is None:
        session = _sessions[shell] = KernelSession(shell)
    return session


def end_session(shell: Any) -> None:
    """Forget ``shell``'s session and its settings (the extension was unloaded)."""
    session = _sessions.pop(shell, None)
    if session is not None and session.settings in shell.configurables:
        shell.configurables.remove(session.settings)


def without_names(diff: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    """A diff's JSON without the variables ``patterns`` exclude, on both sides.

    The core leaves excluded names out of the current state only, so a name
    committed before it was excluded would otherwise show up as removed.
    """
    if not patterns:
        return diff

    def kept(name: str) -> bool:
        return not any(fnmatch.fnmatchcase(name, p) for p in patterns)

    variables = {
        kind: [e for e in entries if kept(e if isinstance(e, str) else e["name"])]
        for kind, entries in diff["variables"].items()
    }
    return {**diff, "variables": variables}


def path_key(path: Path | None) -> str:
    """A notebook path as the core takes it.

    "" is the store's name for "no notebook" (a terminal session); None would
    mean "the notebook of the latest snapshot" to the core.
    """
    return os.fspath(path) if path is not None else ""


def read_saved_notebook(path: Path) -> dict[str, Any] | None:
    """The saved notebook as nbformat 4 JSON, or None if the file is not one.

    Plain JSON is enough to store it, and far cheaper than importing nbformat (whose
    validator takes seconds to import); files in the old formats 1-3 are converted."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None  # A half-written or foreign file: the history still tells the story.
    if not isinstance(data, dict) or not isinstance(
        data.get("cells", data.get("worksheets")), list
    ):
        return None
    if data.get("nbformat", 0) >= 4:
        return rejoin_lines(data)
    try:
        import nbformat

        return nbformat.reads(json.dumps(data), as_version=4)
    except Exception:
        return None


def _has_cell(notebook: dict[str, Any], source: str) -> bool:
    for cell in notebook.get("cells", []):
        text = cell.get("source", "")
        if ("".join(text) if isinstance(text, list) else str(text)).strip() == source:
            return True
    return False


def _connection_file(shell: Any) -> str | None:
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        from ipykernel import get_connection_file

        return get_connection_file()
    except Exception:
        return None
