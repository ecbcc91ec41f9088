"""Plan mode: record what would run on each host, run nothing, connect nowhere.

A step driven by a `PlanExecutor` goes through its usual motions; every command, upload
and HTTP request is recorded per host in order. The few read commands a step needs to
decide (which version runs now, is the lock free) get canned answers:

>>> plan = PlanExecutor({"docker ps": "abc123\\n", re.compile(r"^mkdir .*lock"): Answer(exit_status=1)})

A string key matches commands that start with it, a compiled pattern matches with
`search`, a callable `(host, command) -> Answer | str | None` can answer anything. The
first match wins; unmatched commands succeed with no output. A read of the Docker engine
matches on the command line it stands for, and is answered by an `EngineAnswer`; unmatched,
it answers as an empty host's engine (empty lists, no such container).

Reads (`kamalnb.facts`) are answered by the fact they ask for: `facts={"running_version":
None, "container_address": "172.18.0.2"}` gives every host that answer, without looking
at the command's text; a fact not given is read from an empty, successful answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

from kamalnb.commands.base import Command, HttpRequest
from kamalnb.commands.engine import Call, EngineRequest
from kamalnb.events import Events
from kamalnb.executors.base import BaseExecutor, Content, HttpResponse, content_bytes, forward_label, upload_label
from kamalnb.results import Result

if TYPE_CHECKING:
    import pandas

    from kamalnb.facts import Read

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    stdout: str = ""
    stderr: str = ""
    exit_status: int = 0


@dataclass(frozen=True)
class EngineAnswer:
    """A canned answer to an engine read: `respond(path)` answers each of its GETs."""

    respond: Callable[[str], HttpResponse]


@dataclass(frozen=True)
class Planned:
    host: str
    kind: Literal["run", "upload", "http", "forward"]
    text: str


AnswerLike = Answer | str | EngineAnswer
Matcher = Union[str, "re.Pattern[str]", Callable[[str, str], "AnswerLike | None"]]


class PlanExecutor(BaseExecutor):
    """Records commands instead of running them. `http_answers` works like `answers`,
    keyed on `METHOD http://address:port/path`; unmatched requests get 200 with no body."""

    def __init__(
        self,
        answers: Mapping[str | re.Pattern[str], AnswerLike] | Iterable[tuple[Matcher, AnswerLike]] | None = None,
        *,
        http_answers: Mapping[str | re.Pattern[str], HttpResponse] | None = None,
        facts: Mapping[str, Any] | None = None,
        events: Events | None = None,
    ) -> None:
        self.events = events or Events()
        self.facts = dict(facts or {})
        self.planned: list[Planned] = []
        self._answers: list[tuple[Matcher, AnswerLike]] = []
        self._http_answers: list[tuple[Matcher, HttpResponse]] = list((http_answers or {}).items())
        pairs = answers.items() if isinstance(answers, Mapping) else (answers or ())
        for matcher, answer in pairs:
            self.answer(matcher, answer)

    def answer(self, matcher: Matcher, answer: AnswerLike | None = None) -> None:
        """Add a canned answer (a callable matcher returns its own answer)."""
        self._answers.append((matcher, answer if answer is not None else Answer()))

    def run(
        self,
        host: str,
        command: Command,
        *,
        timeout: float | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        # `env` lets the planner stand in for the local executor; nothing runs that could see it.
        display = str(command)
        started, t0 = self._started(host, display)
        self.planned.append(Planned(host, "run", display))
        found = _lookup(self._answers, host, display)
        answer = Answer(stdout=found) if isinstance(found, str) else found if isinstance(found, Answer) else Answer()
        return self._finished(host, display, answer.exit_status, started, t0, answer.stdout, answer.stderr, check)

    def _engine_sender(self, host: str, request: EngineRequest, display: str) -> Callable[[Call], HttpResponse]:
        # Recorded as the command it stands for; unanswered, the engine knows of nothing,
        # and takes every change.
        self.planned.append(Planned(host, "run", display))
        found = _lookup(self._answers, host, display)
        respond = found.respond if isinstance(found, EngineAnswer) else _nothing
        return lambda call: respond(call.path) if call.method == "GET" else _TAKEN

    def upload(self, host: str, content: Content, path: str, *, mode: int = 0o644) -> Result:
        display = upload_label(path, len(content_bytes(content)), mode)
        started, t0 = self._started(host, display)
        self.planned.append(Planned(host, "upload", display))
        return self._finished(host, display, 0, started, t0, "", "", check=False)

    @contextmanager
    def forward_to_local(self, host: str, port: int) -> Iterator[None]:
        display = forward_label(port)
        started, t0 = self._started(host, display)
        self.planned.append(Planned(host, "forward", display))
        self._finished(host, display, 0, started, t0, "", "", check=False)
        yield

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
        display = f"{method} http://{address}:{port}{path}"
        self.planned.append(Planned(host, "http", display))
        return _lookup(self._http_answers, host, display) or HttpResponse(200, "OK")

    def read(self, host: str, read: Read[T]) -> T:
        if read.fact not in self.facts:
            return super().read(host, read)
        request = read.request
        display = str(request)
        if isinstance(request, HttpRequest):
            self.planned.append(Planned(host, "http", display))
        else:
            started, t0 = self._started(host, display)
            self.planned.append(Planned(host, "run", display))
            self._finished(host, display, 0, started, t0, "", "", check=False)
        answer: T = self.facts[read.fact]
        return answer

    def commands(self, host: str | None = None) -> list[str]:
        """What would run, in order (on one host, or everywhere)."""
        return [item.text for item in self.planned if host is None or item.host == host]

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(item.host for item in self.planned))

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        return frame([{"host": item.host, "kind": item.kind, "command": item.text} for item in self.planned],
                     ["host", "kind", "command"])

    def __str__(self) -> str:
        lines = []
        for host in self.hosts:
            lines.append(f"{host}:")
            lines.extend(f"  {text}" for text in self.commands(host))
        return "\n".join(lines)


_TAKEN = HttpResponse(204, "No Content")


def _nothing(path: str) -> HttpResponse:
    """The engine of an empty host: empty lists, no such container or image."""
    if path.split("?")[0].endswith("s/json"):
        return HttpResponse(200, "OK", body=b"[]")
    return HttpResponse(404, "Not Found", body=b'{"message":"No such object"}')


def _lookup(table: list[tuple[Matcher, Any]], host: str, display: str) -> Any:
    for matcher, answer in table:
        if isinstance(matcher, str):
            if display.startswith(matcher):
                return answer
        elif isinstance(matcher, re.Pattern):
            if matcher.search(display):
                return answer
        else:
            found = matcher(host, display)
            if found is not None:
                return found
    return None
