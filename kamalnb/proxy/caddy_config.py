"""Pure builders for the Caddy proxy: its container and its JSON configuration.

Caddy's admin API listens on the container's port 2019, published on the host's loopback
only; kamalnb reaches it through an SSH tunnel. Routes are identified by `@id` (one per
service/role/destination). `--resume` makes Caddy start from its last autosaved
configuration, so routes survive a proxy restart; the base file only seeds the first start.

Switching never changes Caddy's configuration (every change through the admin API is a
reload, which closes idle keep-alive connections and resets about one request in every
~200 switches). Each route has two upstream slots, `a` and `b`, whose dial addresses are
files read on every request (`{file.*}` placeholders, Caddy 2.7 or newer) in the host's
`.kamal/proxy/kamalnb/upstreams/`, mounted in the container: `<route>.a` and `<route>.b`
hold `<container id>:<port>`, `<route>.live` names the slot that gets new requests. A switch
writes the idle slot, then renames a new `.live` over the old one: one atomic change that
no request sees half-done, with no reload. Caddy counts requests in flight per slot (each
slot is its own upstream), which is what draining waits on.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import asdict
from typing import Any

from kamalnb.commands import engine
from kamalnb.commands.base import Command
from kamalnb.commands.engine import EngineRequest
from kamalnb.config.base import NETWORK
from kamalnb.proxy.base import Certificate, Route

CONTAINER = "kamalnb-proxy"
KAMAL_PROXY_CONTAINER = "kamal-proxy"
ADMIN_PORT = 2019
SERVER = "kamalnb"
CONFIG_DIR = ".kamal/proxy/kamalnb"
CONFIG_FILE = f"{CONFIG_DIR}/caddy.json"
# `kamalnb proxy boot_config set`: how the next proxy container is run (Kamal's
# `.kamal/proxy/options`); kept across `proxy remove`, read by `boot`.
OPTIONS_FILE = f"{CONFIG_DIR}/options.json"
BOOT_OPTIONS = ("publish", "http_port", "https_port", "log_max_size", "docker_options")
# The data volume is an older kamalnb's place for Caddy's data; `remove` still removes it.
VOLUMES = ("kamalnb-proxy-config", "kamalnb-proxy-data")
# Caddy's data (ACME account, certificates) on the host, so that `proxy reboot`, `remove`
# then `boot`, or a new image keep the certificates rather than ask the CA again.
DATA_DIR = f"{CONFIG_DIR}/data"
MOUNTED_DIR = "/etc/kamalnb"
STORAGE = "/data/caddy"
# Each route's `Certificate` on this host (`<route>.json`), and the files kamalnb placed.
TLS_DIR = f"{CONFIG_DIR}/tls"
ACME_CHALLENGE = "/.well-known/acme-challenge"
# The route that passes a route's ACME challenges to the host obtaining its certificate.
CHALLENGES_SUFFIX = ".acme"
HTTP_APP_PATH = "/config/apps/http"
ROUTES_PATH = f"{HTTP_APP_PATH}/servers/{SERVER}/routes"
# Where the slot files live: on the host (relative to the login user's home) and in the container.
UPSTREAMS_DIR = f"{CONFIG_DIR}/upstreams"
# Each route's configuration, kept on the host, so that a proxy removed and booted again
# (its autosaved configuration gone with its volume) starts with every app's route.
ROUTES_DIR = f"{CONFIG_DIR}/routes"
MOUNTED_UPSTREAMS_DIR = "/etc/kamalnb/upstreams"
SLOTS = ("a", "b")
LIVE = "live"
# `<route>.maintenance` reads `on` while the route answers 503 with `<route>.page`.
MAINTENANCE = "maintenance"
PAGE = "page"


# How long Caddy, told to stop (a reboot's `stop`), keeps its listeners and serves on before it
# closes them and its idle kept-alive connections, meanwhile answering `Connection: close`
# (`route_config`): clients let go of their connections rather than send a request on one
# just as Caddy closes it, which would be lost. A reload keeps the listeners: no delay.
SHUTDOWN_DELAY = "1s"


def base_config(routes: list[dict[str, Any]] | None = None,
                certificates: list[Certificate] | None = None) -> dict[str, Any]:
    """Caddy's first configuration, with the `routes` and `certificates` kept on the host,
    routes most specific first."""
    ordered = sorted(routes or [], key=lambda config: route_order(route_from_config(config)))
    config = {
        "admin": {"listen": f"0.0.0.0:{ADMIN_PORT}"},
        "apps": {
            "http": {
                "shutdown_delay": SHUTDOWN_DELAY,
                "servers": {
                    SERVER: {
                        "listen": [":80"],
                        # Caddy would otherwise choose which names get certificates and
                        # redirects by itself; kamalnb says so per route (`with_tls`).
                        "automatic_https": {"disable": True},
                        "routes": ordered,
                    }
                }
            }
        },
    }
    return with_tls(config, certificates or [])


def with_tls(config: dict[str, Any], certificates: list[Certificate]) -> dict[str, Any]:
    """`config` serving HTTPS on 443 with `certificates` (plain HTTP stays on 80: Caddy
    applies TLS to every listener of the server but its HTTP port), its data where the host
    keeps it."""
    config = json.loads(json.dumps(config))
    config["storage"] = {"module": "file_system", "root": STORAGE}
    server = config["apps"]["http"]["servers"][SERVER]
    server["listen"] = [":80", ":443"]
    server["tls_connection_policies"] = [{}]
    # No HTTP/3: the container publishes TCP ports only, and Caddy would advertise h3
    # (Alt-Svc) to clients that would then try a UDP port nothing answers on.
    server["protocols"] = ["h1", "h2"]
    if certificates:
        config["apps"]["tls"] = tls_app(certificates)
    else:
        config["apps"].pop("tls", None)
    return config


def mounted(path: str) -> str:
    """Where the proxy container sees a file of the host's `CONFIG_DIR`."""
    return MOUNTED_DIR + path.removeprefix(CONFIG_DIR)


