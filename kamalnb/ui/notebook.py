"""The notebook listener: the live board and the static summary, shown together in the
cell that runs a step."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kamalnb.events import Event, StepStarted
from kamalnb.ui.summary import Display, Summary, kernel_display

if TYPE_CHECKING:
    from kamalnb.ui.board import Board


def show_errors_as_messages(shell: Any) -> None:
    """kamalnb's errors name the problem and the fix; in a kernel they show as that message,
    not under a traceback of kamalnb's internals. The cell still fails (Run All stops there)."""
    from kamalnb.errors import KamalnbError

    def show(shell: Any, kind: type[BaseException], error: BaseException, traceback: Any,
             tb_offset: int | None = None) -> None:
        shell._showtraceback(kind, error, [f"\x1b[0;31m{kind.__name__}\x1b[0m: {error}"])

    if KamalnbError not in getattr(shell, "custom_exceptions", ()):
        shell.set_custom_exc((KamalnbError,), show)


class NotebookListener:
    """Shows a board (when `widgets`) and a summary for each step it hears about.

    A step is shown when its first event arrives, not when the listener is made, so making
    one has no effect on the notebook. A step started after the previous one ended gets a
    fresh board and summary below the earlier ones.
    """

    def __init__(
        self,
        *,
        widgets: bool = True,
        display: Display | None = None,
        phases: Sequence[str] | None = None,
        board_interval: float = 0.1,
        summary_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.widgets = widgets
        self._display = display if display is not None else kernel_display()
        self._phases = phases
        self._board_interval = board_interval
        self._summary_interval = summary_interval
        self._clock = clock
        self.board: Board | None = None
        self.summary: Summary | None = None
        self._lock = threading.RLock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            summary = self.summary
            if summary is None or (isinstance(event, StepStarted) and summary.progress.finished):
                summary = self._show(event)
            elif self.board is not None:
                self.board(event)
            summary(event)

    def close(self) -> None:
        """Stop the refresh threads and draw what is pending; a step that never sent its
        StepFinished is drawn as ended (see `LiveView.close`)."""
        with self._lock:
            for view in (self.board, self.summary):
                if view is not None:
                    view.close()

    def _show(self, first: Event) -> Summary:
        self.close()
        self.board = None
        if self.widgets:
            from kamalnb.ui.board import Board

            self.board = Board(interval=self._board_interval, phases=self._phases, clock=self._clock)
            # Drawn before it is shown: the text form a saved notebook keeps is fixed then.
            self.board(first)
            if self._display is not None:
                self._display(self.board.widget)
        self.summary = Summary(display=self._display, interval=self._summary_interval, phases=self._phases,
                               clock=self._clock)
        return self.summary
