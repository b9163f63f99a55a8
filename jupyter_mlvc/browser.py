"""``%mlvc browse``: a snapshot browser made of plain ipywidgets.

It needs nothing but ipywidgets in the frontend, so it works where the JupyterLab
extension is absent (Notebook 7, VS Code, Colab). The list shows this notebook's
snapshots; selecting one shows its details, its model cards and its variables;
the buttons restore all or the selected variables into the kernel, or show the
diff from the selected snapshot to the current state or to another snapshot
(the same tables as ``%mlvc diff``). Restores go through the kernel protocol's
:func:`~jupyter_mlvc.kernel_protocol.run`, as the sidebar's do: the same checks
of the request, the same call of the core. Every button callback reports its
errors in the widget itself (ipywidgets would otherwise only log them to the
browser console).

    browser = SnapshotBrowser(repo, get_ipython().user_ns)
    browser                      # displays the widget
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, MutableMapping
from typing import Any

import ipywidgets as widgets

from .errors import MlvcError
from .kernel_protocol import RepoTarget, run
from .present.format import format_metrics, format_time, one_line
from .present.render import DiffView, RestoreView, SnapshotView, esc, models_html, variable_text

NotebookSource = Callable[[], "tuple[dict[str, Any] | None, str | None]"]

#: The value of the "with" choice that means the kernel's current state (snapshot ids are hex).
CURRENT = "current"


class SnapshotBrowser:
    """The snapshots of one notebook, with buttons to restore and compare them."""

    def __init__(
        self,
        repo: Any,
        namespace: MutableMapping[str, Any],
        *,
        notebook_path: str | None = None,
        exclude: Callable[[], list[str]] | list[str] | None = None,
        save: bool = True,
        notebook: NotebookSource | None = None,
        include_auto: bool = True,
        limit: int = 200,
    ):
        self.repo = repo
        self.namespace = namespace
        self.notebook_path = notebook_path
        self._exclude = exclude
        self.save = save
        self._notebook = notebook
        self.include_auto = include_auto
        self.limit = limit

        self.title = widgets.HTML()
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Reload the list of snapshots"
        )
        self.snapshots = widgets.Select(options=[], rows=8, layout=widgets.Layout(width="100%"))
        self.details = widgets.HTML()
        self.models = widgets.HTML()
        self.variables = widgets.SelectMultiple(
            options=[], rows=8, layout=widgets.Layout(width="100%")
        )
        self.restore_all_button = widgets.Button(
            description="Restore all",
            button_style="warning",
            icon="undo",
            tooltip="Make the kernel's variables those of this snapshot (the current state is committed first)",
        )
        self.restore_selected_button = widgets.Button(
            description="Restore selected",
            icon="check-square",
            tooltip="Restore only the selected variables",
        )
        self.compare_button = widgets.Button(
            description="Compare",
            icon="exchange",
            tooltip="What changed from the selected snapshot to the one chosen at right "
            "(variables and how, metrics, packages, notebook cells)",
        )
        self.compare_with = widgets.Dropdown(
            options=[("with the current state", CURRENT)],
            value=CURRENT,
            layout=widgets.Layout(width="auto"),
        )
        self.result = widgets.HTML()

        self.refresh_button.on_click(self._guard(lambda _: self.refresh()))
        self.restore_all_button.on_click(self._guard(lambda _: self.restore_all()))
        self.restore_selected_button.on_click(self._guard(lambda _: self.restore_selected()))
        self.compare_button.on_click(self._guard(lambda _: self.compare_selected()))
        self.snapshots.observe(self._guard(self._on_select), names="value")

        self.widget = self._layout()
        self._guard(lambda: self.refresh())()

    def _layout(self) -> widgets.VBox:
        """The widgets in their places: title, list, details, variables, buttons, result."""
        return widgets.VBox(
            [
                widgets.HBox(
                    [self.title, self.refresh_button],
                    layout=widgets.Layout(justify_content="space-between"),
                ),
                self.snapshots,
                self.details,
                self.models,
                widgets.HTML("<b>Variables</b> (select some to restore only those)"),
                self.variables,
                widgets.HBox(
                    [
                        self.restore_all_button,
                        self.restore_selected_button,
                        self.compare_button,
                        self.compare_with,
                    ]
                ),
                self.result,
            ]
        )

    # -- display ------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- actions (also what the buttons call) ------------------------------------------

    @property
    def selected(self) -> str | None:
        """The id of the selected snapshot."""
        return self.snapshots.value

    def select(self, ref: str) -> None:
        """Select the snapshot ``ref`` (any ref the store resolves)."""
        self.snapshots.value = self.repo.resolve(ref, self.notebook_path)

    def refresh(self) -> None:
        """Reload the list of snapshots, keeping the selection if it still exists."""
        previous = self.snapshots.value
        snaps, total = self.repo.list(
            self.notebook_path, limit=self.limit, include_auto=self.include_auto
        )
        head = self.repo.head(self.notebook_path)
        head_id = head.id if head is not None else None
        self.snapshots.options = [(self._label(s, s.id == head_id), s.id) for s in snaps]
        target_before = self.compare_with.value
        self.compare_with.options = [("with the current state", CURRENT)] + [
            (f"with {s.short_id}  {one_line(s.message, 40)}", s.id) for s in snaps
        ]
        self.compare_with.value = (
            target_before if target_before in [v for _, v in self.compare_with.options] else CURRENT
        )
        where = esc(self.notebook_path or "this session")
        self.title.value = f"<b>Snapshots of {where}</b> ({len(snaps)} of {total})"
        ids = [s.id for s in snaps]
        target = (
            previous
            if previous in ids
            else (head_id if head_id in ids else (ids[0] if ids else None))
        )
        if self.snapshots.value != target:
            self.snapshots.value = target
        else:
            self._show(target)

    def restore_all(self) -> None:
        self._restore(None)

    def restore_selected(self) -> None:
        names = list(self.variables.value)
        if not names:
            self._say("Select one or more variables first.", error=True)
            return
        self._restore(names)

    def compare_selected(self) -> None:
        """The diff from the selected snapshot to the state chosen in ``compare_with``."""
        target = self.compare_with.value
        self.compare(self._require_selection(), None if target == CURRENT else target)

    def compare(self, a: str, b: str | None = None) -> None:
        """Show the diff from snapshot ``a`` to ``b`` (default: the kernel's current state)."""
        if b is None:
            notebook = self._notebook()[0] if self._notebook else None
            diff = self.repo.diff(
                a,
                dict(self.namespace),
                notebook_path=self.notebook_path,
                current_notebook=notebook,
                exclude=self.exclude(),
            )
        else:
            diff = self.repo.diff(a, b, notebook_path=self.notebook_path)
        self.result.value = DiffView(diff)._repr_html_()

    def exclude(self) -> list[str]:
        if callable(self._exclude):
            return list(self._exclude())
        return list(self._exclude or [])

    # -- internals --------------------------------------------------------------------

    def _restore(self, names: list[str] | None) -> None:
        request: dict[str, Any] = {"op": "restore", "ref": self._require_selection()}
        if names is not None:
            request["names"] = names
        target = RepoTarget(
            self.repo,
            self.namespace,
            notebook_path=self.notebook_path,
            exclude=self.exclude,
            notebook=self._notebook,
            save=self.save,
        )
        report = run(target, request)
        self.refresh()
        self.result.value = RestoreView(report, partial=names is not None)._repr_html_()

    def _require_selection(self) -> str:
        if self.snapshots.value is None:
            raise MlvcError("Select a snapshot first.")
        return self.snapshots.value

    def _on_select(self, change: dict[str, Any]) -> None:
        self._show(change["new"])

    def _show(self, snapshot_id: str | None) -> None:
        if snapshot_id is None:
            self.details.value = '<i>No snapshots yet: %mlvc commit -m "message" makes one.</i>'
            self.models.value = ""
            self.variables.options = []
            return
        snap = self.repo.show(snapshot_id, self.notebook_path)
        self.details.value = _details_html(snap)
        models = models_html(snap.variables)
        self.models.value = f'<div class="mlvc"><b>Models</b>{models}</div>' if models else ""
        self.variables.options = [
            (
                f"{name}  ·  {info.type}  ·  {one_line(variable_text(info.type, info.summary), 60)}",
                name,
            )
            for name, info in sorted(snap.variables.items())
        ]

    def _label(self, snap: Any, is_head: bool) -> str:
        parts = [
            snap.short_id,
            format_time(snap.created_at),
            one_line(snap.message, 50) or ("(auto)" if snap.auto else ""),
        ]
        refs = ([snap.branch] if snap.branch else []) + list(snap.tags)
        if refs:
            parts.append("[" + ", ".join(refs) + "]")
        if snap.metrics:
            parts.append(format_metrics(snap.metrics))
        return ("● " if is_head else "  ") + "  ".join(parts)

    def _say(self, message: str, *, error: bool = False) -> None:
        color = "#cf222e" if error else "inherit"
        self.result.value = f'<div style="color:{color}">{esc(message)}</div>'

    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Run a callback; show what went wrong in the widget instead of losing it."""

        def run(*args: Any) -> Any:
            try:
                return fn(*args)
            except MlvcError as e:
                self._say(str(e), error=True)
            except Exception as e:
                # Not a user mistake: show the traceback so it can be reported.
                self.result.value = (
                    f'<div style="color:#cf222e">Error: {esc(type(e).__name__)}: {esc(e)}</div>'
                    f"<pre>{esc(traceback.format_exc())}</pre>"
                )
            return None

        return run


def _details_html(snap: Any) -> str:
    view = SnapshotView(snap)
    rows = [
        (k, v)
        for k, v in view.header_rows()
        if k
        in ("message", "time", "branch", "tags", "metrics", "size", "notebook", "auto", "trust")
    ]
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{esc(k)}</th><td>{esc(v)}</td></tr>"
        for k, v in rows
    )
    skipped = ""
    if snap.skipped:
        skipped = (
            "<div>skipped: "
            + esc(", ".join(f"{k} ({v})" for k, v in snap.skipped.items()))
            + "</div>"
        )
    return f"<table>{body}</table>{skipped}"
