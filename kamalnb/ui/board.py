"""The live board in a notebook: a row per host and role with a bar moving through the
phases, the phase it is in and its elapsed time, and each host's log under an accordion.

Widgets only live while the kernel does: a saved notebook keeps their text form frozen at
the moment they were displayed. The static summary (`kamalnb.ui.summary`) is what stays.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from kamalnb.ui.live import LiveView
from kamalnb.ui.progress import HostLog, Row

BAR_STYLES = {
    "waiting": "",
    "running": "",
    "done": "success",
    "failed": "danger",
    "unfinished": "warning",
    "skipped": "",
    "planned": "info",
}

_STATE_COLORS = {"done": "#2e7d32", "failed": "#c62828", "unfinished": "#ef6c00", "planned": "#1565c0"}


class _BoardBox(widgets.VBox):
    """The board's box; its text form is what a saved notebook shows in place of the widget."""

    caption = "kamalnb progress"

    def __repr__(self) -> str:
        return f"{self.caption} (live widgets; the table below holds the outcome)"


@dataclass
class RowView:
    """The widgets of one row."""

    box: widgets.HBox
    label: widgets.HTML
    bar: widgets.FloatProgress
    status: widgets.HTML
    elapsed: widgets.HTML
    revision: int = -1


class Board(LiveView):
    """An event listener drawing the live board; show it with `display(board)` or
    `display(board.widget)`. Safe to call from several threads at once."""

    def __init__(
        self,
        *,
        interval: float = 0.1,
        tick: float = 1.0,
        phases: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(interval=interval, tick=tick, phases=phases, clock=clock)
        self.header = widgets.HTML()
        self.rows_box = widgets.VBox()
        self.logs = widgets.Accordion()
        self.widget = _BoardBox([self.header, self.rows_box, self.logs])
        self._rows: dict[int, RowView] = {}
        self._outputs: dict[str, widgets.Output] = {}
        self._log_totals: dict[str, int] = {}
        self._generation = 0

    def row(self, host: str, role: str | None = None) -> RowView:
        """The widgets of a host and role's row (KeyError when there is none)."""
        with self._lock:
            return self._rows[id(self.progress.row(host, role))]

    def log(self, host: str) -> widgets.Output:
        """The output widget holding a host's log lines (KeyError when it has none)."""
        with self._lock:
            return self._outputs[host]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def render(self) -> None:
        progress = self.progress
        now = self._clock()
        if self._generation != progress.generation:
            self._generation = progress.generation
            self._rows.clear()
            self._outputs.clear()
            self._log_totals.clear()
            self.rows_box.children = ()
            self.logs.children = ()
        self._render_header(now)
        added = []
        for row in progress.rows:
            view = self._rows.get(id(row))
            if view is None:
                view = self._rows[id(row)] = _row_view()
                added.append(view.box)
            _update_row(view, row, now)
        if added:
            self.rows_box.children = (*self.rows_box.children, *added)
        self._render_logs(progress.logs, progress.host_order())

    def _render_header(self, now: float) -> None:
        progress = self.progress
        step = progress.step or "step"
        self.widget.caption = f"kamalnb {step}"
        if progress.finished:
            outcome = "done" if progress.ok else "FAILED"
            color = _STATE_COLORS["done" if progress.ok else "failed"]
            state = f"<span style='color:{color};font-weight:bold'>{outcome}</span>"
        else:
            state = "running"
        hosts = progress.hosts
        value = (f"<b>{html.escape(step)}</b> · {state} · {_seconds(progress.elapsed())}"
                 f" · {hosts} host{'s' if hosts != 1 else ''}")
        if value != self.header.value:
            self.header.value = value

    def _render_logs(self, logs: dict[str, HostLog], order: list[str]) -> None:
        for host, host_log in logs.items():
            output = self._outputs.get(host)
            if output is None:
                output = self._outputs[host] = widgets.Output()
            if self._log_totals.get(host) != host_log.total:
                self._log_totals[host] = host_log.total
                # Set the outputs trait directly: Output.append_* and clear_output go through
                # the kernel's display machinery, which is not safe from worker threads.
                output.outputs = _stream_outputs(host_log)
        # Hosts log from their own threads: the sections follow the rows (the configuration's
        # order), not whichever host spoke first.
        shown = [host for host in order if host in self._outputs]
        children = tuple(self._outputs[host] for host in shown)
        if children != tuple(self.logs.children):
            self.logs.children = children
        titles = tuple(f"{host} · {logs[host].total} line{'s' if logs[host].total != 1 else ''}" for host in shown)
        if titles != tuple(self.logs.titles):
            self.logs.titles = titles


def _row_view() -> RowView:
    label = widgets.HTML(layout=widgets.Layout(width="14em"))
    bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="14em"))
    status = widgets.HTML(layout=widgets.Layout(width="24em"))
    elapsed = widgets.HTML(layout=widgets.Layout(width="6em"))
    return RowView(widgets.HBox([label, bar, status, elapsed]), label, bar, status, elapsed)


def _update_row(view: RowView, row: Row, now: float) -> None:
    elapsed = row.elapsed(now)
    view.elapsed.value = _seconds(elapsed) if elapsed is not None else ""
    if view.revision == row.revision:
        return
    view.revision = row.revision
    state = row.state
    role = f" <span style='color:#616161'>{html.escape(row.role)}</span>" if row.role else ""
    view.label.value = f"<b>{html.escape(row.host)}</b>{role}"
    view.bar.value = row.reached
    view.bar.bar_style = BAR_STYLES[state]
    color = _STATE_COLORS.get(state)
    text = html.escape(row.status)
    view.status.value = f"<span style='color:{color}'>{text}</span>" if color else text


def _stream_outputs(host_log: HostLog) -> tuple[dict[str, str], ...]:
    """The log as notebook stream outputs, one per run of lines on the same stream."""
    outputs: list[dict[str, str]] = []
    for stream, text in host_log.lines:
        if outputs and outputs[-1]["name"] == stream:
            outputs[-1]["text"] += text + "\n"
        else:
            outputs.append({"output_type": "stream", "name": stream, "text": text + "\n"})
    return tuple(outputs)


def _seconds(value: float) -> str:
    return f"{value:.1f} s"
