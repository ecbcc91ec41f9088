"""Requests to a host's Docker Engine API instead of its docker command line.

Every docker CLI process on a host costs tens of milliseconds (a process, its config, a new
connection to the engine); the same request to the API, sent over a channel of the SSH
connection already open (`docker system dial-stdio`, as docker's own `ssh://` contexts do),
costs a few. Reads go this way, and the small changes a deploy makes around its containers
(stop, rename, tag, the network, prune); `docker run`, `docker pull` and `docker login`
stay Kamal's command lines. Each request says which command line it stands for, so plans
and logs show both, and leaves on the host what that command line would have.
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
class Call:
    """One request to the engine: its method, its path with the query, and a JSON body for
    the few that take one. Where a request is given as a bare path, it is a GET."""

    method: str
    path: str
    body: bytes | None = None

    def __str__(self) -> str:
        return f"{self.method} {unquote(self.path)}"


Sent = str | Call


def as_call(sent: Sent) -> Call:
    return sent if isinstance(sent, Call) else Call("GET", sent)


@dataclass(frozen=True)
class EngineRequest:
    """Requests to a host's engine (`paths`: GETs, each with its query, or `Call`s) that do
    what `cli` does, or answer what it would print; `then`, given their answers, names more
    to send (each container listed, inspected or removed), shown as `then_shown`. Shown as
    `cli`, then the requests. An answer that is neither a success nor in `accepted` is the
    engine refusing the change (see `refusal`)."""

    paths: tuple[Sent, ...]
    cli: Command
    timeout: float = 10.0
    then: Callable[[list[HttpResponse]], tuple[Sent, ...]] | None = field(default=None, compare=False)
    then_shown: str = ""
    accepted: tuple[int, ...] = ()

    def __str__(self) -> str:
        sent = [str(as_call(path)) for path in self.paths]
        if self.then_shown:
            sent.append(f"then {self.then_shown}")
        return f"{self.cli}  [engine API: {', '.join(sent)}]"

    def refusal(self, answers: list[HttpResponse]) -> str | None:
        """What the engine said when it refused one of the requests, as docker would print it."""
        for answer in answers:
            if answer.status >= 300 and answer.status not in self.accepted:
                try:
                    message = answer.json()["message"]
                except (ValueError, KeyError, TypeError):
                    message = answer.text.strip() or answer.reason
                return f"Error response from daemon: {message} (HTTP {answer.status})"
        return None


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


# ---- changes --------------------------------------------------------------------------------

# `docker stop` without `-t` waits the container's own stop timeout, 10 s unless it was
# given another at `docker run`: the request waits well past either.
STOP_REQUEST_TIMEOUT = 120.0


def stop(name: str, cli: Command, seconds: str | None = None) -> EngineRequest:
    """`docker container ls --all --filter name=^<name>$ --quiet | xargs docker stop [-t N]`:
    the container of exactly that name, if there is one, stopped (an already stopped one
    answers 304, as `docker stop` it does nothing)."""
    query = {"t": seconds} if seconds is not None else {}

    def each(answers: list[HttpResponse]) -> tuple[Sent, ...]:
        return tuple(Call("POST", _path(f"/containers/{found}/stop", query)) for found in listed_ids(answers[0]))

    timeout = float(seconds) + 30 if seconds is not None else STOP_REQUEST_TIMEOUT
    return EngineRequest((containers([f"name=^{name}$"], all_states=True),), cli, timeout=timeout, then=each,
                         then_shown=str(Call("POST", _path("/containers/<each>/stop", query))), accepted=(304,))


def rename(name: str, new_name: str, cli: Command) -> EngineRequest:
    """`docker rename <name> <new_name>`."""
    return EngineRequest((Call("POST", _path(f"/containers/{quote(name, safe='')}/rename", {"name": new_name})),), cli)


def tag(source: str, target: str, cli: Command) -> EngineRequest:
    """`docker tag <source> <target>`: the target's repository and tag apart, as the API takes them."""
    repository, tag_ = split_reference(target)
    path = _path(f"/images/{quote(source, safe='')}/tag", {"repo": repository, "tag": tag_ or "latest"})
    return EngineRequest((Call("POST", path),), cli)


def split_reference(reference: str) -> tuple[str, str | None]:
    """`registry:5000/app:v1` -> (`registry:5000/app`, `v1`); a digest or no tag gives None as tag."""
    name = reference.split("@", 1)[0]
    repository, colon, tag_ = name.rpartition(":")
    if not colon or "/" in tag_:
        return name, None
    return repository, tag_


def ensure_network(name: str, cli: Command) -> EngineRequest:
    """`docker network inspect <name> || docker network create <name>`: created only when
    there is none (one created meanwhile by another deploy answers 409)."""
    create = Call("POST", "/networks/create", json.dumps({"Name": name, "CheckDuplicate": True}).encode())

    def missing(answers: list[HttpResponse]) -> tuple[Sent, ...]:
        return (create,) if answers[0].status == 404 else ()

    return EngineRequest((f"/networks/{quote(name, safe='')}",), cli, then=missing, then_shown=f"if none, {create}",
                         accepted=(404, 409))


def remove_image(reference: str, cli: Command) -> EngineRequest:
    """`docker image rm --force <reference>`: none there answers 404, which is no refusal."""
    return EngineRequest((Call("DELETE", _path(f"/images/{quote(reference, safe='')}", {"force": 1})),), cli,
                         accepted=(404,))


def prune_containers(cli_filters: Iterable[str], retain: int, cli: Command) -> EngineRequest:
    """`docker ps -q -a --filter ... | tail -n +<retain + 1> | while read id; do docker rm $id; done`:
    all but the newest `retain` of the containers listed removed."""

    def older(answers: list[HttpResponse]) -> tuple[Sent, ...]:
        return tuple(Call("DELETE", f"/containers/{found}") for found in listed_ids(answers[0])[retain:])

    return EngineRequest((containers(cli_filters, all_states=True),), cli, then=older,
                         then_shown=f"DELETE /containers/<each but the newest {retain}>")


def prune_images(cli_filters: Iterable[str], cli: Command) -> EngineRequest:
    """`docker image prune --force --filter ...`: the dangling images among them removed."""
    return EngineRequest((Call("POST", _path("/images/prune", {"filters": filters(cli_filters)})),), cli)


def remove_unused_tags(cli_filters: Iterable[str], kept: Callable[[str], bool], cli: Command) -> EngineRequest:
    """The tags of the images `cli_filters` list that no container of the same filters uses,
    and that `kept` does not keep, removed (the image goes with its last tag). A container
    uses the reference it was created from, or, once that reference was moved to another
    image, its image's ID, and so every tag of that image: as the ID or reference `docker
    container ls --format '{{.Image}}'` prints, which Kamal's prune keeps."""

    def unused(answers: list[HttpResponse]) -> tuple[Sent, ...]:
        if any(answer.status != 200 for answer in answers):
            return ()  # the refusal says why
        images_, containers_ = answers[0].json(), answers[1].json()
        used = {container_["Image"] for container_ in containers_}
        tags = [tag_ for image_ in images_ if image_["Id"] not in used for tag_ in image_.get("RepoTags") or []
                if tag_ not in used and "<none>" not in tag_ and not kept(tag_)]
        return tuple(Call("DELETE", f"/images/{quote(tag_, safe='')}") for tag_ in tags)

    return EngineRequest((images(cli_filters), containers(cli_filters, all_states=True)), cli, then=unused,
                         then_shown="DELETE /images/<each unused tag>")
