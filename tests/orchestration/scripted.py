"""A scripted executor: hosts that answer commands from rules and a small simulation,
with no I/O at all, so orchestration tests run in milliseconds.

    executor = ScriptedExecutor()
    executor.on(re.compile(r"^docker pull "), hosts=["10.0.0.2"],
                raises=HostUnreachable("10.0.0.2", "No route to host"))
    executor.on(re.compile(r"^docker run .*--name sample-web-"), hosts=["10.0.0.2"],
                exit_status=125, stderr="docker: Error response from daemon: ...")
    app.deploy(skip_push=True, executor=executor, ui="silent")
    executor.commands("10.0.0.2")          # every command that ran there, in order

Rules are tried first, in the order they were added; a rule matches on the command's text
(a string matches as a prefix, a compiled pattern with `search`, a callable `(host, text)`
returning true) and optionally only on some hosts. It answers with stdout/stderr/exit
status, or raises an exception, and may call a side effect.

Commands no rule answers go to a `SimulatedHost`, which keeps the little state that the
orchestration decides on, and answers as a Docker host would:

* containers (name, role, image, state, address): `docker run`, `docker stop` (through
  `xargs`), `docker rename`, `docker start`, `docker rm --force`, `docker container ls
  --filter name=^...$`, `docker ps` (versions, `{{.State}}`) and `docker tag`; the engine
  API's container lists, container inspection and image lists (`EngineRequest` reads);
* the checks before a deploy (`kamalnb.commands.preflight`): an engine that runs, answering
  `/info` or, when asked on the command line, `docker info`;
* the deploy lock directory and its details file (`mkdir`, `stat`/`cat | base64 -d`, `rm`);
* the audit log lines appended with `echo ... >> ...audit.log`;
* a Caddy proxy once its container runs: the admin API's `/config/` (and its http app's
  `shutdown_delay`), `/id/<route>` (GET, PATCH, DELETE), the routes list (GET, PUT
  .../<index>, POST), `/reverse_proxy/upstreams`, and each route's slot files (the uploaded `<route>.next`, the switch that moves it into
  the idle slot and makes that slot live, the read of every slot, settling, removing);
* an app in every running container answering any HTTP GET with 200.

Anything else succeeds with no output. Command texts are matched on their distinctive
part only, so a change of quoting or argument order elsewhere does not break the tests.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import shlex
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Union
from urllib.parse import parse_qs, unquote

from kamalnb.commands.engine import Call as EngineCall
from kamalnb.commands.engine import EngineRequest
from kamalnb.errors import HostError
from kamalnb.events import Events
from kamalnb.executors.base import BaseExecutor, Content, HttpResponse, content_bytes, forward_label, upload_label
from kamalnb.results import Result

Matcher = Union[str, "re.Pattern[str]", Callable[[str, str], bool]]

ADMIN_PORT = 2019  # Caddy's admin API, published on each host's loopback
PROXY_CONTAINER = "kamalnb-proxy"


@dataclass(frozen=True)
class Call:
    """One thing the orchestration asked of a host: a command, an upload or an HTTP request."""

    host: str
    kind: Literal["run", "upload", "http", "forward"]
    text: str


@dataclass
class Reply:
    """What a host answers to one command."""

    stdout: str = ""
    stderr: str = ""
    exit_status: int = 0


@dataclass
class Rule:
    matcher: Matcher
    hosts: frozenset[str] | None = None
    kind: Literal["run", "http"] = "run"
    reply: Reply | HttpResponse | None = None
    raises: BaseException | Callable[[str, str], BaseException] | None = None
    effect: Callable[[str, str], Any] | None = None
    simulate_first: bool = False
    times: int | None = None
    fired: int = 0

    def matches(self, host: str, kind: str, text: str) -> bool:
        if kind != self.kind or (self.hosts is not None and host not in self.hosts):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if isinstance(self.matcher, str):
            return text.startswith(self.matcher)
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.search(text) is not None
        return bool(self.matcher(host, text))


# ---- the simulated host -----------------------------------------------------------------------

@dataclass
class Container:
    name: str
    role: str | None
    image: str
    state: str = "running"  # running | exited | created
    address: str = ""
    id: str = ""
    seq: int = 0


_FLAGS = {"--detach", "-d", "--rm", "-i", "-it", "-t", "--interactive", "--tty", "--init", "--privileged"}
_PREFLIGHT = "sh -c 'info=$(docker info"  # the checks before a deploy: a running engine
_RE_DOCKER_RUN = re.compile(r"^docker run (?P<args>.*)$", re.S)
_RE_NAME_FILTER = re.compile(r"name=\^(?P<name>[^$']+)\$")
_RE_ROLE_FILTER = re.compile(r"label=role=(?P<role>[\w.-]+)")
_RE_STRIP_PREFIX = re.compile(r"\$\{line#(?P<prefix>[^}]+)\}")
_RE_RENAME = re.compile(r"^docker rename (?P<old>\S+) (?P<new>\S+)$")
_RE_SWITCH_SLOTS = re.compile(r"mv -f \.\./(?P<route>\S+)\.next ")
_RE_READ_SLOTS = re.compile(r"^grep -s -r -H '' \S+/upstreams ")
_RE_SETTLE_SLOT = re.compile(r"mv -f (?P<route>\S+)\.\$idle\.tmp ")
_RE_REMOVE_SLOTS = re.compile(r"^rm -f \S+/upstreams/(?P<route>\S+)\.a ")
_RE_START = re.compile(r"^docker start (?P<name>\S+)$")
_RE_RM_FORCE = re.compile(r"^docker rm --force (?P<name>\S+)$")
_RE_TAG = re.compile(r"^docker tag (?P<source>\S+) (?P<target>\S+)$")
_RE_AUDIT = re.compile(r'echo "(?P<line>.*)" >> (?P<file>\S*audit\.log)$', re.S)
_RE_LOCK_ACQUIRE = re.compile(r'^mkdir (?P<dir>[^\s-]\S*) && echo "(?P<details>[^"]*)" > (?P<file>\S+)$', re.S)
_RE_LOCK_STATUS = re.compile(r"^stat (?P<dir>\S+) > /dev/null && cat (?P<file>\S+) \| base64 -d$")
_RE_LOCK_RELEASE = re.compile(r"^rm (?P<file>\S+) && rm -r (?P<dir>\S+)$")


class SimulatedHost:
    """The state of one host that the orchestration reads back: containers, lock, audit log, Caddy."""

    def __init__(self, name: str, number: int) -> None:
        self.name = name
        self.number = number
        self.containers: dict[str, Container] = {}
        self.tags: dict[str, str] = {}
        # The `service` label of every image here: the tests' sample app's.
        self.image_service = "sample"
        self.dirs: set[str] = set()
        self.files: dict[str, str] = {}
        self.audit: list[str] = []
        self.routes: list[dict[str, Any]] = []
        # The http app's `shutdown_delay`, set once on a proxy without it.
        self.shutdown_delay: str | None = None
        self.in_flight: dict[str, int] = {}
        # route -> {"live": "a", "a": "<container id>:<port>", "b": ...}: the slot files.
        self.slots: dict[str, dict[str, str]] = {}
        self._seq = itertools.count(1)

    # -- containers -------------------------------------------------------------------------

    def add_container(self, name: str, role: str | None, image: str, state: str = "running") -> Container:
        seq = next(self._seq)
        container = Container(name, role, image, state, address=f"172.18.{self.number}.{seq + 1}",
                              id=f"{self.number:02x}{seq:010x}", seq=seq)
        self.containers[name] = container
        return container

    def running(self, role: str | None = None) -> list[Container]:
        """Running containers (of a role), newest first, as `docker ps` lists them."""
        found = [c for c in self.containers.values() if c.state == "running" and (role is None or c.role == role)]
        return sorted(found, key=lambda c: -c.seq)

    def state_of(self, name: str) -> str | None:
        container = self.containers.get(name)
        return container.state if container else None

    def _resolve(self, image: str) -> str:
        return self.tags.get(image, image)

    def _by_id(self, container_id: str) -> Container | None:
        return next((c for c in self.containers.values() if container_id in (c.id, _full_id(c))), None)

    # -- the proxy --------------------------------------------------------------------------

    @property
    def proxy_running(self) -> bool:
        return self.state_of(PROXY_CONTAINER) == "running"

    def route(self, route_id: str) -> dict[str, Any] | None:
        return next((r for r in self.routes if r.get("@id") == route_id), None)

    def upstreams(self, route_id: str) -> list[str]:
        """The route's targets, the live slot's first, each container named (`name:port`)."""
        files = self.slots.get(route_id, {}) if self.route(route_id) else {}
        live = files.get("live")
        order = [live, "b" if live == "a" else "a"] if live in ("a", "b") else []
        return list(dict.fromkeys(self._named(files[slot]) for slot in order if files.get(slot)))

    def _named(self, target: str) -> str:
        ref, _, port = target.rpartition(":")
        container = next((c for c in self.containers.values() if c.id == ref), None)
        return f"{container.name if container else ref}:{port}"

    def _slot_command(self, text: str) -> Reply | None:
        if match := _RE_SWITCH_SLOTS.search(text):
            route = match["route"]
            files = self.slots.setdefault(route, {})
            idle = "b" if files.get("live") == "a" else "a"
            files[idle] = self.files.pop(f".kamal/proxy/kamalnb/{route}.next", "")
            files["live"] = idle
            return Reply()
        if _RE_READ_SLOTS.match(text):
            return Reply(stdout="".join(f".kamal/proxy/kamalnb/upstreams/{route}.{slot}:{content}\n"
                                        for route, files in self.slots.items() for slot, content in files.items()
                                        if content))
        if match := _RE_SETTLE_SLOT.search(text):
            files = self.slots.get(match["route"], {})
            live = "a" if files.get("live") == "a" else "b"
            files["b" if live == "a" else "a"] = files.get(live, "")
            return Reply()
        if match := _RE_REMOVE_SLOTS.match(text):
            self.slots.pop(match["route"], None)
            return Reply()
        return None

    def serving(self, route_id: str) -> str | None:
        """The container that gets new requests of `route_id` (its first upstream), if any."""
        upstreams = self.upstreams(route_id)
        return upstreams[0].rsplit(":", 1)[0] if upstreams else None

    # -- commands ---------------------------------------------------------------------------

    def run(self, text: str) -> Reply:
        for handler in (self._lock_command, self._audit, self._slot_command, self._docker):
            reply = handler(text)
            if reply is not None:
                return reply
        return Reply()

    def _audit(self, text: str) -> Reply | None:
        match = _RE_AUDIT.search(text)
        if not match:
            return None
        self.audit.append(match["line"])
        return Reply()

    def _lock_command(self, text: str) -> Reply | None:
        if match := _RE_LOCK_ACQUIRE.match(text):
            if match["dir"] in self.dirs:
                return Reply(stderr=f"mkdir: cannot create directory ‘{match['dir']}’: File exists\n",
                             exit_status=1)
            self.dirs.add(match["dir"])
            self.files[match["file"]] = match["details"]
            return Reply()
        if match := _RE_LOCK_STATUS.match(text):
            if match["dir"] not in self.dirs:
                return Reply(stderr=f"stat: cannot statx '{match['dir']}': No such file or directory\n",
                             exit_status=1)
            try:
                return Reply(stdout=base64.b64decode(self.files.get(match["file"], "")).decode())
            except (binascii.Error, UnicodeDecodeError):
                return Reply(stderr="base64: invalid input\n", exit_status=1)
        if match := _RE_LOCK_RELEASE.match(text):
            if match["file"] not in self.files:
                return Reply(stderr=f"rm: cannot remove '{match['file']}': No such file or directory\n",
                             exit_status=1)
            del self.files[match["file"]]
            self.dirs.discard(match["dir"])
            return Reply()
        return None

    def hold_lock(self, lock_dir: str, details: str) -> None:
        """A lock taken earlier (by Kamal, or another kamalnb): the directory and its details."""
        self.dirs.add(lock_dir)
        self.files[f"{lock_dir}/details"] = base64.encodebytes(details.encode()).decode()

    def lock_held(self, lock_dir: str) -> bool:
        return lock_dir in self.dirs

    def _docker(self, text: str) -> Reply | None:
        if text.startswith(_PREFLIGHT):
            return Reply(stdout="docker 0\ninfo 28.1.1|/var/lib/docker\n")
        if match := _RE_DOCKER_RUN.match(text):
            return self._docker_run(match["args"])
        if match := _RE_RENAME.match(text):
            container = self.containers.pop(match["old"], None)
            if container is None:
                return Reply(stderr=f"Error response from daemon: No such container: {match['old']}\n",
                             exit_status=1)
            container.name = match["new"]
            self.containers[container.name] = container
            return Reply()
        if match := _RE_START.match(text):
            if match["name"] in self.containers:
                self.containers[match["name"]].state = "running"
                return Reply(stdout=match["name"] + "\n")
            return Reply(stderr=f"Error response from daemon: No such container: {match['name']}\n", exit_status=1)
        if match := _RE_RM_FORCE.match(text):
            self.containers.pop(match["name"], None)
            return Reply(stdout=match["name"] + "\n")
        if match := _RE_TAG.match(text):
            self.tags[match["target"]] = self._resolve(match["source"])
            return Reply()
        if text.startswith("docker container ls") and (match := _RE_NAME_FILTER.search(text)):
            return self._by_name(text, match["name"])
        if "docker ps" in text and (role := _RE_ROLE_FILTER.search(text)):
            return self._versions(text, role["role"])
        if text.startswith("docker ps") and (match := _RE_NAME_FILTER.search(text)):
            container = self.containers.get(match["name"])
            if container is None or ("--all" not in text and container.state != "running"):
                return Reply()
            return Reply(stdout=(container.state if "{{.State}}" in text else container.name) + "\n")
        return None

    def _docker_run(self, args: str) -> Reply:
        words = shlex.split(args)
        options: dict[str, list[str]] = {}
        position = 0
        while position < len(words) and words[position].startswith("-"):
            word = words[position]
            if word in _FLAGS or "=" in word:
                position += 1
            else:
                options.setdefault(word, []).append(words[position + 1] if position + 1 < len(words) else "")
                position += 2
        image = words[position] if position < len(words) else ""
        name = (options.get("--name") or [f"container-{self.number}"])[0]
        if name in self.containers:
            return Reply(stderr=f'docker: Error response from daemon: Conflict. The container name "/{name}" '
                                f"is already in use.\n", exit_status=125)
        role = next((label.split("=", 1)[1] for label in options.get("--label", []) if label.startswith("role=")),
                    None)
        container = self.add_container(name, role, image)
        return Reply(stdout=container.id + "\n")

    def _by_name(self, text: str, name: str) -> Reply:
        """`docker container ls --all --filter name=^<name>$ --quiet`, and what is piped into `xargs`."""
        container = self.containers.get(name)
        if container is not None and "--all" not in text.split("|")[0] and container.state != "running":
            container = None
        if "| xargs docker stop" in text:
            if container is None:
                return Reply(stderr='"docker stop" requires at least 1 argument.\n', exit_status=123)
            if container.state == "running":
                container.state = "exited"
            return Reply(stdout=container.id + "\n")
        if "| xargs docker container rm" in text:
            if container is None:
                return Reply(stderr='"docker container rm" requires at least 1 argument.\n', exit_status=123)
            del self.containers[container.name]
            return Reply(stdout=container.id + "\n")
        return Reply(stdout=container.id + "\n" if container else "")

    def _versions(self, text: str, role: str) -> Reply:
        """The current running version (`docker ps --latest`, the `latest` image's first) or
        every running version of a role, each name with its `${line#prefix}` cut off."""
        prefix = match["prefix"] if (match := _RE_STRIP_PREFIX.search(text)) else ""
        running = self.running(role)
        if "--latest" in text:
            latest = self._resolve(next((w.split("reference=", 1)[1] for w in text.split()
                                         if w.startswith("reference=")), ""))
            of_latest = [c for c in running if latest and self._resolve(c.image) == latest]
            running = (of_latest or running)[:1]
        names = [c.name[len(prefix):] if c.name.startswith(prefix) else c.name for c in running]
        return Reply(stdout="".join(f"{name}\n" for name in names))

    # -- the engine's API ------------------------------------------------------------------

    def engine(self, method: str, path: str, body: bytes | None = None) -> HttpResponse:
        """The Docker Engine API's answer to a GET: the role's containers listed (`all`,
        `limit`, filters on `label=role=`, `status`, `name=^...$`), one container inspected,
        the images of a reference, an image inspected (its `service` label), a network,
        `/info`; and the changes a deploy makes: a container stopped, renamed or removed, an
        image tagged or removed, images pruned, a network created."""
        route, _, query = path.partition("?")
        params = parse_qs(query)
        if method != "GET":
            return self._engine_change(method, unquote(route), {key: values[0] for key, values in params.items()})
        wanted = json.loads(params["filters"][0]) if "filters" in params else {}
        if route == "/images/json":
            reference = wanted.get("reference", [""])[0]
            return _json([{"Id": self.tags[reference]}] if reference in self.tags else [])
        if route == "/containers/json":
            roles = [label.split("=", 1)[1] for label in wanted.get("label", []) if label.startswith("role=")]
            names = [re.escape(name.strip("^$")) for name in wanted.get("name", [])]
            statuses = wanted.get("status") or (None if params.get("all") == ["1"] else ["running"])
            found = [c for c in sorted(self.containers.values(), key=lambda c: -c.seq)
                     if (not roles or c.role in roles) and (statuses is None or c.state in statuses)
                     and all(re.fullmatch(name, c.name) for name in names)]
            found = found[:int(params["limit"][0])] if "limit" in params else found
            return _json([{"Id": _full_id(c), "Names": [f"/{c.name}"], "Image": c.image,
                           "ImageID": self._resolve(c.image), "State": c.state} for c in found])
        if route.startswith("/containers/") and route.endswith("/json"):
            name = unquote(route[len("/containers/"):-len("/json")])
            container = self.containers.get(name) or self._by_id(name)
            if container is None:
                return _no_such("container", name)
            networks = {"kamal": {"IPAddress": container.address if container.state == "running" else ""}}
            created = f"2026-01-01T00:{container.seq // 60:02d}:{container.seq % 60:02d}Z"
            return _json({"Id": _full_id(container), "Name": f"/{container.name}", "Created": created,
                          "State": {"Status": container.state}, "NetworkSettings": {"Networks": networks}})
        if route.startswith("/images/") and route.endswith("/json"):
            reference = unquote(route[len("/images/"):-len("/json")])
            return _json({"Id": self._resolve(reference), "Config": {"Labels": {"service": self.image_service}}})
        if route == "/info":
            running = sum(c.state == "running" for c in self.containers.values())
            return _json({"ServerVersion": "28.1.1", "ContainersRunning": running, "DockerRootDir": "/var/lib/docker"})
        if route.startswith("/networks/"):
            return _json({"Name": unquote(route[len("/networks/"):])})
        return HttpResponse(404, "Not Found", body=b'{"message":"page not found"}')

    def _engine_change(self, method: str, route: str, params: Mapping[str, str]) -> HttpResponse:
        done = HttpResponse(204, "No Content")
        parts = route.strip("/").split("/")
        if parts[0] == "containers" and len(parts) >= 2:
            container = self.containers.get(parts[1]) or self._by_id(parts[1])
            if container is None:
                return _no_such("container", parts[1])
            if method == "POST" and parts[2:] == ["stop"]:
                if container.state != "running":
                    return HttpResponse(304, "Not Modified")
                container.state = "exited"
                return done
            if method == "POST" and parts[2:] == ["rename"]:
                del self.containers[container.name]
                container.name = params["name"]
                self.containers[container.name] = container
                return done
            if method == "DELETE" and len(parts) == 2:
                del self.containers[container.name]
                return done
        if parts[0] == "images" and method == "POST" and parts[-1] == "tag":
            source = "/".join(parts[1:-1])
            self.tags[f"{params['repo']}:{params['tag']}"] = self._resolve(source)
            return HttpResponse(201, "Created")
        if parts[0] == "images":
            return _json([] if method == "DELETE" else {"ImagesDeleted": None, "SpaceReclaimed": 0})
        if route == "/networks/create":
            return HttpResponse(201, "Created", body=b'{"Id": "kamal"}')
        return HttpResponse(404, "Not Found", body=b'{"message":"page not found"}')

    # -- HTTP -------------------------------------------------------------------------------

    def http(self, method: str, address: str, port: int, path: str, body: str | None) -> HttpResponse:
        if address in ("127.0.0.1", "localhost") and port == ADMIN_PORT:
            return self._caddy(method, path, body)
        container = next((c for c in self.containers.values() if c.address == address), None)
        if container is None or container.state != "running":
            raise HostError(self.name, f"{method} http://{address}:{port}{path} failed: Connection refused")
        return HttpResponse(200, "OK", body=b"OK")

    def _caddy(self, method: str, path: str, body: str | None) -> HttpResponse:
        if not self.proxy_running:
            raise HostError(self.name, f"{method} http://127.0.0.1:{ADMIN_PORT}{path} failed: Connection refused")
        data = json.loads(body) if body else None
        routes_path = "/config/apps/http/servers/kamalnb/routes"
        if method == "GET" and path == "/reverse_proxy/upstreams":
            # One upstream per slot (a placeholder); `in_flight` counts by `name:port`.
            listed = [(f"{{file./etc/kamalnb/upstreams/{route_id}.{slot}}}",
                       self.in_flight.get(self._named(files.get(slot, "")), 0))
                      for route_id, files in self.slots.items() if self.route(route_id) for slot in ("a", "b")]
            return _json([{"address": address, "num_requests": count, "fails": 0} for address, count in listed])
        if path == routes_path or path.startswith(routes_path + "/"):
            if method == "GET":
                return _json(self.routes)
            if method == "PUT" and path[len(routes_path) + 1:].isdigit():
                index = int(path[len(routes_path) + 1:])
                if index >= len(self.routes):
                    return HttpResponse(400, "Bad Request", body=json.dumps(
                        {"error": f"[{path}] array index out of bounds: {index}"}).encode())
                self.routes.insert(index, data)
                return _json(None)
            if method == "POST" and path == routes_path:
                self.routes.append(data)
                return _json(None)
        if path.startswith("/id/"):
            route_id = path[len("/id/"):]
            index = next((i for i, r in enumerate(self.routes) if r.get("@id") == route_id), None)
            if index is None:
                return HttpResponse(404, "Not Found", body=json.dumps(
                    {"error": f"unknown object ID '{route_id}'"}).encode())
            if method == "GET":
                return _json(self.routes[index])
            if method == "PATCH":
                self.routes[index] = data
                return _json(None)
            if method == "DELETE":
                del self.routes[index]
                return _json(None)
        if method == "POST" and path == "/config/apps/http/shutdown_delay":
            self.shutdown_delay = data
            return _json(None)
        http_app = {"servers": {"kamalnb": {"routes": self.routes}},
                    **({"shutdown_delay": self.shutdown_delay} if self.shutdown_delay else {})}
        if method == "GET" and path == "/config/apps/http":
            return _json(http_app)
        if method == "GET" and path.startswith("/config/"):
            return _json({"apps": {"http": http_app}})
        return HttpResponse(400, "Bad Request", body=b'{"error":"not simulated"}')


def _full_id(container: Container) -> str:
    return container.id + "0" * 52


def _no_such(kind: str, name: str) -> HttpResponse:
    return HttpResponse(404, "Not Found", body=json.dumps({"message": f"No such {kind}: {name}"}).encode())


def _json(value: Any) -> HttpResponse:
    return HttpResponse(200, "OK", {"Content-Type": "application/json"}, json.dumps(value).encode())


# ---- the executor -----------------------------------------------------------------------------

class ScriptedExecutor(BaseExecutor):
    """Answers every command from rules, else from a simulated host; records every call."""

    def __init__(self, *, events: Events | None = None) -> None:
        self.events = events or Events()
        self.calls: list[Call] = []
        self.rules: list[Rule] = []
        self._hosts: dict[str, SimulatedHost] = {}
        self._lock = threading.RLock()

    # -- scripting --------------------------------------------------------------------------

    def on(
        self,
        matcher: Matcher,
        *,
        hosts: Iterable[str] | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        exit_status: int | None = None,
        raises: BaseException | Callable[[str, str], BaseException] | None = None,
        effect: Callable[[str, str], Any] | None = None,
        simulate_first: bool = False,
        times: int | None = None,
    ) -> Rule:
        """Answer matching commands with this output and exit status, or raise `raises`
        (an exception, or a callable `(host, text)` making one). `effect(host, text)` is
        called first. A rule with neither an answer nor an exception lets the simulated host
        answer (after its effect); with `simulate_first` the simulated host runs the command
        before the rule answers or raises (a connection lost after the command ran).
        `times` limits how often the rule matches."""
        given = (stdout, stderr, exit_status) != (None, None, None)
        reply = Reply(stdout or "", stderr or "", exit_status or 0) if given else None
        rule = Rule(matcher, frozenset(hosts) if hosts is not None else None, "run",
                    reply, raises, effect, simulate_first, times)
        self.rules.append(rule)
        return rule

    def on_http(
        self,
        matcher: Matcher,
        *,
        hosts: Iterable[str] | None = None,
        status: int | None = None,
        body: bytes | str = b"",
        raises: BaseException | Callable[[str, str], BaseException] | None = None,
        effect: Callable[[str, str], Any] | None = None,
        times: int | None = None,
    ) -> Rule:
        """Like `on`, for HTTP requests, matched on `METHOD http://address:port/path`;
        without `status` or `raises` the simulated host answers (after `effect`)."""
        data = body.encode() if isinstance(body, str) else body
        reply = HttpResponse(status, "", body=data) if status is not None else None
        rule = Rule(matcher, frozenset(hosts) if hosts is not None else None, "http",
                    reply, raises, effect, False, times)
        self.rules.append(rule)
        return rule

    def host(self, name: str) -> SimulatedHost:
        """The simulated state of host `name` (created on first use)."""
        with self._lock:
            if name not in self._hosts:
                self._hosts[name] = SimulatedHost(name, len(self._hosts) + 1)
            return self._hosts[name]

    # -- what ran ---------------------------------------------------------------------------

    def commands(self, host: str | None = None, *, kind: str | None = "run") -> list[str]:
        """The texts of what ran (on one host, or anywhere), in order; `kind=None` for all calls."""
        with self._lock:
            return [c.text for c in self.calls
                    if (host is None or c.host == host) and (kind is None or c.kind == kind)]

    def ran(self, pattern: str | re.Pattern[str], host: str | None = None) -> list[str]:
        """The commands matching `pattern` (a regex), on one host or anywhere."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        return [text for text in self.commands(host) if regex.search(text)]

    def index(self, pattern: str | re.Pattern[str], host: str, *, kind: str | None = "run") -> int:
        """Where the first call matching `pattern` is among the host's calls (ValueError if none)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        texts = self.commands(host, kind=kind)
        for position, text in enumerate(texts):
            if regex.search(text):
                return position
        raise ValueError(f"no call matching {regex.pattern!r} on {host}:\n  " + "\n  ".join(texts))

    @property
    def hosts(self) -> list[str]:
        with self._lock:
            return list(dict.fromkeys(c.host for c in self.calls))

    # -- the Executor protocol ------------------------------------------------------------

    def run(self, host: str, command: Any, *, timeout: float | None = None, check: bool = True) -> Result:
        text = str(command)
        started, t0 = self._started(host, text)
        with self._lock:
            self.calls.append(Call(host, "run", text))
            rule = self._rule(host, "run", text)
        reply = self._answer(rule, host, text, lambda: self.host(host).run(text))
        return self._finished(host, text, reply.exit_status, started, t0, reply.stdout, reply.stderr, check)

    def _engine_sender(self, host: str, request: EngineRequest, display: str) -> Callable[[EngineCall], HttpResponse]:
        """Recorded as a command (its text shows the command line it stands for), which a
        rule may answer by raising, or by failing: then the engine refuses every request
        with the rule's stderr. Else the simulated host answers each request."""
        text = display
        with self._lock:
            self.calls.append(Call(host, "run", text))
            rule = self._rule(host, "run", text)
        reply = self._answer(rule, host, text, lambda: None)

        def send(call: EngineCall) -> HttpResponse:
            if isinstance(reply, Reply) and reply.exit_status:
                return HttpResponse(500, "Internal Server Error", body=json.dumps({"message": reply.stderr}).encode())
            with self._lock:
                return self.host(host).engine(call.method, call.path, call.body)

        return send

    def upload(self, host: str, content: Content, path: str, *, mode: int = 0o644) -> Result:
        text = upload_label(path, len(content_bytes(content)), mode)
        started, t0 = self._started(host, text)
        with self._lock:
            self.calls.append(Call(host, "upload", text))
            self.host(host).files[path] = content_bytes(content).decode("utf-8", "replace")
        return self._finished(host, text, 0, started, t0, "", "", check=False)

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
        text = f"{method} http://{address}:{port}{path}"
        data = body.decode() if isinstance(body, bytes) else body
        with self._lock:
            self.calls.append(Call(host, "http", text))
            rule = self._rule(host, "http", text)
        return self._answer(rule, host, text, lambda: self.host(host).http(method, address, port, path, data))

    @contextmanager
    def forward_to_local(self, host: str, port: int) -> Iterator[None]:
        text = forward_label(port)
        with self._lock:
            self.calls.append(Call(host, "forward", text))
        try:
            yield
        finally:
            with self._lock:
                self.calls.append(Call(host, "forward", f"closed {text}"))

    def close(self) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _rule(self, host: str, kind: str, text: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(host, kind, text):
                rule.fired += 1
                return rule
        return None

    def _answer(self, rule: Rule | None, host: str, text: str, simulate: Callable[[], Any]) -> Any:
        if rule is None:
            with self._lock:
                return simulate()
        if rule.effect is not None:
            rule.effect(host, text)
        simulated = None
        if rule.simulate_first or (rule.reply is None and rule.raises is None):
            with self._lock:
                simulated = simulate()
        if rule.raises is not None:
            raise rule.raises if isinstance(rule.raises, BaseException) else rule.raises(host, text)
        return rule.reply if rule.reply is not None else simulated