def tls_app(certificates: list[Certificate]) -> dict[str, Any]:
    """Caddy's `tls` app: names obtained by ACME on this host, files loaded as they are."""
    obtained = [c for c in certificates if c.acme_ca]
    loaded = [{"certificate": mounted(cert), "key": mounted(key), "tags": [c.fingerprint]}
              for c in certificates for cert, key in c.files]
    app: dict[str, Any] = {}
    certs: dict[str, Any] = {}
    if obtained:
        certs["automate"] = [name for c in obtained for name in c.names]
        app["automation"] = {"policies": [{"subjects": list(c.names), "issuers": [acme_issuer(c)]} for c in obtained]}
    if loaded:
        certs["load_files"] = loaded
    if certs:
        app["certificates"] = certs
    return app


def acme_issuer(certificate: Certificate) -> dict[str, Any]:
    # HTTP-01 only: a TLS-ALPN-01 challenge cannot be passed on to another host.
    issuer: dict[str, Any] = {"module": "acme", "ca": certificate.acme_ca,
                              "challenges": {"tls-alpn": {"disabled": True}}}
    if certificate.acme_ca_root:
        issuer["trusted_roots_pem_files"] = [mounted(certificate.acme_ca_root)]
    return issuer


def challenges_route(route_id: str, names: tuple[str, ...], to: str) -> dict[str, Any]:
    """Passes the CA's HTTP-01 challenges for `names` to the proxy of host `to` (port 80),
    which obtains the certificate; placed before the app's route (a longer path prefix)."""
    return {
        "@id": route_id + CHALLENGES_SUFFIX,
        "match": [{"host": list(names), "path": [f"{ACME_CHALLENGE}/*", ACME_CHALLENGE]}],
        "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": f"{to}:80"}]}],
        "terminal": True,
    }


def certificate_file(route_id: str) -> str:
    return f"{TLS_DIR}/{route_id}.json"


