"""The one fan-out: every item's outcome, errors never dropped, interrupts stop safely."""

from __future__ import annotations

import _thread
import threading
import time

import pytest

from kamalnb.errors import HostError, HostsFailed, Interrupted
from kamalnb.fanout import Outcomes, fan_out


def test_results_and_errors_by_item_in_the_order_given() -> None:
    def task(host: str) -> str:
        if host == "h2":
            raise HostError(host, "no route to host")
        return host.upper()

    outcomes = fan_out(["h3", "h1", "h2", "h1"], task)
    assert list(outcomes.results) == ["h3", "h1"] and outcomes.results["h1"] == "H1"
    assert list(outcomes.errors) == ["h2"] and not outcomes.ok
    assert outcomes.failed_hosts == ["h2"]


def test_check_names_every_failed_host_with_its_cause() -> None:
    outcomes: Outcomes[str, None] = Outcomes(errors={"h1": HostError("h1", "refused"), "h3": HostError("h3", "full")})
    with pytest.raises(HostsFailed) as failed:
        outcomes.check("Pruning")
    assert str(failed.value) == "Pruning failed on h1, h3:\n  h1: refused\n  h3: full"
    assert failed.value.hosts == ["h1", "h3"]
    assert Outcomes({"h1": 1}).check("Pruning") == {"h1": 1}


def test_pairs_of_host_and_role_name_their_host() -> None:
    outcomes = fan_out([("h1", "web"), ("h1", "worker")], lambda pair: (_ for _ in ()).throw(HostError(pair[0], "x")))
    assert outcomes.failed_hosts == ["h1"]


def test_a_bug_is_raised_once_every_item_finished() -> None:
    finished = []

    def task(item: int) -> int:
        if item == 0:
            raise ZeroDivisionError("bug")
        time.sleep(0.05)
        finished.append(item)
        return item

    with pytest.raises(ZeroDivisionError):
        fan_out(range(4), task)
    assert sorted(finished) == [1, 2, 3]


def test_the_limit_bounds_items_at_work() -> None:
    at_work, most = 0, 0
    lock = threading.Lock()

    def task(item: int) -> None:
        nonlocal at_work, most
        with lock:
            at_work += 1
            most = max(most, at_work)
        time.sleep(0.02)
        with lock:
            at_work -= 1

    fan_out(range(10), task, limit=3)
    assert most == 3


def test_an_interrupt_cancels_waits_for_items_at_work_and_starts_no_more() -> None:
    cancel = threading.Event()
    started, stopped_safely = [], []

    def task(item: int) -> None:
        started.append(item)
        if item == 0:
            _thread.interrupt_main()
        while not cancel.is_set():
            time.sleep(0.01)
        time.sleep(0.05)
        stopped_safely.append(item)

    with pytest.raises(KeyboardInterrupt):
        fan_out(range(5), task, limit=2, cancel=cancel)
    assert cancel.is_set()
    assert sorted(stopped_safely) == sorted(started) and len(started) <= 2


def test_an_item_that_never_started_after_an_interrupt_is_interrupted_not_run() -> None:
    cancel = threading.Event()
    cancel.set()
    outcomes = fan_out(["h1"], lambda host: host, cancel=cancel)
    assert isinstance(outcomes.errors["h1"], Interrupted)


@pytest.mark.parametrize("limit", [1, 3])
def test_one_worker_or_several_give_the_same_outcomes(limit: int) -> None:
    def task(host: str) -> str:
        if host == "h2":
            raise HostError(host, "no route to host")
        return host.upper()

    outcomes = fan_out(["h3", "h1", "h2", "h1"], task, limit=limit)
    assert outcomes.results == {"h3": "H3", "h1": "H1"} and list(outcomes.errors) == ["h2"]


def test_one_worker_is_the_callers_thread_in_order_and_stops_at_an_interrupt() -> None:
    threads, order = set(), []
    cancel = threading.Event()

    def task(item: int) -> int:
        threads.add(threading.get_ident())
        order.append(item)
        if item == 2:
            raise KeyboardInterrupt
        if item == 0:
            raise ZeroDivisionError("bug")
        return item

    with pytest.raises(KeyboardInterrupt):
        fan_out(range(5), task, limit=1, cancel=cancel)
    assert threads == {threading.get_ident()} and order == [0, 1, 2] and cancel.is_set()
    # A bug is raised once every item had its turn.
    with pytest.raises(ZeroDivisionError):
        fan_out([0, 1, 3], task, limit=1)
    assert order[-2:] == [1, 3]
