"""Typed events that steps and executors emit while they work.

A listener is any callable taking one event. The terminal printer (`kamalnb.ui.text`) and
the notebook board are listeners; so is a test that collects events in a list. Events are
delivered one at a time, in the order they were emitted, even when many hosts' worker
threads emit at once, so listeners need no locking of their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from kamalnb.errors import error_text

log = logging.getLogger(__name__)

# The host name under which events report work on the machine kamalnb runs on (the build).
LOCAL = "local"


class Phase(StrEnum):
    """The phases a host goes through, shared by the steps (which emit them) and the
    displays (which draw them). Members are strings: `Phase.PULL == "pull"`."""

    PREFLIGHT = "preflight"
    BUILD = "build"
    PULL = "pull"
    LOCK = "lock"
    UNLOCK = "unlock"
    PROXY = "proxy"
    STALE = "stale"
    BOOT = "boot"
    START = "start"
    HEALTH = "health"
    SWITCH = "switch"
    DRAIN = "drain"
    STOP = "stop"
    REVERT = "revert"
    RECOVER = "recover"
    TAG = "tag"
    PRUNE = "prune"
    EXEC = "exec"
    ACCESSORY = "accessory"
    REMOVE = "remove"


# Booting a role's container on a host, in the order it happens (the pull comes first).
BOOT_PHASES: tuple[Phase, ...] = (Phase.PULL, Phase.START, Phase.HEALTH, Phase.SWITCH, Phase.DRAIN, Phase.STOP)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    at: datetime = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class StepStarted(Event):
    """A step began on `hosts`; `roles` are the (host, role) pairs it works on, in the
    configuration's order, so a view can lay out their rows before the threads report."""

    step: str
    hosts: tuple[str, ...] = ()
    roles: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HostStarted(Event):
    """A host started a phase of a step (`boot`, `pull`, `exec`, ...)."""

    host: str
    phase: str
    role: str | None = None


@dataclass(frozen=True)
class HostFinished(Event):
    """A host finished a phase; `error` is the message when it failed."""

    host: str
    phase: str
    role: str | None = None
    ok: bool = True
    duration: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class CommandStarted(Event):
    host: str
    command: str


@dataclass(frozen=True)
class OutputLine(Event):
    """One line of a running command's output, without its line ending. `checked` is False
    for a command whose caller reads its exit status as an answer (a probe, `check=False`):
    its stderr is that answer, not an error."""

    host: str
    stream: Literal["stdout", "stderr"]
    text: str
    command: str = ""
    checked: bool = True


@dataclass(frozen=True)
class CommandRan(Event):
    """A command finished; `exit_status` is None when it timed out or its host failed.
    `checked` as in `OutputLine`: a non-zero exit of an unchecked command is an answer."""

    host: str
    command: str
    exit_status: int | None
    duration: float
    checked: bool = True


@dataclass(frozen=True)
class Notice(Event):
    """Something a step found on a host and dealt with, worth a line of its own (what an
    interrupted deploy left behind, and what became of it)."""

    host: str
    text: str
    role: str | None = None


@dataclass(frozen=True)
class StepFinished(Event):
    step: str
    ok: bool
    duration: float
    report: Any = None


class HostPhases:
    """The phase each host is in, followed from HostStarted/HostFinished: phases nest (a
    `boot` holds `start`, `health`, `switch`...), the innermost open one is current. Feed
    it every event; it keeps no lock, as Events delivers one event at a time."""

    def __init__(self) -> None:
        self._open: dict[str, list[str]] = {}

    def follow(self, event: Event) -> str | None:
        """Take note of `event`; the host whose phase it opened or closed, else None."""
        if isinstance(event, HostStarted):
            self._open.setdefault(event.host, []).append(event.phase)
            return event.host
        if isinstance(event, HostFinished):
            open_phases = self._open.setdefault(event.host, [])
            if event.phase in open_phases:
                open_phases.remove(event.phase)
            return event.host
        return None

    def current(self, host: str) -> str:
        """The innermost phase `host` is in, `""` outside any."""
        open_phases = self._open.get(host)
        return open_phases[-1] if open_phases else ""


Listener = Callable[[Event], None]
ListenerT = TypeVar("ListenerT", bound=Listener)


class Events:
    """Delivers events to listeners, serialised across threads.

    A listener that raises is logged and skipped: a broken display must never abort a
    deploy half way.
    """

    def __init__(self, *listeners: Listener) -> None:
        self._listeners: list[Listener] = list(listeners)
        self._lock = threading.RLock()

    def subscribe(self, listener: ListenerT) -> ListenerT:
        with self._lock:
            self._listeners.append(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    @contextmanager
    def phase(self, host: str, name: str, role: str | None = None) -> Iterator[None]:
        """HostStarted, then HostFinished with the phase's duration and, when it raised, the
        error's text: the one way a phase of a host's work is announced."""
        self.emit(HostStarted(host, name, role))
        t0 = time.monotonic()
        try:
            yield
        except BaseException as error:
            self.emit(HostFinished(host, name, role, ok=False, duration=time.monotonic() - t0,
                                   error=error_text(error)))
            raise
        self.emit(HostFinished(host, name, role, ok=True, duration=time.monotonic() - t0))

    def emit(self, event: Event) -> None:
        with self._lock:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("event listener %r failed on %r", listener, event)