def certificate_json(certificate: Certificate) -> str:
    return json.dumps(asdict(certificate), sort_keys=True)


def read_certificates() -> Command:
    """Every route's `Certificate` on the host: `path:JSON` lines."""
    return Command(("grep", "-s", "-H", "''", f"{TLS_DIR}/*.json", "||", "true"))


def parse_certificates(text: str) -> dict[str, Certificate]:
    """`read_certificates`' answer -> {route: Certificate}."""
    found = {}
    for line in text.splitlines():
        path, colon, document = line.partition(":")
        if colon and document.strip():
            data = json.loads(document)
            found[path.rsplit("/", 1)[-1].removesuffix(".json")] = Certificate(
                names=tuple(data["names"]), acme_ca=data.get("acme_ca"), acme_ca_root=data.get("acme_ca_root"),
                files=tuple((cert, key) for cert, key in data.get("files", [])),
                fingerprint=data.get("fingerprint", ""), challenges_to=data.get("challenges_to"))
    return found


def read_file(path: str, *, private: bool = False, in_proxy: bool = False) -> Command:
    """A file's content, nothing when it is missing; a `private` one never shows as output.
    `in_proxy`: a file of the proxy container (Caddy's data, which only root may read on
    the host)."""
    argv = ("docker", "exec", CONTAINER, "cat", path) if in_proxy else ("cat", path)
    return Command((*argv, "2>/dev/null", "||", "true"), private_output=private)


def remove_certificate(route_id: str) -> Command:
    return Command.from_argv(("rm", "-rf", certificate_file(route_id), f"{TLS_DIR}/{route_id}"))


def ca_root_file(route_id: str) -> str:
    """Where the root the proxy trusts for a route's ACME CA is put on the host."""
    return f"{TLS_DIR}/{route_id}/ca.pem"


def placed_files(route_id: str, name: str) -> tuple[str, str]:
    """Where kamalnb puts a route's certificate and key for `name` on a host (a wildcard's
    `*` spelled out, as Caddy spells it)."""
    return f"{TLS_DIR}/{route_id}/{_safe(name)}.crt", f"{TLS_DIR}/{route_id}/{_safe(name)}.key"


def _safe(key: str) -> str:
    """certmagic's `StorageKeys.Safe`: how a name or CA becomes a directory of Caddy's storage."""
    key = key.lower().strip()
    for old, new in ((" ", "_"), ("+", "_plus_"), ("*", "wildcard_"), (":", "-"), ("..", "")):
        key = key.replace(old, new)
    return re.sub(r"[^\w@.\-]", "", key)


def obtained_files(acme_ca: str, name: str) -> tuple[str, str]:
    """Where Caddy keeps the certificate and key it obtained from `acme_ca` for `name` (in
    its container), as certmagic names them: the CA's host and path, then the name."""
    url = urllib.parse.urlsplit(acme_ca)
    issuer = url.netloc
    path = url.path.replace("/", "-").replace("\\", "-").strip("-")
    if path:
        issuer += "-" + path
    directory = f"{STORAGE}/certificates/{_safe(issuer)}/{_safe(name)}"
    return f"{directory}/{_safe(name)}.crt", f"{directory}/{_safe(name)}.key"


def slot_upstream(route_id: str, slot: str) -> str:
    """What Caddy reads for one slot file of a route: a placeholder, which is also the
    address Caddy lists the slot's upstream under (with its requests in flight)."""
    return "{file." + f"{MOUNTED_UPSTREAMS_DIR}/{route_id}.{slot}" + "}"


def _slot_proxy(route: Route, slot: str) -> dict[str, Any]:
    handler: dict[str, Any] = {"handler": "reverse_proxy", "upstreams": [{"dial": slot_upstream(route.id, slot)}]}
    if route.response_timeout:
        handler["transport"] = {"protocol": "http", "response_header_timeout": f"{route.response_timeout:g}s"}
    if route.request_buffers:
        handler["request_buffers"] = route.request_buffers
    if route.response_buffers:
        handler["response_buffers"] = route.response_buffers
    return handler


