"""A progress indicator for commits and checkouts that take more than a moment.

It stays invisible for the first ``after`` seconds (most commits are quicker), then
shows an ipywidgets bar in a notebook or a self-erasing line on stderr in a
terminal. A background thread drives it, so the core runs undisturbed on the
main thread; if the core reports progress (``update(done, total)``), the bar shows
the fraction, otherwise it shows the elapsed time. Transfers to and from remotes
report bytes and objects (``update(bytes, total bytes, objects, total objects)``),
and the line shows both: ``Pushing… 2.1 s 40% 12.3 MB of 30.8 MB, 14 of 35 objects``.
"""

from __future__ import annotations

import contextvars
import math
import sys
import threading
import time
from typing import Any, TextIO

from .present.format import format_bytes

TICK = 0.2


class Progress:
    """``with Progress("Committing", notebook=True) as p: ...`` (``p.update(3, 10)`` optional)."""

    def __init__(
        self,
        label: str,
        *,
        after: float = 1.0,
        notebook: bool = False,
        stream: TextIO | None = None,
    ):
        self.label = label
        self.after = after
        self.notebook = notebook
        self.stream = stream if stream is not None else sys.stderr
        self.shown = False
        self._done: float | None = None
        self._total: float | None = None
        self._objects: tuple[int, int] | None = None
        self._start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._widget: Any = None
        self._handle: Any = None
        self._width = 0

    def update(
        self,
        done: float,
        total: float | None = None,
        objects: int | None = None,
        objects_total: int | None = None,
        *_: Any,
    ) -> None:
        """Record progress (with ``objects``, ``done`` and ``total`` are bytes); the
        next tick shows it."""
        self._done, self._total = done, total
        if objects is not None and objects_total is not None:
            self._objects = (objects, objects_total)

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self.after <= 0:
            self._render()
        # The thread runs in a copy of this context so that, in a kernel, what it
        # displays belongs to the cell that is running.
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._clear()

    def _run(self) -> None:
        if self._stop.wait(max(self.after, 0)):
            return
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    return
                self._render()
            self._stop.wait(TICK)

    def _fraction(self, elapsed: float) -> float:
        if self._total:
            return max(0.0, min(1.0, (self._done or 0) / self._total))
        # Unknown total: creep towards the end without reaching it.
        return 1 - math.exp(-elapsed / 10)

    def _text(self, elapsed: float) -> str:
        text = f"{self.label}… {elapsed:.1f} s"
        if self._total:
            text += f" {self._fraction(elapsed):.0%}"
        if self._objects is not None:
            n, total = self._objects
            text += (
                f" {format_bytes(int(self._done or 0))} of {format_bytes(int(self._total or 0))},"
                f" {n} of {total} objects"
            )
        return text

    def _render(self) -> None:
        elapsed = time.monotonic() - self._start
        if self.notebook:
            self._render_widget(elapsed)
        else:
            text = self._text(elapsed)
            self._width = max(self._width, len(text))
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
        self.shown = True

    def _render_widget(self, elapsed: float) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        if self._widget is None:
            bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info")
            label = widgets.Label()
            self._widget = widgets.HBox([bar, label])
            self._handle = display(self._widget, display_id=True)
        bar, label = self._widget.children
        bar.value = self._fraction(elapsed)
        label.value = self._text(elapsed)

    def _clear(self) -> None:
        if not self.shown:
            return
        if self.notebook:
            if self._widget is not None:
                self._widget.close()
            if self._handle is not None:
                # Leave no dead widget behind in the saved notebook.
                self._handle.update({"text/plain": ""}, raw=True)
        else:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
