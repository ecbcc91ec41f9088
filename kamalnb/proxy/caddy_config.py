"""Pure builders for the Caddy proxy: its container and its JSON configuration.

Caddy's admin API listens on the container's port 2019, published on the host's loopback
only; kamalnb reaches it through an SSH tunnel. Routes are identified by `@id` (one per
service/role/destination) so that a deploy patches one route's upstreams atomically.
`--resume` makes Caddy start from its last autosaved configuration, so routes survive a
proxy restart; the base file only seeds the first start.
"""

from __future__ import annotations

from typing import Any

from kamalnb.commands.base import Command
from kamalnb.config.base import NETWORK
from kamalnb.proxy.base import Route

CONTAINER = "kamalnb-proxy"
KAMAL_PROXY_CONTAINER = "kamal-proxy"
ADMIN_PORT = 2019
SERVER = "kamalnb"
CONFIG_DIR = ".kamal/proxy/kamalnb"
CONFIG_FILE = f"{CONFIG_DIR}/caddy.json"
VOLUMES = ("kamalnb-proxy-config", "kamalnb-proxy-data")
ROUTES_PATH = f"/config/apps/http/servers/{SERVER}/routes"


def base_config(http_port: int = 80) -> dict[str, Any]:
    return {
        "admin": {"listen": f"0.0.0.0:{ADMIN_PORT}"},
        "apps": {
            "http": {
                "servers": {
                    SERVER: {
                        "listen": [f":{http_port}"],
                        # Routes matched by host name would otherwise get certificates
                        # and HTTP->HTTPS redirects; these routes are plain HTTP.
                        "automatic_https": {"disable": True},
                        "routes": [],
                    }
                }
            }
        },
    }


def route_config(route: Route, target: str, draining: str | None = None) -> dict[str, Any]:
    """The route sending every new request to `target`.

    While `draining` (the previous target) still finishes requests, it stays listed after
    `target` with the `first` selection policy, so it gets no new request but keeps its
    place in Caddy's upstream pool, where its requests in flight are counted.
    """
    matcher: dict[str, Any] = {}
    if route.hosts:
        matcher["host"] = list(route.hosts)
    if route.path_prefix:
        matcher["path"] = [route.path_prefix.rstrip("/") + "/*", route.path_prefix.rstrip("/") or "/"]
    upstreams = [{"dial": target}] + ([{"dial": draining}] if draining and draining != target else [])
    config: dict[str, Any] = {
        "@id": route.id,
        "handle": [{
            "handler": "reverse_proxy",
            "load_balancing": {"selection_policy": {"policy": "first"}},
            "upstreams": upstreams,
        }],
        "terminal": True,
    }
    if matcher:
        config["match"] = [matcher]
    return config


def route_upstreams(config: dict[str, Any]) -> list[str]:
    return [u["dial"] for h in config.get("handle", []) if h.get("handler") == "reverse_proxy"
            for u in h.get("upstreams", [])]


def route_hosts(config: dict[str, Any]) -> tuple[str, ...]:
    return tuple(host for matcher in config.get("match", []) for host in matcher.get("host", []))


def run_command(image: str, http_port: int = 80, https_port: int = 443) -> Command:
    return Command((
        "docker", "run", "--name", CONTAINER, "--network", NETWORK, "--detach",
        "--restart", "unless-stopped",
        "--publish", f"{http_port}:80", "--publish", f"{https_port}:443",
        "--publish", f"127.0.0.1:{ADMIN_PORT}:{ADMIN_PORT}",
        "--volume", f"{VOLUMES[0]}:/config", "--volume", f"{VOLUMES[1]}:/data",
        # Double quotes: the remote shell expands $HOME, as a bind mount needs a full path.
        "--volume", f'"$HOME/{CONFIG_DIR}:/etc/kamalnb:ro"',
        "--label", "kamalnb.proxy=caddy",
        # Every route change reloads Caddy, which opens a new SO_REUSEPORT listener and
        # closes the old one: connections still queued on the old one would be reset.
        # This moves them to the new listener instead (Linux >= 5.14).
        "--sysctl", "net.ipv4.tcp_migrate_req=1",
        image, "run", "--config", "/etc/kamalnb/caddy.json", "--resume",
    ))


def docker(*argv: str) -> Command:
    return Command.from_argv(("docker", *argv))


def container_state() -> Command:
    return docker("ps", "--all", "--filter", f"name=^{CONTAINER}$", "--format", "{{.State}}")


def kamal_proxy_running() -> Command:
    return docker("ps", "--filter", f"name=^{KAMAL_PROXY_CONTAINER}$", "--format", "{{.Names}}")


def ensure_network() -> Command:
    return Command((*docker("network", "inspect", NETWORK).words, ">/dev/null", "2>&1", "||",
                    *docker("network", "create", NETWORK).words))
