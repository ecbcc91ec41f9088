"""Reads asked of a host's Docker Engine API instead of its docker command line.

Every docker CLI process on a host costs tens of milliseconds (a process, its config, a new
connection to the engine); the same question as an API request, sent over a channel of the
SSH connection already open (`docker system dial-stdio`, as docker's own `ssh://` contexts
do), costs a few. Only reads go this way: what changes a host stays Kamal's command lines.
Each request says which command line it stands for, so plans and logs show both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlencode

from kamalnb.commands.base import Command

if TYPE_CHECKING:
    from kamalnb.executors.base import HttpResponse

# What a host runs to reach its engine: the engine's API on its standard input and output.
DIAL_STDIO = "docker system dial-stdio"
# `docker info`.
INFO = "/info"


@dataclass(frozen=True)
class EngineRequest:
    """GET requests to a host's engine (`paths`, each with its query) that answer what `cli`
    would print; `then`, given their answers, names more to send (each container listed,
    inspected), shown as `then_shown`. Shown as `cli`, then the requests."""

    paths: tuple[str, ...]
    cli: Command
    timeout: float = 10.0
    then: Callable[[list[HttpResponse]], tuple[str, ...]] | None = field(default=None, compare=False)
    then_shown: str = ""

    def __str__(self) -> str:
        sent = [f"GET {unquote(path)}" for path in self.paths]
        if self.then_shown:
            sent.append(f"then {self.then_shown}")
        return f"{self.cli}  [engine API: {', '.join(sent)}]"


def filters(cli_filters: Iterable[str]) -> dict[str, list[str]]:
    """`--filter` values (`label=service=app`, `status=running`) as the API's filters map,
    which is what the docker CLI sends for them."""
    found: dict[str, list[str]] = {}
    for item in cli_filters:
        key, _, value = item.partition("=")
        found.setdefault(key, []).append(value)
    return found


def _path(path: str, query: Mapping[str, object]) -> str:
    params = {key: json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else str(value)
              for key, value in query.items()}
    return f"{path}?{urlencode(params)}" if params else path


def containers(cli_filters: Iterable[str], *, all_states: bool = False) -> str:
    """`docker ps [--all] --filter ...`: newest first."""
    query: dict[str, object] = {"all": 1} if all_states else {}
    query["filters"] = filters(cli_filters)
    return _path("/containers/json", query)


def container(name: str) -> str:
    """`docker container inspect <name>`: 404 when there is none."""
    return f"/containers/{quote(name, safe='')}/json"


def images(cli_filters: Iterable[str]) -> str:
    """`docker image ls --filter ...`."""
    return _path("/images/json", {"filters": filters(cli_filters)})


def image(reference: str) -> str:
    """`docker image inspect <reference>`: 404 when there is none."""
    return f"/images/{quote(reference, safe='')}/json"


def listed_ids(answer: HttpResponse) -> list[str]:
    """The IDs in a list the engine answered; none when it answered anything else, which
    the read's parser then reports."""
    try:
        return [item["Id"] for item in answer.json()] if answer.status == 200 else []
    except (ValueError, KeyError, TypeError):
        return []
