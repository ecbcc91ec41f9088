"""The deploy lock: Kamal's directory and details file on the primary host."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kamalnb import facts
from kamalnb.commands import Lock, Server
from kamalnb.errors import HostError, LockHeld
from kamalnb.events import Phase
from kamalnb.facts import LockInfo
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    import pandas

AUTOMATIC_MESSAGE = "Automatic deploy lock"


@dataclass(frozen=True)
class LockStatus:
    host: str
    held: bool
    info: LockInfo | None = None
    stale_after: float = 3600.0

    @property
    def age(self) -> float | None:
        return self.info.age() if self.info else None

    @property
    def stale(self) -> bool:
        age = self.age
        return self.held and age is not None and age > self.stale_after

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        info = self.info
        return frame([{
            "host": self.host, "held": self.held, "locked_by": info.locked_by if info else None,
            "version": info.version if info else None, "message": info.message if info else None,
            "locked_at": info.locked_at if info else None, "age": self.age, "stale": self.stale,
        }], ["host", "held", "locked_by", "version", "message", "locked_at", "age", "stale"])

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.describe())}</pre>"

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        if not self.held or self.info is None:
            return f"There is no deploy lock on {self.host}"
        age = _duration(self.age)
        stale = f" (STALE: older than {_duration(self.stale_after)})" if self.stale else ""
        at = self.info.locked_at.isoformat().replace("+00:00", "Z") if self.info.locked_at else "an unknown time"
        return (f"Locked by: {self.info.locked_by} at {at}, {age} ago{stale}\n"
                f"Version: {self.info.version}\nMessage: {self.info.message}")


def _duration(seconds: float | None) -> str:
    """`1d 3h`, `2h 5m`, `3m 10s`, `45s`."""
    if seconds is None:
        return "an unknown time"
    seconds = int(seconds)
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for index, (unit, size) in enumerate(units[:-1]):
        if seconds >= size:
            smaller, smaller_size = units[index + 1]
            return f"{seconds // size}{unit} {seconds % size // smaller_size}{smaller}"
    return f"{seconds}s"


def lock_host(context: StepContext) -> str:
    host = context.config.specifics.primary_host
    if not host:
        raise HostError("(none)", "no primary host to hold the deploy lock: add hosts to `servers`")
    return host


def status(context: StepContext) -> LockStatus:
    host = lock_host(context)
    info = context.executor.read(host, facts.lock(Lock(context.config)))
    return LockStatus(host, info is not None, info, context.extension.lock_stale_after)


def acquire(context: StepContext, message: str = AUTOMATIC_MESSAGE, version: str | None = None) -> LockStatus:
    host = lock_host(context)
    with context.phase(host, Phase.LOCK):
        return _acquire(context, host, message, version)


def _acquire(context: StepContext, host: str, message: str, version: str | None) -> LockStatus:
    config = context.config
    context.executor.run(host, Server(config).ensure_run_directory())
    command = Lock(config).acquire(message, version or config.version,
                                   locked_by=context.lock_holder, locked_at=context.now())
    result = context.executor.run(host, command, check=False)
    if not result.ok:
        if "cannot create directory" in result.stderr or "File exists" in result.stderr:
            held = status(context)
            hint = ("It is stale: if its deploy is gone, break it with `kamalnb lock release --force`."
                    if held.stale else
                    "Wait for that deploy to finish, or release it with `kamalnb lock release` if it is gone.")
            raise LockHeld(f"Deploy lock found on {host}:\n{held.describe()}\n{hint}")
        result.check()
    context.lock_held = True
    return status(context)


def release(context: StepContext, *, force: bool = False) -> LockStatus:
    """Release the lock. A lock taken by someone else that is not stale needs `force`; a
    plan shows the release of a lock of one's own."""
    current = status(context)
    if not current.held:
        return current
    mine = current.info is not None and current.info.locked_by == context.lock_holder
    if not (force or mine or current.stale or context.plan):
        raise LockHeld(
            f"The deploy lock on {current.host} is held by someone else and is not stale:\n"
            f"{current.describe()}\nIf that deploy is gone, release it with `kamalnb lock release --force`.")
    context.executor.run(current.host, Lock(context.config).release())
    context.lock_held = False
    return status(context)


@contextmanager
def held(context: StepContext, version: str | None = None) -> Iterator[None]:
    """Hold the deploy lock for the block; always released, whatever happens inside."""
    if context.lock_held:
        yield
        return
    acquire(context, version=version)
    try:
        yield
    finally:
        # An interrupt must not leave the lock behind: release even then.
        host = lock_host(context)
        with context.phase(host, Phase.UNLOCK):
            context.executor.run(host, Lock(context.config).release(), check=False)
        context.lock_held = False
