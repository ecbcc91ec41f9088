"""The terminal listener: one concise line per thing worth knowing.

Default: step start and end, and each host's phases. `verbose` adds every command, its
output lines and its exit status; `quiet` keeps only failures. A command that exits
non-zero is not a failure by itself (a step probing whether a lock exists expects that):
what failed shows as a failed phase or step.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from kamalnb.events import (
    CommandRan,
    CommandStarted,
    Event,
    HostFinished,
    HostStarted,
    Notice,
    OutputLine,
    StepFinished,
    StepStarted,
)
from kamalnb.results import Report


class TextListener:
    """Prints events as lines; pass it to `Events(...)` or `events.subscribe(...)`."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False, quiet: bool = False) -> None:
        self._stream = stream
        self.verbose = verbose
        self.quiet = quiet
        self._lock = threading.Lock()
        self._steps: list[str] = []

    def __call__(self, event: Event) -> None:
        line = self.format(event)
        if line is not None:
            stream = self._stream or sys.stdout
            with self._lock:
                stream.write(line + "\n")
                stream.flush()

    def close(self) -> None:
        """Nothing to release: here so that every listener `listener_for` returns closes alike."""

    def format(self, event: Event) -> str | None:
        """The line for `event`, or None when this verbosity skips it."""
        if isinstance(event, StepStarted | StepFinished) and self._nested_namesake(event):
            return None  # a step run inside one of its own name: the outer step says it, once
        if isinstance(event, StepStarted):
            if self.quiet:
                return None
            on = f" on {', '.join(event.hosts)}" if event.hosts else ""
            return f"{event.step}{on}"
        if isinstance(event, HostStarted):
            return None if self.quiet else f"  {_who(event.host, event.role)} {event.phase}"
        if isinstance(event, HostFinished):
            if event.ok:
                if self.quiet:
                    return None
                return f"  {_who(event.host, event.role)} {event.phase}: ok ({event.duration:.1f} s)"
            return f"  {_who(event.host, event.role)} {event.phase}: FAILED: {_first_line(event.error or '')}"
        if isinstance(event, Notice):
            return f"  {_who(event.host, event.role)}: {event.text}"
        if isinstance(event, CommandStarted):
            return f"  [{event.host}] $ {event.command}" if self.verbose else None
        if isinstance(event, OutputLine):
            return f"  [{event.host}] {event.text}" if self.verbose else None
        if isinstance(event, CommandRan):
            if not self.verbose:
                return None
            if event.exit_status is None or event.exit_status == 0:
                return f"  [{event.host}] done in {event.duration:.2f} s"
            if not event.checked:
                return f"  [{event.host}] exit {event.exit_status} (an answer the step expects)"
            return f"  [{event.host}] exit {event.exit_status}: {event.command}"
        if isinstance(event, StepFinished):
            if self.quiet and event.ok:
                return None
            outcome = event.report.tally() if isinstance(event.report, Report) else ("ok" if event.ok else "FAILED")
            return f"{event.step}: {outcome} in {event.duration:.1f} s"
        return None


    def _nested_namesake(self, event: StepStarted | StepFinished) -> bool:
        with self._lock:
            if isinstance(event, StepStarted):
                self._steps.append(event.step)
                return self._steps.count(event.step) > 1
            nested = self._steps.count(event.step) > 1
            if event.step in self._steps:
                del self._steps[len(self._steps) - 1 - self._steps[::-1].index(event.step)]
            return nested


def _who(host: str, role: str | None) -> str:
    return f"[{host}]" + (f" {role}" if role else "")


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else "(no message)"
