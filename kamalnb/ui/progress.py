"""Where a step stands, built from its events: a row per host and role moving through the
phases, and each host's recent log lines.

This is the logic shared by the notebook board and the static summary; it knows nothing
about widgets or HTML, so both render the same state and tests can read it directly.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from kamalnb.events import (
    BOOT_PHASES,
    LOCAL,
    CommandRan,
    CommandStarted,
    Event,
    HostFinished,
    HostStarted,
    Notice,
    OutputLine,
    Phase,
    StepFinished,
    StepStarted,
)

# Steps whose rows are expected to go through every boot phase, so their bars are scaled
# to them from the start instead of growing as phases appear.
_BOOTING_STEPS = frozenset({"deploy", "redeploy", "rollback", "boot"})

LOG_LINES_KEPT = 1000

State = Literal["waiting", "running", "done", "failed", "unfinished", "skipped", "planned"]


def phases_for(step: str) -> tuple[str, ...]:
    """The phases a row of `step` is expected to pass through; empty when not known ahead."""
    words = step.replace("_", " ").replace("-", " ").lower().split()
    return BOOT_PHASES if _BOOTING_STEPS.intersection(words) else ()


@dataclass
class Row:
    """One host and role: its planned phases, those done, those running, and how it ended."""

    host: str
    role: str | None
    plan: list[str] = field(default_factory=list)
    expected: tuple[str, ...] = ()
    done: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    failure: tuple[str, str] | None = None
    started: float | None = None
    finished: float | None = None
    final: State | None = None
    revision: int = 0
    reached: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.host} {self.role}" if self.role else self.host

    @property
    def state(self) -> State:
        if self.failure is not None:
            return "failed"
        if self.final is not None:
            return self.final
        if self.running:
            return "running"
        if self.started is None:
            return "waiting"
        if self.expected and all(phase in self.done for phase in self.plan):
            return "done"
        return "running"

    @property
    def total(self) -> int:
        return max(len(self.plan), 1)

    @property
    def value(self) -> float:
        """Phases done, plus half a phase while one runs: the bar moves on starts and ends."""
        if self.final in ("done", "planned"):
            return float(self.total)
        value = sum(1 for phase in self.done if phase in self.plan) + (0.5 if self.running else 0.0)
        return min(value, float(self.total))

    def _advance(self) -> None:
        """`reached`, the share of the row done as a bar shows it, only grows: a phase
        not expected ahead (a proxy boot, a retry) lengthens the plan without moving the
        bar back. Where no phase is known ahead, one more may always come until the step ends."""
        more = 0 if self.expected or self.final is not None else 1
        self.reached = max(self.reached, self.value / (self.total + more))
        self.revision += 1

    @property
    def status(self) -> str:
        state = self.state
        if state == "failed":
            phase, message = self.failure or ("", "")
            text = f"{phase} failed: {_first_line(message)}" if message else f"{phase} failed"
            return text + (f" ({self.running[-1]}…)" if self.running else "")
        if state == "running":
            if self.running:
                return f"{self.running[-1]}…"
            return f"{self.done[-1]} ✓" if self.done else "started"
        if state == "unfinished":
            return f"not finished ({self.running[-1]})" if self.running else "not finished"
        return state

    def elapsed(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.finished if self.finished is not None else now) - self.started

    def begin(self, phase: str, now: float) -> None:
        """A phase started (again: a phase run twice is counted once)."""
        if phase not in self.plan:
            self.plan.append(phase)
        if phase in self.done:
            self.done.remove(phase)
        self.running.append(phase)
        if self.started is None:
            self.started = now
        self.finished = None
        self._advance()

    def complete(self, phase: str, ok: bool, error: str | None, now: float) -> None:
        """A phase ended; the first failure is the one the row shows."""
        if phase in self.running:
            self.running.remove(phase)
        if phase not in self.plan:
            self.plan.append(phase)
        if self.started is None:
            self.started = now
        if ok:
            if phase not in self.done:
                self.done.append(phase)
        elif self.failure is None:
            self.failure = (phase, error or "")
        if not self.running and (self.failure is not None or self.state == "done"):
            self.finished = now
        self._advance()

    def settle(self, final: State, now: float, message: str = "") -> None:
        """How the row ended, decided when its step ended."""
        if final == "failed":
            if self.failure is None:
                self.failure = (self.running[-1] if self.running else "step", message)
        else:
            self.failure = None
            self.final = final
        if self.finished is None and self.started is not None:
            self.finished = now
        self._advance()


@dataclass
class HostLog:
    """A host's most recent log lines (stream, text) and how many it has had in all."""

    lines: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=LOG_LINES_KEPT))
    total: int = 0

    def add(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))
        self.total += 1