def _redirect(route: Route) -> list[dict[str, Any]]:
    """Plain HTTP requests of an HTTPS route go to HTTPS (`ssl_redirect`), path unstripped."""
    if not (route.tls and route.ssl_redirect):
        return []
    return [{"handler": "subroute", "routes": [{
        "match": [{"protocol": "http"}],
        "handle": [{"handler": "static_response", "status_code": 308,
                    "headers": {"Location": ["https://{http.request.host}{http.request.uri}"]}}],
        "terminal": True,
    }]}]


def _before_proxy(route: Route) -> list[dict[str, Any]]:
    handlers: list[dict[str, Any]] = []
    if route.forward_headers:
        # What Caddy's server-wide `trusted_proxies` sets per request, here for this route
        # only: reverse_proxy then keeps the incoming X-Forwarded-* headers.
        handlers.append({"handler": "vars", "trusted_proxy": True})
    if route.max_request_body:
        handlers.append({"handler": "request_body", "max_size": route.max_request_body})
    prefix = (route.path_prefix or "").rstrip("/")
    if prefix and route.strip_path_prefix:
        handlers.append({"handler": "rewrite", "strip_path_prefix": prefix})
    return handlers


def route_matcher(route: Route) -> dict[str, Any]:
    matcher: dict[str, Any] = {}
    if route.hosts:
        matcher["host"] = list(route.hosts)
    if route.path_prefix:
        matcher["path"] = [route.path_prefix.rstrip("/") + "/*", route.path_prefix.rstrip("/") or "/"]
    return matcher


def route_config(route: Route) -> dict[str, Any]:
    """The route: requests go to slot `a` while `<route>.live` reads `a`, else to slot `b`;
    while `<route>.maintenance` reads `on`, every new request gets 503 and `<route>.page`.

    It names no container: which one serves is in the slot files, so a switch leaves this
    configuration (and Caddy) alone.
    """
    live = slot_upstream(route.id, LIVE)
    config: dict[str, Any] = {
        "@id": route.id,
        "handle": [*_redirect(route), *_before_proxy(route), {
            "handler": "subroute",
            "routes": [
                # Not terminal: the request goes on to the routes below.
                {"match": [{"vars": {"{http.shutting_down}": ["true"]}}], "handle": [{
                    "handler": "headers", "response": {"set": {"Connection": ["close"]}}}]},
                {"match": [{"vars": {slot_upstream(route.id, MAINTENANCE): ["on"]}}], "handle": [{
                    "handler": "static_response", "status_code": 503,
                    "headers": {"Content-Type": ["text/html; charset=utf-8"], "Retry-After": ["60"]},
                    "body": slot_upstream(route.id, PAGE),
                }], "terminal": True},
                {"match": [{"vars": {live: ["a"]}}], "handle": [_slot_proxy(route, "a")], "terminal": True},
                {"handle": [_slot_proxy(route, "b")], "terminal": True},
            ],
        }],
        "terminal": True,
    }
    matcher = route_matcher(route)
    if matcher:
        config["match"] = [matcher]
    return config


def route_slot_upstreams(config: dict[str, Any]) -> list[str]:
    """The slot upstreams (placeholders) a route dials, as Caddy lists them."""
    found: list[str] = []

    def walk(handlers: list[dict[str, Any]]) -> None:
        for handler in handlers:
            if handler.get("handler") == "reverse_proxy":
                found.extend(u.get("dial", "") for u in handler.get("upstreams", []))
            for sub in handler.get("routes", []):
                walk(sub.get("handle", []))

    walk(config.get("handle", []))
    return found


def route_hosts(config: dict[str, Any]) -> tuple[str, ...]:
    return tuple(host for matcher in config.get("match", []) for host in matcher.get("host", []))


def route_path_prefix(config: dict[str, Any]) -> str | None:
    paths = [path for matcher in config.get("match", []) for path in matcher.get("path", [])]
    return paths[-1] if paths else None


