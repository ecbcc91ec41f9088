"""What a command and a step produced: `Result`, `HostOutcome`, `Report`, and the
`StepRecorder` that builds a report while emitting the step's events.

Every step returns a `Report`. It prints as a text table (terminals, CI), renders as an
HTML table in a notebook (`_repr_html_`, which survives in a saved notebook) and converts
to a pandas DataFrame with `.to_frame()`. A report keeps every host's outcome, so a
failure on one host never hides what happened on the others.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from kamalnb.errors import CommandFailed, HostError, StepFailed, error_text
from kamalnb.events import Events, HostFinished, HostStarted, StepFinished, StepStarted

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kamalnb.fanout import Outcomes

# `reverted`: the host switched to the new version, then back to the one it ran before,
# because another host or wave failed (`x-kamalnb: on_failure: revert`).
Status = Literal["ok", "failed", "skipped", "planned", "reverted"]

_ERROR_WIDTH = 72


@dataclass
class Result:
    """One command on one host. `command` is the display form: secrets show [REDACTED]."""

    host: str
    command: str
    exit_status: int
    stdout: str = ""
    stderr: str = ""
    started: datetime | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def check(self) -> Result:
        """This result, or CommandFailed (with the tail of stderr) when it exited non-zero."""
        if not self.ok:
            raise CommandFailed(self.host, self.command, self.exit_status, self.stderr, self.stdout)
        return self


@dataclass
class HostOutcome:
    """What a step did on one host for one role."""

    host: str
    role: str | None = None
    status: Status = "ok"
    commands: list[Result] = field(default_factory=list)
    version_before: str | None = None
    version_after: str | None = None
    started: datetime | None = None
    duration: float = 0.0
    error: BaseException | None = None
    # Why the host runs `version_after` when that is not simply the step's doing (a revert,
    # a mixed fleet kept, leftovers of a killed deploy cleaned up).
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @property
    def error_message(self) -> str:
        return "" if self.error is None else error_text(self.error)

    def fail(self, error: BaseException) -> HostOutcome:
        self.status = "failed"
        self.error = error
        return self

    def record(self, result: Result) -> Result:
        """Add a command's result to what ran here; returns it, for `outcome.record(ssh.run(...))`."""
        self.commands.append(result)
        return result


_COLUMNS = ("host", "role", "status", "version_before", "version_after", "reason", "started", "duration",
            "commands", "error")
_OPTIONAL = ("role", "version_before", "version_after", "reason")
_HEADINGS = {"version_before": "before", "version_after": "after"}


@dataclass(frozen=True)
class PhaseSpan:
    """One phase of one host's work, in seconds since the step started."""

    host: str
    role: str | None
    phase: str
    start: float
    end: float
    ok: bool = True


class PhaseLog:
    """A listener that turns HostStarted/HostFinished pairs into `PhaseSpan`s."""

    def __init__(self) -> None:
        self.spans: list[PhaseSpan] = []
        self._open: dict[tuple[str, str | None, str], datetime] = {}
        self._t0: datetime | None = None
        self._lock = threading.Lock()

    def __call__(self, event: object) -> None:
        if not isinstance(event, (HostStarted, HostFinished)):
            return
        with self._lock:
            self._t0 = self._t0 or event.at
            key = (event.host, event.role, event.phase)
            if isinstance(event, HostStarted):
                self._open[key] = event.at
                return
            started = self._open.pop(key, event.at)
            self.spans.append(PhaseSpan(event.host, event.role, event.phase,
                                        (started - self._t0).total_seconds(), (event.at - self._t0).total_seconds(),
                                        event.ok))


