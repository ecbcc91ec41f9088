"""Clients looping requests at sandbox hosts, for load tests and benchmarks.

Half the clients keep one connection alive per host and reuse it; the other half open a
new connection for every request. Each client is paced so that all of them together send
about `rate` requests per second, and all stop at `stop()`, at `max_requests` or at
`max_seconds`, whichever comes first. Given several addresses, each client sends its
requests to them in turn, as a load balancer in front of the hosts spreads them. Traffic
goes only to the addresses given, which callers take from the sandbox's hosts.
"""

from __future__ import annotations

import http.client
import math
import re
import select
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# The sample app's page names its version twice, in its title and in its body.
_TITLE = re.compile(r"<title>sample (\S+)</title>")
_VERSION = re.compile(r"<p id=version>(\S+)</p>")


class NotWhole(ValueError):
    """An answer that is not one version's whole page; the message says what was wrong."""


def whole_page(text: str) -> str:
    """The version of a whole sample app page (`GET /`): one version in both places, to the
    closing tag; anything else (a truncated page, two versions mixed) raises `NotWhole`."""
    title, body = _TITLE.search(text), _VERSION.search(text)
    if not text.rstrip().endswith("</html>"):
        raise NotWhole("truncated page")
    if title is None or body is None:
        raise NotWhole("page without a version")
    if title.group(1) != body.group(1):
        raise NotWhole("page mixing two versions")
    return body.group(1)


@dataclass
class Tally:
    """What the clients saw: answers by body (`200 v1`), failures by kind, each request's
    latency in seconds, and how many requests went to another host because theirs refused
    the connection (`moved`)."""

    answers: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    moved: int = 0

    @property
    def requests(self) -> int:
        return sum(self.answers.values()) + sum(self.failures.values())

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def percentile(self, share: float) -> float:
        """The latency that `share` (0 to 1) of the requests did not exceed (nearest rank)."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        return self.percentile(0.5)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    def __str__(self) -> str:
        moved = f", {self.moved} moved to another host" if self.moved else ""
        return (f"{self.requests} requests: answers {dict(self.answers)}, failures {dict(self.failures)}"
                f"{moved}")


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether the server closed this idle kept-alive connection (it reads as ready, at EOF),
    the check HTTP clients make before reusing one."""
    sock = connection.sock
    return sock is None or bool(select.select([sock], [], [], 0)[0])


class Traffic:
    """Clients looping requests at `address` (or at each of several addresses in turn).

    `check` turns an answer's body into what is tallied (`whole_page`: its version), raising
    `NotWhole` for an answer that counts as a failure; without it an answer is tallied as
    `200 <body>`. `failover` makes the clients behave as a load balancer in front of the
    hosts: a request whose host refuses the connection (nothing was sent) goes to the next
    host, counted in `Tally.moved`, and a kept-alive connection the host has closed is not
    reused; a GET whose connection the host closed or reset before any byte of an answer is
    sent again on a new connection, as browsers do on a kept-alive one (RFC 9112 section
    9.3.1) and load balancers on any (nginx's `proxy_next_upstream error`, HAProxy's
    `retry-on empty-response`), counted as moved too. Any other request sent and then lost
    is a failure either way.
    """

    def __init__(self, address: str | Sequence[str], *, port: int = 80, path: str = "/version",
                 method: str = "GET", host_header: str | None = None, rate: float = 200.0, clients: int = 4,
                 max_requests: int = 100_000, max_seconds: float = 300.0, timeout: float = 10.0,
                 check: Callable[[str], str] | None = None, failover: bool = False) -> None:
        self.addresses = [address] if isinstance(address, str) else list(address)
        self.port, self.path, self.method = port, path, method
        self.host_header = host_header
        self.interval = clients / rate
        self.clients = clients
        self.max_requests, self.max_seconds, self.timeout = max_requests, max_seconds, timeout
        self.check, self.failover = check, failover
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Traffic:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._deadline = time.monotonic() + self.max_seconds
        self._threads = [threading.Thread(target=self._loop, args=(index, index % 2 == 0), daemon=True)
                         for index in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> Tally:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.tally

    def wait_for(self, requests: int) -> None:
        """Block until `requests` more requests have been tallied, or the clients stopped."""
        target = self.tally.requests + requests
        while self.running and self.tally.requests < target:
            self._stop.wait(self.interval)

    @property
    def running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def record(self, answer: str | None, failure: str | None, latency: float, moved: int = 0) -> bool:
        """Tally one request (the clients' own, or one sent beside them); whether to go on."""
        with self._lock:
            if answer is not None:
                self.tally.answers[answer] += 1
            if failure is not None:
                self.tally.failures[failure] += 1
            self.tally.latencies.append(latency)
            self.tally.moved += moved
            return self.tally.requests < self.max_requests

    def _connect(self, connections: dict[str, http.client.HTTPConnection], turn: int,
                 keep_alive: bool) -> tuple[http.client.HTTPConnection, str, int]:
        """A connection for this turn's host; with `failover`, the next host that accepts one."""
        tries = len(self.addresses) if self.failover else 1
        for moved in range(tries):
            address = self.addresses[(turn + moved) % len(self.addresses)]
            connection = connections.pop(address, None)
            if connection is not None and self.failover and _dropped(connection):
                connection.close()
                connection = None
            if connection is None:
                connection = http.client.HTTPConnection(address, self.port, timeout=self.timeout)
                if self.failover:
                    try:
                        connection.connect()
                    except OSError:
                        connection.close()
                        if moved + 1 < tries:
                            continue
                        raise
            if keep_alive:
                connections[address] = connection
            return connection, address, moved
        raise AssertionError("unreachable: the last try returns or raises")

    def _loop(self, index: int, keep_alive: bool) -> None:
        connections: dict[str, http.client.HTTPConnection] = {}
        headers = {"Host": self.host_header} if self.host_header else {}
        if not keep_alive:
            headers["Connection"] = "close"
        body = b"ping" if self.method == "POST" else None
        following = time.monotonic()
        turn = index
        while self.running:
            answer = failure = None
            moved = 0
            address = self.addresses[turn % len(self.addresses)]
            connection: http.client.HTTPConnection | None = None
            started = time.monotonic()
            try:
                connection, address, moved = self._connect(connections, turn, keep_alive)
                try:
                    connection.request(self.method, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not (self.failover and moved == 0 and self.method == "GET"):
                        raise
                    connections.pop(address, None)
                    connection.close()
                    connection, address, moved = self._connect(connections, turn, keep_alive)
                    moved += 1
                    connection.request(self.method, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                text = response.read().decode(errors="replace")
                if response.status != 200:
                    failure = f"{response.status} {text.strip()[:60]}"
                elif self.check is None:
                    answer = f"200 {text.strip()}"
                else:
                    try:
                        answer = self.check(text)
                    except NotWhole as error:
                        failure = str(error)
                if not keep_alive or response.will_close:
                    connections.pop(address, None)
                    connection.close()
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {error}"[:120]
                connections.pop(address, None)
                if connection is not None:
                    connection.close()
            turn += 1
            if not self.record(answer, failure, time.monotonic() - started, moved):
                self._stop.set()
            following += self.interval
            delay = following - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                following = time.monotonic()
        for connection in connections.values():
            connection.close()
