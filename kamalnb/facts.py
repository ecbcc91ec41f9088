"""What kamalnb asks the hosts, and how it reads the answers. No I/O here.

Every read of a host is a `Read`: the fact it asks for (a name), the request that asks it
(a command from `kamalnb.commands`, an HTTP request, or requests to the host's Docker Engine
API standing for a docker command line), and the parser of the answer. Executors answer a
read with `executor.read(host, read)`: the SSH executor runs the command (or sends the
requests) and parses what came back; the plan executor answers by the fact's name, from
an assumed fleet, without running anything. Steps and the fleet-state tables ask through
the same reads, so both see a host the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import unquote

from kamalnb.commands import engine as engine_api
from kamalnb.commands.base import Command, HttpRequest
from kamalnb.commands.engine import EngineRequest, split_reference

if TYPE_CHECKING:
    from kamalnb.executors.base import HttpResponse
    from kamalnb.results import Result

T = TypeVar("T")


@dataclass(frozen=True)
class Read(Generic[T]):
    """One question to a host. `parse` gets the command's `Result` (whatever its exit
    status), the `HttpResponse`, or for an `EngineRequest` the list of the engine's answers,
    one per path; an answer it cannot make sense of (ValueError, KeyError,
    TypeError) becomes the host's error: `unexpected answer: ...`."""

    fact: str
    request: Command | HttpRequest | EngineRequest
    parse: Callable[[Any], T]

    def __str__(self) -> str:
        return str(self.request)


def _stdout(result: Result) -> str:
    return result.check().stdout.strip()


_LOCKED_BY = re.compile(r"^Locked by: (?P<by>.*) at (?P<at>\S+)$")


@dataclass(frozen=True)
class LockInfo:
    """The content of Kamal's `.kamal/lock-<svc>[-<dest>]/details`."""

    locked_by: str
    locked_at: datetime | None
    version: str
    message: str

    def age(self, now: datetime | None = None) -> float | None:
        if self.locked_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.locked_at).total_seconds()


def _lock(result: Result) -> LockInfo | None:
    # Kamal's own test: `stat` says "No such file or directory" when nobody holds the lock.
    if not result.ok and "No such file or directory" in result.stderr:
        return None
    return parse_lock_details(result.check().stdout)


def lock(lock_commands: Any) -> Read[LockInfo | None]:
    """The deploy lock's details; None when nobody holds it. `lock_commands`: commands.Lock."""
    return Read("lock", lock_commands.status(), _lock)


def parse_lock_details(text: str) -> LockInfo:
    locked_by, locked_at, version, message = "", None, "", ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if match := _LOCKED_BY.match(line):
            locked_by = match["by"]
            try:
                locked_at = datetime.fromisoformat(match["at"].replace("Z", "+00:00"))
            except ValueError:
                locked_at = None
        elif line.startswith("Version: "):
            version = line.removeprefix("Version: ")
        elif line.startswith("Message: "):
            # A message may span lines: it is the last field.
            message = "\n".join([line.removeprefix("Message: "), *lines[index + 1:]]).rstrip("\n")
            break
    return LockInfo(locked_by, locked_at, version, message)


# -- docker's answers ---------------------------------------------------------------------

_DOCKER_TIME = re.compile(
    r"^(?P<main>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$"
)
_ACTIVE_STATES = ("running", "restarting")