class Report:
    """The outcomes of one step, one row per host and role."""

    def __init__(
        self,
        step: str,
        outcomes: Iterable[HostOutcome] = (),
        *,
        started: datetime | None = None,
        duration: float = 0.0,
    ) -> None:
        self.step = step
        self.outcomes: list[HostOutcome] = list(outcomes)
        self.started = started
        self.duration = duration
        self.phases: list[PhaseSpan] = []
        # What the step found and did besides each host's row: leftovers of a killed deploy
        # it cleaned up, one line each.
        self.notes: list[str] = []

    @classmethod
    def from_results(
        cls,
        step: str,
        results: Outcomes[str, Result],
        *,
        roles: dict[str, str] | None = None,
    ) -> Report:
        """A report of one command per host, as returned by `Executor.run_all`."""
        outcomes = []
        values: dict[str, Result | BaseException] = {**results.results, **results.errors}
        for host, value in values.items():
            outcome = HostOutcome(host, role=(roles or {}).get(host))
            if isinstance(value, Result):
                outcome.commands.append(value)
                outcome.started = value.started
                outcome.duration = value.duration
                if not value.ok:
                    outcome.fail(CommandFailed(host, value.command, value.exit_status, value.stderr, value.stdout))
            else:
                outcome.fail(value)
            outcomes.append(outcome)
        return cls(step, outcomes)

    def add(self, outcome: HostOutcome) -> HostOutcome:
        self.outcomes.append(outcome)
        return outcome

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def succeeded(self) -> list[HostOutcome]:
        return [outcome for outcome in self.outcomes if outcome.ok]

    @property
    def failed(self) -> list[HostOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    def for_host(self, host: str) -> list[HostOutcome]:
        return [outcome for outcome in self.outcomes if outcome.host == host]

    def raise_on_failure(self) -> Report:
        """This report, or StepFailed carrying it when any host failed."""
        # What failed first leads; a host that failed only to be switched back after it follows.
        failed = sorted(self.failed, key=lambda outcome: outcome.reason is not None)
        if failed:
            hosts = ", ".join(dict.fromkeys(outcome.host for outcome in failed))
            first = failed[0]
            # Every other failed host in a line of its own: a host left on another version
            # than the rest (it could not be switched back) must not hide behind the first.
            others = "".join(f"\n  {outcome.host}: {_first_line(outcome.error_message, _ERROR_WIDTH * 2)}"
                             for outcome in failed[1:] if outcome.host != first.host or outcome.reason)
            raise StepFailed(f"{self.step} failed on {hosts}: {first.host}: {first.error_message}{others}", self)
        return self

    def __iter__(self) -> Iterator[HostOutcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    def tally(self) -> str:
        """How many outcomes have each status: `2 ok, 1 failed`."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return ", ".join(f"{count} {status}" for status, count in counts.items()) or "no hosts"

    def summary(self) -> str:
        timing = f" in {_seconds(self.duration)}" if self.duration else ""
        return f"{self.step}: {self.tally()}{timing}"

    def timeline(self, ax: Axes | None = None) -> Figure:
        """Each host's phases over time (matplotlib): where the time of the step went."""
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        # Only the innermost phases: a `boot` is drawn as its start, health, switch...
        leaves = [span for span in self.phases if not any(
            other is not span and (other.host, other.role) == (span.host, span.role)
            and span.start <= other.start and other.end <= span.end for other in self.phases)]
        rows = list(dict.fromkeys((span.host, span.role) for span in leaves))
        names = list(dict.fromkeys(span.phase for span in leaves))
        colours = plt.get_cmap("tab20")
        if ax is None:
            figure, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.2))
        elif isinstance(ax.figure, Figure):
            figure = ax.figure
        else:
            # tight_layout, and the Figure returned, belong to a root figure: a SubFigure has neither.
            raise ValueError("timeline draws on an Axes of a Figure, not of a SubFigure")
        for span in leaves:
            row = rows.index((span.host, span.role))
            ax.barh(row, max(span.end - span.start, 0.01), left=span.start, height=0.6,
                    color=colours(names.index(span.phase) % 20), edgecolor="red" if not span.ok else "none",
                    label=span.phase)
        ax.set_yticks(range(len(rows)), [f"{host} {role or ''}".strip() for host, role in rows])
        ax.invert_yaxis()
        ax.set_xlabel("seconds")
        ax.set_title(f"{self.step}: {self.tally()}")
        handles = {label: handle for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)}
        ax.legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        figure.tight_layout()
        return figure

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        rows = [
            {
                "host": outcome.host,
                "role": outcome.role,
                "status": outcome.status,
                "version_before": outcome.version_before,
                "version_after": outcome.version_after,
                "reason": outcome.reason,
                "started": outcome.started,
                "duration": outcome.duration,
                "commands": len(outcome.commands),
                "error": outcome.error_message or None,
            }
            for outcome in self.outcomes
        ]
        return frame(rows, _COLUMNS)

    def _columns(self) -> list[str]:
        return [
            column for column in _COLUMNS
            if column not in _OPTIONAL or any(getattr(outcome, column) for outcome in self.outcomes)
        ]

    def _cells(self, outcome: HostOutcome, columns: list[str]) -> list[str]:
        values = {
            "host": outcome.host,
            "role": outcome.role or "",
            "status": outcome.status,
            "version_before": outcome.version_before or "",
            "version_after": outcome.version_after or "",
            "reason": outcome.reason or "",
            "started": outcome.started.strftime("%H:%M:%S") if outcome.started else "",
            "duration": _seconds(outcome.duration) if outcome.started or outcome.duration else "",
            "commands": str(len(outcome.commands)),
            "error": outcome.error_message,
        }
        return [values[column] for column in columns]

    def table(self) -> str:
        """The per-host rows as plain text, under a header line."""
        columns = self._columns()
        header = [_HEADINGS.get(column, column) for column in columns]
        rows = []
        for outcome in self.outcomes:
            cells = self._cells(outcome, columns)
            cells[-1] = _first_line(cells[-1], _ERROR_WIDTH)
            rows.append(cells)
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(columns))]
        return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                         for row in [header, *rows])

    def __str__(self) -> str:
        notes = "".join(f"\n{note}" for note in self.notes)
        return f"{self.summary()}\n{self.table()}{notes}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        columns = self._columns()
        head = "".join(f"<th style='text-align:left'>{html.escape(_HEADINGS.get(c, c))}</th>" for c in columns)
        body = []
        for outcome in self.outcomes:
            cells = []
            for column, value in zip(columns, self._cells(outcome, columns), strict=True):
                if column == "status":
                    color = _STATUS_COLORS.get(value, "inherit")
                    cells.append(f"<td style='color:{color};font-weight:bold'>{html.escape(value)}</td>")
                elif column == "commands" and outcome.commands:
                    listing = html.escape("\n".join(_command_line(result) for result in outcome.commands))
                    cells.append(f"<td><details><summary>{value}</summary>"
                                 f"<pre style='margin:0'>{listing}</pre></details></td>")
                elif column == "error" and value:
                    cells.append(f"<td><pre style='margin:0;white-space:pre-wrap'>{html.escape(value)}</pre></td>")
                else:
                    cells.append(f"<td style='text-align:left'>{html.escape(value)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        return (
            f"<div class='kamalnb-report'><strong>{html.escape(self.summary())}</strong>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )


_STATUS_COLORS = {"ok": "#2e7d32", "failed": "#c62828", "skipped": "#757575", "planned": "#1565c0",
                  "reverted": "#ef6c00"}


def _command_line(result: Result) -> str:
    return f"{result.command}  [{result.exit_status}]" if result.exit_status else result.command


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _first_line(text: str, width: int) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


class StepRecorder:
    """Builds a step's Report and emits its events as the step goes.

    >>> step = StepRecorder("deploy", events, hosts)
    >>> def boot(host):
    ...     with step.host(host, "boot", role="web") as outcome:
    ...         outcome.record(ssh.run(host, command))
    >>> step.absorb(fan_out(hosts, boot))
    >>> report = step.finish()

    `host()` emits HostStarted and HostFinished, times the phase, and records a HostError
    raised inside it as that host's failure instead of raising it, so the other hosts carry
    on. With `planned=True` (plan mode) successful outcomes have the status `planned`.
    """

    def __init__(self, step: str, events: Events, hosts: Sequence[str] = (), *, planned: bool = False,
                 roles: Sequence[tuple[str, str]] = ()) -> None:
        self.events = events
        self.planned = planned
        self.report = Report(step, started=datetime.now(UTC))
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        events.emit(StepStarted(step, tuple(hosts), tuple(roles)))

    @contextmanager
    def host(self, host: str, phase: str, *, role: str | None = None) -> Iterator[HostOutcome]:
        outcome = HostOutcome(host, role=role, status="planned" if self.planned else "ok",
                              started=datetime.now(UTC))
        with self._lock:
            self.report.add(outcome)
        t0 = time.monotonic()
        try:
            with self.events.phase(host, phase, role):
                yield outcome
        except HostError as error:
            outcome.fail(error)
        except BaseException as error:
            outcome.fail(error)
            raise
        finally:
            outcome.duration = time.monotonic() - t0

    def absorb(self, outcomes: Outcomes[Any, Any]) -> None:
        """Record as failed every item of a fan-out that raised instead of recording its own
        outcome (one interrupted before it started, a failure outside `host()`)."""
        for item, error in outcomes.errors.items():
            role = getattr(item[1], "name", item[1]) if isinstance(item, tuple) else None
            with self._lock:
                self.report.add(HostOutcome(error.host, role=role, status="failed", error=error))

    def finish(self) -> Report:
        """The report, after emitting StepFinished."""
        self.report.duration = time.monotonic() - self._t0
        self.events.emit(StepFinished(self.report.step, self.report.ok, self.report.duration, self.report))
        return self.report


class Outputs:
    """What a command printed on each host: Kamal's `App Host:` blocks, a table, a frame."""

    def __init__(self, title: str, outputs: dict[str, str], errors: dict[str, str]) -> None:
        self.title = title
        self.outputs = outputs
        self.errors = errors

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        blocks = [f"App Host: {host}\n{text.rstrip()}" for host, text in self.outputs.items()]
        blocks += [f"App Host: {host}\nERROR: {error}" for host, error in self.errors.items()]
        return "\n\n".join(blocks)

    __repr__ = __str__

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        rows = [{"host": h, "output": t, "error": None} for h, t in self.outputs.items()]
        rows += [{"host": h, "output": None, "error": e} for h, e in self.errors.items()]
        return frame(rows, ["host", "output", "error"])

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(host)}</td><td><pre>{html.escape(text)}</pre></td></tr>"
            for host, text in [*self.outputs.items(), *((h, f"ERROR: {e}") for h, e in self.errors.items())])
        return f"<p><b>{html.escape(self.title)}</b></p><table>{cells}</table>"
