"""The load client's judgement of an answer, its latency figures and its failover, against a
local server on a real socket, without hosts."""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kamalnb.sandbox.traffic import NotWhole, Tally, Traffic, whole_page

PAGE = ("<!doctype html><html><head><title>sample v2</title>\n<link rel=stylesheet href=/assets/app-1.css>\n"
        "</head><body><h1>sample app</h1>\n<p id=version>v2</p>\n<p id=container>sample-web-v2</p></body></html>\n")


def test_a_whole_page_answers_its_version() -> None:
    assert whole_page(PAGE) == "v2"


@pytest.mark.parametrize(("answer", "kind"), [
    (PAGE[:60], "truncated page"),
    (PAGE.replace("<p id=version>v2", "<p id=version>v1"), "page mixing two versions"),
    ("<html><body>502 Bad Gateway</body></html>", "page without a version"),
    ("", "truncated page"),
])
def test_a_truncated_mixed_or_foreign_page_is_not_whole(answer: str, kind: str) -> None:
    with pytest.raises(NotWhole, match=kind):
        whole_page(answer)


def test_percentiles_are_nearest_rank_over_every_request() -> None:
    tally = Tally(latencies=[float(n) for n in range(100, 0, -1)])
    assert (tally.p50, tally.p99, tally.percentile(1.0)) == (50.0, 99.0, 100.0)
    assert Tally(latencies=[0.25]).p99 == 0.25
    assert math.isnan(Tally().p50)  # no request, no latency


@contextmanager
def closing_first(connections: int) -> Iterator[int]:
    """A server on a local port that closes its first `connections` connections once it has
    read their request, unanswered (a proxy closing its listener under a request), and answers
    the others `200 ok`."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        served = 0
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                served += 1
                if served > connections:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        listener.close()
        thread.join()


@pytest.mark.parametrize(("method", "failover", "failed", "moved"), [
    ("GET", True, 0, 1),    # sent again on a new connection, as a load balancer does
    ("GET", False, 1, 0),   # a bare client: lost
    ("POST", True, 1, 0),   # not idempotent: never sent twice
])
def test_a_request_closed_unanswered_is_sent_again_only_when_a_balancer_would(method: str, failover: bool,
                                                                              failed: int, moved: int) -> None:
    with closing_first(1) as port, Traffic("127.0.0.1", port=port, method=method, failover=failover, clients=1,
                                           max_requests=3, max_seconds=10) as traffic:
        traffic.wait_for(3)
    tally = traffic.tally
    assert (tally.failed, tally.moved, tally.answers["200 ok"]) == (failed, moved, 3 - failed), str(tally)