def route_order(route: Route) -> tuple[int, int]:
    """Where a route goes among others: host-matched before catch-all, longer path prefix first."""
    return (0 if route.hosts else 1, -len((route.path_prefix or "").rstrip("/")))


def route_from_config(config: dict[str, Any]) -> Route:
    return Route(config.get("@id", ""), route_hosts(config), route_path_prefix(config))


# ---- the slot files ----------------------------------------------------------------------

def next_file(route_id: str) -> str:
    """Where a switch uploads the new target before `switch_slots` moves it into the idle slot."""
    return f"{CONFIG_DIR}/{route_id}.next"


def read_slots() -> Command:
    """Every slot file as `path:content` lines (nothing when there is none yet)."""
    return Command(("grep", "-s", "-r", "-H", "''", UPSTREAMS_DIR, "||", "true"))


def parse_slots(text: str) -> dict[str, dict[str, str]]:
    """`read_slots`' answer -> {route: {"live": "a", "a": "<id>:80", "b": ...}}."""
    slots: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        path, colon, content = line.partition(":")
        if not colon:
            continue
        name = path.rsplit("/", 1)[-1]
        route_id, dot, slot = name.rpartition(".")
        if dot and slot in (*SLOTS, LIVE, MAINTENANCE):
            slots.setdefault(route_id, {})[slot] = content.strip()
    return slots


def saved_route_file(route_id: str) -> str:
    return f"{ROUTES_DIR}/{route_id}.json"


def read_saved_routes() -> Command:
    """Every route configuration kept on the host, one JSON document a line."""
    return Command(("grep", "-s", "-r", "-h", "''", ROUTES_DIR, "||", "true"))


