"""The one way kamalnb works on many hosts at once.

`fan_out(items, task)` runs `task(item)` for every item in worker threads, at most `limit`
at a time (with a `limit` of 1, in the caller's thread, one after the other), and returns
an `Outcomes`: each item's value or its `HostError`. A failed item is never passed over
silently: the caller either reads `outcomes.errors` or calls `outcomes.check(what)`, which
raises `HostsFailed` naming every failed host.

Interrupts are safe: on Ctrl-C (or a kernel interrupt) the `cancel` flag is set, items not
yet started never start, running ones are waited for (each stops at its next safe point,
see `StepContext.check_cancelled`), and the interrupt is raised again. An exception that is
not a `HostError` is a bug and is raised once every worker has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from kamalnb.errors import HostError, HostsFailed, Interrupted

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# How many hosts work at once unless told otherwise; handshakes have their own, lower,
# bound (sshkit's max_concurrent_starts) in the SSH executor.
DEFAULT_LIMIT = 100


def host_of(item: object) -> str:
    """The host an item names: the item itself, or the first part of a (host, role) pair."""
    return str(item[0] if isinstance(item, tuple) else item)


@dataclass
class Outcomes(Generic[K, T]):
    """What a fan-out produced: `results` for the items that succeeded, `errors` for the
    others, both in the order the items were given."""

    results: dict[K, T] = field(default_factory=dict)
    errors: dict[K, HostError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def failed_hosts(self) -> list[str]:
        return list(dict.fromkeys(host_of(item) for item in self.errors))

    def check(self, what: str) -> dict[K, T]:
        """The results, or HostsFailed naming every host where `what` failed."""
        if self.errors:
            raise HostsFailed(what, list(self.errors.values()))
        return self.results


def fan_out(items: Iterable[K], task: Callable[[K], T], *, limit: int | None = None,
            cancel: threading.Event | None = None) -> Outcomes[K, T]:
    """`task(item)` for every distinct item in parallel; see the module's docstring."""
    unique = list(dict.fromkeys(items))
    if not unique:
        return Outcomes()
    cancel = cancel if cancel is not None else threading.Event()
    if limit == 1:
        return _one_by_one(unique, task, cancel)
    # Tasks at work, counted by the tasks themselves: an interrupt can land while the pool
    # is still starting a thread it does not know about yet, which it would not wait for.
    at_work = [0]
    # Tasks ended, counted the same way: waiting on that count costs nothing per pending
    # task, where waiting on the pending futures costs each of them on every wake-up.
    ended = [0]
    settled = threading.Condition()

    def guarded(item: K) -> T:
        with settled:
            at_work[0] += 1
        try:
            return _start(item, task, cancel)
        finally:
            with settled:
                at_work[0] -= 1
                ended[0] += 1
                # Only the waits below care: waking the caller for every task would hand it
                # the interpreter lock that many times.
                if ended[0] == len(unique) or (cancel.is_set() and not at_work[0]):
                    settled.notify_all()

    finished: dict[K, Future[T]] = {}
    workers = max(1, min(limit or DEFAULT_LIMIT, len(unique)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kamalnb") as pool:
        try:
            # Submitting is inside the guard too: an interrupt may land while workers start.
            for item in unique:
                finished[item] = pool.submit(guarded, item)
            with settled:
                while ended[0] < len(unique):
                    # Short waits keep the main thread responsive to KeyboardInterrupt.
                    settled.wait(0.1)
        except BaseException:
            # Every task stops at its next safe point; none starts any more.
            cancel.set()
            with settled:
                settled.wait_for(lambda: at_work[0] == 0)
            raise
    failed = {item: error for item, future in finished.items() if (error := future.exception()) is not None}
    return _sorted(unique, {item: future.result() for item, future in finished.items() if item not in failed}, failed)


def _one_by_one(unique: list[K], task: Callable[[K], T], cancel: threading.Event) -> Outcomes[K, T]:
    """`fan_out` with one worker: the caller's own thread, in order. A pool of one would
    hand the interpreter lock back and forth with the caller for every item submitted."""
    results: dict[K, T] = {}
    failed: dict[K, BaseException] = {}
    for item in unique:
        try:
            results[item] = _start(item, task, cancel)
        except Exception as error:
            failed[item] = error
        except BaseException:
            cancel.set()
            raise
    return _sorted(unique, results, failed)


def _start(item: K, task: Callable[[K], T], cancel: threading.Event) -> T:
    if cancel.is_set():
        raise Interrupted(host_of(item), "interrupted before it started; nothing changed on this host")
    return task(item)


def _sorted(unique: list[K], results: dict[K, T], failed: dict[K, BaseException]) -> Outcomes[K, T]:
    """The results and each item's HostError; any other exception, a bug, is raised once
    every item had its turn."""
    outcomes: Outcomes[K, T] = Outcomes()
    outcomes.results.update(results)
    unexpected: BaseException | None = None
    for item in unique:
        error = failed.get(item)
        if isinstance(error, HostError):
            outcomes.errors[item] = error
        elif error is not None:
            unexpected = unexpected or error
    if unexpected is not None:
        raise unexpected
    return outcomes