class StepProgress:
    """Folds a step's events into rows and logs.

    `apply(event)` returns True when the change should be shown at once rather than at the
    next throttled refresh: the step starting or ending, or a host failing. Nested steps
    (a deploy running a build) share the rows; the outermost StepFinished ends the step.
    """

    def __init__(self, *, phases: Sequence[str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.step: str | None = None
        self.started: float | None = None
        self.ended: float | None = None
        self.ok: bool | None = None
        self.report: object = None
        self.rows: list[Row] = []
        self.logs: dict[str, HostLog] = {}
        self.last_event: float = clock()
        # Counts the times the rows and logs were started afresh, so renderers drop theirs.
        self.generation = 0
        self._phases = tuple(phases) if phases is not None else None
        self._depth = 0
        self._inner_reports: list[object] = []
        # Phases a host ran for no particular role: rows of its roles appearing later start
        # with them, so a host-wide `connect` counts on every role's bar.
        self._host_wide: dict[str, Row] = {}

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def plan(self) -> tuple[str, ...]:
        if self._phases is not None:
            return self._phases
        return phases_for(self.step) if self.step else ()

    def row(self, host: str, role: str | None = None) -> Row:
        """The row of `host` and `role` (KeyError when the step has no such row)."""
        for row in self.rows:
            if row.host == host and row.role == role:
                return row
        raise KeyError(f"no row for host {host!r} role {role!r}")

    @property
    def hosts(self) -> int:
        """The servers the step worked on: the local machine (the build) is none of them."""
        return len({row.host for row in self.rows if row.host != LOCAL})

    def host_order(self) -> list[str]:
        """Hosts in the order of their rows (the configuration's), then those only logged."""
        return list(dict.fromkeys([*(row.host for row in self.rows), *self.logs]))

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else self.clock()) - self.started

    def apply(self, event: Event) -> bool:
        now = self.clock()
        self.last_event = now
        if isinstance(event, StepStarted):
            return self._step_started(event, now)
        if self.started is None:
            self.started = now
        if isinstance(event, HostStarted):
            for row in self._rows_for(event.host, event.role):
                row.begin(event.phase, now)
            if event.role is None:
                self._host_wide_row(event.host).begin(event.phase, now)
            return False
        if isinstance(event, HostFinished):
            for row in self._rows_for(event.host, event.role):
                row.complete(event.phase, event.ok, event.error, now)
            if event.role is None:
                self._host_wide_row(event.host).complete(event.phase, event.ok, event.error, now)
            if not event.ok:
                self._log(event.host, "stderr", f"{event.phase} failed: {event.error or '(no message)'}")
            return not event.ok
        if isinstance(event, Notice):
            self._log(event.host, "stdout", event.text)
        elif isinstance(event, CommandStarted):
            self._log(event.host, "stdout", f"$ {event.command}")
        elif isinstance(event, OutputLine):
            # An unchecked command's stderr is the answer its step asked for, not an error.
            self._log(event.host, event.stream if event.checked else "stdout", event.text)
        elif isinstance(event, CommandRan):
            if event.exit_status is None:
                self._log(event.host, "stderr", f"did not finish after {event.duration:.1f} s")
            elif event.exit_status != 0 and not event.checked:
                self._log(event.host, "stdout", f"exit {event.exit_status} (an answer the step expects)")
            elif event.exit_status != 0:
                self._log(event.host, "stderr", f"exit {event.exit_status} after {event.duration:.1f} s")
        elif isinstance(event, StepFinished):
            return self._step_finished(event, now)
        return False

    def stop(self) -> None:
        """End the step as failed without its StepFinished: hosts still working are unfinished."""
        self._depth = 1
        self._step_finished(StepFinished(self.step or "step", False, self.elapsed()), self.clock())

    def _step_started(self, event: StepStarted, now: float) -> bool:
        self._depth += 1
        if self._depth > 1:
            self._announce(event)
            return False
        if self.finished:
            # Another step through the same view: it starts from nothing.
            self.rows, self.logs, self._host_wide, self._inner_reports = [], {}, {}, []
            self.generation += 1
            self.started = self.ended = self.ok = self.report = None
        self.step = event.step
        if self.started is None:
            self.started = now
        for row in self.rows:
            row.expected = self._expected(row.host)
            _extend(row.plan, row.expected)
        self._announce(event)
        return True

    def _announce(self, event: StepStarted) -> None:
        # A step announces its hosts and roles in the configuration's order: their rows come
        # in that order rather than in the order their worker threads first report.
        for host in event.hosts:
            if not any(row.host == host for row in self.rows):
                self._add_row(host, None)
        for host, role in event.roles:
            self._rows_for(host, role)

    def _step_finished(self, event: StepFinished, now: float) -> bool:
        self._depth = max(self._depth - 1, 0)
        if self._depth > 0:
            # The outer report covers only the last inner step's hosts (boot's, for a
            # deploy): the build's `local` row learns how it ended from the build's report.
            self._inner_reports.append(event.report)
            return False
        if self.step is None:
            self.step = event.step
        self.ok = event.ok
        self.report = event.report
        # The step's own duration, which its report gives too, rather than when it reached us.
        self.ended = now if self.started is None else self.started + event.duration
        for row in self.rows:
            state, message = self._final_state(row, event.ok)
            row.settle(state, now, message)
        return True

    def _final_state(self, row: Row, step_ok: bool) -> tuple[State, str]:
        """How a row ended: the report's word for its host and role when it has one (the
        report knows about failures that no phase event carried), else its own events'."""
        reports = (self.report, *reversed(self._inner_reports))
        outcomes = next((found for report in reports if (found := _report_outcomes(report, row.host, row.role))), [])
        if outcomes:
            statuses = {str(getattr(outcome, "status", "")) for outcome in outcomes}
            if "failed" in statuses:
                messages = [str(getattr(outcome, "error_message", "") or "") for outcome in outcomes]
                return "failed", next((message for message in messages if message), "")
            if statuses <= {"skipped"}:
                return "skipped", ""
            if statuses <= {"planned", "skipped"}:
                return "planned", ""
            return "done", ""
        if row.failure is not None:
            return "failed", ""
        if step_ok or (row.started is not None and not row.running and row.state == "done"):
            return "done", ""
        return "unfinished", ""

    def _rows_for(self, host: str, role: str | None) -> list[Row]:
        rows = [row for row in self.rows if row.host == host]
        if role is None:
            return rows or [self._add_row(host, None)]
        for row in rows:
            if row.role == role:
                return [row]
        for row in rows:
            if row.role is None:
                row.role = role
                row.revision += 1
                return [row]
        return [self._add_row(host, role)]

    def _add_row(self, host: str, role: str | None) -> Row:
        expected = self._expected(host)
        row = Row(host, role, plan=list(expected), expected=expected)
        shared = self._host_wide.get(host)
        if shared is not None:
            _extend(row.plan, shared.plan)
            row.done = list(shared.done)
            row.running = list(shared.running)
            row.failure = shared.failure
            row.started = shared.started
        self.rows.append(row)
        return row

    def _expected(self, host: str) -> tuple[str, ...]:
        # The local machine only builds: its row is done when the build is, not after boot.
        if host == LOCAL and self._phases is None:
            return (Phase.BUILD,)
        return self.plan

    def _host_wide_row(self, host: str) -> Row:
        return self._host_wide.setdefault(host, Row(host, None))

    def _log(self, host: str, stream: str, text: str) -> None:
        self.logs.setdefault(host, HostLog()).add(stream, text)


def _extend(plan: list[str], phases: Iterable[str]) -> None:
    for phase in phases:
        if phase not in plan:
            plan.append(phase)


def _report_outcomes(report: object, host: str, role: str | None) -> list[object]:
    """The report's outcomes for a host and role: those without a role count for every role,
    and a row that never learnt its role takes all of its host's."""
    outcomes = getattr(report, "outcomes", None) or ()
    return [
        outcome for outcome in outcomes
        if getattr(outcome, "host", None) == host
        and (role is None or getattr(outcome, "role", None) in (role, None))
    ]


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""
