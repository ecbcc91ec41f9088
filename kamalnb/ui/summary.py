"""The output that survives a saved or headless notebook: a static HTML table of each host's
state, updated in place while the step runs and replaced by the step's report at the end.

Widgets keep their live state only in the kernel; a notebook executed by papermill or
nbclient and then opened (or rendered on GitHub) shows cell outputs. A display made with
`display_id` and updated in place keeps its last update there, so the cell ends with the
report rather than bars frozen at 0%.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from kamalnb.ui.detect import ipython_shell
from kamalnb.ui.live import LiveView
from kamalnb.ui.progress import Row, StepProgress

_STATE_COLORS = {"done": "#2e7d32", "failed": "#c62828", "unfinished": "#ef6c00", "planned": "#1565c0",
                 "running": "#1565c0"}


class DisplayHandle(Protocol):
    def update(self, obj: Any) -> None: ...


Display = Callable[..., "DisplayHandle | None"]


def kernel_display() -> Display | None:
    """IPython's `display` when running under IPython, else None (nothing to display on)."""
    if ipython_shell() is None:
        return None
    from IPython.display import display

    return display


class Table:
    """A rendered table with both forms, so text-only viewers show something useful too."""

    def __init__(self, html_text: str, text: str) -> None:
        self.html = html_text
        self.text = text

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text


class Summary(LiveView):
    """An event listener keeping one display up to date; `display` defaults to IPython's
    (no-op outside IPython). It is called once as `display(obj, display_id=True)`; the
    handle it returns gets `.update(obj)` for every later redraw."""

    def __init__(
        self,
        *,
        display: Display | None = None,
        interval: float = 0.5,
        tick: float = 1.0,
        phases: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(interval=interval, tick=tick, phases=phases, clock=clock)
        self._display = display if display is not None else kernel_display()
        self._handle: DisplayHandle | None = None
        self.shown: Any = None

    def render(self) -> None:
        progress = self.progress
        report = progress.report
        if progress.finished and report is not None and hasattr(report, "_repr_html_"):
            shown: Any = report
        else:
            shown = render_table(progress)
        self.shown = shown
        if self._display is None:
            return
        if self._handle is None:
            self._handle = self._display(shown, display_id=True)
        else:
            self._handle.update(shown)


def render_table(progress: StepProgress) -> Table:
    """The table of every row's state, as HTML and as text."""
    now = progress.clock()
    step = progress.step or "step"
    if progress.finished:
        state = "done" if progress.ok else "FAILED"
    else:
        state = "running"
    title = f"{step}: {state} · {progress.elapsed():.1f} s"
    columns = ("host", "role", "phase", "status", "elapsed")
    rows = [_cells(row, now) for row in progress.rows]

    head = "".join(f"<th style='text-align:left'>{column}</th>" for column in columns)
    body = []
    for row, cells in zip(progress.rows, rows, strict=True):
        tds = []
        for column, value in zip(columns, cells, strict=True):
            style = "text-align:left"
            if column == "status" and row.state in _STATE_COLORS:
                style += f";color:{_STATE_COLORS[row.state]};font-weight:bold"
            tds.append(f"<td style='{style}'>{html.escape(value)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    html_text = (
        f"<div class='kamalnb-progress'><strong>{html.escape(title)}</strong>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )

    widths = [max(len(line[i]) for line in [columns, *rows]) for i in range(len(columns))]
    lines = [title] + ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                       for line in [columns, *rows]]
    return Table(html_text, "\n".join(lines))


def _cells(row: Row, now: float) -> tuple[str, str, str, str, str]:
    elapsed = row.elapsed(now)
    phase = row.running[-1] if row.running else (row.failure[0] if row.failure else (row.done[-1] if row.done else ""))
    done = sum(1 for name in row.done if name in row.plan)
    steps = f" ({done}/{row.total})" if row.state in ("running", "waiting") and row.plan else ""
    return (row.host, row.role or "", phase, row.status + steps, f"{elapsed:.1f} s" if elapsed is not None else "")
