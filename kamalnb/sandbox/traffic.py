"""Clients looping requests at a sandbox host, for load tests and benchmarks.

Half the clients keep one connection alive and reuse it; the other half open a new
connection for every request. Each client is paced so that all of them together send
about `rate` requests per second, and all stop at `stop()`, at `max_requests` or at
`max_seconds`, whichever comes first. Traffic goes only to the address given, which
callers take from the sandbox's hosts.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the clients saw: answers by body (`200 v1`), failures by kind."""

    answers: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.answers.values()) + sum(self.failures.values())

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def __str__(self) -> str:
        return f"{self.requests} requests: answers {dict(self.answers)}, failures {dict(self.failures)}"


class Traffic:
    def __init__(self, address: str, *, port: int = 80, path: str = "/version", method: str = "GET",
                 host_header: str | None = None, rate: float = 200.0, clients: int = 4,
                 max_requests: int = 100_000, max_seconds: float = 300.0, timeout: float = 10.0) -> None:
        self.address, self.port, self.path, self.method = address, port, path, method
        self.host_header = host_header
        self.interval = clients / rate
        self.clients = clients
        self.max_requests, self.max_seconds, self.timeout = max_requests, max_seconds, timeout
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
        self._threads = [threading.Thread(target=self._loop, args=(index % 2 == 0,), daemon=True)
                         for index in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> Tally:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.tally

    @property
    def running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _record(self, answer: str | None, failure: str | None) -> bool:
        with self._lock:
            if answer is not None:
                self.tally.answers[answer] += 1
            if failure is not None:
                self.tally.failures[failure] += 1
            return self.tally.requests < self.max_requests

    def _loop(self, keep_alive: bool) -> None:
        connection: http.client.HTTPConnection | None = None
        headers = {"Host": self.host_header} if self.host_header else {}
        if not keep_alive:
            headers["Connection"] = "close"
        body = b"ping" if self.method == "POST" else None
        following = time.monotonic()
        while self.running:
            answer = failure = None
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(self.address, self.port, timeout=self.timeout)
                connection.request(self.method, self.path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read().decode(errors="replace").strip()
                if response.status == 200:
                    answer = f"200 {text}"
                else:
                    failure = f"{response.status} {text[:60]}"
                if not keep_alive or response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as error:
                failure = f"{type(error).__name__}: {error}"[:120]
                if connection is not None:
                    connection.close()
                connection = None
            if not self._record(answer, failure):
                self._stop.set()
            following += self.interval
            delay = following - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                following = time.monotonic()
        if connection is not None:
            connection.close()
