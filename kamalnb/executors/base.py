"""The `Executor` protocol and what every executor shares.

Steps talk to an executor, never to paramiko or subprocess: the SSH executor runs commands
on hosts, the local one on this machine, the plan executor records them without running
anything. All three take the same `Command` objects and return the same `Result`s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, TypeVar, runtime_checkable

from kamalnb.commands.base import Command, HttpRequest
from kamalnb.commands.engine import Call, EngineRequest, as_call
from kamalnb.errors import CommandTimedOut, HostError
from kamalnb.events import CommandRan, CommandStarted, Events, OutputLine
from kamalnb.fanout import DEFAULT_LIMIT, Outcomes, fan_out
from kamalnb.results import Result
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.facts import Read

T = TypeVar("T")

Content = bytes | str | Secret | Path

DEFAULT_PARALLELISM = DEFAULT_LIMIT


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


@runtime_checkable
class Executor(Protocol):
    """Runs commands on named hosts."""

    def run(self, host: str, command: Command, *, timeout: float | None = None, check: bool = True) -> Result:
        """Run one command; raise CommandFailed on a non-zero exit when `check`."""

    def upload(self, host: str, content: Content, path: str, *, mode: int = 0o644) -> Result:
        """Write `content` to `path` (relative to the login user's home) with file mode `mode`."""

    def http(
        self,
        host: str,
        method: str,
        address: str,
        port: int,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResponse:
        """An HTTP request to `address:port` as seen from `host` (its loopback, a container)."""

    def read(self, host: str, read: Read[T]) -> T:
        """Ask `host` one question (`kamalnb.facts`) and return the parsed answer; an answer
        that makes no sense is that host's HostError."""

    def change(self, host: str, request: EngineRequest, *, check: bool = True) -> Result:
        """Make a change through the host's Docker engine (`kamalnb.commands.engine`); its
        `Result` is the command line's it stands for."""

    def forward_to_local(self, host: str, port: int) -> AbstractContextManager[None]:
        """While open, a connection to 127.0.0.1:`port` on `host` reaches 127.0.0.1:`port` on
        this machine (`ssh -R`): how hosts pull from Kamal's local registry."""

    def run_all(
        self, hosts: Iterable[str], command: Command, *, timeout: float | None = None, check: bool = True
    ) -> Outcomes[str, Result]:
        """One command on every host in parallel."""

    def close(self) -> None:
        """Release connections."""


class LocalRunner(Protocol):
    """Runs commands on this machine (builds, hooks); `env` adds to one command's environment."""

    def run(
        self,
        host: str,
        command: Command,
        *,
        timeout: float | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        """Run one command; raise CommandFailed on a non-zero exit when `check`."""

    def read(self, host: str, read: Read[T]) -> T:
        """Ask this machine one question (`kamalnb.facts`)."""


def content_bytes(content: Content) -> bytes:
    if isinstance(content, Secret):
        return content.reveal().encode()
    if isinstance(content, Path):
        return content.read_bytes()
    if isinstance(content, str):
        return content.encode()
    return bytes(content)


def forward_label(port: int) -> str:
    return f"ssh -R 127.0.0.1:{port}:127.0.0.1:{port}"


def upload_label(path: str, size: int, mode: int) -> str:
    """How an upload shows in events, reports and plans (never the content)."""
    return f"upload {path} ({size} bytes, mode {mode:04o})"


def now() -> datetime:
    return datetime.now(UTC)


class LineSplitter:
    """Turns chunks of bytes into complete lines, holding back a trailing partial line."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._emit = emit
        self._partial = ""
        self._chunks: list[str] = []

    def feed(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        self._chunks.append(text)
        self._split(text)

    def finish(self) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._chunks.append(tail)
            self._split(tail)
        if self._partial:
            self._emit(self._partial.rstrip("\r"))
            self._partial = ""

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def _split(self, text: str) -> None:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._emit(line.rstrip("\r"))


class BaseExecutor:
    """Reads, `run_all`, event helpers and context management shared by the executors."""

    events: Events
    parallelism: int = DEFAULT_PARALLELISM

    def run_all(
        self, hosts: Iterable[str], command: Command, *, timeout: float | None = None, check: bool = True
    ) -> Outcomes[str, Result]:
        """One command on every host in parallel, at most `parallelism` hosts at a time."""
        return fan_out(hosts, lambda host: self.run(host, command, timeout=timeout, check=check),
                       limit=self.parallelism)

    def read(self, host: str, read: Read[T]) -> T:
        request = read.request
        if isinstance(request, HttpRequest):
            answer: Any = self.http(host, request.method, request.address, request.port, request.path,
                                    timeout=request.timeout)
        elif isinstance(request, EngineRequest):
            answer = self.engine(host, request)
        else:
            answer = self.run(host, request, check=False)
        try:
            return read.parse(answer)
        except (ValueError, KeyError, TypeError) as error:
            raise HostError(host, f"unexpected answer: {error}") from None

    def http(self, host: str, method: str, address: str, port: int, path: str, *,
             body: bytes | str | None = None, headers: Mapping[str, str] | None = None,
             timeout: float = 10.0) -> HttpResponse:
        raise NotImplementedError

    def engine(self, host: str, request: EngineRequest) -> list[HttpResponse]:
        """The host's Docker engine's answers to `request`'s requests, one per path (its
        `then` requests after its own)."""
        display = str(request)
        started, t0 = self._started(host, display)
        answers = self._send(host, request, display, t0)
        self._finished(host, display, 0, started, t0, "", "", check=False)
        return answers

    def change(self, host: str, request: EngineRequest, *, check: bool = True) -> Result:
        """A change made through the host's engine, reported as the command line it stands
        for would be: when the engine refuses, exit status 1 and the engine's message."""
        display = str(request)
        started, t0 = self._started(host, display)
        refusal = request.refusal(self._send(host, request, display, t0))
        return self._finished(host, display, 0 if refusal is None else 1, started, t0, "", refusal or "", check)

    def _send(self, host: str, request: EngineRequest, display: str, t0: float) -> list[HttpResponse]:
        try:
            send = self._engine_sender(host, request, display)
            answers = [send(as_call(sent)) for sent in request.paths]
            if request.then is not None:
                answers += [send(as_call(sent)) for sent in request.then(answers)]
        except HostError:
            self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
            raise
        return answers

    def _engine_sender(self, host: str, request: EngineRequest, display: str) -> Callable[[Call], HttpResponse]:
        """What sends one request of `request` (shown as `display`) to the host's engine and
        returns its answer."""
        raise NotImplementedError

    def run(self, host: str, command: Command, *, timeout: float | None = None, check: bool = True) -> Result:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _started(self, host: str, display: str) -> tuple[datetime, float]:
        self.events.emit(CommandStarted(host, display))
        return now(), time.monotonic()

    def _line_emitter(self, host: str, stream: Literal["stdout", "stderr"], display: str,
                      checked: bool = True, private: bool = False) -> Callable[[str], None]:
        if private:
            return lambda line: None
        return lambda line: self.events.emit(OutputLine(host, stream, line, display, checked))

    def _finished(
        self,
        host: str,
        display: str,
        exit_status: int,
        started: datetime,
        t0: float,
        stdout: str,
        stderr: str,
        check: bool,
    ) -> Result:
        duration = time.monotonic() - t0
        self.events.emit(CommandRan(host, display, exit_status, duration, check))
        result = Result(host, display, exit_status, stdout, stderr, started, duration)
        return result.check() if check else result

    def _timed_out(self, host: str, display: str, t0: float, timeout: float) -> CommandTimedOut:
        self.events.emit(CommandRan(host, display, None, time.monotonic() - t0))
        return CommandTimedOut(host, f"`{display}` did not finish within {timeout:g} s")