def parse_saved_routes(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def switch_slots(route_id: str) -> Command:
    """Move the uploaded target into the idle slot, then make that slot live (a rename: atomic)."""
    script = (
        f"mkdir -p {UPSTREAMS_DIR} {ROUTES_DIR} && cd {UPSTREAMS_DIR} && "
        f"if [ \"$(cat {route_id}.{LIVE} 2>/dev/null)\" = a ]; then next=b; else next=a; fi && "
        f"mv -f ../{route_id}.next {route_id}.$next && "
        f"touch {route_id}.{MAINTENANCE} {route_id}.{PAGE} && "
        f"printf %s $next > {route_id}.{LIVE}.tmp && mv -f {route_id}.{LIVE}.tmp {route_id}.{LIVE}"
    )
    return Command((script,))


def settle_idle_slot(route_id: str) -> Command:
    """Point the slot that gets no new request at the live slot's target (after draining,
    before the previous container stops): a request that chose that slot just before the
    switch, and reaches the proxy only now, goes to the new container, never to a stopped
    one or to none. The copy is renamed into place: atomic."""
    script = (
        f"cd {UPSTREAMS_DIR} && "
        f"if [ \"$(cat {route_id}.{LIVE} 2>/dev/null)\" = a ]; then live=a idle=b; else live=b idle=a; fi && "
        f"cp {route_id}.$live {route_id}.$idle.tmp && mv -f {route_id}.$idle.tmp {route_id}.$idle"
    )
    return Command((script,))


def page_file(route_id: str) -> str:
    """Where the maintenance page is uploaded before `set_maintenance` moves it in place."""
    return f"{CONFIG_DIR}/{route_id}.page.next"


def set_maintenance(route_id: str, on: bool) -> Command:
    """Turn the route's maintenance on (the uploaded page moved in place first) or off:
    renames of files Caddy reads per request, no reload."""
    page = f"mv -f ../{route_id}.page.next {route_id}.{PAGE} && " if on else ""
    flag = f"{route_id}.{MAINTENANCE}"
    return Command((f"cd {UPSTREAMS_DIR} && {page}printf {'on' if on else 'off'} > {flag}.tmp && "
                    f"mv -f {flag}.tmp {flag}",))


DEFAULT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Down for maintenance</title></head>
<body><h1>Down for maintenance</h1><p>{message}</p></body></html>
"""


def remove_slots(route_id: str) -> Command:
    return Command(("rm", "-f", *(f"{UPSTREAMS_DIR}/{route_id}.{slot}" for slot in (*SLOTS, LIVE, MAINTENANCE, PAGE)),
                    saved_route_file(route_id), saved_route_file(route_id + CHALLENGES_SUFFIX)))


def read_options() -> Command:
    return Command(("cat", OPTIONS_FILE, "2>/dev/null", "||", "true"))


def parse_options(text: str) -> dict[str, Any]:
    options = json.loads(text) if text.strip() else {}
    unknown = sorted(set(options) - set(BOOT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown proxy boot options {unknown} in {OPTIONS_FILE}")
    return dict(options)


def run_command(image: str, http_port: int = 80, https_port: int = 443, *, publish: bool = True,
                log_max_size: str | None = None, docker_options: tuple[str, ...] | list[str] = ()) -> Command:
    ports = ("--publish", f"{http_port}:80", "--publish", f"{https_port}:443") if publish else ()
    logs = ("--log-opt", f"max-size={log_max_size}") if log_max_size else ()
    return Command((
        "docker", "run", "--name", CONTAINER, "--network", NETWORK, "--detach",
        "--restart", "unless-stopped", *ports, *logs, *docker_options,
        "--publish", f"127.0.0.1:{ADMIN_PORT}:{ADMIN_PORT}",
        "--volume", f"{VOLUMES[0]}:/config",
        # Double quotes: the remote shell expands $HOME, as a bind mount needs a full path.
        "--volume", f'"$HOME/{CONFIG_DIR}:{MOUNTED_DIR}:ro"', "--volume", f'"$HOME/{DATA_DIR}:/data"',
        "--label", "kamalnb.proxy=caddy",
        # Adding or removing a route reloads Caddy, which opens a new SO_REUSEPORT listener
        # and closes the old one: connections still queued on the old one would be reset.
        # This moves them to the new listener instead (Linux >= 5.14). Switches never reload.
        "--sysctl", "net.ipv4.tcp_migrate_req=1",
        image, "run", "--config", "/etc/kamalnb/caddy.json", "--resume",
    ))


def follow_logs(lines: int = 10, since: str | None = None, grep: str | None = None) -> Command:
    """The proxy's last `lines` log lines (since a time), then new ones as they come, only
    those containing `grep` (a fixed string, as `proxy logs --grep`); it ends when the
    connection does."""
    logs = docker("logs", "--tail", str(lines), *(("--since", since) if since else ()), "--follow", CONTAINER)
    words = (*logs.words, "2>&1")
    if grep:
        # Line-buffered: each matching line leaves as soon as it is logged.
        words += ("|", *Command.from_argv(("grep", "--line-buffered", "-F", "--", grep)).words)
    return Command(words)


def stop(timeout: int) -> Command:
    """Kamal's `docker container stop kamal-proxy`, given the time to drain: on SIGTERM Caddy
    closes its listeners (new connections are refused, so a load balancer moves them) and
    waits for the requests in flight, with no limit of its own (no `grace_period` set);
    Docker's default 10 s would kill it during a longer request."""
    return docker("container", "stop", "-t", str(timeout), CONTAINER)


def docker(*argv: str) -> Command:
    return Command.from_argv(("docker", *argv))


def container_state() -> Command:
    return docker("ps", "--all", "--filter", f"name=^{CONTAINER}$", "--format", "{{.State}}")


def kamal_proxy_running() -> Command:
    return docker("ps", "--filter", f"name=^{KAMAL_PROXY_CONTAINER}$", "--format", "{{.Names}}")


def ensure_network() -> Command:
    return Command((*docker("network", "inspect", NETWORK).words, ">/dev/null", "2>&1", "||",
                    *docker("network", "create", NETWORK).words))


def engine_ensure_network() -> EngineRequest:
    return engine.ensure_network(NETWORK, ensure_network())