def parse_docker_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 times (nanoseconds, `Z`); its zero time `0001-01-01T00:00:00Z` is None."""
    match = _DOCKER_TIME.match((text or "").strip())
    if match is None:
        return None
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    moment = datetime.fromisoformat(f"{match['main']}.{fraction}{zone}")
    return None if moment.year == 1 else moment.astimezone(UTC)


@dataclass(frozen=True)
class ContainerInfo:
    """One container, from `docker inspect`."""

    id: str
    name: str
    image: str
    image_id: str
    state: str
    health: str | None
    created: datetime | None
    started: datetime | None
    labels: dict[str, str]
    env: dict[str, str]

    @property
    def active(self) -> bool:
        """What Kamal counts as running: `status=running` or `status=restarting`."""
        return self.state in _ACTIVE_STATES

    @property
    def repository(self) -> str:
        return split_reference(self.image)[0]


def _env(entries: list[str] | None) -> dict[str, str]:
    pairs = (entry.partition("=") for entry in entries or [])
    return {key: value for key, _, value in pairs}


def container_infos(inspected: list[dict[str, Any]]) -> list[ContainerInfo]:
    """Containers as `docker inspect` (and the engine's `/containers/<id>/json`) describe them."""
    containers = []
    for item in inspected:
        state = item.get("State") or {}
        config = item.get("Config") or {}
        health = state.get("Health") or {}
        containers.append(ContainerInfo(
            id=item["Id"],
            name=item.get("Name", "").lstrip("/"),
            image=config.get("Image", ""),
            image_id=item.get("Image", ""),
            state=state.get("Status", ""),
            health=health.get("Status") or None,
            created=parse_docker_time(item.get("Created")),
            started=parse_docker_time(state.get("StartedAt")),
            labels=dict(config.get("Labels") or {}),
            env=_env(config.get("Env")),
        ))
    return containers


# A redeploy of the running version renames the old container `<version>_replaced_<hex>`
# to free the name; it still holds that version.
_REPLACED = re.compile(r"_replaced_[0-9a-f]+$")


def without_replaced(version: str) -> str:
    return _REPLACED.sub("", version)


def is_replaced(name: str) -> bool:
    """Whether a container was renamed aside by a redeploy of its version."""
    return _REPLACED.search(name) is not None


def version_from_name(name: str, prefix: str) -> str | None:
    """The version in `<prefix>-<version>[_replaced_<hex>]` (Kamal keeps it nowhere else
    but KAMAL_VERSION)."""
    head = f"{prefix}-"
    if not name.startswith(head) or name == head:
        return None
    return without_replaced(name[len(head):])


def current_container(containers: list[ContainerInfo], latest_image_id: str | None) -> ContainerInfo | None:
    """The container Kamal takes as a role's current one on a host: of the running or
    restarting containers, the newest created from the image tagged `latest[-<dest>]`,
    else the newest of any image."""
    active = sorted((c for c in containers if c.active), key=lambda c: c.created or datetime.min.replace(tzinfo=UTC),
                    reverse=True)
    if latest_image_id:
        for container in active:
            if same_image(container.image_id, latest_image_id):
                return container
    return active[0] if active else None


def same_image(one: str, other: str) -> bool:
    """Image IDs compared as docker does: with or without `sha256:`, full or abbreviated."""
    a, b = one.removeprefix("sha256:"), other.removeprefix("sha256:")
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


@dataclass(frozen=True)
class ImageInfo:
    """One image, from `docker image inspect`."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: datetime | None
    size: int
    labels: dict[str, str]


def image_infos(inspected: list[dict[str, Any]]) -> list[ImageInfo]:
    """Images as `docker image inspect` (and the engine's `/images/<id>/json`) describe them:
    their creation to the nanosecond, where the engine's list has it to the second."""
    return [
        ImageInfo(
            id=item["Id"],
            repo_tags=tuple(item.get("RepoTags") or ()),
            repo_digests=tuple(item.get("RepoDigests") or ()),
            created=parse_docker_time(item.get("Created")),
            size=int(item.get("Size") or 0),
            labels=dict((item.get("Config") or {}).get("Labels") or {}),
        )
        for item in inspected
    ]


@dataclass(frozen=True)
class EngineInfo:
    """The few `docker info` fields the hosts table shows."""

    server_version: str
    containers_running: int
    docker_root: str


ENGINE_INFO_FORMAT = "{{.ServerVersion}}|{{.ContainersRunning}}|{{.DockerRootDir}}"


def parse_df_available(text: str) -> int | None:
    """Bytes available from `df -Pk <path>` (POSIX format, 1024-byte blocks), or None."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    # A long device name makes POSIX df wrap; the numbers are then the last fields.
    fields = " ".join(lines[1:]).split()
    try:
        return int(fields[-3]) * 1024
    except (IndexError, ValueError):
        return None


# -- the audit log ------------------------------------------------------------------------

_TAG = re.compile(r"\[([^\]]*)\] ?")


@dataclass(frozen=True)
class AuditEntry:
    """One line of `.kamal/<svc>[-<dest>]-audit.log`:
    `[time] [performer] [destination]? [detail]... message`."""

    recorded_at: datetime | None
    performer: str | None
    destination: str | None
    details: tuple[str, ...]
    message: str
    line: str


def parse_audit_line(line: str, destination: str | None = None) -> AuditEntry:
    """Split an audit line into its tags and message. The tags carry no names, so the
    destination is recognised by the configured one; a line that does not start with a
    time tag keeps its whole text as the message."""
    text = line.rstrip("\n")
    tags: list[str] = []
    position = 0
    while match := _TAG.match(text, position):
        tags.append(match[1])
        position = match.end()
    recorded_at = parse_docker_time(tags[0]) if tags else None
    if recorded_at is None:
        return AuditEntry(None, None, None, (), text, text)
    performer = tags[1] if len(tags) > 1 else None
    rest = tags[2:]
    found_destination = None
    if destination and rest and rest[0] == destination:
        found_destination, rest = rest[0], rest[1:]
    return AuditEntry(recorded_at, performer, found_destination, tuple(rest), text[position:], text)


# -- the reads of the app's containers ----------------------------------------------------

def running_version(app: Any) -> Read[str | None]:
    """The version a role runs on a host as Kamal decides it (`app`: commands.App): its newest
    running container of the `latest` image, else its newest running container. A container a
    redeploy renamed aside answers `<version>_replaced_<hex>`: that name is what stops it, so it
    is kept here; displays strip it with `without_replaced`."""

    def parse(answers: list[HttpResponse]) -> str | None:
        images, running = _engine_json(answers[0]), _engine_json(answers[1])
        latest = images[0]["Id"] if images else None
        # Kamal's `--filter ancestor=` also takes images built on top of `latest`: none is
        # ever run by a deploy, which runs the images it pulls.
        chosen = next((c for c in running if latest and c.get("ImageID") == latest), running[0] if running else None)
        return _version_of(app, chosen) if chosen else None

    return Read("running_version", app.engine_running_version(), parse)


def running_versions(app: Any) -> Read[list[str]]:
    """Every version of the role with a running container on the host (a renamed-aside one
    as `<version>_replaced_<hex>`, so that it can be stopped as stale), newest first."""
    return Read("running_versions", app.engine_versions(),
                lambda answers: [_version_of(app, c) for c in _engine_json(answers[0])])


def container_id(app: Any, version: str) -> Read[str | None]:
    """The ID of the role's container of `version` (any state); None when there is none."""

    def parse(answers: list[HttpResponse]) -> str | None:
        found = _engine_json(answers[0])
        return found[0]["Id"][:12] if found else None

    return Read("container_id", app.engine_container_id(version), parse)


def container_status(app: Any, version: str) -> Read[str]:
    """`healthy`, `unhealthy`, `starting` or, without a health check, the container's state;
    empty when the container is gone."""

    def parse(answers: list[HttpResponse]) -> str:
        found = _engine_json(answers[0], missing=True)
        if found is None:
            return ""
        health = found["State"].get("Health")
        return str(health["Status"] if health else found["State"]["Status"])

    return Read("container_status", app.engine_status(version), parse)


def container_ref(container: str) -> Read[str | None]:
    """The container's short ID (12 hex digits): what the proxy dials, since Docker's DNS
    answers it on the container's networks and no rename moves it. None when it is gone."""

    def parse(answers: list[HttpResponse]) -> str | None:
        found = _engine_json(answers[0], missing=True)
        return found["Id"][:12] if found else None

    cli = Command.from_argv(["docker", "inspect", "--format", "{{.Id}}", container])
    return Read("container_ref", EngineRequest((engine_api.container(container),), cli), parse)


def container(name: str) -> Read[ContainerInfo | None]:
    """The container called `name`, inspected; None when it is gone."""

    def parse(answers: list[HttpResponse]) -> ContainerInfo | None:
        found = _engine_json(answers[0], missing=True)
        return container_infos([found])[0] if found else None

    cli = Command.from_argv(["docker", "inspect", name])
    return Read("container", EngineRequest((engine_api.container(name),), cli), parse)


def container_address(container: str, network: str) -> Read[str | None]:
    """The container's address on `network`; None when it has none (it exited)."""

    def parse(answers: list[HttpResponse]) -> str | None:
        found = _engine_json(answers[0], missing=True) or {}
        networks = (found.get("NetworkSettings") or {}).get("Networks") or {}
        return (networks.get(network) or {}).get("IPAddress") or None

    template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    cli = Command.from_argv(["docker", "inspect", "--format", template, container])
    return Read("container_address", EngineRequest((engine_api.container(container),), cli), parse)


def _engine_json(answer: HttpResponse, *, missing: bool = False) -> Any:
    """What the engine answered; None for a 404 when `missing` (no such container)."""
    if missing and answer.status == 404:
        return None
    if answer.status != 200:
        raise ValueError(f"the Docker engine answered {answer.status}: {answer.text.strip()[:200]}")
    return answer.json()


def _version_of(app: Any, container: dict[str, Any]) -> str:
    """The version in a listed container's name (`${line#<prefix>-}` in Kamal's lines)."""
    names = [name.lstrip("/") for name in container.get("Names") or []]
    # `docker ps` shows the container's own name, not the `/<other>/<alias>` of a legacy link.
    name = next((n for n in names if "/" not in n), names[0] if names else "")
    prefix = f"{app.role.container_prefix}-"
    return name[len(prefix):] if name.startswith(prefix) else name


def containers(docker_commands: Any, filters: Sequence[str] = ()) -> Read[list[ContainerInfo]]:
    """Every container matching `filters` (`--filter` pairs), inspected (`docker_commands`:
    commands.Docker)."""
    values = [value for flag, value in zip(filters[::2], filters[1::2], strict=True) if flag == "--filter"]
    return _each_inspected("containers", engine_api.containers(values, all_states=True), engine_api.container,
                           docker_commands.inspect_containers(filters), container_infos)


def _each_inspected(fact: str, listing: str, inspection: Callable[[str], str], cli: Command,
                    infos: Callable[[list[dict[str, Any]]], list[T]]) -> Read[list[T]]:
    """What the engine lists at `listing`, then each item inspected at `inspection(id)` (as
    `cli` pipes `ls --quiet` into `inspect`), parsed by `infos`."""

    def each(answers: list[HttpResponse]) -> tuple[str, ...]:
        return tuple(inspection(item_id) for item_id in engine_api.listed_ids(answers[0]))

    def parse(answers: list[HttpResponse]) -> list[T]:
        _engine_json(answers[0])
        # One removed between the list and its inspection is left out, as `docker inspect` leaves it.
        return infos([found for answer in answers[1:] if (found := _engine_json(answer, missing=True))])

    shown = f"GET {unquote(inspection('<id>'))} for each"
    return Read(fact, EngineRequest((listing,), cli, then=each, then_shown=shown), parse)


def latest_image_id(app: Any) -> Read[str | None]:
    """The ID of the image tagged `latest[-<destination>]`; None when there is none."""

    def parse(answers: list[HttpResponse]) -> str | None:
        found = _engine_json(answers[0])
        return str(found[0]["Id"]) if found else None

    request = EngineRequest((engine_api.images([f"reference={app.config.latest_image}"]),), app.latest_image_id())
    return Read("latest_image_id", request, parse)


def image_service(builder: Any) -> Read[str | None]:
    """The `service` label of the version's image (Kamal's `validate_image` asks it); None
    when the image has none, or is not there."""

    def parse(answers: list[HttpResponse]) -> str | None:
        found = _engine_json(answers[0], missing=True) or {}
        return ((found.get("Config") or {}).get("Labels") or {}).get("service")

    image = builder.config.absolute_image
    return Read("image_service", EngineRequest((engine_api.image(image),), builder.validate_image()), parse)


def images(docker_commands: Any, repository: str | None) -> Read[list[ImageInfo]]:
    """Every image of `repository` (None: every image), inspected."""
    listing = engine_api.images([f"reference={repository}"] if repository else [])
    return _each_inspected("images", listing, engine_api.image, docker_commands.inspect_images(repository),
                           image_infos)


# -- the engine and the host ---------------------------------------------------------------

def docker_installed(docker_commands: Any) -> Read[bool]:
    return Read("docker_installed", docker_commands.installed(), lambda r: r.ok)


def buildx_installed(docker_commands: Any) -> Read[bool]:
    """Whether the docker CLI has the buildx plugin (Debian's docker.io has none)."""
    return Read("buildx_installed", docker_commands.buildx_installed(), lambda r: r.ok)


def engine(docker_commands: Any) -> Read[EngineInfo]:
    def parse(answers: list[HttpResponse]) -> EngineInfo:
        info = _engine_json(answers[0])
        return EngineInfo(str(info["ServerVersion"]), int(info["ContainersRunning"]), str(info["DockerRootDir"]))

    return Read("engine", EngineRequest((engine_api.INFO,), docker_commands.info(ENGINE_INFO_FORMAT)), parse)


def disk_free(docker_commands: Any, path: str) -> Read[int | None]:
    """Bytes available on the file system holding `path`; None when df cannot tell."""
    return Read("disk_free", docker_commands.disk_free(path), lambda r: parse_df_available(r.stdout) if r.ok else None)


def audit_lines(auditor: Any, lines: int) -> Read[list[str]]:
    """The last `lines` lines of the audit log; none when there is no log yet."""
    return Read("audit_lines", auditor.reveal(lines), _audit_lines)


def _audit_lines(result: Result) -> list[str]:
    if not result.ok and "No such file or directory" in result.stderr:
        return []
    return [line for line in result.check().stdout.splitlines() if line.strip()]


# -- the proxy -----------------------------------------------------------------------------

def container_state(name: str, cli: Command, fact: str, *, all_states: bool = True) -> Read[str]:
    """The state (`running`, `exited`...) of the container called `name`, which `cli` (a
    `docker ps --filter name=^<name>$`) asks; empty when there is none (without `all_states`:
    none running)."""

    def parse(answers: list[HttpResponse]) -> str:
        found = _engine_json(answers[0])
        return str(found[0]["State"]) if found else ""

    return Read(fact, EngineRequest((engine_api.containers([f"name=^{name}$"], all_states=all_states),), cli), parse)


def admin_json(fact: str, request: HttpRequest, missing: tuple[int, ...] = ()) -> Read[Any]:
    """A JSON answer of a proxy's admin API; None for the `missing` statuses."""
    def parse(response: HttpResponse) -> Any:
        if response.status in missing:
            return None
        if not response.ok:
            raise ValueError(
                f"Caddy refused {request.method} {request.path}: {response.status} {response.text.strip()}")
        return response.json() if response.body.strip() else None

    return Read(fact, request, parse)


def proxy_in_flight(request: HttpRequest) -> Read[dict[str, int]]:
    """Requests in flight per upstream address, from Caddy's `GET /reverse_proxy/upstreams`."""
    listed = admin_json("proxy_in_flight", request)
    return Read(listed.fact, request,
                lambda response: {u["address"]: int(u.get("num_requests", 0)) for u in listed.parse(response) or []})


# -- accessories ---------------------------------------------------------------------------

def accessory_exists(accessory_commands: Any) -> Read[bool]:
    """Whether a container with the accessory's `service` label exists, in any state (Kamal
    skips booting there). `accessory_commands`: commands.Accessory."""
    return Read("accessory_exists", accessory_commands.info(all=True, quiet=True), lambda r: bool(_stdout(r)))


@dataclass(frozen=True)
class AccessoryContainer:
    """One accessory container, as `docker ps --format '{{json .}}'` describes it."""

    name: str
    image: str
    state: str
    status: str
    ports: str

    @property
    def uptime(self) -> str | None:
        """How long it has been up (`3 minutes`); None unless it runs."""
        return self.status.removeprefix("Up ") if self.status.startswith("Up ") else None


def accessory_containers(accessory_commands: Any) -> Read[list[AccessoryContainer]]:
    return Read("accessory_containers", accessory_commands.info_json(), _accessory_containers)


def _accessory_containers(result: Result) -> list[AccessoryContainer]:
    found = []
    for line in result.check().stdout.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        status = str(item.get("Status", ""))
        state = str(item.get("State") or status.split(" ", 1)[0].lower())
        found.append(AccessoryContainer(name=str(item.get("Names", "")), image=str(item.get("Image", "")),
                                        state=state, status=status, ports=str(item.get("Ports", ""))))
    return found
